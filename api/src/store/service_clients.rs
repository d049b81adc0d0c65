//! Service clients (OAuth 2.0 client credentials): queries only. The secret hash never leaves
//! the hub; it is read here only to verify a presented secret.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use entity::service_client;

pub async fn by_id<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<service_client::Model>, DbErr> {
    service_client::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

/// All clients, or one account's, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: Option<&str>,
) -> Result<Vec<service_client::Model>, DbErr> {
    let mut q = service_client::Entity::find();
    if let Some(a) = account_id {
        q = q.filter(service_client::Column::AccountId.eq(a));
    }
    q.order_by_asc(service_client::Column::CreatedAt)
        .order_by_asc(service_client::Column::Id)
        .all(db)
        .await
}
