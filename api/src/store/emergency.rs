//! Break-glass grants (生命・身体の保護).

use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::write::{guarded, insert, write};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::emergency::{CloseGrant, RequestEmergency, ALREADY_CLOSED};
use crate::policy::Permit;
use entity::emergency_grant;

/// Grants, newest first; only open ones (not closed by an admin) when `open_only`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    open_only: bool,
    account_id: Option<&str>,
) -> Result<Vec<emergency_grant::Model>, DbErr> {
    let mut q = emergency_grant::Entity::find();
    if open_only {
        q = q.filter(emergency_grant::Column::ClosedAt.is_null());
    }
    if let Some(a) = account_id {
        q = q.filter(emergency_grant::Column::AccountId.eq(a));
    }
    q.order_by_desc(emergency_grant::Column::GrantedAt)
        .order_by_desc(emergency_grant::Column::Id)
        .all(db)
        .await
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<emergency_grant::Model>, DbErr> {
    emergency_grant::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

/// Store a new grant with its ledger entries. The permit is for the grant's person.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<RequestEmergency>,
    grant: emergency_grant::Model,
    entries: Vec<Entry>,
) -> ApiResult<emergency_grant::Model> {
    debug_assert_eq!(permit.id(), grant.person_id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let subject = [grant.person_id.clone()];
            let out = insert(txn, grant).await?;
            super::visibility::refresh(txn, &subject).await?;
            Ok(out)
        })
    })
    .await
}

/// Close a grant (`closed`: the grant as read with its closing columns set) only if it is
/// still open: a concurrent close is CONFLICT, and nothing is written twice.
pub async fn close(
    db: &impl super::Handle,
    permit: Permit<CloseGrant>,
    closed: emergency_grant::Model,
    entries: Vec<Entry>,
) -> ApiResult<emergency_grant::Model> {
    debug_assert_eq!(permit.id(), closed.id);
    let change = emergency_grant::ActiveModel {
        closed_at: Set(closed.closed_at),
        closed_by: Set(closed.closed_by.clone()),
        review_note: Set(closed.review_note.clone()),
        ..Default::default()
    };
    let still_open = Condition::all()
        .add(emergency_grant::Column::Id.eq(closed.id.as_str()))
        .add(emergency_grant::Column::ClosedAt.is_null());
    write(db, entries, move |txn| {
        Box::pin(async move {
            guarded::<emergency_grant::Entity>(txn, change, still_open, ALREADY_CLOSED).await?;
            super::visibility::refresh(txn, std::slice::from_ref(&closed.person_id)).await?;
            Ok(closed)
        })
    })
    .await
}
