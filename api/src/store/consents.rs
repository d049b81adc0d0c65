//! Consent records (never deleted; withdrawal is a stamp). A person's consents are read
//! with the person's policy facts (`facts::for_persons`).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use entity::consent;

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<consent::Model>, DbErr> {
    consent::Entity::find_by_id(id.to_owned()).one(db).await
}
