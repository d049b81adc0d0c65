//! Consultations (相談受付). A consultation is NARRATIVE data of each subject, held by the
//! receiving agency; its issues are governed by each issue category's policy category.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::scalars::DateTime;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use sea_orm::{ActiveModelTrait, TransactionTrait};

use super::context::{db, req};
use super::enums::{Category as GqlCategory, Channel, ConsultationStatus, Sensitivity, Urgency};
use super::gate::{admit, nullable, reveal_all, RecordRef};
use super::household;
use super::loaders::{known_facts, load_persons, Wants};
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Action, Category, Item, Link, SubjectFacts};
use crate::store::{self, consultations::ConsultationFilter};
use entity::{consultation, consultation_issue, consultation_subject, issue_category};

const NARRATIVE: Item = Item::of(Category::Narrative);

/// 相談 / a consultation. Built only when the caller may know it exists.
pub struct Consultation {
    model: consultation::Model,
    subjects: Vec<Arc<SubjectFacts>>,
    subject_ids: Vec<String>,
}

/// Build the visible consultations among `models`: those for which the caller may see
/// NARRATIVE of at least one subject (OWN for the receiving agency, or a consent).
async fn visible(
    ctx: &Context<'_>,
    models: Vec<consultation::Model>,
) -> ApiResult<Vec<Consultation>> {
    let r = req(ctx)?;
    let mut by_consultation: HashMap<String, Vec<String>> = HashMap::new();
    let mut missing = Vec::new();
    {
        let cache = prefetched(r)?;
        for m in &models {
            match cache.subjects.get(&m.id) {
                Some(ids) => {
                    by_consultation.insert(m.id.clone(), ids.clone());
                }
                None => missing.push(m.id.clone()),
            }
        }
    }
    for s in store::consultations::subjects_of(db(ctx)?, missing).await? {
        by_consultation
            .entry(s.consultation_id)
            .or_default()
            .push(s.person_id);
    }
    let all_ids: Vec<String> = by_consultation.values().flatten().cloned().collect();
    let loaded = load_persons(ctx, &all_ids).await?;
    let facts: HashMap<String, Arc<SubjectFacts>> = loaded
        .into_iter()
        .map(|l| (l.model.id.clone(), l.facts))
        .collect();
    let mut out = Vec::new();
    for m in models {
        let ids = by_consultation.remove(&m.id).unwrap_or_default();
        let subjects: Vec<Arc<SubjectFacts>> =
            ids.iter().filter_map(|id| facts.get(id).cloned()).collect();
        if subjects
            .iter()
            .any(|s| r.decide(s, &m.receiving_agency_id, NARRATIVE).is_ok())
        {
            out.push(Consultation {
                model: m,
                subjects,
                subject_ids: ids,
            });
        }
    }
    Ok(out)
}

pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Consultation> {
    let Some(m) = store::consultations::get(db(ctx)?, id).await? else {
        return Err(ApiError::not_found(field));
    };
    visible(ctx, vec![m])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(field))
}

/// Consultation rows loaded ahead, in one batch, for the persons of a list (a household's
/// members): which consultations are about whom, the consultations, their subjects and
/// issues. Only rows: [`visible`] and the field resolvers still decide what is shown.
#[derive(Default)]
pub struct Prefetched {
    /// Person id → ids of the consultations about them (for prefetched persons only).
    about: HashMap<String, Vec<String>>,
    models: HashMap<String, consultation::Model>,
    /// Consultation id → subject person ids, in person id order.
    subjects: HashMap<String, Vec<String>>,
    /// Consultation id → its issues (when issues were asked for).
    issues: HashMap<String, Vec<consultation_issue::Model>>,
}

fn prefetched(r: &super::context::RequestCtx) -> ApiResult<std::sync::MutexGuard<'_, Prefetched>> {
    r.consultations
        .lock()
        .map_err(|_| ApiError::internal("cache", "poisoned"))
}

/// Forget prefetched consultations (after a write in this request changed them).
fn forget_prefetched(ctx: &Context<'_>) -> ApiResult<()> {
    *prefetched(req(ctx)?)? = Prefetched::default();
    Ok(())
}

/// Load the consultations about these persons, their subjects (and the subjects' policy
/// facts) and, if `with_issues`, their issues: a fixed number of queries for all of them,
/// so that `Person.consultations` under a list does not query once per person.
pub async fn prefetch_about(
    ctx: &Context<'_>,
    person_ids: &[String],
    with_issues: bool,
) -> ApiResult<()> {
    let r = req(ctx)?;
    let wanted: Vec<String> = {
        let cache = prefetched(r)?;
        let mut w: Vec<String> = person_ids
            .iter()
            .filter(|id| !cache.about.contains_key(*id))
            .cloned()
            .collect();
        w.sort();
        w.dedup();
        w
    };
    if wanted.is_empty() {
        return Ok(());
    }
    let db = db(ctx)?;
    let pairs = store::consultations::about_persons(db, wanted.clone()).await?;
    let mut ids: Vec<String> = pairs.iter().map(|p| p.consultation_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let models = store::consultations::by_ids(db, ids.clone()).await?;
    let subjects = store::consultations::subjects_of(db, ids.clone()).await?;
    let agencies: Vec<String> = models
        .iter()
        .map(|m| m.receiving_agency_id.clone())
        .collect();
    super::loaders::load_agencies(ctx, &agencies).await?;
    let issues = if with_issues {
        Some(store::consultations::issues_of(db, ids).await?)
    } else {
        None
    };
    // Co-subjects' facts too, in one batch, before the per-person resolvers need them.
    let subject_ids: Vec<String> = subjects.iter().map(|s| s.person_id.clone()).collect();
    load_persons(ctx, &subject_ids).await?;
    let mut cache = prefetched(r)?;
    for p in &wanted {
        cache.about.entry(p.clone()).or_default();
    }
    for p in pairs {
        if let Some(list) = cache.about.get_mut(&p.person_id) {
            list.push(p.consultation_id);
        }
    }
    let mut by_consultation: HashMap<String, Vec<String>> = HashMap::new();
    for s in subjects {
        by_consultation
            .entry(s.consultation_id)
            .or_default()
            .push(s.person_id);
    }
    // Issues only for consultations no earlier loader filled: a consultation reached twice
    // in one request (a list, then through a household) must not list its issues twice.
    let mut fill: std::collections::HashSet<String> = std::collections::HashSet::new();
    for m in models {
        cache.subjects.insert(
            m.id.clone(),
            by_consultation.remove(&m.id).unwrap_or_default(),
        );
        if issues.is_some() && !cache.issues.contains_key(&m.id) {
            cache.issues.insert(m.id.clone(), Vec::new());
            fill.insert(m.id.clone());
        }
        cache.models.insert(m.id.clone(), m);
    }
    for i in issues.into_iter().flatten() {
        if fill.contains(&i.consultation_id) {
            if let Some(list) = cache.issues.get_mut(&i.consultation_id) {
                list.push(i);
            }
        }
    }
    Ok(())
}

/// Load the issues of these consultations into [`Prefetched`], in one query for those not
/// there yet.
async fn prefetch_issues(ctx: &Context<'_>, ids: &[String]) -> ApiResult<()> {
    let r = req(ctx)?;
    let missing: Vec<String> = {
        let cache = prefetched(r)?;
        ids.iter()
            .filter(|id| !cache.issues.contains_key(*id))
            .cloned()
            .collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    let rows = store::consultations::issues_of(db(ctx)?, missing.clone()).await?;
    let mut cache = prefetched(r)?;
    for id in missing {
        cache.issues.entry(id).or_default();
    }
    for i in rows {
        if let Some(list) = cache.issues.get_mut(&i.consultation_id) {
            list.push(i);
        }
    }
    Ok(())
}

/// Load ahead, for a list of consultations, the rows that `wants` asks of each: issues,
/// receiving agencies, the subjects' memberships and the households. Rows only: every field
/// is still decided on its own.
async fn prefetch(ctx: &Context<'_>, list: &[Consultation], wants: &Wants<'_>) -> ApiResult<()> {
    if wants.field("issues").exists() {
        let ids: Vec<String> = list.iter().map(|c| c.model.id.clone()).collect();
        prefetch_issues(ctx, &ids).await?;
    }
    if wants.field("receivingAgency").exists() {
        let agencies: Vec<String> = list
            .iter()
            .map(|c| c.model.receiving_agency_id.clone())
            .collect();
        super::loaders::load_agencies(ctx, &agencies).await?;
    }
    let subjects = wants.field("subjects");
    if subjects.exists() {
        let ids: Vec<String> = list.iter().flat_map(|c| c.subject_ids.clone()).collect();
        super::person::prefetch(ctx, &ids, &subjects).await?;
    }
    let households = wants.field("household");
    if households.exists() {
        let ids: Vec<String> = list
            .iter()
            .filter_map(|c| c.model.household_id.clone())
            .collect();
        household::prefetch_by_id(ctx, &ids, &households).await?;
    }
    Ok(())
}

/// Consultations about a person that the caller may see.
pub async fn about_person(ctx: &Context<'_>, person_id: &str) -> ApiResult<Vec<Consultation>> {
    let db = db(ctx)?;
    let cached = {
        let cache = prefetched(req(ctx)?)?;
        cache.about.get(person_id).map(|ids| {
            let mut models: Vec<consultation::Model> = ids
                .iter()
                .filter_map(|id| cache.models.get(id).cloned())
                .collect();
            models.sort_by(store::consultations::newest_first);
            models
        })
    };
    let models = match cached {
        Some(models) => models,
        None => {
            let ids = store::consultations::ids_about(db, person_id).await?;
            store::consultations::by_ids(db, ids).await?
        }
    };
    // That this person was a subject is NARRATIVE of this person, not of a co-subject.
    let r = req(ctx)?;
    Ok(visible(ctx, models)
        .await?
        .into_iter()
        .filter(|c| c.narrative_open_for(r, person_id))
        .collect())
}

impl Consultation {
    /// Whether the caller may see that `person_id` is a subject of this consultation.
    fn narrative_open_for(&self, r: &super::context::RequestCtx, person_id: &str) -> bool {
        self.subjects
            .iter()
            .find(|s| s.person_id == person_id)
            .is_some_and(|s| {
                r.decide(s, &self.model.receiving_agency_id, NARRATIVE)
                    .is_ok()
            })
    }

    fn record(&self) -> RecordRef<'_> {
        RecordRef {
            kind: "consultation",
            id: &self.model.id,
            owner: &self.model.receiving_agency_id,
            link: Link::Data {
                category: Category::Narrative,
                holder: &self.model.receiving_agency_id,
            },
        }
    }
}

/// 課題分類 / an issue category (data; a city can adjust it)
#[derive(SimpleObject)]
pub struct IssueCategory {
    pub code: String,
    pub parent_code: Option<String>,
    pub name_ja: String,
    pub name_en: String,
    pub sensitivity: Sensitivity,
    /// この課題を見るのに必要な情報区分 / the category that governs who may see it
    pub policy_category: GqlCategory,
}

fn issue_category(m: issue_category::Model) -> ApiResult<IssueCategory> {
    let cat = Category::parse(&m.policy_category)
        .ok_or_else(|| ApiError::internal("issue_category", &m.policy_category))?;
    Ok(IssueCategory {
        sensitivity: Sensitivity::from_db(&m.sensitivity)?,
        policy_category: cat.into(),
        code: m.code,
        parent_code: m.parent_code,
        name_ja: m.name_ja,
        name_en: m.name_en,
    })
}

/// 相談の課題 / an issue of a consultation
#[derive(SimpleObject)]
pub struct ConsultationIssue {
    pub category: IssueCategory,
    /// 主課題 (◎) / the main issue
    pub main: bool,
}

#[Object]
impl Consultation {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 受付機関 / receiving agency
    async fn receiving_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.receiving_agency_id).await
    }
    /// 受付日時 / received at
    async fn received_at(&self) -> DateTime {
        self.model.received_at.into()
    }
    async fn channel(&self) -> ApiResult<Channel> {
        Channel::from_db(&self.model.channel)
    }
    async fn urgency(&self) -> ApiResult<Urgency> {
        Urgency::from_db(&self.model.urgency)
    }
    async fn status(&self) -> ApiResult<ConsultationStatus> {
        ConsultationStatus::from_db(&self.model.status)
    }
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// 相談内容の要約 (NARRATIVE; 全ての対象者について根拠が必要) / summary
    async fn summary(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        nullable(
            ctx,
            reveal_all(ctx, &self.subjects, self.record(), NARRATIVE, || {
                Some(self.model.summary.clone())
            }),
        )
    }
    /// 対象者 (根拠のある人のみ) / subject persons the caller may know
    async fn subjects(&self, ctx: &Context<'_>) -> ApiResult<Vec<Person>> {
        // Known persons, and only those whose part in this consultation the caller may see.
        let r = req(ctx)?;
        let ids: Vec<String> = self
            .subject_ids
            .iter()
            .filter(|id| self.narrative_open_for(r, id))
            .cloned()
            .collect();
        Person::visible(ctx, &ids).await
    }
    /// 課題 (各課題の情報区分について全対象者の根拠がある課題のみ) / issues the caller may see
    async fn issues(&self, ctx: &Context<'_>) -> ApiResult<Vec<ConsultationIssue>> {
        let cached = prefetched(req(ctx)?)?.issues.get(&self.model.id).cloned();
        let rows = match cached {
            Some(rows) => rows,
            None => store::consultations::issues_of(db(ctx)?, vec![self.model.id.clone()]).await?,
        };
        let all = super::loaders::issue_categories(ctx).await?;
        let cats: HashMap<&str, &issue_category::Model> =
            all.iter().map(|c| (c.code.as_str(), c)).collect();
        let mut out = Vec::new();
        for row in rows {
            let Some(cat) = cats.get(row.issue_code.as_str()) else {
                continue;
            };
            let Some(pc) = Category::parse(&cat.policy_category) else {
                continue;
            };
            let mut ok = !self.subjects.is_empty();
            for s in &self.subjects {
                ok &= admit(ctx, s, self.record(), Item::of(pc))?;
            }
            if ok {
                out.push(ConsultationIssue {
                    category: issue_category((*cat).clone())?,
                    main: row.is_main,
                });
            }
        }
        Ok(out)
    }
    /// 世帯 (根拠がある場合) / the household, if the caller may know it
    async fn household(&self, ctx: &Context<'_>) -> ApiResult<Option<household::Household>> {
        match &self.model.household_id {
            None => Ok(None),
            Some(h) => match household::find(ctx, "household", h).await {
                Ok(h) => Ok(Some(h)),
                Err(ApiError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

#[derive(Default)]
pub struct ConsultationQuery;

#[Object]
impl ConsultationQuery {
    /// 相談 / a consultation by id
    async fn consultation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Consultation> {
        let id = validate::id("id", &id)?;
        find(ctx, "id", &id).await
    }

    /// 相談一覧 (新しい順) / consultations the caller may know exist, newest first
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn consultations(
        &self,
        ctx: &Context<'_>,
        status: Option<ConsultationStatus>,
        receiving_agency_id: Option<ID>,
        issue: Option<String>,
        person_id: Option<ID>,
        received_from: Option<DateTime>,
        received_until: Option<DateTime>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Consultation>> {
        let r = req(ctx)?;
        let page = validate::page(first, after, store::CursorKind::TimeAndId)?;
        let received_from = received_from.map(|f| f.get("receivedFrom")).transpose()?;
        let received_until = received_until.map(|u| u.get("receivedUntil")).transpose()?;
        if let (Some(f), Some(u)) = (received_from, received_until) {
            if u <= f {
                return Err(ApiError::bad_input(
                    "receivedUntil",
                    "receivedFrom より後にしてください / must be after receivedFrom",
                ));
            }
        }
        // A person filter: a person the caller may not know answers as for an unknown id; and
        // it matches only consultations whose link to that person the caller may see (its
        // own, or any when it has a NARRATIVE basis for the person — "" owns nothing).
        let person_filter = match person_id
            .map(|p| validate::id("personId", &p))
            .transpose()?
        {
            None => None,
            Some(p) => {
                let facts = known_facts(ctx, std::slice::from_ref(&p)).await?;
                let Some(f) = facts.get(&p) else {
                    return Ok(Connection::new(false, false));
                };
                let open = r.decide(f, "", NARRATIVE).is_ok();
                Some((p, open))
            }
        };
        let filter = ConsultationFilter {
            status: status.map(|s| s.as_str().to_owned()),
            receiving_agency_id: receiving_agency_id
                .map(|a| validate::id("receivingAgencyId", &a))
                .transpose()?,
            issue_scope: match &issue {
                None => None,
                Some(code) => super::loaders::issue_categories(ctx)
                    .await?
                    .iter()
                    .find(|k| &k.code == code)
                    .and_then(|k| Category::parse(&k.policy_category))
                    .and_then(|pc| policy::visible_scope(&r.principal, pc, r.purpose, r.now)),
            },
            issue_code: issue,
            person_open: person_filter.as_ref().is_none_or(|(_, open)| *open),
            person_id: person_filter.map(|(p, _)| p),
            received_from,
            received_until,
        };
        let Some(scope) =
            policy::visible_scope(&r.principal, Category::Narrative, r.purpose, r.now)
        else {
            return Ok(Connection::new(false, false));
        };
        let rows = store::consultations::list(db(ctx)?, &scope, &filter, &page)
            .await?
            .ok_or_else(|| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))?;
        let has_next = rows.len() as u64 > page.first;
        let rows: Vec<_> = rows.into_iter().take(page.first as usize).collect();
        let mut conn = Connection::new(page.after.is_some(), has_next);
        let list = visible(ctx, rows).await?;
        prefetch(ctx, &list, &Wants::connection(ctx)).await?;
        for c in list {
            // An issue filter must not reveal an issue the caller may not see.
            if let Some(code) = &filter.issue_code {
                let cats = super::loaders::issue_categories(ctx).await?;
                let pc = cats
                    .iter()
                    .find(|k| &k.code == code)
                    .and_then(|k| Category::parse(&k.policy_category));
                let Some(pc) = pc else { continue };
                // Ledgered per subject, like any other read of the issue.
                let mut all = !c.subjects.is_empty();
                for s in &c.subjects {
                    all &= admit(ctx, s, c.record(), Item::of(pc))?;
                }
                if !all {
                    continue;
                }
            }
            conn.edges.push(Edge::new(
                store::encode_cursor(&store::consultations::cursor_key(&c.model)),
                c,
            ));
        }
        Ok(conn)
    }

    /// 課題分類 / issue categories
    async fn issue_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<IssueCategory>> {
        store::consultations::issue_categories(db(ctx)?)
            .await?
            .into_iter()
            .map(issue_category)
            .collect()
    }
}

#[derive(InputObject)]
pub struct IssueInput {
    /// 課題分類コード / issue category code
    pub code: String,
    /// 主課題 (◎) / main issue
    #[graphql(default)]
    pub main: bool,
}

#[derive(InputObject)]
pub struct RecordConsultationInput {
    pub received_at: DateTime,
    pub channel: Channel,
    pub subject_person_ids: Vec<ID>,
    pub household_id: Option<ID>,
    pub issues: Vec<IssueInput>,
    pub summary: String,
    pub urgency: Urgency,
}

#[derive(Default)]
pub struct ConsultationMutation;

#[Object]
impl ConsultationMutation {
    /// 相談を受け付ける (自機関が受付機関) / record a consultation received by the caller's agency
    async fn record_consultation(
        &self,
        ctx: &Context<'_>,
        input: RecordConsultationInput,
    ) -> ApiResult<Consultation> {
        let r = req(ctx)?;
        r.require(Action::RecordConsultation, "recordConsultation")?;
        // Every invalid value is reported at once (the issue codes too, a fixed list); the
        // persons and the household are looked up after, and nothing is written unless all
        // are valid.
        let mut invalid = validate::Invalid::default();
        if input.subject_person_ids.is_empty() {
            invalid.push(ApiError::bad_input(
                "input.subjectPersonIds",
                "1 人以上必要です / at least one person",
            ));
        }
        let mut subjects: Vec<(String, String)> = Vec::new();
        for (i, id) in input.subject_person_ids.iter().enumerate() {
            let field = format!("input.subjectPersonIds.{i}");
            let Some(id) = invalid.check(validate::id(&field, id).map(Some)) else {
                continue;
            };
            if subjects.iter().any(|(_, s)| *s == id) {
                invalid.push(ApiError::bad_input(
                    field,
                    "同じ人が重複しています / the same person twice",
                ));
                continue;
            }
            subjects.push((field, id));
        }
        let household_id = input
            .household_id
            .as_ref()
            .and_then(|h| invalid.check(validate::id("input.householdId", h).map(Some)));
        let received_at = invalid.check(input.received_at.get("input.receivedAt").map(Some));
        if received_at.is_some_and(|at| at > r.now + chrono::Duration::minutes(5)) {
            invalid.push(ApiError::bad_input(
                "input.receivedAt",
                "未来の日時です / in the future",
            ));
        }
        let summary = invalid.check(validate::required("input.summary", &input.summary, 10_000));
        let db = db(ctx)?;
        let known: HashSet<String> = store::consultations::issue_categories(db)
            .await?
            .into_iter()
            .map(|c| c.code)
            .collect();
        let mut codes = HashSet::new();
        for (i, issue) in input.issues.iter().enumerate() {
            if !known.contains(&issue.code) {
                invalid.push(ApiError::bad_input(
                    format!("input.issues.{i}.code"),
                    format!(
                        "不明な課題分類です / unknown issue category {:?}",
                        issue.code
                    ),
                ));
            } else if !codes.insert(issue.code.clone()) {
                invalid.push(ApiError::bad_input(
                    format!("input.issues.{i}.code"),
                    "重複しています / duplicate",
                ));
            }
        }
        if !input.issues.is_empty() && input.issues.iter().filter(|i| i.main).count() != 1 {
            invalid.push(ApiError::bad_input(
                "input.issues",
                "主課題 (main) はちょうど 1 つ / exactly one main issue",
            ));
        }
        invalid.finish(ctx)?;
        let Some(received_at) = received_at else {
            return Err(ApiError::internal(
                "recordConsultation",
                "receivedAt unchecked",
            ));
        };
        for (field, id) in &subjects {
            if known_facts(ctx, std::slice::from_ref(id)).await?.is_empty() {
                return Err(ApiError::not_found(field.as_str()));
            }
        }
        let subjects: Vec<String> = subjects.into_iter().map(|(_, id)| id).collect();
        if let Some(h) = &household_id {
            household::find(ctx, "input.householdId", h).await?;
        }
        let id = store::new_id();
        let model = consultation::Model {
            id: id.clone(),
            receiving_agency_id: r.principal.agency_id.clone(),
            received_at,
            channel: input.channel.as_str().to_owned(),
            household_id,
            summary,
            urgency: input.urgency.as_str().to_owned(),
            status: ConsultationStatus::Open.as_str().to_owned(),
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let txn = db.begin().await?;
        consultation::ActiveModel::from(model).insert(&txn).await?;
        let mut entries = Vec::new();
        for p in &subjects {
            consultation_subject::ActiveModel::from(consultation_subject::Model {
                consultation_id: id.clone(),
                person_id: p.clone(),
            })
            .insert(&txn)
            .await?;
            entries.push(Entry::write(&r.principal, "recordConsultation", "consultation", &id, Some(p), serde_json::json!({"fields": ["receivedAt", "channel", "summary", "issues", "urgency"]})));
        }
        for issue in &input.issues {
            consultation_issue::ActiveModel::from(consultation_issue::Model {
                consultation_id: id.clone(),
                issue_code: issue.code.clone(),
                is_main: issue.main,
            })
            .insert(&txn)
            .await?;
        }
        audit::append(&txn, entries).await?;
        txn.commit().await?;
        forget_prefetched(ctx)?;
        find(ctx, "id", &id).await
    }

    /// 相談の状態を変更 (受付機関のみ) / change a consultation's status (receiving agency)
    async fn set_consultation_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        status: ConsultationStatus,
    ) -> ApiResult<Consultation> {
        let r = req(ctx)?;
        r.require(Action::RecordConsultation, "setConsultationStatus")?;
        let id = validate::id("id", &id)?;
        let current = find(ctx, "id", &id).await?;
        if current.model.receiving_agency_id != r.principal.agency_id {
            return Err(ApiError::forbidden(
                "受付機関のみ変更できます / only the receiving agency may change it",
            ));
        }
        let mut am: consultation::ActiveModel = current.model.clone().into();
        am.status = sea_orm::ActiveValue::Set(status.as_str().to_owned());
        am.version = sea_orm::ActiveValue::Set(store::next_version(version));
        am.updated_at = sea_orm::ActiveValue::Set(r.now);
        let db = db(ctx)?;
        let entries = current
            .subject_ids
            .iter()
            .map(|p| {
                Entry::write(
                    &r.principal,
                    "setConsultationStatus",
                    "consultation",
                    &id,
                    Some(p),
                    serde_json::json!({"status": status.as_str()}),
                )
            })
            .collect();
        store::versioned_update::<consultation::Entity>(
            db,
            am,
            consultation::Column::Id,
            consultation::Column::Version,
            &id,
            version,
            current.model.version,
            entries,
        )
        .await?;
        forget_prefetched(ctx)?;
        find(ctx, "id", &id).await
    }
}
