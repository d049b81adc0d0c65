//! Activities (outreach visits, participation activities, monitoring notes) and the people an
//! agency follows (for the no-contact list).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::visibility::{self, Own};
use super::write::{self, write};
use super::Page;
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::activity::RecordActivity;
use crate::policy::{membership_current, ListScope, Permit};
use entity::{activity, household_member, support_case};

/// The stored kind of an outreach visit, and the stage that ends outreach (つなぎ完了).
pub const OUTREACH_VISIT: &str = "OUTREACH_VISIT";
pub const CONNECTED: &str = "CONNECTED";

/// Insert an activity and its ledger entry in one transaction.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<RecordActivity>,
    model: activity::Model,
    entry: Entry,
) -> ApiResult<activity::Model> {
    debug_assert_eq!(permit.id(), model.person_id);
    write(db, vec![entry], move |txn| {
        Box::pin(async move { write::insert(txn, model).await })
    })
    .await
}

/// Cursor key: the date (as micros of its midnight, UTC) and the id, newest first.
pub fn cursor_key(a: &activity::Model) -> String {
    let micros = a
        .occurred_on
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_micros())
        .unwrap_or_default();
    format!("{micros}|{}", a.id)
}

fn parse_key(key: &str) -> Option<(NaiveDate, String)> {
    let (micros, id) = key.split_once('|')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at.date_naive(), id.to_owned()))
}

/// The activities the scope may know exist: recorded by its agency, or any of a person a
/// basis other than OWN covers NARRATIVE of.
fn in_scope(scope: &ListScope) -> Condition {
    Condition::any()
        .add(activity::Column::AgencyId.eq(scope.agency_id.as_str()))
        .add(activity::Column::PersonId.in_subquery(visibility::subjects(scope, Own::Exclude)))
}

/// One activity, if the scope may know it exists (as [`of_person`] would list it).
pub async fn get_in_scope<C: ConnectionTrait>(
    db: &C,
    id: &str,
    scope: &ListScope,
) -> Result<Option<activity::Model>, DbErr> {
    activity::Entity::find()
        .filter(activity::Column::Id.eq(id))
        .filter(in_scope(scope))
        .one(db)
        .await
}

/// A person's activities that the scope may know exist: recorded by its agency, or all of
/// them when a basis other than OWN covers NARRATIVE of the person. Newest first, one more
/// than the page. None for a cursor that does not decode.
pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
    scope: &ListScope,
    page: &Page,
) -> Result<Option<Vec<activity::Model>>, DbErr> {
    let mut q = activity::Entity::find()
        .filter(activity::Column::PersonId.eq(person_id))
        .filter(in_scope(scope));
    if let Some(after) = &page.after {
        let Some((on, id)) = parse_key(after) else {
            return Ok(None);
        };
        q = q.filter(
            Condition::any()
                .add(activity::Column::OccurredOn.lt(on))
                .add(
                    Condition::all()
                        .add(activity::Column::OccurredOn.eq(on))
                        .add(activity::Column::Id.lt(id)),
                ),
        );
    }
    q.order_by_desc(activity::Column::OccurredOn)
        .order_by_desc(activity::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
        .map(Some)
}

/// Whether the person is a current member of the household at `now`
/// (`policy::membership_current`).
pub async fn is_member<C: ConnectionTrait>(
    db: &C,
    household_id: &str,
    person_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id))
        .filter(household_member::Column::PersonId.eq(person_id))
        .all(db)
        .await?
        .iter()
        .any(|m| membership_current(m.joined_on, m.left_on, now)))
}

/// Why an agency follows a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Followed {
    /// Under outreach by the agency (its latest outreach stage is not CONNECTED).
    Outreach,
    /// A current member of one of the agency's open support cases.
    Case,
}

/// The persons `agency_id` follows, with why, and the date of the agency's latest activity
/// with each (None when it never recorded one).
pub async fn followed_by<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, (Followed, Option<NaiveDate>)>, DbErr> {
    let own = activity::Entity::find()
        .filter(activity::Column::AgencyId.eq(agency_id))
        .order_by_asc(activity::Column::OccurredOn)
        .order_by_asc(activity::Column::CreatedAt)
        .order_by_asc(activity::Column::Id)
        .all(db)
        .await?;
    // Latest outreach stage per person, and latest activity date per person.
    let mut stage: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    let mut last: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    for a in &own {
        if a.kind == OUTREACH_VISIT {
            stage.insert(&a.person_id, a.stage.as_deref());
        }
        let e = last.entry(&a.person_id).or_insert(a.occurred_on);
        *e = (*e).max(a.occurred_on);
    }
    let mut out: BTreeMap<String, (Followed, Option<NaiveDate>)> = BTreeMap::new();
    for (person, s) in &stage {
        if *s != Some(CONNECTED) {
            out.insert(
                (*person).to_owned(),
                (Followed::Outreach, last.get(person).copied()),
            );
        }
    }
    let households: BTreeSet<String> = support_case::Entity::find()
        .filter(support_case::Column::OwnerAgencyId.eq(agency_id))
        .filter(support_case::Column::Status.ne("CLOSED"))
        .select_only()
        .column(support_case::Column::HouseholdId)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    if !households.is_empty() {
        for m in household_member::Entity::find()
            .filter(household_member::Column::HouseholdId.is_in(households))
            .all(db)
            .await?
            .into_iter()
            .filter(|m| membership_current(m.joined_on, m.left_on, now))
        {
            let last = last.get(m.person_id.as_str()).copied();
            out.entry(m.person_id).or_insert((Followed::Case, last));
        }
    }
    Ok(out)
}
