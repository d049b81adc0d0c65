//! Referrals (つなぎ): visible to the two agencies that are party to them.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::Page;
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
