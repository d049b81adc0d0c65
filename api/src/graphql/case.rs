//! Support cases (多機関協働): a household's case with its decisions (支援決定, 中断, 再開,
//! 終結), each agency's involvement (関与) and the versioned support plans (see `plan`).
//!
//! Access: a case, its plans, decisions and involvements are PLAN data of every current
//! member of the household, held by the case's owner agency. A case exists for the caller
//! when the policy allows PLAN of at least one current member; otherwise it is NOT_FOUND,
//! exactly like a random id, and lists leave it out. Status, dates, versions and agency ids
//! are then shown as metadata; content (plan text, decision reasons) only where PLAN is
//! allowed for every member, decision notes where NARRATIVE is; a withheld field is null with
//! CONSENT_REQUIRED. Who may know a case, see all of it or change it, and its status machine,
//! are `policy::write::case`. Writes are in `case_mutation`, `involvement` and `plan`.

use std::collections::HashMap;
use std::sync::Arc;

use std::future::Future;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, MergedObject, Object, ID};
use sea_orm::DbErr;

use super::case_decision::CaseDecision;
use super::context::{db, req, RequestCtx};
use super::enums::text_enum;
use super::gate::{nullable, reveal_all, RecordRef};
use super::involvement::CaseInvolvement;
use super::loaders::{group, load_agencies, load_persons, members_of, Keyed, Rows, Wants};
use super::plan::SupportPlan;
use super::registry::{agency_by_id, Agency};
use super::scalars::{Date, DateTime};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::case as rule;
use crate::policy::{Action, Category, Item, Link, SubjectFacts};
use crate::store::{self, cases::View};
use entity::{case_decision, case_involvement, plan_assignment, support_case, support_plan};

pub(super) const PLAN: Item = Item::of(Category::Plan);
pub(super) const NARRATIVE: Item = Item::of(Category::Narrative);

text_enum! {
    /// ケースの状態 / case status
    CaseStatus {
        /// アセスメント / assessment
        Assessment = "ASSESSMENT",
        /// プラン作成 / planning
        Planning = "PLANNING",
        /// 支援実施 / support under way
        Active = "ACTIVE",
        /// モニタリング / monitoring
        Monitoring = "MONITORING",
        /// 中断 / suspended
        Suspended = "SUSPENDED",
        /// 終結 / closed
        Closed = "CLOSED",
    }
}

/// A stored status (or one the schema names: the same text) as the policy's; unknown text is
/// an internal inconsistency.
pub fn stored_status(text: &str) -> ApiResult<rule::CaseStatus> {
    rule::CaseStatus::parse(text)
        .ok_or_else(|| ApiError::internal("CaseStatus", format!("unknown stored value {text:?}")))
}

text_enum! {
    /// 関与・担当の役割 / role of an agency in a case or plan
    InvolvementRole {
        /// 主担当 / lead agency
        Lead = "LEAD",
        /// 支援機関 / supporting agency
        Supporting = "SUPPORTING",
    }
}

/// Who a case's content belongs to and who holds it: shared by the case and everything in it.
#[derive(Clone)]
pub struct Scope {
    pub owner_agency_id: String,
    /// The household's registering agency: it holds the members' tie to the household, and
    /// so to the case (an error names a member only where that tie may be seen).
    pub household_owner: String,
    /// Facts of the household's current members.
    pub subjects: Arc<Vec<Arc<SubjectFacts>>>,
}

impl Scope {
    /// A content field of a record of the case: shown only if `item` is allowed for every
    /// member (ledgered per member), else null with CONSENT_REQUIRED.
    pub fn reveal<T>(
        &self,
        ctx: &Context<'_>,
        kind: &'static str,
        id: &str,
        item: Item,
        value: impl FnOnce() -> Option<T>,
    ) -> ApiResult<Option<T>> {
        let record = RecordRef {
            kind,
            id,
            owner: &self.owner_agency_id,
            link: Link::Data {
                category: Category::Household,
                holder: &self.household_owner,
            },
        };
        nullable(ctx, reveal_all(ctx, &self.subjects, record, item, value))
    }

    /// Whether `item` of the case is allowed for every current member, decided without the
    /// ledger (for a write that shows nothing of it): what [`Scope::reveal`] would show.
    pub fn sees_all(&self, r: &RequestCtx, item: Item) -> bool {
        rule::sees_whole_case(
            &r.principal,
            &self.owner_agency_id,
            &self.subjects,
            item,
            r.purpose,
            r.now,
        )
    }

    pub fn member_ids(&self) -> Vec<String> {
        self.subjects.iter().map(|s| s.person_id.clone()).collect()
    }
}

/// 支援ケース / a support case. Built only when the caller may know it exists.
pub struct SupportCase {
    pub model: support_case::Model,
    pub scope: Scope,
}

impl SupportCase {
    pub fn current_status(&self) -> ApiResult<rule::CaseStatus> {
        stored_status(&self.model.status)
    }

    /// The key this case's rows hang off.
    fn key(&self) -> &[String] {
        std::slice::from_ref(&self.model.id)
    }

    /// This case's rows out of rows keyed by case.
    fn rows<T>(&self, mut by_case: HashMap<String, Vec<T>>) -> Vec<T> {
        by_case.remove(&self.model.id).unwrap_or_default()
    }

    /// This case's rows out of rows keyed by case, each as a record of the case (its content
    /// decided like the case's).
    fn parts<T, P>(&self, by_case: HashMap<String, Vec<T>>, part: fn(T, Scope) -> P) -> Vec<P> {
        let rows = self.rows(by_case).into_iter();
        rows.map(|m| part(m, self.scope.clone())).collect()
    }

    /// The case's decisions, in the order recorded.
    async fn decision_parts(&self, ctx: &Context<'_>) -> ApiResult<Vec<CaseDecision>> {
        let rows = decisions_of(ctx, self.key()).await?;
        Ok(self.parts(rows, |model, scope| CaseDecision { model, scope }))
    }

    /// The case's plan versions, newest first.
    async fn plan_parts(&self, ctx: &Context<'_>) -> ApiResult<Vec<SupportPlan>> {
        Ok(
            self.parts(plans_of(ctx, self.key()).await?, |model, scope| {
                SupportPlan { model, scope }
            }),
        )
    }
}

/// The visible cases among `models` (order kept).
pub async fn visible(
    ctx: &Context<'_>,
    models: Vec<support_case::Model>,
) -> ApiResult<Vec<SupportCase>> {
    let r = req(ctx)?;
    let households: Vec<String> = models.iter().map(|m| m.household_id.clone()).collect();
    let owners: HashMap<String, String> = super::loaders::households(ctx, &households)
        .await?
        .into_values()
        .flatten()
        .map(|h| (h.id, h.owner_agency_id))
        .collect();
    let members: Vec<_> = members_of(ctx, &households)
        .await?
        .into_values()
        .flatten()
        .collect();
    // Every member's facts, past ones too: the same persons the household's own fields load,
    // so that whichever resolver comes first reads them all in one statement.
    let ids: Vec<String> = members.iter().map(|m| m.person_id.clone()).collect();
    let mut current: HashMap<String, Vec<String>> = HashMap::new();
    for m in members.into_iter().filter(|m| r.current(m)) {
        current.entry(m.household_id).or_default().push(m.person_id);
    }
    let facts: HashMap<String, Arc<SubjectFacts>> = load_persons(ctx, &ids)
        .await?
        .into_iter()
        .map(|l| (l.model.id.clone(), l.facts))
        .collect();
    let mut out = Vec::new();
    for m in models {
        let subjects: Vec<Arc<SubjectFacts>> = current
            .get(&m.household_id)
            .into_iter()
            .flatten()
            .filter_map(|id| facts.get(id).cloned())
            .collect();
        if rule::may_know_case(
            &r.principal,
            &m.owner_agency_id,
            &subjects,
            r.purpose,
            r.now,
        ) {
            let scope = Scope {
                owner_agency_id: m.owner_agency_id.clone(),
                household_owner: owners.get(&m.household_id).cloned().unwrap_or_default(),
                subjects: Arc::new(subjects),
            };
            out.push(SupportCase { model: m, scope });
        }
    }
    Ok(out)
}

/// Rows hanging off these ids (a case's decisions, a plan's assignments), keyed by id: from
/// the request's `cache`, after loading the ids not read yet with one `query`.
pub(super) async fn rows_of<'c, T, Q, Fut>(
    ctx: &'c Context<'_>,
    cache: fn(&Rows) -> &Keyed<Vec<T>>,
    ids: &[String],
    query: Q,
    key: fn(&T) -> &str,
) -> ApiResult<HashMap<String, Vec<T>>>
where
    T: Clone,
    Q: FnOnce(&'c crate::store::Db, Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, DbErr>>,
{
    let db = db(ctx)?;
    cache(&req(ctx)?.rows)
        .get(
            ids,
            |ids| async move { Ok(group(query(db, ids).await?, key)) },
        )
        .await
}

/// The rows of one kind hanging off ids, keyed by id, through [`rows_of`]: one function per
/// kind, from one template.
macro_rules! hanging_rows {
    ($($(#[$doc:meta])* $name:ident: $cache:ident, $query:path, $key:ident -> $row:ty;)+) => {$(
        $(#[$doc])*
        pub async fn $name(
            ctx: &Context<'_>,
            ids: &[String],
        ) -> ApiResult<HashMap<String, Vec<$row>>> {
            rows_of(ctx, |r| &r.$cache, ids, $query, |row| &row.$key).await
        }
    )+};
}

hanging_rows! {
    /// Decisions of these cases, keyed by case, each case's in the order recorded.
    decisions_of: decisions, store::cases::decisions_of_cases, case_id -> case_decision::Model;
    /// Involvements of these cases, keyed by case.
    involvements_of: involvements, store::cases::involvements_of_cases, case_id
        -> case_involvement::Model;
    /// Plan versions of these cases, keyed by case, newest first.
    plans_of: plans, store::cases::plans_of_cases, case_id -> support_plan::Model;
    /// Assignments of these plan versions, keyed by plan, in order.
    assignments_of: assignments, store::cases::assignments_of_plans, plan_id
        -> plan_assignment::Model;
}

/// Load ahead, for a list of cases, the rows that `wants` asks of each (decisions,
/// involvements, plan versions and their assignments, the agencies named): one query per
/// kind of row for the whole list. Rows only: every field is still decided on its own.
pub async fn prefetch(ctx: &Context<'_>, list: &[SupportCase], wants: &Wants<'_>) -> ApiResult<()> {
    let ids: Vec<String> = list.iter().map(|c| c.model.id.clone()).collect();
    let mut agencies = Vec::new();
    if wants.field("ownerAgency").exists() {
        agencies.extend(list.iter().map(|c| c.model.owner_agency_id.clone()));
    }
    if wants.field("decisions").exists() || wants.field("supportDecision").exists() {
        decisions_of(ctx, &ids).await?;
    }
    let involvements = wants.field("involvements");
    if involvements.exists() {
        let rows = involvements_of(ctx, &ids).await?;
        if involvements.field("agency").exists() {
            agencies.extend(rows.into_values().flatten().map(|i| i.agency_id));
        }
    }
    let (plans, current) = (wants.field("plans"), wants.field("currentPlan"));
    if plans.exists() || current.exists() {
        let rows = plans_of(ctx, &ids).await?;
        let all = plans.field("assignments");
        let latest = current.field("assignments");
        let plan_ids: Vec<String> = if all.exists() {
            rows.values().flatten().map(|p| p.id.clone()).collect()
        } else if latest.exists() {
            rows.values()
                .filter_map(|v| v.first())
                .map(|p| p.id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let assignments = assignments_of(ctx, &plan_ids).await?;
        if all.field("agency").exists() || latest.field("agency").exists() {
            agencies.extend(assignments.into_values().flatten().map(|a| a.agency_id));
        }
    }
    if !agencies.is_empty() {
        load_agencies(ctx, &agencies).await?;
    }
    Ok(())
}

/// Case rows by id (None: no such case).
async fn rows_by_id(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<support_case::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .cases
        .get(ids, |ids| async move {
            Ok(store::cases::by_ids(db, &ids)
                .await?
                .into_iter()
                .map(|c| (c.id.clone(), Some(c)))
                .collect())
        })
        .await
}

/// The cases among these ids that the caller may know exist, keyed by id: the cases,
/// their households' members and the members' facts in one batch.
pub async fn visible_by_id(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, SupportCase>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let rows = rows_by_id(ctx, &ids).await?;
    let models: Vec<support_case::Model> = ids
        .iter()
        .filter_map(|id| rows.get(id).cloned().flatten())
        .collect();
    Ok(visible(ctx, models)
        .await?
        .into_iter()
        .map(|c| (c.model.id.clone(), c))
        .collect())
}

/// Whether the caller may know the case `id` (what an id pointing at it needs).
pub async fn knows(ctx: &Context<'_>, id: &str) -> ApiResult<bool> {
    Ok(!visible_by_id(ctx, &[id.to_owned()]).await?.is_empty())
}

/// A case the caller may know exists, else NOT_FOUND naming `field`.
pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<SupportCase> {
    let Some(m) = rows_by_id(ctx, &[id.to_owned()])
        .await?
        .remove(id)
        .flatten()
    else {
        return Err(ApiError::not_found(field));
    };
    visible(ctx, vec![m])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(field))
}

#[Object]
impl SupportCase {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 世帯 / the household
    async fn household_id(&self) -> ID {
        ID(self.model.household_id.clone())
    }
    /// 担当機関 (多機関協働) / owning (coordinating) agency
    async fn owner_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.owner_agency_id).await
    }
    /// 担当コーディネーター / lead coordinator's account
    async fn lead_account_id(&self) -> ID {
        ID(self.model.lead_account_id.clone())
    }
    async fn status(&self) -> ApiResult<CaseStatus> {
        CaseStatus::from_db(&self.model.status)
    }
    /// 中断前の状態 (中断中のみ) / status before the suspension, while suspended
    async fn status_before_suspension(&self) -> ApiResult<Option<CaseStatus>> {
        self.model
            .status_before_suspension
            .as_deref()
            .map(CaseStatus::from_db)
            .transpose()
    }
    /// 開始日 / opened on
    async fn opened_on(&self) -> Date {
        self.model.opened_on.into()
    }
    /// 終結日 / closed on
    async fn closed_on(&self) -> Option<Date> {
        self.model.closed_on.map(Into::into)
    }
    async fn version(&self) -> i32 {
        self.model.version
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.model.updated_at.into()
    }
    /// 決定 (支援決定・中断・再開・終結、記録順) / decisions, in the order recorded
    async fn decisions(&self, ctx: &Context<'_>) -> ApiResult<Vec<CaseDecision>> {
        self.decision_parts(ctx).await
    }
    /// 支援決定 (未決定なら null) / the 支援決定, if recorded
    async fn support_decision(&self, ctx: &Context<'_>) -> ApiResult<Option<CaseDecision>> {
        let all = self.decision_parts(ctx).await?;
        let support = |d: &CaseDecision| d.model.kind == store::cases::SUPPORT_DECISION;
        Ok(all.into_iter().find(support))
    }
    /// 各機関の関与 (PLAN: どの機関が関わっているか自体が機微情報) / each agency's
    /// involvement — which agencies work with a household is itself sensitive, so PLAN
    async fn involvements(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<CaseInvolvement>>> {
        if self
            .scope
            .reveal(ctx, "support_case", &self.model.id, PLAN, || Some(()))?
            .is_none()
        {
            return Ok(None);
        }
        Ok(Some(
            self.rows(involvements_of(ctx, self.key()).await?)
                .into_iter()
                .map(CaseInvolvement)
                .collect(),
        ))
    }
    /// 支援プランの全版 (新しい順) / every plan version, newest first
    async fn plans(&self, ctx: &Context<'_>) -> ApiResult<Vec<SupportPlan>> {
        self.plan_parts(ctx).await
    }
    /// 現行の支援プラン (最新版) / the current (latest) plan version
    async fn current_plan(&self, ctx: &Context<'_>) -> ApiResult<Option<SupportPlan>> {
        Ok(self.plan_parts(ctx).await?.into_iter().next())
    }
}

/// The case queries, in the schema's order.
#[derive(MergedObject, Default)]
pub struct CaseQuery(CaseLookupQuery, CoordinatorViewQuery);

/// A coordinator view: the caller's agency's cases in the `view` of the caller, paged by id.
async fn coordinator_view(
    ctx: &Context<'_>,
    operation: &str,
    view: fn(&RequestCtx) -> View,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Connection<String, SupportCase>> {
    let r = req(ctx)?;
    r.require(Action::CoordinateCases, operation)?;
    let page = validate::page(first, after, store::CursorKind::Id)?;
    let rows = store::cases::view(db(ctx)?, &r.principal.agency_id, &view(r), &page).await?;
    let has_next = rows.len() as u64 > page.first;
    let rows: Vec<_> = rows.into_iter().take(page.first as usize).collect();
    let mut conn = Connection::new(page.after.is_some(), has_next);
    let list = visible(ctx, rows).await?;
    prefetch(ctx, &list, &Wants::connection(ctx)).await?;
    for c in list {
        conn.edges
            .push(Edge::new(store::encode_cursor(&c.model.id), c));
    }
    Ok(conn)
}

#[derive(Default)]
pub struct CaseLookupQuery;

#[Object]
impl CaseLookupQuery {
    /// 支援ケース / a support case by id
    async fn support_case(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SupportCase> {
        let id = validate::id("id", &id)?;
        find(ctx, "id", &id).await
    }

    /// 世帯の支援ケース (新しい順、見られるもののみ) / a household's cases the caller may see
    async fn support_cases(
        &self,
        ctx: &Context<'_>,
        household_id: ID,
    ) -> ApiResult<Vec<SupportCase>> {
        let id = validate::id("householdId", &household_id)?;
        let wants = Wants::list(ctx);
        let models = if wants.field("plans").exists() || wants.field("currentPlan").exists() {
            // The cases with their plan versions: one statement.
            let (models, plans) = store::cases::of_household_with_plans(db(ctx)?, &id).await?;
            let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
            req(ctx)?
                .rows
                .plans
                .seed(&ids, group(plans, |p| &p.case_id))?;
            models
        } else {
            store::cases::of_household(db(ctx)?, &id).await?
        };
        let list = visible(ctx, models).await?;
        prefetch(ctx, &list, &wants).await?;
        Ok(list)
    }
}

/// The coordinator views: queries of one shape, each a [`View`] of the caller's agency's
/// cases, made from one template.
macro_rules! coordinator_views {
    ($($(#[$doc:meta])* $name:ident($op:literal, $view:expr);)+) => {
        #[derive(Default)]
        pub struct CoordinatorViewQuery;

        #[Object]
        impl CoordinatorViewQuery {$(
            $(#[$doc])*
            async fn $name(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>)
                -> ApiResult<Connection<String, SupportCase>> {
                coordinator_view(ctx, $op, $view, first, after).await
            }
        )+}
    };
}

coordinator_views! {
    /// 担当ケース (自分が担当の進行中ケース) / open cases the caller leads
    my_cases("myCases", |r| View::LedBy(r.principal.account_id.clone()));
    /// 見直し期限切れ (自機関の進行中ケースで現行プランの次回見直し日が今日より前) /
    /// open cases of the caller's agency whose current plan's review date has passed
    overdue_reviews("overdueReviews", |r| View::ReviewOverdue(crate::policy::city_date(r.now)));
    /// 本人同意のないプラン (自機関の進行中ケースで現行プランが未同意) /
    /// open cases of the caller's agency whose current plan lacks the person's agreement
    plans_without_agreement("plansWithoutAgreement", |_| View::PlanNotAgreed);
    /// 終結後も終了していない関与 (自機関の終結ケース) /
    /// closed cases of the caller's agency with an involvement that has no end
    open_involvements_after_closure("openInvolvementsAfterClosure", |_| {
        View::OpenInvolvementAfterClosure
    });
}
