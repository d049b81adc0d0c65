//! Households and their members.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::Query;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::batch::{Part, Union};
use super::visibility::{self, Own};
use super::{write, Page};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::household::{ChangeHousehold, CreateHousehold, EndMembership, Enrol};
use crate::policy::{ListScope, Permit};
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
        .and_where(
            household_member::Column::PersonId
                .in_subquery(visibility::subjects(scope, Own::Exclude)),
        )
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

/// The given households, each with its members (current and past, head first): one
/// statement.
pub async fn with_members<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<(household::Model, Vec<household_member::Model>)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let h = Part::of::<household::Entity>("h_")?;
    let m = Part::of::<household_member::Entity>("m_")?;
    let mut u = Union::new(db.get_database_backend(), &[&h, &m]);
    let l = u.list(ids);
    u.branch(
        "h",
        &[(&h, "h"), (&m, "m")],
        &format!(
            "FROM \"household\" h LEFT JOIN \"household_member\" m \
             ON m.\"household_id\" = h.\"id\" WHERE h.\"id\" IN {l}"
        ),
    );
    let mut out: Vec<(household::Model, Vec<household_member::Model>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for row in u.all(db).await? {
        let model: household::Model = h.decode(&row)?;
        let member: Option<household_member::Model> = m.decode_joined(&row)?;
        let i = *at.entry(model.id.clone()).or_insert_with(|| {
            out.push((model, Vec::new()));
            out.len() - 1
        });
        out[i].1.extend(member);
    }
    for (_, members) in &mut out {
        members.sort_by(|a, b| (!a.is_head, &a.id).cmp(&(!b.is_head, &b.id)));
    }
    Ok(out)
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

/// Register a household with its members (each enrolled by its own permit), with the ledger
/// entries.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<CreateHousehold>,
    model: household::Model,
    members: Vec<(Permit<Enrol>, household_member::Model)>,
    entries: Vec<Entry>,
) -> ApiResult<()> {
    debug_assert_eq!(permit.id(), model.id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            write::insert(txn, model).await?;
            let mut persons = Vec::new();
            for (enrol, m) in members {
                debug_assert_eq!(enrol.id(), m.person_id);
                persons.push(m.person_id.clone());
                write::insert(txn, m).await?;
            }
            visibility::refresh(txn, &persons).await?;
            Ok(())
        })
    })
    .await
}

/// Add a member to a household, with the ledger entries.
pub async fn add_member(
    db: &impl super::Handle,
    permit: Permit<ChangeHousehold>,
    enrol: Permit<Enrol>,
    row: household_member::Model,
    entries: Vec<Entry>,
) -> ApiResult<household_member::Model> {
    debug_assert_eq!(permit.id(), row.household_id);
    debug_assert_eq!(enrol.id(), row.person_id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let person = [row.person_id.clone()];
            let out = write::insert(txn, row).await?;
            visibility::refresh(txn, &person).await?;
            Ok(out)
        })
    })
    .await
}

/// End the membership `read` on `left_on`, with the ledger entries: only if it is still as
/// read (not ended meanwhile), CONFLICT otherwise.
pub async fn end_membership(
    db: &impl super::Handle,
    permit: Permit<EndMembership>,
    read: &household_member::Model,
    left_on: NaiveDate,
    entries: Vec<Entry>,
) -> ApiResult<household_member::Model> {
    debug_assert_eq!(permit.id(), read.id);
    let as_read = match read.left_on {
        None => household_member::Column::LeftOn.is_null(),
        Some(d) => household_member::Column::LeftOn.eq(d),
    };
    let guard = Condition::all()
        .add(household_member::Column::Id.eq(read.id.as_str()))
        .add(as_read);
    let person = [read.person_id.clone()];
    let change = household_member::ActiveModel {
        left_on: Set(Some(left_on)),
        ..Default::default()
    };
    write(db, entries, move |txn| {
        Box::pin(async move {
            write::guarded::<household_member::Entity>(
                txn,
                change,
                guard,
                "構成員の記録が他の更新で変わりました / the membership changed since it was read",
            )
            .await?;
            visibility::refresh(txn, &person).await?;
            Ok(())
        })
    })
    .await?;
    Ok(household_member::Model {
        left_on: Some(left_on),
        ..read.clone()
    })
}
