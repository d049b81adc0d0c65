//! Reading the ledger (appending lives in `crate::audit`).

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use entity::audit_event;

#[derive(Clone, Debug, Default)]
pub struct LedgerFilter {
    pub subject_person_id: Option<String>,
    pub account_id: Option<String>,
    pub action: Option<String>,
    /// Only rows that carry an alert for admins (`"alert"` in their detail).
    pub alerts_only: bool,
}

/// Newest first; `before` is a seq to continue from.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &LedgerFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut q = audit_event::Entity::find();
    if let Some(p) = &filter.subject_person_id {
        q = q.filter(audit_event::Column::SubjectPersonId.eq(p.as_str()));
    }
    if let Some(a) = &filter.account_id {
        q = q.filter(audit_event::Column::AccountId.eq(a.as_str()));
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_event::Column::Action.eq(a.as_str()));
    }
    if filter.alerts_only {
        q = q.filter(audit_event::Column::Detail.contains("\"alert\":\""));
    }
    if let Some(b) = before {
        q = q.filter(audit_event::Column::Seq.lt(b));
    }
    q.order_by_desc(audit_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}
