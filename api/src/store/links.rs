//! 名寄せの結びつき / links between records of one person: the pair's one row
//! (`person_link`) and its appended history (`person_link_event`). The access policy never
//! reads these tables.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::write::{insert, update, write};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::link::{ConfirmLink, ProposeLink, RevokeLink};
use crate::policy::Permit;
use entity::{person_link, person_link_event};

/// The two ids of a pair in stored order (`person_a_id` < `person_b_id`).
pub fn ordered<'a>(x: &'a str, y: &'a str) -> (&'a str, &'a str) {
    if x <= y {
        (x, y)
    } else {
        (y, x)
    }
}

/// The record of the pair that is not `person_id`.
pub fn other<'a>(link: &'a person_link::Model, person_id: &str) -> &'a str {
    if link.person_a_id == person_id {
        &link.person_b_id
    } else {
        &link.person_a_id
    }
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<person_link::Model>, DbErr> {
    person_link::Entity::find_by_id(id.to_owned()).one(db).await
}

/// The link of a pair, whatever its state.
pub async fn of_pair<C: ConnectionTrait>(
    db: &C,
    x: &str,
    y: &str,
) -> Result<Option<person_link::Model>, DbErr> {
    let (a, b) = ordered(x, y);
    person_link::Entity::find()
        .filter(person_link::Column::PersonAId.eq(a))
        .filter(person_link::Column::PersonBId.eq(b))
        .one(db)
        .await
}

/// Every link with `person_id` on either side, oldest proposal first.
pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<Vec<person_link::Model>, DbErr> {
    person_link::Entity::find()
        .filter(
            Condition::any()
                .add(person_link::Column::PersonAId.eq(person_id))
                .add(person_link::Column::PersonBId.eq(person_id)),
        )
        .order_by_asc(person_link::Column::ProposedAt)
        .order_by_asc(person_link::Column::Id)
        .all(db)
        .await
}

/// The history of a link, oldest first.
pub async fn events<C: ConnectionTrait>(
    db: &C,
    link_id: &str,
) -> Result<Vec<person_link_event::Model>, DbErr> {
    person_link_event::Entity::find()
        .filter(person_link_event::Column::LinkId.eq(link_id))
        .order_by_asc(person_link_event::Column::At)
        .order_by_asc(person_link_event::Column::Id)
        .all(db)
        .await
}

/// A proposal: a new row for a new pair, or the pair's revoked row proposed again
/// (`revoked`: the row as read, at its version). Two proposals of one new pair at once: the
/// unique pair index makes the second CONFLICT.
pub async fn propose(
    db: &impl super::Handle,
    permit: Permit<ProposeLink>,
    link: person_link::Model,
    revoked: Option<person_link::Model>,
    event: person_link_event::Model,
    entries: Vec<Entry>,
) -> ApiResult<person_link::Model> {
    debug_assert!(permit.id() == link.person_a_id || permit.id() == link.person_b_id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let out = match revoked {
                None => insert(txn, link).await?,
                Some(read) => {
                    let version = read.version;
                    update(txn, &read, version, link).await?
                }
            };
            insert(txn, event).await?;
            Ok(out)
        })
    })
    .await
}

/// A confirmation: the row as read at the client's version moves on, with its event.
pub async fn confirm(
    db: &impl super::Handle,
    permit: Permit<ConfirmLink>,
    (read, client_version): (&person_link::Model, i32),
    changed: person_link::Model,
    event: person_link_event::Model,
    entries: Vec<Entry>,
) -> ApiResult<person_link::Model> {
    debug_assert_eq!(permit.id(), read.id);
    decide(db, (read, client_version), changed, event, entries).await
}

/// A revocation (or a rejection, or a withdrawal), with its event.
pub async fn revoke(
    db: &impl super::Handle,
    permit: Permit<RevokeLink>,
    (read, client_version): (&person_link::Model, i32),
    changed: person_link::Model,
    event: person_link_event::Model,
    entries: Vec<Entry>,
) -> ApiResult<person_link::Model> {
    debug_assert_eq!(permit.id(), read.id);
    decide(db, (read, client_version), changed, event, entries).await
}

async fn decide(
    db: &impl super::Handle,
    (read, client_version): (&person_link::Model, i32),
    changed: person_link::Model,
    event: person_link_event::Model,
    entries: Vec<Entry>,
) -> ApiResult<person_link::Model> {
    let read = read.clone();
    write(db, entries, move |txn| {
        Box::pin(async move {
            let out = update(txn, &read, client_version, changed).await?;
            insert(txn, event).await?;
            Ok(out)
        })
    })
    .await
}
