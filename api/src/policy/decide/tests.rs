//! Unit tests for the access decision. A leaked sensitive field is the worst bug, so each
//! rule has its own small test, and the role ceiling is checked exhaustively against a
//! table written out here (not read from `ceiling.rs`). The fixtures are here; the tests
//! are grouped by concern in the modules below.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::super::ceiling::{may, Action};
use super::*;

use AgencyKind::{ChildFamily, Disability, SelfReliance};
use Category::*;

mod confidential;
mod knowledge;
mod meeting_and_emergency;
mod own_and_consent;
mod roles;
mod scope_and_explain;

/// The caller's agency (kind CHILD_FAMILY unless a test says otherwise).
const MINE: &str = "agency-mine";
/// The agency that owns the record being read.
const OWNER: &str = "agency-owner";
/// A third agency.
const OTHER: &str = "agency-other";

fn now() -> DateTime<Utc> {
    "2025-06-01T12:00:00Z".parse().expect("fixed test time")
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

fn principal(agency: &str, kind: AgencyKind, roles: &[Role]) -> Principal {
    Principal {
        account_id: format!("{agency}/acct-1"),
        agency_id: agency.to_owned(),
        agency_kind: kind,
        roles: roles.iter().copied().collect(),
        client_id: None,
    }
}

/// A principal of MINE (kind CHILD_FAMILY) with one role.
fn only(role: Role) -> Principal {
    principal(MINE, ChildFamily, &[role])
}

fn caseworker() -> Principal {
    only(Role::Caseworker)
}

/// An active SUPPORT consent, valid since 30 days ago, no end, not withdrawn, by the person.
fn consent(id: &str, cats: &[Category], agencies: &[&str], kinds: &[AgencyKind]) -> ConsentFacts {
    ConsentFacts {
        id: id.to_owned(),
        categories: cats.iter().copied().collect(),
        recipient_agencies: agencies.iter().map(|a| (*a).to_owned()).collect(),
        recipient_kinds: kinds.iter().copied().collect(),
        purpose: Purpose::Support,
        valid_from: now() - days(30),
        valid_until: None,
        withdrawn_at: None,
        by_proxy: false,
    }
}

fn meeting(id: &str, members: &[&str], cats: &[Category]) -> MeetingFacts {
    MeetingFacts {
        id: id.to_owned(),
        member_agencies: members.iter().map(|a| (*a).to_owned()).collect(),
        categories: cats.iter().copied().collect(),
        from: now() - days(10),
        until: now() + days(10),
        joined_on: None,
        left_on: None,
    }
}

fn grant(id: &str, account: &str) -> EmergencyFacts {
    EmergencyFacts {
        id: id.to_owned(),
        account_id: account.to_owned(),
        from: now() - Duration::hours(1),
        until: now() + Duration::hours(1),
    }
}

/// A person registered by OWNER, with the given consents.
fn subject(consents: Vec<ConsentFacts>) -> SubjectFacts {
    SubjectFacts {
        person_id: "person-1".to_owned(),
        owner_agency_id: OWNER.to_owned(),
        consents,
        ..SubjectFacts::default()
    }
}

fn confidential(consents: Vec<ConsentFacts>) -> SubjectFacts {
    let mut s = subject(consents);
    s.address_confidential = true;
    s
}

/// Read `item` of the record owned by OWNER, for SUPPORT, at `now()`.
fn read(p: &Principal, s: &SubjectFacts, item: Item) -> Decision {
    decide(p, s, OWNER, item, Purpose::Support, now())
}

fn read_cat(p: &Principal, s: &SubjectFacts, cat: Category) -> Decision {
    read(p, s, Item::of(cat))
}

/// The caseworker of MINE reads `cat`.
fn cw(s: &SubjectFacts, cat: Category) -> Decision {
    read_cat(&caseworker(), s, cat)
}

/// The caseworker of MINE reads the location item.
fn cw_loc(s: &SubjectFacts) -> Decision {
    read(&caseworker(), s, Item::location())
}

/// A person whose only consent is `c`.
fn sole(c: ConsentFacts) -> SubjectFacts {
    subject(vec![c])
}

const NO_BASIS: Decision = Err(Denial::NoBasis);
const CEILING: Decision = Err(Denial::RoleCeiling);
const CONFIDENTIAL: Decision = Err(Denial::AddressConfidential);

fn by_consent(id: &str) -> Decision {
    let consent_id = id.to_owned();
    Ok(Basis::Consent { consent_id })
}
