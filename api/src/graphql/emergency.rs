//! Emergency access (生命・身体の保護, break-glass): a caller states a reason and gets the
//! EMERGENCY basis for one person for a few hours. Every read under it is ledgered as such;
//! admins see open grants at once and may close them, which ends access on the next request.

use async_graphql::{Context, Object, ID};
use chrono::Duration;

use super::context::{db, req};
use super::loaders::load_persons;
use super::registry::{agency_by_id, Account, Agency};
use super::scalars::DateTime;
use super::validate;
use crate::audit::Entry;
use crate::config::MAX_EMERGENCY_HOURS;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::emergency::{may_close_grant, may_request_emergency, GrantFacts};
use crate::policy::Action;
use crate::store;
use entity::emergency_grant;

/// 緊急時アクセス / a break-glass grant
pub struct EmergencyGrant(emergency_grant::Model);

#[Object]
impl EmergencyGrant {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 対象者の ID / the person it opens
    async fn person_id(&self) -> ID {
        ID(self.0.person_id.clone())
    }
    /// 申請したアカウント / who asked
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        store::registry::account(db(ctx)?, &self.0.account_id)
            .await?
            .map(Account)
            .ok_or_else(|| ApiError::internal("emergency grant", "account vanished"))
    }
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.agency_id).await
    }
    /// 理由 (申請者の記載) / the reason the caller stated
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn granted_at(&self) -> DateTime {
        self.0.granted_at.into()
    }
    async fn expires_at(&self) -> DateTime {
        self.0.expires_at.into()
    }
    /// 管理者が終了した日時 / when an admin closed it
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(Into::into)
    }
    async fn closed_by(&self) -> Option<ID> {
        self.0.closed_by.clone().map(ID)
    }
    /// 事後確認の記録 / the admin's review note
    async fn review_note(&self) -> Option<&str> {
        self.0.review_note.as_deref()
    }
    /// 現在有効か / whether it opens access now
    async fn active(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let now = req(ctx)?.now;
        Ok(self.0.closed_at.is_none() && self.0.granted_at <= now && now < self.0.expires_at)
    }
}

#[derive(Default)]
pub struct EmergencyQuery;

#[Object]
impl EmergencyQuery {
    /// 緊急時アクセスの一覧 (管理者・監査担当; 既定は未終了のみ) / break-glass grants (admin, auditor)
    async fn emergency_grants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true)] open_only: bool,
    ) -> ApiResult<Vec<EmergencyGrant>> {
        let r = req(ctx)?;
        r.require(Action::Oversee, "emergencyGrants")?;
        let grants = store::emergency::list(db(ctx)?, open_only, None).await?;
        r.note_read(
            "emergency_grant",
            None,
            serde_json::json!({ "field": "emergencyGrants", "grants": grants.len() }),
        );
        Ok(grants.into_iter().map(EmergencyGrant).collect())
    }

    /// 自分の緊急時アクセス / the caller's own grants
    async fn my_emergency_grants(&self, ctx: &Context<'_>) -> ApiResult<Vec<EmergencyGrant>> {
        let r = req(ctx)?;
        Ok(
            store::emergency::list(db(ctx)?, false, Some(&r.principal.account_id))
                .await?
                .into_iter()
                .map(EmergencyGrant)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct EmergencyMutation;

#[Object]
impl EmergencyMutation {
    /// 緊急時アクセスを申請 (生命・身体の保護; 理由必須、数時間のみ、管理者に通知)
    /// / request break-glass access to one person: a stated reason, hours not days, admins see it
    async fn request_emergency_access(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        reason: String,
        #[graphql(
            desc = "時間 (既定は設定値、最大 24) / hours (default from configuration, at most 24)"
        )]
        hours: Option<i32>,
    ) -> ApiResult<EmergencyGrant> {
        let r = req(ctx)?;
        r.require(Action::BreakGlass, "requestEmergencyAccess")?;
        let person_id = validate::id("personId", &person_id)?;
        let reason = validate::required("reason", &reason, 2000)?;
        if reason.chars().count() < 10 {
            return Err(ApiError::bad_input(
                "reason",
                "具体的な理由を 10 文字以上で / state the reason in at least 10 characters",
            ));
        }
        let hours = hours.unwrap_or(r.emergency_hours as i32);
        if !(1..=MAX_EMERGENCY_HOURS as i32).contains(&hours) {
            return Err(ApiError::bad_input(
                "hours",
                format!("1〜{MAX_EMERGENCY_HOURS} 時間 / 1 to {MAX_EMERGENCY_HOURS} hours"),
            ));
        }
        // The person must exist; the caller need not be able to see them (that is the point).
        if load_persons(ctx, std::slice::from_ref(&person_id))
            .await?
            .is_empty()
        {
            return Err(ApiError::not_found("personId"));
        }
        // No chaining: while a grant is open the same account cannot renew it by itself (an
        // admin closes it first, after review).
        let open = store::emergency::list(db(ctx)?, true, Some(&r.principal.account_id)).await?;
        let grants: Vec<_> = open.iter().map(facts).collect();
        let permit = may_request_emergency(&r.principal, &person_id, &grants, r.now)
            .map_err(|e| ApiError::refused(e, "personId"))?;
        let grant = emergency_grant::Model {
            id: store::new_id(),
            account_id: r.principal.account_id.clone(),
            agency_id: r.principal.agency_id.clone(),
            person_id: person_id.clone(),
            reason,
            granted_at: r.now,
            expires_at: r.now + Duration::hours(hours as i64),
            closed_at: None,
            closed_by: None,
            review_note: None,
        };
        let entries = vec![Entry::write(
            &r.principal,
            "requestEmergencyAccess",
            "emergency_grant",
            &grant.id,
            Some(&person_id),
            serde_json::json!({ "hours": hours, "fields": ["reason"], "alert": "EMERGENCY_ACCESS" }),
        )];
        let saved = store::emergency::create(db(ctx)?, permit, grant, entries).await?;
        tracing::warn!(grant = %saved.id, account = %saved.account_id, "emergency access granted");
        Ok(EmergencyGrant(saved))
    }

    /// 緊急時アクセスを確認して終了 (管理者) / review and close a grant (admin); access ends on the next request
    async fn close_emergency_grant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: String,
    ) -> ApiResult<EmergencyGrant> {
        let r = req(ctx)?;
        r.require(Action::ManageRegistry, "closeEmergencyGrant")?;
        let id = validate::id("id", &id)?;
        let note = validate::required("note", &note, 2000)?;
        let db = db(ctx)?;
        let current = store::emergency::get(db, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("id"))?;
        let permit = may_close_grant(&r.principal, &facts(&current))
            .map_err(|e| ApiError::refused(e, "id"))?;
        let person_id = current.person_id.clone();
        let closed = emergency_grant::Model {
            closed_at: Some(r.now),
            closed_by: Some(r.principal.account_id.clone()),
            review_note: Some(note),
            ..current
        };
        let entries = vec![Entry::write(
            &r.principal,
            "closeEmergencyGrant",
            "emergency_grant",
            &id,
            Some(&person_id),
            serde_json::json!({ "fields": ["closedAt", "reviewNote"], "alert": "EMERGENCY_ACCESS_CLOSED" }),
        )];
        let saved = store::emergency::close(db, permit, closed, entries).await?;
        Ok(EmergencyGrant(saved))
    }
}

/// A stored grant as its rules read it.
fn facts(g: &emergency_grant::Model) -> GrantFacts<'_> {
    GrantFacts {
        id: &g.id,
        account_id: &g.account_id,
        person_id: &g.person_id,
        expires_at: g.expires_at,
        closed: g.closed_at.is_some(),
    }
}
