//! Break-glass grants (生命・身体の保護).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

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
