//! Support cases (多機関協働) with their decisions, involvements and versioned support plans.
//! No GraphQL and no access decisions: callers pass the caller's agency for the coordinator
//! views (scoped here, in SQL) and check visibility of single records through the policy.
//!
//! Every write that concerns a case goes through [`change`]: the case row's version is
//! bumped under its optimistic guard (`write::update`) in the same transaction as the rows
//! it adds and the ledger entries, so two concurrent writers (two 支援決定, two open LEADs,
//! two plan versions with the same number) cannot both succeed. Each takes the permit of
//! `policy::write::case`.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::batch::{Part, Union};
use super::write::{self, write, Txn, Versioned};
use super::Page;
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::case::{ChangeCase, OpenCase};
use crate::policy::Permit;
use entity::{case_decision, case_involvement, plan_assignment, support_case, support_plan};

/// The status of a closed case; every other status is open.
pub const CLOSED: &str = "CLOSED";
/// The decision kind of a 支援決定.
pub const SUPPORT_DECISION: &str = "SUPPORT_DECISION";

pub async fn get<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<support_case::Model>, DbErr> {
    support_case::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<support_case::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    support_case::Entity::find()
        .filter(support_case::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await
}

/// All cases of a household, newest first.
pub async fn of_household<C: ConnectionTrait>(
    db: &C,
    household_id: &str,
) -> Result<Vec<support_case::Model>, DbErr> {
    support_case::Entity::find()
        .filter(support_case::Column::HouseholdId.eq(household_id))
        .order_by_desc(support_case::Column::Id)
        .all(db)
        .await
}

/// A household's cases, newest first, with their plan versions (newest first): one
/// statement.
pub async fn of_household_with_plans<C: ConnectionTrait>(
    db: &C,
    household_id: &str,
) -> Result<(Vec<support_case::Model>, Vec<support_plan::Model>), DbErr> {
    let c = Part::of::<support_case::Entity>("c_")?;
    let p = Part::of::<support_plan::Entity>("p_")?;
    let mut u = Union::new(db.get_database_backend(), &[&c, &p]);
    let id = u.param(household_id);
    u.branch(
        "c",
        &[(&c, "c"), (&p, "p")],
        &format!(
            "FROM \"support_case\" c LEFT JOIN \"support_plan\" p ON p.\"case_id\" = c.\"id\" \
             WHERE c.\"household_id\" = {id}"
        ),
    );
    let (mut cases, mut plans) = (Vec::<support_case::Model>::new(), Vec::new());
    for row in u.all(db).await? {
        let case: support_case::Model = c.decode(&row)?;
        if !cases.iter().any(|x| x.id == case.id) {
            cases.push(case);
        }
        plans.extend(p.decode_joined::<support_plan::Model>(&row)?);
    }
    cases.sort_by(|a, b| b.id.cmp(&a.id));
    plans.sort_by(|a, b| b.plan_version.cmp(&a.plan_version).then(a.id.cmp(&b.id)));
    Ok((cases, plans))
}

/// Whether `agency_id` already runs an open case for the household.
pub async fn has_open_case<C: ConnectionTrait>(
    db: &C,
    household_id: &str,
    agency_id: &str,
) -> Result<bool, DbErr> {
    Ok(support_case::Entity::find()
        .filter(support_case::Column::HouseholdId.eq(household_id))
        .filter(support_case::Column::OwnerAgencyId.eq(agency_id))
        .filter(support_case::Column::Status.ne(CLOSED))
        .one(db)
        .await?
        .is_some())
}

/// Decisions of a case in the order they were recorded.
pub async fn decisions_of<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
) -> Result<Vec<case_decision::Model>, DbErr> {
    case_decision::Entity::find()
        .filter(case_decision::Column::CaseId.eq(case_id))
        .order_by_asc(case_decision::Column::CreatedAt)
        .order_by_asc(case_decision::Column::Id)
        .all(db)
        .await
}

pub async fn involvements_of<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
) -> Result<Vec<case_involvement::Model>, DbErr> {
    case_involvement::Entity::find()
        .filter(case_involvement::Column::CaseId.eq(case_id))
        .order_by_asc(case_involvement::Column::StartedOn)
        .order_by_asc(case_involvement::Column::Id)
        .all(db)
        .await
}

pub async fn involvement<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<case_involvement::Model>, DbErr> {
    case_involvement::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

/// The latest plan version of a case.
pub async fn current_plan<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
) -> Result<Option<support_plan::Model>, DbErr> {
    support_plan::Entity::find()
        .filter(support_plan::Column::CaseId.eq(case_id))
        .order_by_desc(support_plan::Column::PlanVersion)
        .one(db)
        .await
}

pub async fn plan<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<support_plan::Model>, DbErr> {
    support_plan::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

/// Decisions of the given cases, each case's in the order they were recorded: one query.
pub async fn decisions_of_cases<C: ConnectionTrait>(
    db: &C,
    case_ids: Vec<String>,
) -> Result<Vec<case_decision::Model>, DbErr> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    case_decision::Entity::find()
        .filter(case_decision::Column::CaseId.is_in(case_ids))
        .order_by_asc(case_decision::Column::CreatedAt)
        .order_by_asc(case_decision::Column::Id)
        .all(db)
        .await
}

/// Involvements of the given cases, in [`involvements_of`]'s order: one query.
pub async fn involvements_of_cases<C: ConnectionTrait>(
    db: &C,
    case_ids: Vec<String>,
) -> Result<Vec<case_involvement::Model>, DbErr> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    case_involvement::Entity::find()
        .filter(case_involvement::Column::CaseId.is_in(case_ids))
        .order_by_asc(case_involvement::Column::StartedOn)
        .order_by_asc(case_involvement::Column::Id)
        .all(db)
        .await
}

/// Plan versions of the given cases, newest first within each case: one query.
pub async fn plans_of_cases<C: ConnectionTrait>(
    db: &C,
    case_ids: Vec<String>,
) -> Result<Vec<support_plan::Model>, DbErr> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    support_plan::Entity::find()
        .filter(support_plan::Column::CaseId.is_in(case_ids))
        .order_by_desc(support_plan::Column::PlanVersion)
        .all(db)
        .await
}

/// Assignments of the given plan versions, in order within each plan: one query.
pub async fn assignments_of_plans<C: ConnectionTrait>(
    db: &C,
    plan_ids: Vec<String>,
) -> Result<Vec<plan_assignment::Model>, DbErr> {
    if plan_ids.is_empty() {
        return Ok(Vec::new());
    }
    plan_assignment::Entity::find()
        .filter(plan_assignment::Column::PlanId.is_in(plan_ids))
        .order_by_asc(plan_assignment::Column::SortOrder)
        .all(db)
        .await
}

/// A coordinator view over the cases of one agency.
#[derive(Clone, Debug)]
pub enum View {
    /// Open cases led by the account.
    LedBy(String),
    /// Open cases whose current plan's next review date is before this day.
    ReviewOverdue(NaiveDate),
    /// Open cases whose current plan has no agreement of the person.
    PlanNotAgreed,
    /// Closed cases with an involvement that has no end.
    OpenInvolvementAfterClosure,
}

/// Plans that are their case's latest version (correlated on `p`).
fn current_plans() -> sea_orm::sea_query::SelectStatement {
    let latest = Query::select()
        .expr(Expr::col(("p2", "plan_version")).max())
        .from_as("support_plan", "p2")
        .and_where(Expr::col(("p2", "case_id")).equals(("p", "case_id")))
        .to_owned();
    Query::select()
        .column(("p", "case_id"))
        .from_as("support_plan", "p")
        .and_where(Expr::col(("p", "plan_version")).in_subquery(latest))
        .to_owned()
}

/// The cases of `agency_id` in a view, ordered by id, one more than the page to tell
/// whether there is a next page.
pub async fn view<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    view: &View,
    page: &Page,
) -> Result<Vec<support_case::Model>, DbErr> {
    let mut q =
        support_case::Entity::find().filter(support_case::Column::OwnerAgencyId.eq(agency_id));
    q = match view {
        View::LedBy(account) => q
            .filter(support_case::Column::LeadAccountId.eq(account.as_str()))
            .filter(support_case::Column::Status.ne(CLOSED)),
        View::ReviewOverdue(today) => q.filter(support_case::Column::Status.ne(CLOSED)).filter(
            support_case::Column::Id.in_subquery(
                current_plans()
                    .and_where(Expr::col(("p", "next_review_on")).lt(*today))
                    .to_owned(),
            ),
        ),
        View::PlanNotAgreed => q.filter(support_case::Column::Status.ne(CLOSED)).filter(
            support_case::Column::Id.in_subquery(
                current_plans()
                    .and_where(Expr::col(("p", "agreed_on")).is_null())
                    .to_owned(),
            ),
        ),
        View::OpenInvolvementAfterClosure => {
            q.filter(support_case::Column::Status.eq(CLOSED)).filter(
                support_case::Column::Id.in_subquery(
                    Query::select()
                        .column(case_involvement::Column::CaseId)
                        .from(case_involvement::Entity)
                        .and_where(case_involvement::Column::EndedOn.is_null())
                        .to_owned(),
                ),
            )
        }
    };
    if let Some(after) = &page.after {
        q = q.filter(support_case::Column::Id.gt(after.as_str()));
    }
    q.order_by_asc(support_case::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
}

/// A row written together with a change to its case.
pub enum Row {
    Decision(case_decision::Model),
    Involvement(case_involvement::Model),
    Plan(support_plan::Model),
    Assignment(plan_assignment::Model),
    /// The person's agreement to a plan version that has none yet.
    PlanAgreed {
        plan_id: String,
        agreed_on: NaiveDate,
        method: String,
    },
}

/// Insert a new case, with its ledger entries.
pub async fn open(
    db: &impl super::Handle,
    permit: Permit<OpenCase>,
    model: support_case::Model,
    entries: Vec<Entry>,
) -> ApiResult<support_case::Model> {
    debug_assert_eq!(permit.id(), model.household_id);
    write(db, entries, move |txn| {
        Box::pin(async move { write::insert(txn, model).await })
    })
    .await
}

/// In one transaction: write `changed` over the case as read, only if the client's
/// `version` is the one read and the row is still at it (the version is bumped), insert or
/// change `rows` (a plan agreed meanwhile is CONFLICT), append `entries`. Nothing is
/// written unless all of it is.
pub async fn change(
    db: &impl super::Handle,
    permit: Permit<ChangeCase>,
    read: &support_case::Model,
    version: i32,
    changed: support_case::Model,
    rows: Vec<Row>,
    entries: Vec<Entry>,
) -> ApiResult<support_case::Model> {
    debug_assert_eq!(permit.id(), read.id);
    let read = read.clone();
    write(db, entries, move |txn| {
        Box::pin(async move {
            let case = write::update(txn, &read, version, changed).await?;
            for row in rows {
                write_row(txn, row).await?;
            }
            Ok(case)
        })
    })
    .await
}

async fn write_row(txn: &Txn, row: Row) -> ApiResult<()> {
    match row {
        Row::Decision(m) => write::insert(txn, m).await.map(drop),
        Row::Involvement(m) => write::insert(txn, m).await.map(drop),
        Row::Plan(m) => write::insert(txn, m).await.map(drop),
        Row::Assignment(m) => write::insert(txn, m).await.map(drop),
        Row::PlanAgreed {
            plan_id,
            agreed_on,
            method,
        } => {
            let change = support_plan::ActiveModel {
                agreed_on: Set(Some(agreed_on)),
                agreement_method: Set(Some(method)),
                ..Default::default()
            };
            write::guarded::<support_plan::Entity>(
                txn,
                change,
                Condition::all()
                    .add(support_plan::Column::Id.eq(plan_id))
                    .add(support_plan::Column::AgreedOn.is_null()),
                "このプランは既に同意済みです / the plan was agreed meanwhile",
            )
            .await
        }
    }
}

/// A record of the area changed on its own (an involvement's end, a meeting's minutes):
/// written over the one read, optimistically (CONFLICT if it changed since), with its ledger
/// entries, under the permit for that record.
pub async fn update_record<W, M>(
    db: &impl super::Handle,
    permit: Permit<W>,
    read: &M,
    version: i32,
    changed: M,
    entries: Vec<Entry>,
) -> ApiResult<M>
where
    M: Versioned + FromQueryResult + 'static,
    M::Entity: EntityTrait<Model = M>,
{
    debug_assert_eq!(permit.id(), read.id());
    let read = read.clone();
    write(db, entries, move |txn| {
        Box::pin(async move { write::update(txn, &read, version, changed).await })
    })
    .await
}
