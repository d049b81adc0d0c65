//! Meetings (重層的支援会議, 支援会議, case conferences): who convenes them and who takes
//! part, who writes their minutes and asks their consent gaps, which meeting a case
//! decision may name, and who sees the minutes of a household with no current member.

use chrono::{DateTime, Utc};

use super::case::{holds_own, role, Kept};
use super::{Permit, Refusal, Ruling};
use crate::policy::{
    may_convene_support_meeting, Action, AgencyKind, Category, Principal, Purpose, SubjectFacts,
};

/// Convening a meeting about a household (createMeeting); the permit names the household.
#[derive(Debug)]
pub enum ConveneMeeting {}

/// A change to a meeting's minutes (updateMeetingMinutes): only the convener's; the permit
/// names the meeting ([`may_coordinate`]).
#[derive(Debug)]
pub enum ChangeMinutes {}

impl Kept for ChangeMinutes {
    const ONLY_KEEPER: &'static str =
        "招集機関のみ更新できます / only the convening agency may update";
}

/// Asking a meeting's consent gaps (which of its participants lack which consent): only the
/// convener's ([`may_coordinate`]).
#[derive(Debug)]
pub enum AskConsentGaps {}

impl Kept for AskConsentGaps {
    const ONLY_KEEPER: &'static str =
        "招集機関のみ確認できます / only the convening agency may ask";
}

/// A coordinator convenes a meeting about a household it may know; its agency is the
/// convener. A 支援会議 (`support_meeting`: the household's current members) needs more:
/// [`may_convene_support_meeting`].
pub fn may_convene(
    p: &Principal,
    household_id: &str,
    support_meeting: Option<&[&SubjectFacts]>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Ruling<ConveneMeeting> {
    role(p, Action::CoordinateCases, "createMeeting")?;
    if let Some(members) = support_meeting {
        may_convene_support_meeting(p, members, purpose, now).map_err(Refusal::Forbidden)?;
    }
    Ok(Permit::grant(household_id))
}

/// Whether an agency of `kind` may take part in a meeting: anyone in a 重層的支援会議 or a
/// case conference, no third party in a 支援会議 (a basis without consent is for the
/// 関係機関 the city constitutes it with).
pub fn may_take_part(support_meeting: bool, kind: AgencyKind) -> bool {
    !(support_meeting && kind == AgencyKind::ThirdParty)
}

/// Why a case decision may not name a meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Citation {
    /// The caller's agency took no part in it: to it, no such meeting.
    Unknown,
    /// The caller's agency convened it, about another household.
    OtherHousehold,
}

/// A case decision names a meeting the caller's agency took part in (convened it or is a
/// member), about the case's household. A meeting of another household is named as such
/// only to its convener; to a mere participant it is unknown, like any other.
pub fn may_cite_meeting(
    p: &Principal,
    convener: &str,
    members: &[String],
    same_household: bool,
) -> Result<(), Citation> {
    let convened = convener == p.agency_id;
    if !convened && !members.contains(&p.agency_id) {
        return Err(Citation::Unknown);
    }
    match (same_household, convened) {
        (true, _) => Ok(()),
        (false, true) => Err(Citation::OtherHousehold),
        (false, false) => Err(Citation::Unknown),
    }
}

/// Who sees the minutes of a meeting whose household has no current member (they are
/// NARRATIVE of every current member otherwise): only the convener, its own record (OWN).
pub fn holds_minutes(p: &Principal, convener: &str) -> bool {
    holds_own(p, convener, Category::Narrative)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;

    fn now() -> DateTime<Utc> {
        "2025-06-01T12:00:00Z".parse().expect("fixed test time")
    }

    #[test]
    fn coordinators_convene_and_a_support_meeting_needs_the_city() {
        let (support, t) = (Purpose::Support, now());
        let coord = principal("a1", &[Role::Coordinator]);
        assert_eq!(
            may_convene(&coord, "h", None, support, t).unwrap().id(),
            "h"
        );
        let cw = principal("a1", &[Role::Caseworker]);
        assert_eq!(
            may_convene(&cw, "h", None, support, t).unwrap_err(),
            Refusal::Forbidden("createMeeting")
        );
        // test_support's agencies are CHILD_FAMILY: not the city's to constitute one.
        let own = SubjectFacts {
            owner_agency_id: "a1".to_owned(),
            ..SubjectFacts::default()
        };
        assert!(matches!(
            may_convene(&coord, "h", Some(&[&own]), support, t),
            Err(Refusal::Forbidden(_))
        ));
        let mut city = principal("a1", &[Role::Coordinator]);
        city.agency_kind = AgencyKind::MultiAgency;
        assert!(may_convene(&city, "h", Some(&[&own]), support, t).is_ok());
        assert!(may_convene(&city, "h", Some(&[]), support, t).is_err());
    }

    #[test]
    fn no_third_party_in_a_support_meeting() {
        assert!(may_take_part(false, AgencyKind::ThirdParty));
        assert!(!may_take_part(true, AgencyKind::ThirdParty));
        assert!(may_take_part(true, AgencyKind::Disability));
    }

    #[test]
    fn a_decision_names_a_meeting_its_agency_took_part_in() {
        let p = principal("a1", &[Role::Coordinator]);
        let members = ["a1".to_owned(), "a2".to_owned()];
        let others = ["a2".to_owned()];
        assert_eq!(may_cite_meeting(&p, "a1", &others, true), Ok(()));
        assert_eq!(may_cite_meeting(&p, "a2", &members, true), Ok(()));
        assert_eq!(
            may_cite_meeting(&p, "a2", &others, true),
            Err(Citation::Unknown)
        );
        assert_eq!(
            may_cite_meeting(&p, "a1", &others, false),
            Err(Citation::OtherHousehold)
        );
        assert_eq!(
            may_cite_meeting(&p, "a2", &members, false),
            Err(Citation::Unknown)
        );
    }

    #[test]
    fn minutes_without_members_are_the_conveners_alone() {
        assert!(holds_minutes(&principal("a1", &[Role::Coordinator]), "a1"));
        assert!(holds_minutes(&principal("a1", &[Role::Caseworker]), "a1"));
        assert!(!holds_minutes(&principal("a2", &[Role::Coordinator]), "a1"));
        assert!(!holds_minutes(&principal("a1", &[Role::Auditor]), "a1"));
    }
}
