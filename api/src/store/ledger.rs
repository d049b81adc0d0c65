//! Reading the ledger (appending lives in `crate::audit`).

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use chrono::{DateTime, Utc};
use entity::audit_event;

#[derive(Clone, Debug, Default)]
pub struct LedgerFilter {
    pub subject_person_id: Option<String>,
    pub account_id: Option<String>,
    pub action: Option<String>,
    /// The acting agency.
    pub agency_id: Option<String>,
    /// Rows that showed a field on this kind of basis (`OWN`, `CONSENT`, `SUPPORT_MEETING`,
    /// `EMERGENCY`: `policy::Basis::kind`), as written in their `bases`.
    pub basis: Option<&'static str>,
    /// `at` in [from, until).
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
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
    if let Some(a) = &filter.agency_id {
        q = q.filter(audit_event::Column::AgencyId.eq(a.as_str()));
    }
    // `bases` maps each shown category to its bases' texts: "OWN", or "KIND:<reference>".
    match filter.basis {
        Some("OWN") => q = q.filter(audit_event::Column::Bases.contains("\"OWN\"")),
        Some(kind) => q = q.filter(audit_event::Column::Bases.contains(format!("\"{kind}:"))),
        None => {}
    }
    if let Some(f) = filter.from {
        q = q.filter(audit_event::Column::At.gte(f));
    }
    if let Some(u) = filter.until {
        q = q.filter(audit_event::Column::At.lt(u));
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
