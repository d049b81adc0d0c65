//! What the hub holds about one person, read for the disclosure report (開示請求,
//! `crate::disclosure`): every record about the person, and the ledger rows whose subject is
//! the person. No GraphQL and no decisions: this reads rows, `disclosure::build` decides what
//! of them goes into the report (third parties masked).
//!
//! Bounded by the person: every statement is by the person's id, by the ids of the
//! person's own households, cases, plans, meetings or consents, through an index
//! (`idx_*_person_id`, `idx_support_case_household_id`, `idx_meeting_household_id`, …). The
//! ledger is read newest first through `idx_audit_event_subject_seq` (migration
//! `m20261208_000002_disclosure`), at most [`LEDGER_ROWS`] rows, with a per-agency summary of
//! all of them computed in SQL.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::consultations::{self, About};
use super::facts::{self, Details};
use super::meetings::{self, MeetingRow};
use super::{cases, households, resources};
use entity::{
    activity, agency, audit_event, case_decision, case_involvement, community_resource, consent,
    emergency_grant, household, household_member, participation_placement, person, plan_assignment,
    referral, support_case, support_plan,
};

/// The most ledger rows a report lists one by one (newest first); the summary counts all.
pub const LEDGER_ROWS: u64 = 2000;

/// A third party's names as written and in kana: used only to find and mask the names in
/// free text; never put in a report.
#[derive(Clone, Debug, Default)]
pub struct ThirdPartyNames {
    pub family_name: String,
    pub given_name: String,
    pub family_name_kana: String,
    pub given_name_kana: String,
}

/// One line of the ledger's per-agency summary: every row about the person written by one
/// agency with one action (READ / WRITE).
#[derive(Clone, Debug)]
pub struct LedgerSummary {
    pub agency_id: Option<String>,
    pub action: String,
    pub rows: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Everything about one person, as rows.
pub struct Holdings {
    pub person: person::Model,
    /// The person's households.
    pub households: Vec<household::Model>,
    /// The person's own memberships (past, current and future).
    pub memberships: Vec<household_member::Model>,
    /// The other memberships of those households (third parties: masked by the report).
    pub co_members: Vec<household_member::Model>,
    /// The consultations with the person among their subjects, all their subjects (co-subjects
    /// included: masked by the report), issues and receiving agencies.
    pub consultations: About,
    pub referrals: Vec<referral::Model>,
    pub consents: Vec<consent::Model>,
    pub consent_details: Details,
    /// The cases of the person's households (the report keeps those of the person's time in
    /// the household), with their decisions, involvements, plan versions and assignments.
    pub cases: Vec<support_case::Model>,
    pub decisions: Vec<case_decision::Model>,
    pub involvements: Vec<case_involvement::Model>,
    pub plans: Vec<support_plan::Model>,
    pub assignments: Vec<plan_assignment::Model>,
    /// The meetings about the person's households, with members and categories.
    pub meetings: Vec<MeetingRow>,
    pub activities: Vec<activity::Model>,
    pub placements: Vec<participation_placement::Model>,
    pub resources: Vec<community_resource::Model>,
    pub emergency_grants: Vec<emergency_grant::Model>,
    /// Every agency (the directory is small and public): names for every agency id above.
    pub agencies: Vec<agency::Model>,
    /// The person's confirmed 名寄せ links: the other record of the person, its registering
    /// agency and when the link was confirmed (proposed or revoked links are not the
    /// person's: the other record may be someone else).
    pub linked_records: Vec<LinkedRecord>,
    /// The names of the co-subjects, the other household members and no one else.
    pub third_parties: Vec<ThirdPartyNames>,
    /// The newest [`LEDGER_ROWS`] ledger rows about the person, newest first.
    pub ledger: Vec<audit_event::Model>,
    /// Every ledger row about the person, counted per agency and action.
    pub ledger_summary: Vec<LedgerSummary>,
}

/// Another record confirmed to be the same person (`person_link`, CONFIRMED).
#[derive(Clone, Debug)]
pub struct LinkedRecord {
    pub person_id: String,
    pub owner_agency_id: Option<String>,
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The person's confirmed links, with each other record's registering agency.
async fn linked_records<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<Vec<LinkedRecord>, DbErr> {
    let links: Vec<entity::person_link::Model> = super::links::of_person(db, person_id)
        .await?
        .into_iter()
        .filter(|l| l.status == crate::policy::write::link::LinkState::Confirmed.as_str())
        .collect();
    let others: Vec<String> = links
        .iter()
        .map(|l| super::links::other(l, person_id).to_owned())
        .collect();
    let owners: std::collections::HashMap<String, String> = if others.is_empty() {
        Default::default()
    } else {
        person::Entity::find()
            .filter(person::Column::Id.is_in(others.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.owner_agency_id))
            .collect()
    };
    Ok(links
        .iter()
        .zip(others)
        .map(|(l, other)| LinkedRecord {
            owner_agency_id: owners.get(&other).cloned(),
            person_id: other,
            confirmed_at: l.decided_at,
        })
        .collect())
}

/// Everything the hub holds about `person_id`; None if there is no such person.
pub async fn gather<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<Option<Holdings>, DbErr> {
    let Some(person) = person::Entity::find_by_id(person_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let me = vec![person_id.to_owned()];
    let memberships = households::memberships_of(db, me.clone()).await?;
    let household_ids = unique(memberships.iter().map(|m| m.household_id.clone()));
    let household_rows = households::by_ids(db, household_ids.clone()).await?;
    let co_members: Vec<household_member::Model> =
        households::members_of(db, household_ids.clone())
            .await?
            .into_iter()
            .filter(|m| m.person_id != person_id)
            .collect();
    let consultations = consultations::about(db, &me, true, &[]).await?;
    let referrals = referral::Entity::find()
        .filter(referral::Column::PersonId.eq(person_id))
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .all(db)
        .await?;
    let mut consents = consent::Entity::find()
        .filter(consent::Column::SubjectPersonId.eq(person_id))
        .all(db)
        .await?;
    consents.sort_by(facts::consent_order);
    let consent_details = facts::consent_details(db, &consents).await?;
    let cases = support_case::Entity::find()
        .filter(support_case::Column::HouseholdId.is_in(household_ids.clone()))
        .order_by_asc(support_case::Column::OpenedOn)
        .order_by_asc(support_case::Column::Id)
        .all(db)
        .await?;
    let case_ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let decisions = cases::decisions_of_cases(db, case_ids.clone()).await?;
    let involvements = cases::involvements_of_cases(db, case_ids.clone()).await?;
    let plans = cases::plans_of_cases(db, case_ids).await?;
    let assignments =
        cases::assignments_of_plans(db, plans.iter().map(|p| p.id.clone()).collect()).await?;
    let meetings = meetings::of_households(db, household_ids).await?;
    let activities = activity::Entity::find()
        .filter(activity::Column::PersonId.eq(person_id))
        .order_by_asc(activity::Column::OccurredOn)
        .order_by_asc(activity::Column::Id)
        .all(db)
        .await?;
    let placements = resources::placements_of(db, person_id).await?;
    let resource_ids = unique(placements.iter().map(|p| p.resource_id.clone()));
    let resources = if resource_ids.is_empty() {
        Vec::new()
    } else {
        community_resource::Entity::find()
            .filter(community_resource::Column::Id.is_in(resource_ids))
            .all(db)
            .await?
    };
    let emergency_grants = emergency_grant::Entity::find()
        .filter(emergency_grant::Column::PersonId.eq(person_id))
        .order_by_asc(emergency_grant::Column::GrantedAt)
        .all(db)
        .await?;
    let agencies = super::registry::agencies(db).await?;
    let others = unique(
        co_members
            .iter()
            .map(|m| m.person_id.clone())
            .chain(consultations.subjects.iter().map(|s| s.person_id.clone()))
            .filter(|p| p != person_id),
    );
    let third_parties = names_of(db, others).await?;
    let linked_records = linked_records(db, person_id).await?;
    let (ledger, ledger_summary) = ledger_of(db, person_id).await?;
    Ok(Some(Holdings {
        person,
        households: household_rows,
        memberships,
        co_members,
        consultations,
        referrals,
        consents,
        consent_details,
        cases,
        decisions,
        involvements,
        plans,
        assignments,
        meetings,
        activities,
        placements,
        resources,
        emergency_grants,
        agencies,
        linked_records,
        third_parties,
        ledger,
        ledger_summary,
    }))
}

fn unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = ids.collect();
    v.sort();
    v.dedup();
    v
}

/// Only the name columns of these persons.
async fn names_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<ThirdPartyNames>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String, String)> = person::Entity::find()
        .select_only()
        .column(person::Column::FamilyName)
        .column(person::Column::GivenName)
        .column(person::Column::FamilyNameKana)
        .column(person::Column::GivenNameKana)
        .filter(person::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(f, g, fk, gk)| ThirdPartyNames {
            family_name: f,
            given_name: g,
            family_name_kana: fk,
            given_name_kana: gk,
        })
        .collect())
}

/// The newest [`LEDGER_ROWS`] rows about the person, and all of them counted per agency and
/// action (both through `idx_audit_event_subject_seq`).
async fn ledger_of<C: ConnectionTrait>(
    db: &C,
    person_id: &str,
) -> Result<(Vec<audit_event::Model>, Vec<LedgerSummary>), DbErr> {
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::SubjectPersonId.eq(person_id))
        .order_by_desc(audit_event::Column::Seq)
        .limit(LEDGER_ROWS)
        .all(db)
        .await?;
    // The first and last row of each group by seq (appended in time order), then their
    // times: no aggregate over a timestamp column, which the two databases type differently.
    let groups: Vec<(Option<String>, String, i64, i64, i64)> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::AgencyId)
        .column(audit_event::Column::Action)
        .column_as(Expr::col(audit_event::Column::Seq).count(), "n")
        .column_as(Expr::col(audit_event::Column::Seq).min(), "first_seq")
        .column_as(Expr::col(audit_event::Column::Seq).max(), "last_seq")
        .filter(audit_event::Column::SubjectPersonId.eq(person_id))
        .group_by(audit_event::Column::AgencyId)
        .group_by(audit_event::Column::Action)
        .into_tuple()
        .all(db)
        .await?;
    let seqs: Vec<i64> = groups.iter().flat_map(|g| [g.3, g.4]).collect();
    let times: Vec<(i64, DateTime<Utc>)> = if seqs.is_empty() {
        Vec::new()
    } else {
        audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Seq)
            .column(audit_event::Column::At)
            .filter(audit_event::Column::Seq.is_in(seqs))
            .into_tuple()
            .all(db)
            .await?
    };
    let at = |seq: i64| {
        times
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    };
    let mut summary: Vec<LedgerSummary> = groups
        .into_iter()
        .map(|(agency_id, action, n, first, last)| LedgerSummary {
            agency_id,
            action,
            rows: n,
            first_at: at(first),
            last_at: at(last),
        })
        .collect();
    summary.sort_by(|a, b| b.last_at.cmp(&a.last_at).then(a.action.cmp(&b.action)));
    Ok((rows, summary))
}
