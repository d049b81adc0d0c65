//! Community resources (no personal data: their coordinators maintain them, each resource
//! by the agency that registered it) and participation placements (PLAN data of a person,
//! changed only by the agency that recorded the placement).

use chrono::{DateTime, NaiveDate, Utc};

use super::{needs, owner_only, Permit, Refusal, Ruling};
use crate::policy::ceiling::ceiling_allows;
use crate::policy::{decide, Action, Category, Item, Principal, Purpose, SubjectFacts};

/// Registering a community resource (createCommunityResource).
#[derive(Debug)]
pub enum CreateResource {}
/// Changing a community resource (updateCommunityResource).
#[derive(Debug)]
pub enum ChangeResource {}
/// Placing a person with a resource (startPlacement).
#[derive(Debug)]
pub enum StartPlacement {}
/// Changing a placement's status (setPlacementStatus).
#[derive(Debug)]
pub enum ChangePlacement {}

/// Coordinators (and 生活支援コーディネーター) register resources; `id` is the new one's.
pub fn may_create_resource(p: &Principal, id: &str) -> Ruling<CreateResource> {
    needs(p, Action::ManageResources, "createCommunityResource")?;
    Ok(Permit::grant(id))
}

/// Only the agency that maintains a resource changes it.
pub fn may_change_resource(
    p: &Principal,
    resource_id: &str,
    maintaining_agency_id: &str,
) -> Ruling<ChangeResource> {
    needs(p, Action::ManageResources, "updateCommunityResource")?;
    owner_only(p, resource_id, maintaining_agency_id, || {
        Refusal::Forbidden("登録機関のみ更新できます / only the maintaining agency may update")
    })
}

/// A person is placed (the new placement `id`) with an active resource only (an inactive
/// one is as unknown as a missing one), by a caller whose roles may hold PLAN data: the
/// placement is the person's PLAN data, held by the caller's agency.
pub fn may_start_placement(
    p: &Principal,
    id: &str,
    resource_active: bool,
) -> Ruling<StartPlacement> {
    needs(p, Action::RecordActivity, "startPlacement")?;
    if !resource_active {
        return Err(Refusal::Unknown);
    }
    if !ceiling_allows(p, Category::Plan) {
        return Err(Refusal::Forbidden("startPlacement"));
    }
    Ok(Permit::grant(id))
}

/// Whether the caller may know a placement exists: it may see it (PLAN of its person
/// `subject`, held by the recording agency).
pub fn may_know_placement(
    p: &Principal,
    subject: Option<&SubjectFacts>,
    recording_agency_id: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    let plan = Item::of(Category::Plan);
    subject.is_some_and(|facts| decide(p, facts, recording_agency_id, plan, purpose, now).is_ok())
}

/// Only the agency that recorded a placement changes it. Another agency's placement exists
/// for the caller (FORBIDDEN) only if it may know it; otherwise it is unknown.
pub fn may_change_placement(
    p: &Principal,
    placement_id: &str,
    recording_agency_id: &str,
    subject: Option<&SubjectFacts>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Ruling<ChangePlacement> {
    needs(p, Action::RecordActivity, "setPlacementStatus")?;
    owner_only(p, placement_id, recording_agency_id, || {
        if may_know_placement(p, subject, recording_agency_id, purpose, now) {
            Refusal::Forbidden("記録機関のみ変更できます / only the recording agency may change it")
        } else {
            Refusal::Unknown
        }
    })
}

/// What is wrong with a placement's end date for its new status.
#[derive(Debug, PartialEq, Eq)]
pub enum PlacementEnd {
    /// ENDED needs an end date.
    Missing,
    /// The end date is before the start.
    BeforeStart,
    /// Only ENDED has an end date.
    NotEnded,
}

/// A placement ends (`ended`) on a date not before its start; ACTIVE and PAUSED have no
/// end date.
pub fn placement_end(
    ended: bool,
    ended_on: Option<NaiveDate>,
    started_on: NaiveDate,
) -> Result<(), PlacementEnd> {
    match (ended, ended_on) {
        (true, None) => Err(PlacementEnd::Missing),
        (true, Some(e)) if e < started_on => Err(PlacementEnd::BeforeStart),
        (false, Some(_)) => Err(PlacementEnd::NotEnded),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::{ConsentFacts, Role};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-10-01T09:00:00+09:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn coordinators_register_and_the_maintaining_agency_changes_resources() {
        let lsc = principal("a1", &[Role::LifeSupportCoordinator]);
        assert_eq!(may_create_resource(&lsc, "r").unwrap().id(), "r");
        assert_eq!(may_change_resource(&lsc, "r", "a1").unwrap().id(), "r");
        assert_eq!(
            may_change_resource(&lsc, "r", "a2").unwrap_err(),
            Refusal::Forbidden("登録機関のみ更新できます / only the maintaining agency may update")
        );
        let worker = principal("a1", &[Role::Caseworker]);
        assert_eq!(
            may_create_resource(&worker, "r").unwrap_err(),
            Refusal::Forbidden("createCommunityResource")
        );
        assert_eq!(
            may_change_resource(&worker, "r", "a1").unwrap_err(),
            Refusal::Forbidden("updateCommunityResource")
        );
    }

    #[test]
    fn placements_go_to_active_resources_by_callers_who_may_hold_plan_data() {
        let worker = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_start_placement(&worker, "pl", true).unwrap().id(), "pl");
        assert_eq!(
            may_start_placement(&worker, "pl", false).unwrap_err(),
            Refusal::Unknown
        );
        let auditor = principal("a1", &[Role::Auditor]);
        assert_eq!(
            may_start_placement(&auditor, "pl", true).unwrap_err(),
            Refusal::Forbidden("startPlacement")
        );
    }

    fn subject(consent_to: Option<&str>) -> SubjectFacts {
        SubjectFacts {
            person_id: "p".into(),
            owner_agency_id: "a2".into(),
            address_confidential: false,
            consents: consent_to
                .map(|agency| ConsentFacts {
                    id: "c".into(),
                    categories: [Category::Plan].into(),
                    recipient_agencies: [agency.to_owned()].into(),
                    recipient_kinds: Default::default(),
                    purpose: Purpose::Support,
                    valid_from: now() - chrono::Duration::days(1),
                    valid_until: None,
                    withdrawn_at: None,
                    by_proxy: false,
                })
                .into_iter()
                .collect(),
            meetings: Vec::new(),
            emergencies: Vec::new(),
        }
    }

    #[test]
    fn only_the_recording_agency_changes_a_placement() {
        let worker = principal("a1", &[Role::Caseworker]);
        let change = |agency: &str, facts: Option<&SubjectFacts>| {
            may_change_placement(&worker, "pl", agency, facts, Purpose::Support, now())
        };
        assert_eq!(change("a1", None).unwrap().id(), "pl");
        // Another agency's placement the caller may see: it exists, and is not theirs.
        let consenting = subject(Some("a1"));
        assert_eq!(
            change("a2", Some(&consenting)).unwrap_err(),
            Refusal::Forbidden(
                "記録機関のみ変更できます / only the recording agency may change it"
            )
        );
        // One the caller may not see is unknown.
        assert_eq!(
            change("a2", Some(&subject(None))).unwrap_err(),
            Refusal::Unknown
        );
        assert_eq!(change("a2", None).unwrap_err(), Refusal::Unknown);
    }

    #[test]
    fn a_placement_is_known_by_its_plan_basis() {
        let worker = principal("a1", &[Role::Caseworker]);
        let knows = |facts: Option<&SubjectFacts>, agency: &str| {
            may_know_placement(&worker, facts, agency, Purpose::Support, now())
        };
        let none = subject(None);
        assert!(knows(Some(&none), "a1"));
        assert!(knows(Some(&subject(Some("a1"))), "a2"));
        assert!(!knows(Some(&none), "a2"));
        assert!(!knows(None, "a1"));
        // A role without PLAN knows none, not even its agency's.
        let auditor = principal("a1", &[Role::Auditor]);
        assert!(!may_know_placement(
            &auditor,
            Some(&none),
            "a1",
            Purpose::Support,
            now()
        ));
    }

    #[test]
    fn only_an_ended_placement_has_an_end_date_not_before_its_start() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        assert_eq!(placement_end(true, Some(day(2)), day(1)), Ok(()));
        assert_eq!(placement_end(true, Some(day(1)), day(1)), Ok(()));
        assert_eq!(placement_end(false, None, day(1)), Ok(()));
        assert_eq!(
            placement_end(true, None, day(1)),
            Err(PlacementEnd::Missing)
        );
        assert_eq!(
            placement_end(true, Some(day(1)), day(2)),
            Err(PlacementEnd::BeforeStart)
        );
        assert_eq!(
            placement_end(false, Some(day(2)), day(1)),
            Err(PlacementEnd::NotEnded)
        );
    }
}
