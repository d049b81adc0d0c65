//! Support plans (支援プラン), versioned: editing creates a new version and old versions are
//! never changed, so the history stays readable. Content (本人の思い, goals, each agency's
//! task and contact frequency) is PLAN data of every current member of the household; the
//! version number, dates, the agreement and agency ids are metadata of a visible case.
//! The person's agreement is recorded on the latest version only, after the 支援決定.

use async_graphql::{Context, InputObject, Object, ID};

use super::case::{self, InvolvementRole, Scope, SupportCase, PLAN};
use super::case_mutation::{add_to_case, entries, owned, require_workable};
use super::enums::text_enum;
use super::registry::{agency_by_id, Agency};
use super::scalars::{Date, DateTime};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, cases::Row};
use entity::{plan_assignment, support_plan};

text_enum! {
    /// プランへの同意の方法 / how the person agreed to the plan
    AgreementMethod {
        /// 署名 / signed
        Signed = "SIGNED",
        /// 口頭 / oral
        Oral = "ORAL",
        /// 電子 / electronic
        Electronic = "ELECTRONIC",
        /// 代理人 (成年後見人等) / by a proxy
        Proxy = "PROXY",
    }
}

/// 支援プラン (版) / one version of a support plan
pub struct SupportPlan {
    pub model: support_plan::Model,
    pub scope: Scope,
}

impl SupportPlan {
    fn reveal<T>(
        &self,
        ctx: &Context<'_>,
        value: impl FnOnce() -> Option<T>,
    ) -> ApiResult<Option<T>> {
        self.scope
            .reveal(ctx, "support_plan", &self.model.id, PLAN, value)
    }
}

#[Object]
impl SupportPlan {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn case_id(&self) -> ID {
        ID(self.model.case_id.clone())
    }
    /// 版番号 (1 から) / plan version number, from 1
    async fn plan_version(&self) -> i32 {
        self.model.plan_version
    }
    /// 本人の思い (PLAN) / the person's own wishes
    async fn wishes(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let v = self.model.wishes.clone();
        self.reveal(ctx, || Some(v))
    }
    /// 長期目標 (PLAN) / long-term goal
    async fn long_term_goal(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let v = self.model.long_term_goal.clone();
        self.reveal(ctx, || Some(v))
    }
    /// 短期目標 (PLAN) / short-term goals
    async fn short_term_goals(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<String>>> {
        let goals: Vec<String> = serde_json::from_str(&self.model.short_term_goals)
            .map_err(|e| ApiError::internal("support_plan.short_term_goals", e))?;
        self.reveal(ctx, || Some(goals))
    }
    /// 次回見直し日 / next review date
    async fn next_review_on(&self) -> Option<Date> {
        self.model.next_review_on.map(Into::into)
    }
    /// 本人の同意日 / the day the person agreed
    async fn agreed_on(&self) -> Option<Date> {
        self.model.agreed_on.map(Into::into)
    }
    /// 同意の方法 (PLAN: 代理人による同意かどうかを含む) / how the person agreed (PLAN: it
    /// tells whether a guardian acted)
    async fn agreement_method(&self, ctx: &Context<'_>) -> ApiResult<Option<AgreementMethod>> {
        let v = self.model.agreement_method.clone();
        self.reveal(ctx, || v)?
            .as_deref()
            .map(AgreementMethod::from_db)
            .transpose()
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    /// 各機関の役割分担 (PLAN) / each agency's assignment
    async fn assignments(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<PlanAssignment>>> {
        if self.reveal(ctx, || Some(()))?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            case::assignments_of(ctx, std::slice::from_ref(&self.model.id))
                .await?
                .remove(&self.model.id)
                .unwrap_or_default()
                .into_iter()
                .map(|model| PlanAssignment {
                    model,
                    scope: self.scope.clone(),
                })
                .collect(),
        ))
    }
}

/// 役割分担 / one agency's assignment in a plan version
pub struct PlanAssignment {
    model: plan_assignment::Model,
    scope: Scope,
}

#[Object]
impl PlanAssignment {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 機関 / the agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.agency_id).await
    }
    async fn role(&self) -> ApiResult<InvolvementRole> {
        InvolvementRole::from_db(&self.model.role)
    }
    /// 役割・支援内容 (PLAN) / task
    async fn task(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let v = self.model.task.clone();
        self.scope
            .reveal(ctx, "plan_assignment", &self.model.id, PLAN, || Some(v))
    }
    /// 連絡頻度 (PLAN) / contact frequency
    async fn contact_frequency(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let v = self.model.contact_frequency.clone();
        self.scope
            .reveal(ctx, "plan_assignment", &self.model.id, PLAN, || v)
    }
    /// 期限 / due date
    async fn due_on(&self) -> Option<Date> {
        self.model.due_on.map(Into::into)
    }
}

#[derive(InputObject)]
pub struct AssignmentInput {
    pub agency_id: ID,
    pub role: InvolvementRole,
    /// 役割・支援内容 / task
    pub task: String,
    /// 連絡頻度 (例: 月1回) / contact frequency
    pub contact_frequency: Option<String>,
    pub due_on: Option<Date>,
}

#[derive(InputObject)]
pub struct PlanInput {
    /// 本人の思い / the person's own wishes
    pub wishes: String,
    /// 長期目標 / long-term goal
    pub long_term_goal: String,
    /// 短期目標 / short-term goals
    pub short_term_goals: Vec<String>,
    /// 次回見直し日 / next review date
    pub next_review_on: Date,
    /// 各機関の役割分担 / each agency's assignment
    pub assignments: Vec<AssignmentInput>,
}

const MAX_GOALS: usize = 20;

/// A plan version's texts as they are stored: each checked like any text input (fields
/// named as in `createPlanVersion`'s input), the short-term goals as a JSON list, which is
/// how `SupportPlan.shortTermGoals` reads them back. Every writer of plans (the API, the
/// synthetic-data seed) builds them here.
pub struct PlanTexts {
    pub wishes: String,
    pub long_term_goal: String,
    pub short_term_goals: String,
}

impl PlanTexts {
    pub fn new(wishes: &str, long_term_goal: &str, goals: &[String]) -> ApiResult<PlanTexts> {
        let mut invalid = validate::Invalid::default();
        let texts = PlanTexts::check(&mut invalid, wishes, long_term_goal, goals)?;
        invalid.first()?;
        Ok(texts)
    }

    /// The texts, remembering each invalid one in `invalid` (nothing is to be written
    /// unless it stays empty).
    pub fn check(
        invalid: &mut validate::Invalid,
        wishes: &str,
        long_term_goal: &str,
        goals: &[String],
    ) -> ApiResult<PlanTexts> {
        let wishes = invalid.check(validate::required("input.wishes", wishes, 4000));
        let long_term_goal = invalid.check(validate::required(
            "input.longTermGoal",
            long_term_goal,
            2000,
        ));
        if goals.len() > MAX_GOALS {
            invalid.push(ApiError::bad_input(
                "input.shortTermGoals",
                format!("{MAX_GOALS} 件まで / at most {MAX_GOALS}"),
            ));
        }
        let goals: Vec<String> = goals
            .iter()
            .enumerate()
            .map(|(i, g)| {
                invalid.check(validate::required(
                    &format!("input.shortTermGoals.{i}"),
                    g,
                    1000,
                ))
            })
            .collect();
        let short_term_goals =
            serde_json::to_string(&goals).map_err(|e| ApiError::internal("short_term_goals", e))?;
        Ok(PlanTexts {
            wishes,
            long_term_goal,
            short_term_goals,
        })
    }
}
const MAX_ASSIGNMENTS: usize = 50;

/// One assignment's own values as its row (remembering each invalid one in `invalid`); the
/// agency it names is checked by [`assignment_agency`] once every value is valid.
fn assignment_row(
    invalid: &mut validate::Invalid,
    field: &str,
    plan_id: &str,
    order: i32,
    a: &AssignmentInput,
) -> plan_assignment::Model {
    plan_assignment::Model {
        id: store::new_id(),
        plan_id: plan_id.to_owned(),
        agency_id: invalid.check(validate::id(&format!("{field}.agencyId"), &a.agency_id)),
        role: a.role.as_str().to_owned(),
        task: invalid.check(validate::required(&format!("{field}.task"), &a.task, 2000)),
        contact_frequency: invalid.check(validate::optional(
            &format!("{field}.contactFrequency"),
            a.contact_frequency.as_ref(),
            200,
        )),
        due_on: a
            .due_on
            .as_ref()
            .and_then(|d| invalid.check(d.get(&format!("{field}.dueOn")).map(Some))),
        placement_id: None,
        sort_order: order,
    }
}

/// The agency an assignment names must exist and be active.
async fn assignment_agency(ctx: &Context<'_>, field: &str, agency_id: &str) -> ApiResult<()> {
    match store::registry::agency(super::context::db(ctx)?, agency_id).await? {
        Some(ag) if ag.active => Ok(()),
        _ => Err(ApiError::not_found(format!("{field}.agencyId"))),
    }
}

/// The plan as a visible record of the case it belongs to.
fn plan_of(c: &SupportCase, model: support_plan::Model) -> SupportPlan {
    SupportPlan {
        model,
        scope: c.scope.clone(),
    }
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// 支援プランの新しい版を作成 (旧版は変わらない) / create the next plan version;
    /// earlier versions stay unchanged
    async fn create_plan_version(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: PlanInput,
    ) -> ApiResult<SupportPlan> {
        let op = "createPlanVersion";
        let (c, permit) = owned(ctx, op, "caseId", &case_id).await?;
        require_workable(&c, "caseId")?;
        let r = super::context::req(ctx)?;
        // Every invalid value is reported at once; the agencies are looked up after.
        let mut invalid = validate::Invalid::default();
        let texts = PlanTexts::check(
            &mut invalid,
            &input.wishes,
            &input.long_term_goal,
            &input.short_term_goals,
        )?;
        let next_review_on = invalid.check(input.next_review_on.get("input.nextReviewOn"));
        if input.assignments.len() > MAX_ASSIGNMENTS {
            invalid.push(ApiError::bad_input(
                "input.assignments",
                format!("{MAX_ASSIGNMENTS} 件まで / at most {MAX_ASSIGNMENTS}"),
            ));
        }
        if input
            .assignments
            .iter()
            .filter(|a| a.role == InvolvementRole::Lead)
            .count()
            > 1
        {
            invalid.push(ApiError::bad_input(
                "input.assignments",
                "主担当は 1 機関まで / at most one lead agency",
            ));
        }
        let plan_id = store::new_id();
        let assignments: Vec<plan_assignment::Model> = input
            .assignments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                assignment_row(
                    &mut invalid,
                    &format!("input.assignments.{i}"),
                    &plan_id,
                    i as i32,
                    a,
                )
            })
            .collect();
        invalid.finish(ctx)?;
        for (i, a) in assignments.iter().enumerate() {
            assignment_agency(ctx, &format!("input.assignments.{i}"), &a.agency_id).await?;
        }
        let db = super::context::db(ctx)?;
        let next = store::cases::current_plan(db, &c.model.id)
            .await?
            .map_or(1, |p| p.plan_version + 1);
        // The plan version first, then its assignments.
        let rows = std::iter::once(Row::Plan(support_plan::Model {
            id: plan_id.clone(),
            case_id: c.model.id.clone(),
            plan_version: next,
            wishes: texts.wishes,
            long_term_goal: texts.long_term_goal,
            short_term_goals: texts.short_term_goals,
            next_review_on: Some(next_review_on),
            agreed_on: None,
            agreement_method: None,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
        }))
        .chain(assignments.into_iter().map(Row::Assignment))
        .collect();
        let detail = serde_json::json!({
            "caseId": c.model.id,
            "planVersion": next,
            "fields": ["wishes", "longTermGoal", "shortTermGoals", "nextReviewOn", "assignments"],
        });
        let entries = entries(r, op, "support_plan", &plan_id, &c, detail);
        add_to_case(ctx, permit, &c, rows, entries).await?;
        let c = case::find(ctx, "caseId", &c.model.id).await?;
        let model = store::cases::plan(db, &plan_id)
            .await?
            .ok_or_else(|| ApiError::internal("support_plan", "vanished after insert"))?;
        Ok(plan_of(&c, model))
    }

    /// 本人の同意を記録 (最新版のみ・支援決定の後) / record the person's agreement to the
    /// latest plan version (after the 支援決定)
    async fn record_plan_agreement(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        agreed_on: Date,
        method: AgreementMethod,
    ) -> ApiResult<SupportPlan> {
        let op = "recordPlanAgreement";
        let r = super::context::req(ctx)?;
        r.require(crate::policy::Action::CoordinateCases, op)?;
        let pid = validate::id("planId", &plan_id)?;
        let db = super::context::db(ctx)?;
        let Some(plan) = store::cases::plan(db, &pid).await? else {
            return Err(ApiError::not_found("planId"));
        };
        let (c, permit) = owned(ctx, op, "planId", &ID(plan.case_id.clone())).await?;
        let agreed_on = agreed_on.get("agreedOn")?;
        require_workable(&c, "planId")?;
        let latest = store::cases::current_plan(db, &c.model.id).await?;
        if latest.as_ref().map(|p| p.id.as_str()) != Some(plan.id.as_str()) {
            return Err(ApiError::bad_input(
                "planId",
                "最新版のプランにのみ同意を記録できます / only the latest plan version can be agreed",
            ));
        }
        if plan.agreed_on.is_some() {
            return Err(ApiError::bad_input(
                "planId",
                "既に同意が記録されています / already agreed",
            ));
        }
        let decisions = store::cases::decisions_of(db, &c.model.id).await?;
        if !decisions
            .iter()
            .any(|d| d.kind == store::cases::SUPPORT_DECISION)
        {
            return Err(ApiError::bad_input(
                "planId",
                "先に支援決定を記録してください / record the 支援決定 first",
            ));
        }
        let detail = serde_json::json!({
            "caseId": c.model.id,
            "planVersion": plan.plan_version,
            "fields": ["agreedOn", "agreementMethod"],
        });
        let entries = entries(r, op, "support_plan", &plan.id, &c, detail);
        let rows = vec![Row::PlanAgreed {
            plan_id: plan.id.clone(),
            agreed_on,
            method: method.as_str().to_owned(),
        }];
        add_to_case(ctx, permit, &c, rows, entries).await?;
        let c = case::find(ctx, "planId", &c.model.id).await?;
        let model = store::cases::plan(db, &plan.id)
            .await?
            .ok_or_else(|| ApiError::internal("support_plan", "vanished after update"))?;
        Ok(plan_of(&c, model))
    }
}
