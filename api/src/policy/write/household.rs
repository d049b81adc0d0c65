//! Households (世帯) and their memberships: who may know a household exists, register one,
//! put a person into one and end a membership.

use chrono::{DateTime, NaiveDate, Utc};

use super::{holder_only, needs, Permit, Refusal, Ruling};
use crate::policy::ceiling::ceiling_allows;
use crate::policy::{
    decide, knows_by_own_or_consent, Action, Category, Item, Principal, Purpose, SubjectFacts,
};

/// Registering a household with its first members (createHousehold).
#[derive(Debug)]
pub enum CreateHousehold {}

/// A change to a household's membership list (addHouseholdMember).
#[derive(Debug)]
pub enum ChangeHousehold {}

/// Putting one person into a household (each member of createHousehold, addHouseholdMember).
#[derive(Debug)]
pub enum Enrol {}

/// Ending one membership (endHouseholdMembership).
#[derive(Debug)]
pub enum EndMembership {}

const OWNER_ONLY: &str = "登録機関のみ変更できます / only the owning agency may change it";

const HOUSEHOLD: Item = Item::of(Category::Household);

/// What tells whether the caller may know a household exists, before its members are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existence {
    /// Its agency registered the household.
    Known,
    /// Its roles may not see HOUSEHOLD data at all.
    Unknown,
    /// Only through a member: [`knows_household`] with the members' facts decides.
    ByMembers,
}

/// See [`Existence`].
pub fn household_existence(p: &Principal, owner_agency_id: &str) -> Existence {
    if !ceiling_allows(p, Category::Household) {
        Existence::Unknown
    } else if owner_agency_id == p.agency_id {
        Existence::Known
    } else {
        Existence::ByMembers
    }
}

/// Whether the caller may know a household exists: its agency registered it, or it may see
/// the membership (HOUSEHOLD, held by the registering agency) of at least one of `members`
/// (current or past). Never when its roles may not see HOUSEHOLD data. Not ledgered: no
/// personal field is shown by it.
pub fn knows_household<'a>(
    p: &Principal,
    owner_agency_id: &str,
    members: impl IntoIterator<Item = &'a SubjectFacts>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    match household_existence(p, owner_agency_id) {
        Existence::Known => true,
        Existence::Unknown => false,
        Existence::ByMembers => members
            .into_iter()
            .any(|f| decide(p, f, owner_agency_id, HOUSEHOLD, purpose, now).is_ok()),
    }
}

/// Any account with the role to record persons registers a household, as its agency's record
/// (`household_id` is the new record's id). Each member is enrolled by [`may_enrol`].
pub fn may_create_household(p: &Principal, household_id: &str) -> Ruling<CreateHousehold> {
    needs(p, Action::RecordPerson, "createHousehold")?;
    Ok(Permit::grant(household_id))
}

/// Only the agency that registered a household changes who belongs to it.
pub fn may_change_household(
    p: &Principal,
    household_id: &str,
    owner_agency_id: &str,
) -> Ruling<ChangeHousehold> {
    needs(p, Action::RecordPerson, "addHouseholdMember")?;
    holder_only(p, owner_agency_id, OWNER_ONLY)?;
    Ok(Permit::grant(household_id))
}

/// A person is put into a household only when the caller knows them (`person` is None for
/// a person it may not know exist: NOT_FOUND) by its own record or a consent: a break-glass
/// grant or a 支援会議 must not become a membership, and so a basis for more.
pub fn may_enrol(
    p: &Principal,
    person_id: &str,
    person: Option<&SubjectFacts>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Ruling<Enrol> {
    let Some(facts) = person else {
        return Err(Refusal::Unknown);
    };
    if !knows_by_own_or_consent(p, facts, Category::Identity, purpose, now) {
        return Err(Refusal::Forbidden(
            "自機関の記録か同意で把握している人のみ / only a person known by own record or consent",
        ));
    }
    Ok(Permit::grant(person_id))
}

/// A membership the caller may not see (the member's HOUSEHOLD data, held by the household's
/// registering agency; `member` None when the person is unknown) is, to it, one that does not
/// exist: the same decision as `Household.members`. One it may see, only the registering
/// agency ends.
pub fn may_end_membership(
    p: &Principal,
    membership_id: &str,
    owner_agency_id: &str,
    member: Option<&SubjectFacts>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Ruling<EndMembership> {
    needs(p, Action::RecordPerson, "endHouseholdMembership")?;
    let sees =
        member.is_some_and(|f| decide(p, f, owner_agency_id, HOUSEHOLD, purpose, now).is_ok());
    if !sees {
        return Err(Refusal::Unknown);
    }
    holder_only(p, owner_agency_id, OWNER_ONLY)?;
    Ok(Permit::grant(membership_id))
}

/// Why a membership may not end on a date: the client's argument is wrong for the record's
/// state (BAD_USER_INPUT at the argument [`EndFault::field`] names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndFault {
    /// The membership has ended already.
    AlreadyLeft,
    /// The date is before the member joined.
    BeforeJoined,
}

impl EndFault {
    /// The argument at fault.
    pub fn field(self) -> &'static str {
        match self {
            EndFault::AlreadyLeft => "memberId",
            EndFault::BeforeJoined => "leftOn",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            EndFault::AlreadyLeft => "既に離脱しています / already left",
            EndFault::BeforeJoined => "加入日より前です / before the join date",
        }
    }
}

/// Whether a membership (joined on `joined_on`, ended on `left_on` if it has) may end on
/// `ending_on`: only once, and not before it began.
pub fn end_fault(
    joined_on: Option<NaiveDate>,
    left_on: Option<NaiveDate>,
    ending_on: NaiveDate,
) -> Option<EndFault> {
    if left_on.is_some() {
        Some(EndFault::AlreadyLeft)
    } else if joined_on.is_some_and(|j| ending_on < j) {
        Some(EndFault::BeforeJoined)
    } else {
        None
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::{ConsentFacts, Role};

    pub fn now() -> DateTime<Utc> {
        "2025-06-01T12:00:00Z".parse().expect("fixed test time")
    }

    /// A person registered by `owner`, with an active SUPPORT consent for `categories`
    /// naming `recipient` (none when `categories` is empty).
    pub fn person(owner: &str, recipient: &str, categories: &[Category]) -> SubjectFacts {
        SubjectFacts {
            person_id: format!("{owner}/person"),
            owner_agency_id: owner.to_owned(),
            consents: if categories.is_empty() {
                Vec::new()
            } else {
                vec![ConsentFacts {
                    id: "consent".to_owned(),
                    categories: categories.iter().copied().collect(),
                    recipient_agencies: [recipient.to_owned()].into(),
                    recipient_kinds: Default::default(),
                    purpose: Purpose::Support,
                    valid_from: now() - chrono::Duration::days(30),
                    valid_until: None,
                    withdrawn_at: None,
                    by_proxy: false,
                }]
            },
            ..SubjectFacts::default()
        }
    }

    #[test]
    fn a_household_is_known_to_its_agency_or_through_a_member() {
        let cw = principal("a1", &[Role::Caseworker]);
        let s = Purpose::Support;
        assert_eq!(household_existence(&cw, "a1"), Existence::Known);
        assert!(knows_household(&cw, "a1", [], s, now()));
        assert_eq!(household_existence(&cw, "a2"), Existence::ByMembers);
        assert!(!knows_household(&cw, "a2", [], s, now()));
        let stranger = person("a2", "a1", &[Category::Identity]);
        let consenting = person("a2", "a1", &[Category::Household]);
        assert!(!knows_household(&cw, "a2", [&stranger], s, now()));
        assert!(knows_household(
            &cw,
            "a2",
            [&stranger, &consenting],
            s,
            now()
        ));
        assert!(!knows_household(
            &cw,
            "a2",
            [&consenting],
            Purpose::Evaluation,
            now()
        ));
        // A role that may not see HOUSEHOLD knows no household, not even its agency's own.
        let auditor = principal("a1", &[Role::Auditor]);
        assert_eq!(household_existence(&auditor, "a1"), Existence::Unknown);
        assert!(!knows_household(&auditor, "a1", [&consenting], s, now()));
    }

    #[test]
    fn only_the_registering_agency_changes_a_household() {
        let cw = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_change_household(&cw, "h", "a1").unwrap().id(), "h");
        assert_eq!(
            may_change_household(&cw, "h", "a2").unwrap_err(),
            Refusal::Forbidden(OWNER_ONLY)
        );
        let analyst = principal("a1", &[Role::Analyst]);
        assert!(may_change_household(&analyst, "h", "a1").is_err());
        assert!(may_create_household(&analyst, "h").is_err());
        assert_eq!(may_create_household(&cw, "h").unwrap().id(), "h");
    }

    #[test]
    fn only_a_person_known_by_own_record_or_consent_is_enrolled() {
        let cw = principal("a1", &[Role::Caseworker]);
        let s = Purpose::Support;
        let own = person("a1", "a1", &[]);
        assert_eq!(may_enrol(&cw, "p", Some(&own), s, now()).unwrap().id(), "p");
        let consenting = person("a2", "a1", &[Category::Identity]);
        assert!(may_enrol(&cw, "p", Some(&consenting), s, now()).is_ok());
        assert_eq!(
            may_enrol(&cw, "p", None, s, now()).unwrap_err(),
            Refusal::Unknown
        );
        // Known through a break-glass grant only: not a basis for a membership.
        let mut granted = person("a2", "a1", &[]);
        granted.emergencies.push(crate::policy::EmergencyFacts {
            id: "g".to_owned(),
            account_id: cw.account_id.clone(),
            from: now() - chrono::Duration::hours(1),
            until: now() + chrono::Duration::hours(1),
        });
        assert!(matches!(
            may_enrol(&cw, "p", Some(&granted), s, now()),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn a_membership_ends_by_its_household_agency_once() {
        let cw = principal("a1", &[Role::Caseworker]);
        let s = Purpose::Support;
        let own = person("a1", "a1", &[]);
        assert_eq!(
            may_end_membership(&cw, "m", "a1", Some(&own), s, now())
                .unwrap()
                .id(),
            "m"
        );
        // Seen through a consent, but held by another agency: FORBIDDEN.
        let consenting = person("a2", "a1", &[Category::Household]);
        assert_eq!(
            may_end_membership(&cw, "m", "a2", Some(&consenting), s, now()).unwrap_err(),
            Refusal::Forbidden(OWNER_ONLY)
        );
        // Not seen at all: as if there were no such membership.
        let hidden = person("a2", "a1", &[Category::Identity]);
        for member in [Some(&hidden), None] {
            assert_eq!(
                may_end_membership(&cw, "m", "a2", member, s, now()).unwrap_err(),
                Refusal::Unknown
            );
        }
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        assert_eq!(end_fault(None, None, day(1)), None);
        assert_eq!(end_fault(Some(day(1)), None, day(1)), None);
        assert_eq!(
            end_fault(Some(day(2)), None, day(1)),
            Some(EndFault::BeforeJoined)
        );
        assert_eq!(
            end_fault(Some(day(2)), Some(day(3)), day(1)),
            Some(EndFault::AlreadyLeft)
        );
    }
}
