//! Referrals (つなぎ): visible to the two agencies that are party to them.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::write::{self, insert, write};
use super::Page;
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::referral::{MoveReferral, ProposeReferral};
use crate::policy::Permit;
use entity::referral;

#[derive(Clone, Debug, Default)]
pub struct ReferralFilter {
    pub status: Option<String>,
    /// Some(true): received by the caller's agency; Some(false): sent by it.
    pub incoming: Option<bool>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    filter: &ReferralFilter,
    page: &Page,
) -> Result<Vec<referral::Model>, DbErr> {
    let party = match filter.incoming {
        Some(true) => Condition::all().add(referral::Column::ToAgencyId.eq(agency_id)),
        Some(false) => Condition::all().add(referral::Column::FromAgencyId.eq(agency_id)),
        None => Condition::any()
            .add(referral::Column::ToAgencyId.eq(agency_id))
            .add(referral::Column::FromAgencyId.eq(agency_id)),
    };
    let mut q = referral::Entity::find().filter(party);
    if let Some(s) = &filter.status {
        q = q.filter(referral::Column::Status.eq(s.as_str()));
    }
    if let Some(after) = &page.after {
        q = q.filter(referral::Column::Id.gt(after.as_str()));
    }
    q.order_by_asc(referral::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<referral::Model>, DbErr> {
    referral::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Store a proposed referral with its ledger entries. The permit is for its person.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<ProposeReferral>,
    proposed: referral::Model,
    entries: Vec<Entry>,
) -> ApiResult<referral::Model> {
    debug_assert_eq!(permit.id(), proposed.person_id);
    write(db, entries, move |txn| Box::pin(insert(txn, proposed))).await
}

/// Write a referral's move (`moved`: the referral as read, in its new status) only if it is
/// still at the version the client decided on (CONFLICT otherwise).
pub async fn update(
    db: &impl super::Handle,
    permit: Permit<MoveReferral>,
    read: referral::Model,
    client_version: i32,
    moved: referral::Model,
    entries: Vec<Entry>,
) -> ApiResult<referral::Model> {
    debug_assert_eq!(permit.id(), read.id);
    write(db, entries, move |txn| {
        Box::pin(async move { write::update(txn, &read, client_version, moved).await })
    })
    .await
}
