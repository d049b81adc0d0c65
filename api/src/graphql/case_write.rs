//! Writes to support cases: opening, the status machine with its decisions and the 支援決定
//! (involvements are in `involvement`, plans in `plan`). Only the owning agency's
//! coordinators write; any other caller who can see the case gets FORBIDDEN, one who cannot
//! gets NOT_FOUND.
//!
//! Status machine: ASSESSMENT → PLANNING → ACTIVE → MONITORING (→ ACTIVE again) with
//! `advanceCase`; SUSPENDED (中断) from any open status with `suspendCase`, back to the status
//! before suspension with `resumeCase`; CLOSED (終結) from any open status with `closeCase`
//! (a person may die or move out at any stage). Moving to ACTIVE needs the current plan's
//! agreement; the agreement needs the 支援決定. An illegal move is BAD_USER_INPUT and
//! writes nothing. Each suspension, resumption and closure is a decision row written in the
//! same transaction as the status change and its ledger rows (one per household member).

use async_graphql::{Context, InputObject, Object, ID};
use sea_orm::ActiveValue::Set;

use super::case::{self, CaseDecisionKind, CaseReason, CaseStatus, SupportCase};
use super::context::{db, req, RequestCtx};
use super::household;
use super::loaders::household_subjects;
use super::scalars::Date;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;
use crate::store::{self, cases::Row};
use entity::{case_decision, support_case};

/// A case the caller's agency owns, for a write by a coordinator: FORBIDDEN without the
/// role, NOT_FOUND when the case is not visible, FORBIDDEN when another agency owns it.
pub(super) async fn owned(
    ctx: &Context<'_>,
    operation: &str,
    field: &str,
    id: &ID,
) -> ApiResult<SupportCase> {
    let r = req(ctx)?;
    r.require(Action::CoordinateCases, operation)?;
    let id = validate::id(field, id)?;
    let c = case::find(ctx, field, &id).await?;
    if c.model.owner_agency_id != r.principal.agency_id {
        return Err(ApiError::forbidden(
            "担当機関のみ変更できます / only the owning agency may change a case",
        ));
    }
    Ok(c)
}

/// Plans, decisions and involvements change only while the case is open and not suspended.
pub(super) fn require_workable(c: &SupportCase, field: &str) -> ApiResult<()> {
    match c.current_status()? {
        CaseStatus::Closed | CaseStatus::Suspended => Err(ApiError::bad_input(
            field,
            "終結・中断中のケースは変更できません / the case is closed or suspended",
        )),
        _ => Ok(()),
    }
}

/// The guarded case change every write carries: the version after `version`, now.
pub(super) fn bump(r: &RequestCtx, version: i32) -> support_case::ActiveModel {
    support_case::ActiveModel {
        version: Set(store::next_version(version)),
        updated_at: Set(r.now),
        ..Default::default()
    }
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

/// A decision's own values (remembering each invalid one in `invalid`); the meeting it names
/// is checked by [`decision_meeting`] once every value is valid.
fn decision_base(
    invalid: &mut validate::Invalid,
    c: &SupportCase,
    field: &str,
    decided_on: &Date,
    decider: &str,
    meeting_id: Option<&ID>,
) -> DecisionBase {
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
/// about the case's household.
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
    let r = req(ctx)?;
    let Some(row) = store::meetings::get(db(ctx)?, m).await? else {
        return Err(ApiError::not_found(f));
    };
    let took_part = row.model.owner_agency_id == r.principal.agency_id
        || row.members.contains(&r.principal.agency_id);
    if !took_part {
        return Err(ApiError::not_found(f));
    }
    if row.model.household_id != c.model.household_id {
        // A meeting of the caller's own agency about another household.
        if row.model.owner_agency_id == r.principal.agency_id {
            return Err(ApiError::bad_input(
                f,
                "別の世帯の会議です / the meeting is about another household",
            ));
        }
        return Err(ApiError::not_found(f));
    }
    Ok(())
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

fn illegal(field: &str, from: CaseStatus, to: CaseStatus) -> ApiError {
    ApiError::bad_input(
        field,
        format!(
            "{} から {} へは変更できません / cannot go from {} to {}",
            from.as_str(),
            to.as_str(),
            from.as_str(),
            to.as_str()
        ),
    )
}

/// A status change: forward moves, or a decision (suspension, resumption, closure).
enum Step {
    Advance(CaseStatus),
    Decide(CaseDecisionKind, CaseDecisionInput),
}

async fn transition(
    ctx: &Context<'_>,
    operation: &str,
    id: ID,
    version: i32,
    step: Step,
) -> ApiResult<SupportCase> {
    let r = req(ctx)?;
    let c = owned(ctx, operation, "id", &id).await?;
    if c.model.version != version {
        return Err(ApiError::stale(c.model.version));
    }
    let from = c.current_status()?;
    let mut change = bump(r, version);
    let mut fields = vec!["status"];
    let mut rows = Vec::new();
    let to = match step {
        Step::Advance(to) => {
            use CaseStatus::*;
            let legal = matches!(
                (from, to),
                (Assessment, Planning)
                    | (Planning, Active)
                    | (Active, Monitoring)
                    | (Monitoring, Active)
            );
            if !legal {
                return Err(illegal("to", from, to));
            }
            if to == Active {
                let plan = store::cases::current_plan(db(ctx)?, &c.model.id).await?;
                if plan.is_none_or(|p| p.agreed_on.is_none()) {
                    return Err(ApiError::bad_input(
                        "to",
                        "現行プランに本人の同意がありません / the current plan has no agreement of the person",
                    ));
                }
            }
            to
        }
        Step::Decide(kind, input) => {
            let to = match kind {
                CaseDecisionKind::Suspension if from.is_open() && from != CaseStatus::Suspended => {
                    change.status_before_suspension = Set(Some(from.as_str().to_owned()));
                    fields.push("statusBeforeSuspension");
                    CaseStatus::Suspended
                }
                CaseDecisionKind::Resumption if from == CaseStatus::Suspended => {
                    let before = c.model.status_before_suspension.as_deref().ok_or_else(|| {
                        ApiError::internal("support_case", "suspended without a prior status")
                    })?;
                    change.status_before_suspension = Set(None);
                    fields.push("statusBeforeSuspension");
                    CaseStatus::from_db(before)?
                }
                CaseDecisionKind::Closure if from.is_open() => {
                    fields.push("closedOn");
                    CaseStatus::Closed
                }
                CaseDecisionKind::Suspension => {
                    return Err(illegal("id", from, CaseStatus::Suspended))
                }
                CaseDecisionKind::Closure => return Err(illegal("id", from, CaseStatus::Closed)),
                _ => {
                    return Err(ApiError::bad_input(
                        "id",
                        "中断中のケースではありません / the case is not suspended",
                    ))
                }
            };
            // Every invalid value is reported at once; the meeting is looked up after.
            let mut invalid = validate::Invalid::default();
            let base = decision_base(
                &mut invalid,
                &c,
                "decision",
                &input.decided_on,
                &input.decider,
                input.meeting_id.as_ref(),
            );
            let note = invalid.check(validate::optional(
                "decision.note",
                input.note.as_ref(),
                4000,
            ));
            invalid.finish(ctx)?;
            decision_meeting(ctx, &c, "decision", &base).await?;
            if to == CaseStatus::Closed {
                change.closed_on = Set(Some(base.decided_on));
            }
            let mut row = decision_row(r, &c.model.id, kind, base);
            row.reason = Some(input.reason.as_str().to_owned());
            row.note = note;
            rows.push(Row::Decision(row));
            to
        }
    };
    change.status = Set(to.as_str().to_owned());
    let detail = serde_json::json!({ "fields": fields });
    store::cases::write_guarded(
        db(ctx)?,
        Some((change, &c.model.id, version)),
        rows,
        entries(r, operation, "support_case", &c.model.id, &c, detail),
    )
    .await?;
    super::loaders::forget_rows(ctx)?;
    case::find(ctx, "id", &c.model.id).await
}

#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
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
            Some(a) => {
                match store::registry::account(db, &a).await? {
                    Some(acc)
                        if acc.active
                            && acc.agency_id == r.principal.agency_id
                            && crate::auth::parse_roles(&acc.roles)
                                .contains(&crate::policy::Role::Coordinator) =>
                    {
                        a
                    }
                    _ => {
                        return Err(ApiError::bad_input(
                            "input.leadAccountId",
                            "自機関の有効なコーディネーターを指定してください / must be an active coordinator of your agency",
                        ))
                    }
                }
            }
        };
        if household_subjects(ctx, &hid).await?.is_empty() {
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
        let subjects = household_subjects(ctx, &hid).await?;
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
        store::cases::write_guarded(db, None, vec![Row::Case(model)], entries).await?;
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
        transition(ctx, "advanceCase", id, version, Step::Advance(to)).await
    }

    /// 中断 (決定として記録) / suspend a case, recorded as a decision
    async fn suspend_case(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        decision: CaseDecisionInput,
    ) -> ApiResult<SupportCase> {
        let step = Step::Decide(CaseDecisionKind::Suspension, decision);
        transition(ctx, "suspendCase", id, version, step).await
    }

    /// 再開 (中断前の状態へ戻る) / resume a suspended case to its status before suspension
    async fn resume_case(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        decision: CaseDecisionInput,
    ) -> ApiResult<SupportCase> {
        let step = Step::Decide(CaseDecisionKind::Resumption, decision);
        transition(ctx, "resumeCase", id, version, step).await
    }

    /// 終結 (決定として記録) / close a case, recorded as a decision
    async fn close_case(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        decision: CaseDecisionInput,
    ) -> ApiResult<SupportCase> {
        let step = Step::Decide(CaseDecisionKind::Closure, decision);
        transition(ctx, "closeCase", id, version, step).await
    }

    /// 支援決定を記録 (1 ケースに 1 回) / record the city's decision to support (once per case)
    async fn record_support_decision(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: SupportDecisionInput,
    ) -> ApiResult<SupportCase> {
        let op = "recordSupportDecision";
        let r = req(ctx)?;
        let c = owned(ctx, op, "caseId", &case_id).await?;
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
        let base = decision_base(
            &mut invalid,
            &c,
            "input",
            &input.decided_on,
            &input.decider,
            input.meeting_id.as_ref(),
        );
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
        let change = bump(r, c.model.version);
        store::cases::write_guarded(
            db(ctx)?,
            Some((change, &c.model.id, c.model.version)),
            vec![Row::Decision(row)],
            entries,
        )
        .await?;
        super::loaders::forget_rows(ctx)?;
        case::find(ctx, "caseId", &c.model.id).await
    }
}
