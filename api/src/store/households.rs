//! Households and their members.

use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{basis_subjects, Page};
use crate::policy::ListScope;
use entity::{household, household_member};

/// Households the scope may know exist: its agency's own, or with a member whose consent
/// covers HOUSEHOLD for the scope.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    page: &Page,
) -> Result<Vec<household::Model>, DbErr> {
    let consenting_members = Query::select()
        .column(household_member::Column::HouseholdId)
        .from(household_member::Entity)
        .and_where(household_member::Column::PersonId.in_subquery(basis_subjects(scope)))
        .to_owned();
    let mut q = household::Entity::find().filter(
        Condition::any()
            .add(household::Column::OwnerAgencyId.eq(scope.agency_id.as_str()))
            .add(household::Column::Id.in_subquery(consenting_members)),
    );
    if let Some(after) = &page.after {
        q = q.filter(household::Column::Id.gt(after.as_str()));
    }
    q.order_by_asc(household::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<household::Model>, DbErr> {
    household::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<household::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    household::Entity::find()
        .filter(household::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// Members of the given households (current and past), head first.
pub async fn members_of<C: ConnectionTrait>(
    db: &C,
    household_ids: Vec<String>,
) -> Result<Vec<household_member::Model>, DbErr> {
    if household_ids.is_empty() {
        return Ok(Vec::new());
    }
    household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.is_in(household_ids))
        .order_by_desc(household_member::Column::IsHead)
        .order_by_asc(household_member::Column::Id)
        .all(db)
        .await
}

/// Memberships of the given persons.
pub async fn memberships_of<C: ConnectionTrait>(
    db: &C,
    person_ids: Vec<String>,
) -> Result<Vec<household_member::Model>, DbErr> {
    if person_ids.is_empty() {
        return Ok(Vec::new());
    }
    household_member::Entity::find()
        .filter(household_member::Column::PersonId.is_in(person_ids))
        .order_by_asc(household_member::Column::Id)
        .all(db)
        .await
}

pub async fn member<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<household_member::Model>, DbErr> {
    household_member::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}
