//! Decisions on a support case (支援決定, 中断, 再開, 終結): what was decided, when, by whom
//! and at which meeting. Their basis and reason are PLAN of the case, their note NARRATIVE;
//! they are recorded by the case's mutations (`case_mutation`).

use async_graphql::{Context, Object, ID};

use super::case::{Scope, NARRATIVE, PLAN};
use super::enums::text_enum;
use super::scalars::{Date, DateTime};
use crate::error::ApiResult;
use entity::case_decision;

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

/// ケースの決定 / a decision on a case (支援決定, 中断, 再開, 終結)
pub struct CaseDecision {
    pub(super) model: case_decision::Model,
    pub(super) scope: Scope,
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
