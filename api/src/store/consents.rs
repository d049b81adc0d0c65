//! Consent records (never deleted; withdrawal is a stamp).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use entity::consent;

pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<Vec<consent::Model>, DbErr> {
    consent::Entity::find()
        .filter(consent::Column::SubjectPersonId.eq(person_id))
        .order_by_asc(consent::Column::RecordedAt)
        .order_by_asc(consent::Column::Id)
        .all(db)
        .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<consent::Model>, DbErr> {
    consent::Entity::find_by_id(id.to_owned()).one(db).await
}
