//! 名寄せ: what a caller may learn about a person who matches its search but whom it may not
//! know (README §6 "名寄せ"). Pure, like every rule here.
//!
//! Such a person is never named, counted, dated or placed: not their id, name, agency,
//! agency kind or how many there are. The one thing a caller may learn is a single yes/no,
//! "a probable match is held elsewhere; ask the person for consent", and only when every
//! condition below holds (otherwise the answer is the same "no" as when nobody matches):
//!
//! 1. the caller is a person at a desk (a staff token of a role that records persons, not a
//!    service client or an integration): it is meant for someone who can ask the person in
//!    front of them, and a machine could probe in bulk;
//! 2. the match is strong on what the caller already knows: the whole reading (氏名カナ, as
//!    a 名寄せ key) and the birth date were given and both agree exactly, so the answer
//!    confirms nothing the caller could not already state, and a partial name or a birth
//!    date alone can never be used to sweep for clients;
//! 3. the person is not under an address-suppression support measure (DV等支援措置,
//!    `address_confidential`): for them even "known somewhere" can help someone looking for
//!    them, so they never raise it; nor does anyone else while any record that agrees on the
//!    reading and the birth date carries the measure (the same person registered again at
//!    another agency without it would otherwise raise the hint for them).
//!
//! Condition 1 is checked first, before anything is looked up ([`may_be_hinted`]), so a
//! caller who can never be hinted causes no lookup at all: its answer takes the same time
//! whoever is held elsewhere.

use super::types::{Principal, Role, SubjectFacts};

/// How a hidden candidate agreed with the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HiddenAgreement {
    /// The whole reading key was given and is the candidate's.
    pub name_key: bool,
    /// The birth date was given and is the candidate's.
    pub birth_date: bool,
}

/// Whether the caller may be told that a probable match exists elsewhere, because of this
/// person whom it may not know (`knows` = the caller may know them: then they are a
/// candidate in full, never a hint).
pub fn may_hint_elsewhere(
    principal: &Principal,
    subject: &SubjectFacts,
    knows: bool,
    agreement: HiddenAgreement,
) -> bool {
    may_be_hinted(principal)
        && !knows
        && agreement.name_key
        && agreement.birth_date
        && !subject.address_confidential
}

/// Whether this caller may ever be given the hint (condition 1): a staff token of a role
/// that records persons, not a service client or an integration.
pub fn may_be_hinted(principal: &Principal) -> bool {
    principal.client_id.is_none()
        && !principal.has_role(Role::Integration)
        && (principal.has_role(Role::Coordinator) || principal.has_role(Role::Caseworker))
}

/// Whether a link's actor (the agency, and its account, that proposed, confirmed or revoked
/// it) is shown: when it is the caller's own agency or registers one of the two records.
/// Any other agency that handled the person (a third agency that knew both records, a DV or
/// child-protection office, say) is not named: which agencies are involved with a person is
/// itself the person's circumstance (README §6.1, as `probableMatchElsewhere` names no
/// agency kind).
pub fn link_actor_shown(principal: &Principal, actor_agency_id: &str, owners: [&str; 2]) -> bool {
    actor_agency_id == principal.agency_id || owners.contains(&actor_agency_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AgencyKind;

    fn principal(roles: &[Role], client: Option<&str>) -> Principal {
        Principal {
            account_id: "acc".into(),
            agency_id: "a".into(),
            agency_kind: AgencyKind::ALL[0],
            roles: roles.iter().copied().collect(),
            client_id: client.map(str::to_owned),
        }
    }

    fn subject(confidential: bool) -> SubjectFacts {
        SubjectFacts {
            person_id: "p".into(),
            owner_agency_id: "b".into(),
            address_confidential: confidential,
            consents: vec![],
            meetings: vec![],
            emergencies: vec![],
        }
    }

    const STRONG: HiddenAgreement = HiddenAgreement {
        name_key: true,
        birth_date: true,
    };

    #[test]
    fn only_a_strong_match_of_a_person_not_known_and_not_protected() {
        let cw = principal(&[Role::Caseworker], None);
        assert!(may_hint_elsewhere(&cw, &subject(false), false, STRONG));
        // Known: a candidate in full, never a hint.
        assert!(!may_hint_elsewhere(&cw, &subject(false), true, STRONG));
        // DV等支援措置: never.
        assert!(!may_hint_elsewhere(&cw, &subject(true), false, STRONG));
        for weak in [
            HiddenAgreement {
                name_key: true,
                birth_date: false,
            },
            HiddenAgreement {
                name_key: false,
                birth_date: true,
            },
            HiddenAgreement {
                name_key: false,
                birth_date: false,
            },
        ] {
            assert!(!may_hint_elsewhere(&cw, &subject(false), false, weak));
        }
    }

    #[test]
    fn a_link_names_only_the_callers_own_and_the_records_agencies() {
        let cw = principal(&[Role::Caseworker], None);
        assert!(link_actor_shown(&cw, "a", ["b", "c"]));
        assert!(link_actor_shown(&cw, "b", ["b", "c"]));
        assert!(link_actor_shown(&cw, "c", ["b", "c"]));
        assert!(!link_actor_shown(&cw, "z", ["b", "c"]));
    }

    #[test]
    fn only_staff_at_a_desk() {
        assert!(may_be_hinted(&principal(&[Role::Caseworker], None)));
        assert!(!may_be_hinted(&principal(&[Role::Caseworker], Some("cid"))));
        assert!(!may_be_hinted(&principal(&[Role::Auditor], None)));
        let s = subject(false);
        assert!(may_hint_elsewhere(
            &principal(&[Role::Coordinator], None),
            &s,
            false,
            STRONG
        ));
        assert!(!may_hint_elsewhere(
            &principal(&[Role::Caseworker], Some("cid")),
            &s,
            false,
            STRONG
        ));
        assert!(!may_hint_elsewhere(
            &principal(&[Role::Integration], None),
            &s,
            false,
            STRONG
        ));
        assert!(!may_hint_elsewhere(
            &principal(&[Role::Caseworker, Role::Integration], None),
            &s,
            false,
            STRONG
        ));
        assert!(!may_hint_elsewhere(
            &principal(&[Role::Admin], None),
            &s,
            false,
            STRONG
        ));
        assert!(!may_hint_elsewhere(
            &principal(&[Role::LifeSupportCoordinator], None),
            &s,
            false,
            STRONG
        ));
    }
}
