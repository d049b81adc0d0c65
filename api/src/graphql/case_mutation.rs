//! Writes to support cases: opening, the status machine with its decisions and the 支援決定
//! (involvements are in `involvement`, plans in `plan`). Only the owning agency's
//! coordinators write; any other caller who can see the case gets FORBIDDEN, one who cannot
//! gets NOT_FOUND (`policy::write::case`).
//!
//! Status machine (`policy::write::case::case_step`): ASSESSMENT → PLANNING → ACTIVE →
//! MONITORING (→ ACTIVE again) with `advanceCase`; SUSPENDED (中断) from any open status with
//! `suspendCase`, back to the status before suspension with `resumeCase`; CLOSED (終結) from
//! any open status with `closeCase` (a person may die or move out at any stage). Moving to
//! ACTIVE needs the current plan's agreement; the agreement needs the 支援決定. An illegal
//! move is BAD_USER_INPUT and writes nothing. Each suspension, resumption and closure is a
//! decision row written in the same transaction as the status change and its ledger rows
//! (one per household member).

use async_graphql::{Context, InputObject, MergedObject, Object, ID};

use super::case::{self, stored_status, CaseStatus, SupportCase};
use super::case_decision::{CaseDecisionKind, CaseReason};
use super::context::{db, req, RequestCtx};
use super::household;
use super::loaders::household_subjects;
use super::scalars::Date;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::case::{self as rule, ChangeCase, IllegalStep};
use crate::policy::write::meeting::{may_cite_meeting, Citation};
use crate::policy::{Action, Permit};
use crate::store::{self, cases::Row};
use entity::{case_decision, support_case};

/// A case the caller's agency owns, for a write by a coordinator, with the permit to change
/// it: FORBIDDEN without the role, NOT_FOUND when the case is not visible, FORBIDDEN when
/// another agency owns it.
pub(super) async fn owned(
    ctx: &Context<'_>,
    operation: &'static str,
    field: &str,
    id: &ID,
) -> ApiResult<(SupportCase, Permit<ChangeCase>)> {
    let r = req(ctx)?;
    r.require(Action::CoordinateCases, operation)?;
    let id = validate::id(field, id)?;
    let c = case::find(ctx, field, &id).await?;
    let permit = rule::may_coordinate(&r.principal, operation, &id, &c.model.owner_agency_id)
        .map_err(|e| ApiError::refused(e, field))?;
    Ok((c, permit))
}

/// Plans, decisions and involvements change only while the case is open and not suspended.
pub(super) fn require_workable(c: &SupportCase, field: &str) -> ApiResult<()> {
    if c.current_status()?.is_workable() {
        return Ok(());
    }
    Err(ApiError::bad_input(
        field,
        "終結・中断中のケースは変更できません / the case is closed or suspended",
    ))
}

/// The case as read, changed now (its version is bumped by the write).
fn touched(r: &RequestCtx, c: &SupportCase) -> support_case::Model {
    support_case::Model {
        updated_at: r.now,
        ..c.model.clone()
    }
}

/// Write `rows` about the case as read, bumping its version in the same transaction
/// (CONFLICT if it changed since it was read), with their ledger entries.
pub(super) async fn add_to_case(
    ctx: &Context<'_>,
    permit: Permit<ChangeCase>,
    c: &SupportCase,
    rows: Vec<Row>,
    entries: Vec<Entry>,
) -> ApiResult<()> {
    let (db, changed) = (db(ctx)?, touched(req(ctx)?, c));
    store::cases::change(
        db,
        permit,
        &c.model,
        c.model.version,
        changed,
        rows,
        entries,
    )
    .await?;
    super::loaders::forget_rows(ctx)
}

/// Ledger rows for a write about a case: one per current household member.
pub(super) fn entries(
    r: &RequestCtx,
    operation: &str,
    record_type: &str,
    record_id: &str,
    c: &SupportCase,
    detail: serde_json::Value,
) -> Vec<Entry> {
    let members = c.scope.member_ids();
    let write = |subject: Option<&str>| {
        Entry::write(
            &r.principal,
            operation,
            record_type,
            record_id,
            subject,
            detail.clone(),
        )
    };
    if members.is_empty() {
        return vec![write(None)];
    }
    members.iter().map(|m| write(Some(m))).collect()
}

#[derive(InputObject)]
pub struct OpenCaseInput {
    pub household_id: ID,
    /// 担当コーディネーター (省略時は呼び出し元) / lead coordinator, the caller by default
    pub lead_account_id: Option<ID>,
    /// 開始日 / opened on
    pub opened_on: Date,
}

#[derive(InputObject)]
pub struct CaseDecisionInput {
    /// 決定日 / decided on
    pub decided_on: Date,
    /// 決定者 / who decided
    pub decider: String,
    /// 理由 / reason
    pub reason: CaseReason,
    /// 備考 / note
    pub note: Option<String>,
    /// 決定した会議 (同じ世帯の会議) / the meeting that decided, about the same household
    pub meeting_id: Option<ID>,
}

#[derive(InputObject)]
pub struct SupportDecisionInput {
    /// 決定日 / decided on
    pub decided_on: Date,
    /// 決定者 / who decided
    pub decider: String,
    /// 根拠 / basis
    pub basis: String,
    /// 決定した会議 / the meeting that decided
    pub meeting_id: Option<ID>,
}

/// The common part of a decision: date (not before the case opened), decider and meeting.
struct DecisionBase {
    decided_on: chrono::NaiveDate,
    decider: String,
    meeting_id: Option<String>,
}

/// What every decision's input has: its date, decider and meeting.
trait DecisionInput {
    fn values(&self) -> (&Date, &str, Option<&ID>);
}

macro_rules! decision_input {
    ($($input:ty),+) => {$(
        impl DecisionInput for $input {
            fn values(&self) -> (&Date, &str, Option<&ID>) {
                (&self.decided_on, &self.decider, self.meeting_id.as_ref())
            }
        }
    )+};
}

decision_input!(CaseDecisionInput, SupportDecisionInput);

/// A decision's own values (remembering each invalid one in `invalid`); the meeting it names
/// is checked by [`decision_meeting`] once every value is valid.
fn decision_base(
    invalid: &mut validate::Invalid,
    c: &SupportCase,
    field: &str,
    input: &impl DecisionInput,
) -> DecisionBase {
    let (decided_on, decider, meeting_id) = input.values();
    let decided_on = invalid.check(decided_on.get(&format!("{field}.decidedOn")).map(Some));
    if decided_on.is_some_and(|d| d < c.model.opened_on) {
        invalid.push(ApiError::bad_input(
            format!("{field}.decidedOn"),
            "ケース開始日より前です / before the case was opened",
        ));
    }
    let decider = invalid.check(validate::required(
        &format!("{field}.decider"),
        decider,
        100,
    ));
    let meeting_id = meeting_id
        .and_then(|m| invalid.check(validate::id(&format!("{field}.meetingId"), m).map(Some)));
    DecisionBase {
        decided_on: decided_on.unwrap_or_default(),
        decider,
        meeting_id,
    }
}

/// The meeting a decision names: one the caller's agency took part in (convener or member),
/// about the case's household (`policy::write::meeting::may_cite_meeting`).
async fn decision_meeting(
    ctx: &Context<'_>,
    c: &SupportCase,
    field: &str,
    base: &DecisionBase,
) -> ApiResult<()> {
    let Some(m) = &base.meeting_id else {
        return Ok(());
    };
    let f = format!("{field}.meetingId");
    let Some(row) = store::meetings::get(db(ctx)?, m).await? else {
        return Err(ApiError::not_found(f));
    };
    let same_household = row.model.household_id == c.model.household_id;
    let p = &req(ctx)?.principal;
    match may_cite_meeting(p, &row.model.owner_agency_id, &row.members, same_household) {
        Ok(()) => Ok(()),
        Err(Citation::Unknown) => Err(ApiError::not_found(f)),
        Err(Citation::OtherHousehold) => Err(ApiError::bad_input(
            f,
            "別の世帯の会議です / the meeting is about another household",
        )),
    }
}

fn decision_row(
    r: &RequestCtx,
    case_id: &str,
    kind: CaseDecisionKind,
    base: DecisionBase,
) -> case_decision::Model {
    case_decision::Model {
        id: store::new_id(),
        case_id: case_id.to_owned(),
        kind: kind.as_str().to_owned(),
        decided_on: base.decided_on,
        decider: base.decider,
        basis: None,
        reason: None,
        note: None,
        meeting_id: base.meeting_id,
        plan_id: None,
        recorded_by: r.principal.account_id.clone(),
        created_at: r.now,
    }
}

/// The error for a step the status machine refuses (`field`: the argument naming the step).
fn illegal(field: &str, e: IllegalStep) -> ApiError {
    match e {
        IllegalStep::Cannot { from, to } => {
            let (from, to) = (from.as_str(), to.as_str());
            let message =
                format!("{from} から {to} へは変更できません / cannot go from {from} to {to}");
            ApiError::bad_input(field, message)
        }
        IllegalStep::NotSuspended => ApiError::bad_input(
            "id",
            "中断中のケースではありません / the case is not suspended",
        ),
        IllegalStep::NoPriorStatus => {
            ApiError::internal("support_case", "suspended without a prior status")
        }
    }
}

/// A status change: a forward move, or one recorded as a decision (suspension, resumption,
/// closure) with its input.
async fn transition(
    ctx: &Context<'_>,
    operation: &'static str,
    id: ID,
    version: i32,
    step: rule::Step,
    decision: Option<(CaseDecisionKind, CaseDecisionInput)>,
) -> ApiResult<SupportCase> {
    let r = req(ctx)?;
    let (c, permit) = owned(ctx, operation, "id", &id).await?;
    if c.model.version != version {
        return Err(ApiError::stale(c.model.version));
    }
    let from = c.current_status()?;
    let before = c.model.status_before_suspension.as_deref();
    let before = before.map(stored_status).transpose()?;
    let field = if decision.is_some() { "id" } else { "to" };
    let step = rule::case_step(from, before, step).map_err(|e| illegal(field, e))?;
    let mut changed = touched(r, &c);
    changed.status = step.to.as_str().to_owned();
    let mut fields = vec!["status"];
    if let Some(before) = step.before_suspension {
        changed.status_before_suspension = before.map(|s| s.as_str().to_owned());
        fields.push("statusBeforeSuspension");
    }
    if step.to == rule::CaseStatus::Closed {
        fields.push("closedOn");
    }
    if step.needs_agreed_plan {
        let plan = store::cases::current_plan(db(ctx)?, &c.model.id).await?;
        if plan.is_none_or(|p| p.agreed_on.is_none()) {
            return Err(ApiError::bad_input(
                "to",
                "現行プランに本人の同意がありません / the current plan has no agreement of the person",
            ));
        }
    }
    let mut rows = Vec::new();
    if let Some((kind, input)) = decision {
        // Every invalid value is reported at once; the meeting is looked up after.
        let mut invalid = validate::Invalid::default();
        let base = decision_base(&mut invalid, &c, "decision", &input);
        let note = invalid.check(validate::optional(
            "decision.note",
            input.note.as_ref(),
            4000,
        ));
        invalid.finish(ctx)?;
        decision_meeting(ctx, &c, "decision", &base).await?;
        if step.to == rule::CaseStatus::Closed {
            changed.closed_on = Some(base.decided_on);
        }
        let mut row = decision_row(r, &c.model.id, kind, base);
        row.reason = Some(input.reason.as_str().to_owned());
        row.note = note;
        rows.push(Row::Decision(row));
    }
    let detail = serde_json::json!({ "fields": fields });
    let entries = entries(r, operation, "support_case", &c.model.id, &c, detail);
    let db = db(ctx)?;
    store::cases::change(db, permit, &c.model, version, changed, rows, entries).await?;
    super::loaders::forget_rows(ctx)?;
    case::find(ctx, "id", &c.model.id).await
}

/// The case mutations, in the schema's order.
#[derive(MergedObject, Default)]
pub struct CaseMutation(
    CaseStatusMutation,
    CaseDecisionMutation,
    SupportDecisionMutation,
);

#[derive(Default)]
pub struct CaseStatusMutation;

#[Object]
impl CaseStatusMutation {
    /// 支援ケースを開始 (担当機関は呼び出し元の機関、状態は ASSESSMENT) /
    /// open a support case for a household; the caller's agency owns it
    async fn open_case(&self, ctx: &Context<'_>, input: OpenCaseInput) -> ApiResult<SupportCase> {
        let op = "openCase";
        let r = req(ctx)?;
        r.require(Action::CoordinateCases, op)?;
        // Every invalid value is reported at once; the records named are looked up after.
        let mut invalid = validate::Invalid::default();
        let hid = invalid.check(validate::id("input.householdId", &input.household_id));
        let opened_on = invalid.check(input.opened_on.get("input.openedOn"));
        let lead_account_id = input
            .lead_account_id
            .as_ref()
            .and_then(|a| invalid.check(validate::id("input.leadAccountId", a).map(Some)));
        invalid.finish(ctx)?;
        household::find(ctx, "input.householdId", &hid).await?;
        let db = db(ctx)?;
        let lead = match lead_account_id {
            None => r.principal.account_id.clone(),
            Some(a) => match store::registry::account(db, &a).await? {
                Some(acc)
                    if rule::may_lead_case(
                        &r.principal,
                        &acc.agency_id,
                        acc.active,
                        &crate::policy::Role::parse_set(&acc.roles),
                    ) =>
                {
                    a
                }
                _ => {
                    return Err(ApiError::bad_input(
                        "input.leadAccountId",
                        "自機関の有効なコーディネーターを指定してください / must be an active coordinator of your agency",
                    ))
                }
            },
        };
        let subjects = household_subjects(ctx, &hid).await?;
        if subjects.is_empty() {
            return Err(ApiError::bad_input(
                "input.householdId",
                "現在の構成員がいない世帯です / the household has no current members",
            ));
        }
        if store::cases::has_open_case(db, &hid, &r.principal.agency_id).await? {
            return Err(ApiError::bad_input(
                "input.householdId",
                "この世帯には自機関の進行中のケースがあります / your agency already has an open case for this household",
            ));
        }
        let permit = rule::may_open_case(&r.principal, &hid)
            .map_err(|e| ApiError::refused(e, "input.householdId"))?;
        let model = support_case::Model {
            id: store::new_id(),
            household_id: hid.clone(),
            owner_agency_id: r.principal.agency_id.clone(),
            lead_account_id: lead,
            status: CaseStatus::Assessment.as_str().to_owned(),
            status_before_suspension: None,
            opened_on,
            closed_on: None,
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let id = model.id.clone();
        let detail = serde_json::json!({
            "householdId": hid,
            "fields": ["householdId", "leadAccountId", "openedOn", "status"],
        });
        let entries: Vec<Entry> = subjects
            .iter()
            .map(|s| {
                Entry::write(
                    &r.principal,
                    op,
                    "support_case",
                    &id,
                    Some(&s.person_id),
                    detail.clone(),
                )
            })
            .collect();
        store::cases::open(db, permit, model, entries).await?;
        super::loaders::forget_rows(ctx)?;
        case::find(ctx, "id", &id).await
    }

    /// 状態を進める (ASSESSMENT→PLANNING→ACTIVE→MONITORING、MONITORING→ACTIVE) /
    /// move a case forward; ACTIVE needs the current plan's agreement
    async fn advance_case(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        to: CaseStatus,
    ) -> ApiResult<SupportCase> {
        let step = rule::Step::Advance(stored_status(to.as_str())?);
        transition(ctx, "advanceCase", id, version, step, None).await
    }
}

/// 中断・再開・終結: three mutations of one shape, each a status change recorded as a
/// decision, made from one template.
macro_rules! decision_mutations {
    ($($(#[$doc:meta])* $name:ident($op:literal, $step:ident, $kind:ident);)+) => {
        #[derive(Default)]
        pub struct CaseDecisionMutation;

        #[Object]
        impl CaseDecisionMutation {$(
            $(#[$doc])*
            async fn $name(&self, ctx: &Context<'_>, id: ID, version: i32, decision: CaseDecisionInput)
                -> ApiResult<SupportCase> {
                let decision = Some((CaseDecisionKind::$kind, decision));
                transition(ctx, $op, id, version, rule::Step::$step, decision).await
            }
        )+}
    };
}

decision_mutations! {
    /// 中断 (決定として記録) / suspend a case, recorded as a decision
    suspend_case("suspendCase", Suspend, Suspension);
    /// 再開 (中断前の状態へ戻る) / resume a suspended case to its status before suspension
    resume_case("resumeCase", Resume, Resumption);
    /// 終結 (決定として記録) / close a case, recorded as a decision
    close_case("closeCase", Close, Closure);
}

#[derive(Default)]
pub struct SupportDecisionMutation;

#[Object]
impl SupportDecisionMutation {
    /// 支援決定を記録 (1 ケースに 1 回) / record the city's decision to support (once per case)
    async fn record_support_decision(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: SupportDecisionInput,
    ) -> ApiResult<SupportCase> {
        let op = "recordSupportDecision";
        let r = req(ctx)?;
        let (c, permit) = owned(ctx, op, "caseId", &case_id).await?;
        require_workable(&c, "caseId")?;
        let decisions = store::cases::decisions_of(db(ctx)?, &c.model.id).await?;
        if decisions
            .iter()
            .any(|d| d.kind == store::cases::SUPPORT_DECISION)
        {
            return Err(ApiError::bad_input(
                "caseId",
                "支援決定は記録済みです / the 支援決定 is already recorded",
            ));
        }
        // Every invalid value is reported at once; the meeting is looked up after.
        let mut invalid = validate::Invalid::default();
        let base = decision_base(&mut invalid, &c, "input", &input);
        let basis = invalid.check(validate::required("input.basis", &input.basis, 2000));
        invalid.finish(ctx)?;
        decision_meeting(ctx, &c, "input", &base).await?;
        // A 支援決定 opens the consent-based 重層的支援会議 track: it is not taken at a 支援会議,
        // whose no-consent sharing must not flow into consent-scoped records.
        if let Some(m) = &base.meeting_id {
            if let Some(row) = store::meetings::get(db(ctx)?, m).await? {
                if row.model.kind == store::facts::SUPPORT_MEETING_KIND {
                    return Err(ApiError::bad_input(
                        "input.meetingId",
                        "支援決定は支援会議ではなく重層的支援会議等で行います / a 支援決定 is not taken at a 支援会議",
                    ));
                }
            }
        }
        let mut row = decision_row(r, &c.model.id, CaseDecisionKind::SupportDecision, base);
        row.basis = Some(basis);
        let detail = serde_json::json!({
            "decisionId": row.id,
            "fields": ["decidedOn", "decider", "basis", "meetingId"],
        });
        let entries = entries(r, op, "support_case", &c.model.id, &c, detail);
        add_to_case(ctx, permit, &c, vec![Row::Decision(row)], entries).await?;
        case::find(ctx, "caseId", &c.model.id).await
    }
}
