//! Agencies and accounts: the hub's registry.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use entity::{account, agency};

pub async fn agencies<C: ConnectionTrait>(db: &C) -> Result<Vec<agency::Model>, DbErr> {
    agency::Entity::find()
        .order_by_asc(agency::Column::Code)
        .all(db)
        .await
}

pub async fn agency<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<agency::Model>, DbErr> {
    agency::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn agencies_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<agency::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(db)
        .await
}

pub async fn agency_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<agency::Model>, DbErr> {
    agency::Entity::find()
        .filter(agency::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn accounts<C: ConnectionTrait>(
    db: &C,
    agency_id: Option<&str>,
) -> Result<Vec<account::Model>, DbErr> {
    let mut q = account::Entity::find();
    if let Some(a) = agency_id {
        q = q.filter(account::Column::AgencyId.eq(a));
    }
    q.order_by_asc(account::Column::Login).all(db).await
}

pub async fn account<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn account_by_login<C: ConnectionTrait>(
    db: &C,
    login: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Login.eq(login))
        .one(db)
        .await
}
