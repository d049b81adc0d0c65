//! Consultations (相談受付). A consultation is NARRATIVE data of each subject, held by the
//! receiving agency; its issues are governed by each issue category's policy category.

use std::collections::HashMap;
use std::sync::Arc;

use super::scalars::DateTime;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, SimpleObject, ID};

use super::context::{db, reads_replica, replica_db, req};
use super::enums::{Category as GqlCategory, Channel, ConsultationStatus, Sensitivity, Urgency};
use super::gate::{admit, nullable, reveal_all, RecordRef};
use super::household;
use super::loaders::{
    consultation_issues, consultation_subjects, consultations, consultations_about, known_facts,
    load_agencies, load_persons, Wants,
};
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::consultation::{knows_consultation, sees_every_consultation_of};
use crate::policy::{self, Category, Item, Link, SubjectFacts};
use crate::store::{self, consultations::ConsultationFilter};
use entity::{consultation, issue_category};

const NARRATIVE: Item = Item::of(Category::Narrative);

/// 相談 / a consultation. Built only when the caller may know it exists.
pub struct Consultation {
    pub(super) model: consultation::Model,
    subjects: Vec<Arc<SubjectFacts>>,
    pub(super) subject_ids: Vec<String>,
}

/// Build the visible consultations among `models`: those for which the caller may see
/// NARRATIVE of at least one subject (OWN for the receiving agency, or a consent).
async fn visible(
    ctx: &Context<'_>,
    models: Vec<consultation::Model>,
) -> ApiResult<Vec<Consultation>> {
    let r = req(ctx)?;
    let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
    let mut by_consultation = consultation_subjects(ctx, &ids).await?;
    let all_ids: Vec<String> = by_consultation.values().flatten().cloned().collect();
    let facts: HashMap<String, Arc<SubjectFacts>> = load_persons(ctx, &all_ids)
        .await?
        .into_iter()
        .map(|l| (l.model.id.clone(), l.facts))
        .collect();
    let mut out = Vec::new();
    for m in models {
        let ids = by_consultation.remove(&m.id).unwrap_or_default();
        let subjects: Vec<Arc<SubjectFacts>> =
            ids.iter().filter_map(|id| facts.get(id).cloned()).collect();
        let of_subjects = subjects.iter().map(AsRef::as_ref);
        if knows_consultation(
            &r.principal,
            &m.receiving_agency_id,
            of_subjects,
            r.purpose,
            r.now,
        ) {
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
    let model = consultations(ctx, &[id.to_owned()])
        .await?
        .remove(id)
        .flatten();
    visible(ctx, model.into_iter().collect())
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(field))
}

/// Load the consultations about these persons, their subjects (and the subjects' policy
/// facts), their receiving agencies and, if `with_issues`, their issues: a fixed number of
/// queries for all of them, so that `Person.consultations` under a list does not query once
/// per person. Only rows: [`visible`] and the field resolvers still decide what is shown.
pub async fn prefetch_about(
    ctx: &Context<'_>,
    person_ids: &[String],
    with_issues: bool,
    agencies: &[String],
) -> ApiResult<()> {
    // The consultations, their subjects, issues and receiving agencies (and the other
    // agencies the caller's selection names): one statement.
    super::loaders::load_about(ctx, person_ids, with_issues, agencies).await?;
    let ids: Vec<String> = consultations_about(ctx, person_ids)
        .await?
        .into_values()
        .flatten()
        .collect();
    let subjects = consultation_subjects(ctx, &ids).await?;
    // Co-subjects' facts too, in one batch, before the per-person resolvers need them.
    let subject_ids: Vec<String> = subjects.into_values().flatten().collect();
    load_persons(ctx, &subject_ids).await?;
    Ok(())
}

/// Load ahead, for a list of consultations, the rows that `wants` asks of each: issues,
/// receiving agencies, the caller's references, the subjects' memberships and the
/// households. Rows only: every field is still decided on its own.
async fn prefetch(ctx: &Context<'_>, list: &[Consultation], wants: &Wants<'_>) -> ApiResult<()> {
    let ids: Vec<String> = list.iter().map(|c| c.model.id.clone()).collect();
    super::external_ref::prefetch(ctx, &ids, wants).await?;
    if wants.field("issues").exists() {
        consultation_issues(ctx, &ids).await?;
    }
    if wants.field("receivingAgency").exists() {
        let agencies: Vec<String> = list
            .iter()
            .map(|c| c.model.receiving_agency_id.clone())
            .collect();
        load_agencies(ctx, &agencies).await?;
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

/// Consultations about a person that the caller may see, newest first.
pub async fn about_person(ctx: &Context<'_>, person_id: &str) -> ApiResult<Vec<Consultation>> {
    let ids = consultations_about(ctx, &[person_id.to_owned()])
        .await?
        .remove(person_id)
        .unwrap_or_default();
    let mut models: Vec<consultation::Model> = consultations(ctx, &ids)
        .await?
        .into_values()
        .flatten()
        .collect();
    models.sort_by(store::consultations::newest_first);
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
    /// 自機関の外部参照 (他機関のものは見えない) / the caller's agency's own references to this
    /// record (another agency's are never shown)
    async fn external_refs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::external_ref::ExternalRef>> {
        super::external_ref::of_record(ctx, &self.model.id).await
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
        let rows = consultation_issues(ctx, std::slice::from_ref(&self.model.id))
            .await?
            .remove(&self.model.id)
            .unwrap_or_default();
        let mut out = Vec::new();
        for row in rows {
            // An issue whose code the table no longer has is not shown.
            let Some(cat) = row.category else {
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
                    category: issue_category(cat)?,
                    main: row.row.is_main,
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
        let (received_from, received_until) = validate::window(
            ("receivedFrom", received_from),
            ("receivedUntil", received_until),
        )?;
        // A person filter: a person the caller may not know answers as for an unknown id; and
        // it matches only consultations whose link to that person the caller may see (its
        // own, or any when it has a NARRATIVE basis for the person beyond holding a record).
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
                let open = sees_every_consultation_of(&r.principal, f, r.purpose, r.now);
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
        // Candidates from the read replica (README §12); the rows themselves, whose holder
        // the decision rests on, are read again on the primary (when they came from a
        // replica), and decided there.
        let candidates = store::consultations::list(replica_db(ctx)?, &scope, &filter, &page)
            .await?
            .ok_or_else(|| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))?;
        let has_next = candidates.len() as u64 > page.first;
        let candidates = candidates.into_iter().take(page.first as usize);
        let rows: Vec<_> = if reads_replica(ctx)? {
            let ids: Vec<String> = candidates.map(|row| row.id).collect();
            let mut by_id = consultations(ctx, &ids).await?;
            ids.iter()
                .filter_map(|id| by_id.remove(id).flatten())
                .collect()
        } else {
            candidates.collect()
        };
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
