//! Support cases (多機関協働): a household's case with its decisions (支援決定, 中断, 再開,
//! 終結), each agency's involvement (関与) and the versioned support plans (see `plan`).
//!
//! Access: a case, its plans, decisions and involvements are PLAN data of every current
//! member of the household, held by the case's owner agency. A case exists for the caller
//! when the policy allows PLAN of at least one current member; otherwise it is NOT_FOUND,
//! exactly like a random id, and lists leave it out. Status, dates, versions and agency ids
//! are then shown as metadata; content (plan text, decision reasons) only where PLAN is
//! allowed for every member, decision notes where NARRATIVE is; a withheld field is null with
//! CONSENT_REQUIRED. Writes are in `case_write` and `plan`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, ID};

use super::context::{db, req};
use super::enums::text_enum;
use super::gate::{nullable, reveal_all, RecordRef};
use super::loaders::{group, load_agencies, load_persons, members_of, Wants};
use super::plan::SupportPlan;
use super::registry::{agency_by_id, Agency};
use super::scalars::{Date, DateTime};
use super::validate;
use crate::error::{ApiError, ApiResult};
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

text_enum! {
    /// ケースの決定の種別 / kind of case decision
    CaseDecisionKind {
        /// 支援決定 / the city's decision to support
        SupportDecision = "SUPPORT_DECISION",
        /// 中断 / suspension
        Suspension = "SUSPENSION",
        /// 再開 / resumption
        Resumption = "RESUMPTION",
        /// 終結 / closure
        Closure = "CLOSURE",
    }
}

text_enum! {
    /// 終結・中断・再開の理由 / reason for a closure, suspension or resumption
    CaseReason {
        /// 目標達成 / goals achieved
        GoalAchieved = "GOAL_ACHIEVED",
        /// 主担当へ移行 / handed over to the lead agency
        HandedToLead = "HANDED_TO_LEAD",
        /// 転出 / moved out of the city
        MovedOut = "MOVED_OUT",
        /// 死亡 / died
        Died = "DIED",
        /// 連絡途絶 / contact lost
        LostContact = "LOST_CONTACT",
        /// 本人拒否 / refused by the person
        Refused = "REFUSED",
        /// その他 / other
        Other = "OTHER",
    }
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

impl CaseStatus {
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
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
    /// The owning agency always does (its own record, even with no member left).
    pub fn sees_all(&self, r: &super::context::RequestCtx, item: Item) -> bool {
        let own = r
            .decide(&SubjectFacts::default(), &self.owner_agency_id, item)
            .is_ok();
        own || !self.subjects.is_empty()
            && self
                .subjects
                .iter()
                .all(|s| r.decide(s, &self.owner_agency_id, item).is_ok())
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
    pub fn current_status(&self) -> ApiResult<CaseStatus> {
        CaseStatus::from_db(&self.model.status)
    }

    /// This case's rows out of rows keyed by case.
    fn rows<T>(&self, mut by_case: HashMap<String, Vec<T>>) -> Vec<T> {
        by_case.remove(&self.model.id).unwrap_or_default()
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
    let mut current: HashMap<String, Vec<String>> = HashMap::new();
    for m in members_of(ctx, &households)
        .await?
        .into_values()
        .flatten()
        .filter(|m| r.current(m))
    {
        current.entry(m.household_id).or_default().push(m.person_id);
    }
    let ids: Vec<String> = current.values().flatten().cloned().collect();
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
        // The owning agency keeps its case even when no one is left in the household (so it
        // can still close it): OWN, decided on an empty subject.
        let own = r
            .decide(&SubjectFacts::default(), &m.owner_agency_id, PLAN)
            .is_ok();
        if own
            || subjects
                .iter()
                .any(|s| r.decide(s, &m.owner_agency_id, PLAN).is_ok())
        {
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

/// Decisions of these cases, keyed by case, each case's in the order recorded.
pub async fn decisions_of(
    ctx: &Context<'_>,
    case_ids: &[String],
) -> ApiResult<HashMap<String, Vec<case_decision::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .decisions
        .get(case_ids, |ids| async move {
            let rows = store::cases::decisions_of_cases(db, &ids).await?;
            Ok(group(rows, |d| &d.case_id))
        })
        .await
}

/// Involvements of these cases, keyed by case.
pub async fn involvements_of(
    ctx: &Context<'_>,
    case_ids: &[String],
) -> ApiResult<HashMap<String, Vec<case_involvement::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .involvements
        .get(case_ids, |ids| async move {
            let rows = store::cases::involvements_of_cases(db, &ids).await?;
            Ok(group(rows, |i| &i.case_id))
        })
        .await
}

/// Plan versions of these cases, keyed by case, newest first.
pub async fn plans_of(
    ctx: &Context<'_>,
    case_ids: &[String],
) -> ApiResult<HashMap<String, Vec<support_plan::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .plans
        .get(case_ids, |ids| async move {
            let rows = store::cases::plans_of_cases(db, &ids).await?;
            Ok(group(rows, |p| &p.case_id))
        })
        .await
}

/// Assignments of these plan versions, keyed by plan, in order.
pub async fn assignments_of(
    ctx: &Context<'_>,
    plan_ids: &[String],
) -> ApiResult<HashMap<String, Vec<plan_assignment::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .assignments
        .get(plan_ids, |ids| async move {
            let rows = store::cases::assignments_of_plans(db, &ids).await?;
            Ok(group(rows, |a| &a.plan_id))
        })
        .await
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
        self.current_status()
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
        Ok(self
            .rows(decisions_of(ctx, std::slice::from_ref(&self.model.id)).await?)
            .into_iter()
            .map(|model| CaseDecision {
                model,
                scope: self.scope.clone(),
            })
            .collect())
    }
    /// 支援決定 (未決定なら null) / the 支援決定, if recorded
    async fn support_decision(&self, ctx: &Context<'_>) -> ApiResult<Option<CaseDecision>> {
        Ok(self
            .rows(decisions_of(ctx, std::slice::from_ref(&self.model.id)).await?)
            .into_iter()
            .find(|d| d.kind == store::cases::SUPPORT_DECISION)
            .map(|model| CaseDecision {
                model,
                scope: self.scope.clone(),
            }))
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
            self.rows(involvements_of(ctx, std::slice::from_ref(&self.model.id)).await?)
                .into_iter()
                .map(CaseInvolvement)
                .collect(),
        ))
    }
    /// 支援プランの全版 (新しい順) / every plan version, newest first
    async fn plans(&self, ctx: &Context<'_>) -> ApiResult<Vec<SupportPlan>> {
        Ok(self
            .rows(plans_of(ctx, std::slice::from_ref(&self.model.id)).await?)
            .into_iter()
            .map(|model| SupportPlan {
                model,
                scope: self.scope.clone(),
            })
            .collect())
    }
    /// 現行の支援プラン (最新版) / the current (latest) plan version
    async fn current_plan(&self, ctx: &Context<'_>) -> ApiResult<Option<SupportPlan>> {
        Ok(self
            .rows(plans_of(ctx, std::slice::from_ref(&self.model.id)).await?)
            .into_iter()
            .next()
            .map(|model| SupportPlan {
                model,
                scope: self.scope.clone(),
            }))
    }
}

/// ケースの決定 / a decision on a case (支援決定, 中断, 再開, 終結)
pub struct CaseDecision {
    model: case_decision::Model,
    scope: Scope,
}

#[Object]
impl CaseDecision {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn kind(&self) -> ApiResult<CaseDecisionKind> {
        CaseDecisionKind::from_db(&self.model.kind)
    }
    /// 決定日 / decided on
    async fn decided_on(&self) -> Date {
        self.model.decided_on.into()
    }
    /// 決定者 / who decided (e.g. 福祉課長)
    async fn decider(&self) -> &str {
        &self.model.decider
    }
    /// 支援決定の根拠 (PLAN) / basis of a 支援決定
    async fn basis(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let value = self.model.basis.clone();
        self.scope
            .reveal(ctx, "case_decision", &self.model.id, PLAN, || value)
    }
    /// 理由 (PLAN) / reason of a suspension, resumption or closure
    async fn reason(&self, ctx: &Context<'_>) -> ApiResult<Option<CaseReason>> {
        let value = self
            .model
            .reason
            .as_deref()
            .map(CaseReason::from_db)
            .transpose()?;
        self.scope
            .reveal(ctx, "case_decision", &self.model.id, PLAN, || value)
    }
    /// 備考 (NARRATIVE) / note
    async fn note(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let value = self.model.note.clone();
        self.scope
            .reveal(ctx, "case_decision", &self.model.id, NARRATIVE, || value)
    }
    /// 決定した会議 (招集・参加した機関にのみ; ほかは null) / the meeting that took the
    /// decision, for its convener and participants (null for anyone else)
    async fn meeting_id(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        match &self.model.meeting_id {
            Some(id) if super::meeting::knows(ctx, id).await? => Ok(Some(ID(id.clone()))),
            _ => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
}

/// 関与 / an agency's involvement in a case, with its own role, start and end
pub struct CaseInvolvement(pub case_involvement::Model);

#[Object]
impl CaseInvolvement {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// 機関 / the agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.agency_id).await
    }
    async fn role(&self) -> ApiResult<InvolvementRole> {
        InvolvementRole::from_db(&self.0.role)
    }
    /// 開始日 / started on
    async fn started_on(&self) -> Date {
        self.0.started_on.into()
    }
    /// 終了日 / ended on
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Into::into)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Default)]
pub struct CaseQuery;

/// A coordinator view: the caller's agency's cases in `view`, paged by id.
async fn coordinator_view(
    ctx: &Context<'_>,
    operation: &str,
    view: View,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Connection<String, SupportCase>> {
    let r = req(ctx)?;
    r.require(Action::CoordinateCases, operation)?;
    let page = validate::page(first, after, store::CursorKind::Id)?;
    let rows = store::cases::view(db(ctx)?, &r.principal.agency_id, &view, &page).await?;
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

#[Object]
impl CaseQuery {
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
        let models = store::cases::of_household(db(ctx)?, &id).await?;
        let list = visible(ctx, models).await?;
        prefetch(ctx, &list, &Wants::list(ctx)).await?;
        Ok(list)
    }

    /// 担当ケース (自分が担当の進行中ケース) / open cases the caller leads
    async fn my_cases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SupportCase>> {
        let me = req(ctx)?.principal.account_id.clone();
        coordinator_view(ctx, "myCases", View::LedBy(me), first, after).await
    }

    /// 見直し期限切れ (自機関の進行中ケースで現行プランの次回見直し日が今日より前) /
    /// open cases of the caller's agency whose current plan's review date has passed
    async fn overdue_reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SupportCase>> {
        let today = crate::policy::city_date(req(ctx)?.now);
        coordinator_view(
            ctx,
            "overdueReviews",
            View::ReviewOverdue(today),
            first,
            after,
        )
        .await
    }

    /// 本人同意のないプラン (自機関の進行中ケースで現行プランが未同意) /
    /// open cases of the caller's agency whose current plan lacks the person's agreement
    async fn plans_without_agreement(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SupportCase>> {
        coordinator_view(
            ctx,
            "plansWithoutAgreement",
            View::PlanNotAgreed,
            first,
            after,
        )
        .await
    }

    /// 終結後も終了していない関与 (自機関の終結ケース) /
    /// closed cases of the caller's agency with an involvement that has no end
    async fn open_involvements_after_closure(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SupportCase>> {
        coordinator_view(
            ctx,
            "openInvolvementsAfterClosure",
            View::OpenInvolvementAfterClosure,
            first,
            after,
        )
        .await
    }
}
