//! Community resources (社会資源: no personal data) and participation placements.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use entity::{community_resource, participation_placement};

pub async fn list<C: ConnectionTrait>(
    db: &C,
    kind: Option<&str>,
    district: Option<&str>,
    active_only: bool,
) -> Result<Vec<community_resource::Model>, DbErr> {
    let mut q = community_resource::Entity::find();
    if let Some(k) = kind {
        q = q.filter(community_resource::Column::Kind.eq(k));
    }
    if let Some(d) = district {
        q = q.filter(community_resource::Column::District.eq(d));
    }
    if active_only {
        q = q.filter(community_resource::Column::Active.eq(true));
    }
    q.order_by_asc(community_resource::Column::Name)
        .order_by_asc(community_resource::Column::Id)
        .all(db)
        .await
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<community_resource::Model>, DbErr> {
    community_resource::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

pub async fn placements_of<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<Vec<participation_placement::Model>, DbErr> {
    participation_placement::Entity::find()
        .filter(participation_placement::Column::PersonId.eq(person_id))
        .order_by_desc(participation_placement::Column::StartedOn)
        .order_by_desc(participation_placement::Column::Id)
        .all(db)
        .await
}

pub async fn placement<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<participation_placement::Model>, DbErr> {
    participation_placement::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}
