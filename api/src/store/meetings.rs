//! Meetings (重層的支援会議, 支援会議, case conferences) with their member agencies, declared
//! categories and the case decisions taken at them.

use sea_orm::{
    ActiveModelBehavior, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, ModelTrait, QueryFilter, QueryOrder,
};

use super::write::{self, write, Txn};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::meeting::ConveneMeeting;
use crate::policy::Permit;
use entity::{case_decision, meeting, meeting_category, meeting_member};

/// A meeting with its member agencies (the convener included) and declared categories.
#[derive(Clone, Debug)]
pub struct MeetingRow {
    pub model: meeting::Model,
    pub members: Vec<String>,
    pub categories: Vec<String>,
}

/// Insert a meeting, its members and categories, and the ledger entries, in one transaction.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<ConveneMeeting>,
    row: MeetingRow,
    entries: Vec<Entry>,
) -> ApiResult<()> {
    debug_assert_eq!(permit.id(), row.model.household_id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let id = row.model.id.clone();
            let household = row.model.household_id.clone();
            write::insert(txn, row.model).await?;
            let members = row
                .members
                .into_iter()
                .map(|agency_id| meeting_member::Model {
                    meeting_id: id.clone(),
                    agency_id,
                });
            insert_all(txn, members).await?;
            let categories = row.categories.into_iter().map(|category| {
                let meeting_id = id.clone();
                meeting_category::Model {
                    meeting_id,
                    category,
                }
            });
            insert_all(txn, categories).await?;
            // Every person who is, was or will be a member: a 支援会議 opens them while their
            // membership is current.
            let members: Vec<String> = entity::household_member::Entity::find()
                .filter(entity::household_member::Column::HouseholdId.eq(household))
                .all(txn)
                .await?
                .into_iter()
                .map(|m| m.person_id)
                .collect();
            super::visibility::refresh(txn, &members).await?;
            Ok(())
        })
    })
    .await
}

async fn insert_all<M>(txn: &Txn, models: impl IntoIterator<Item = M>) -> ApiResult<()>
where
    M: ModelTrait + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    for m in models {
        write::insert(txn, m).await?;
    }
    Ok(())
}

/// One meeting with its members and categories.
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<MeetingRow>, DbErr> {
    let Some(model) = meeting::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    Ok(with_details(db, vec![model]).await?.pop())
}

/// The meetings about a household that `agency_id` convened or is a member of, newest first.
pub async fn of_household_for_agency<C: ConnectionTrait>(
    db: &C,
    household_id: &str,
    agency_id: &str,
) -> Result<Vec<MeetingRow>, DbErr> {
    let member_of = sea_orm::sea_query::Query::select()
        .column(meeting_member::Column::MeetingId)
        .from(meeting_member::Entity)
        .and_where(meeting_member::Column::AgencyId.eq(agency_id))
        .to_owned();
    let models = meeting::Entity::find()
        .filter(meeting::Column::HouseholdId.eq(household_id))
        .filter(
            Condition::any()
                .add(meeting::Column::OwnerAgencyId.eq(agency_id))
                .add(meeting::Column::Id.in_subquery(member_of)),
        )
        .order_by_desc(meeting::Column::HeldAt)
        .order_by_desc(meeting::Column::Id)
        .all(db)
        .await?;
    with_details(db, models).await
}

/// Every meeting about these households, oldest first, with members and categories (the
/// disclosure report's, `store::disclosure`).
pub async fn of_households<C: ConnectionTrait>(
    db: &C,
    household_ids: Vec<String>,
) -> Result<Vec<MeetingRow>, DbErr> {
    if household_ids.is_empty() {
        return Ok(Vec::new());
    }
    let models = meeting::Entity::find()
        .filter(meeting::Column::HouseholdId.is_in(household_ids))
        .order_by_asc(meeting::Column::HeldAt)
        .order_by_asc(meeting::Column::Id)
        .all(db)
        .await?;
    with_details(db, models).await
}

async fn with_details<C: ConnectionTrait>(
    db: &C,
    models: Vec<meeting::Model>,
) -> Result<Vec<MeetingRow>, DbErr> {
    let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let members = meeting_member::Entity::find()
        .filter(meeting_member::Column::MeetingId.is_in(ids.clone()))
        .order_by_asc(meeting_member::Column::AgencyId)
        .all(db)
        .await?;
    let categories = meeting_category::Entity::find()
        .filter(meeting_category::Column::MeetingId.is_in(ids))
        .order_by_asc(meeting_category::Column::Category)
        .all(db)
        .await?;
    Ok(models
        .into_iter()
        .map(|model| MeetingRow {
            members: members
                .iter()
                .filter(|m| m.meeting_id == model.id)
                .map(|m| m.agency_id.clone())
                .collect(),
            categories: categories
                .iter()
                .filter(|c| c.meeting_id == model.id)
                .map(|c| c.category.clone())
                .collect(),
            model,
        })
        .collect())
}

/// Case decisions taken at the given meetings, oldest first within each: one query.
pub async fn decisions_of_meetings<C: ConnectionTrait>(
    db: &C,
    meeting_ids: Vec<String>,
) -> Result<Vec<case_decision::Model>, DbErr> {
    if meeting_ids.is_empty() {
        return Ok(Vec::new());
    }
    case_decision::Entity::find()
        .filter(case_decision::Column::MeetingId.is_in(meeting_ids))
        .order_by_asc(case_decision::Column::DecidedOn)
        .order_by_asc(case_decision::Column::Id)
        .all(db)
        .await
}
