//! Unit tests for the access decision. A leaked sensitive field is the worst bug, so each
//! rule has its own small test, and the role ceiling is checked exhaustively against a
//! table written out here (not read from `ceiling.rs`).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::super::ceiling::{may, Action};
use super::*;

use AgencyKind::{ChildFamily, Disability, SelfReliance};
use Category::*;

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

// ---- OWN ----------------------------------------------------------------------------
#[test]
fn own_agency_sees_every_category_its_roles_allow() {
    let p = principal(OWNER, Disability, &[Role::Caseworker]);
    let s = subject(vec![]);
    for &cat in Category::ALL {
        assert_eq!(read_cat(&p, &s, cat), Ok(Basis::Own), "{cat}");
    }
    assert_eq!(read(&p, &s, Item::location()), Ok(Basis::Own));
}

#[test]
fn own_does_not_extend_to_another_agencys_record_of_the_same_person() {
    let p = caseworker();
    // The person was registered by MINE, but this record of them is OWNER's.
    let mut s = subject(vec![]);
    s.owner_agency_id = MINE.to_owned();
    for &cat in Category::ALL {
        assert_eq!(read_cat(&p, &s, cat), NO_BASIS, "{cat}");
        let own = decide(&p, &s, MINE, Item::of(cat), Purpose::Support, now());
        assert_eq!(own, Ok(Basis::Own), "{cat}");
    }
}

// ---- CONSENT ------------------------------------------------------------------------
#[test]
fn consent_naming_the_agency_opens_exactly_its_categories() {
    let s = sole(consent("c1", &[Identity, Household], &[MINE], &[]));
    for &cat in Category::ALL {
        let expected = if matches!(cat, Identity | Household) {
            by_consent("c1")
        } else {
            NO_BASIS
        };
        assert_eq!(cw(&s, cat), expected, "{cat}");
    }
}

#[test]
fn identity_consent_opens_neither_health_nor_narrative() {
    let s = sole(consent("c1", &[Identity], &[MINE], &[]));
    assert_eq!(cw(&s, Identity), by_consent("c1"));
    assert_eq!(cw(&s, Health), NO_BASIS);
    assert_eq!(cw(&s, Narrative), NO_BASIS);
}

#[test]
fn kind_consent_opens_for_that_kind_only() {
    let s = sole(consent("c1", &[Identity], &[], &[ChildFamily]));
    let child = principal(MINE, ChildFamily, &[Role::Caseworker]);
    let disab = principal(MINE, Disability, &[Role::Caseworker]);
    assert_eq!(read_cat(&child, &s, Identity), by_consent("c1"));
    assert_eq!(read_cat(&disab, &s, Identity), NO_BASIS);
}

#[test]
fn consent_naming_agency_x_does_not_open_for_agency_y() {
    let s = sole(consent("c1", &[Identity], &[OTHER], &[]));
    let x = principal(OTHER, ChildFamily, &[Role::Caseworker]);
    assert_eq!(read_cat(&x, &s, Identity), by_consent("c1"));
    assert_eq!(cw(&s, Identity), NO_BASIS);
}

#[test]
fn purpose_mismatch_denies() {
    let s = sole(consent("c1", &[Identity], &[MINE], &[]));
    let (p, item) = (caseworker(), Item::of(Identity));
    let d = decide(&p, &s, OWNER, item, Purpose::Evaluation, now());
    assert_eq!(d, NO_BASIS);
}

#[test]
fn basis_carries_the_consent_id() {
    let s = subject(vec![
        consent("c-identity", &[Identity], &[MINE], &[]),
        consent("c-plan", &[Plan], &[MINE], &[]),
    ]);
    let basis = cw(&s, Plan).expect("plan is consented");
    assert_eq!(basis.kind(), "CONSENT");
    assert_eq!(basis.reference(), Some("c-plan"));
}

// ---- consent lifetime ---------------------------------------------------------------
/// What the MINE caseworker gets for IDENTITY under one consent naming MINE, after `edit`.
fn under(edit: impl FnOnce(&mut ConsentFacts)) -> Decision {
    let mut c = consent("c1", &[Identity], &[MINE], &[]);
    edit(&mut c);
    cw(&sole(c), Identity)
}

#[test]
fn withdrawn_consent_denies() {
    assert_eq!(under(|c| c.withdrawn_at = Some(now() - days(1))), NO_BASIS);
    assert_eq!(under(|c| c.withdrawn_at = Some(now())), NO_BASIS);
}

#[test]
fn withdrawal_in_the_future_does_not_yet_deny() {
    let d = under(|c| c.withdrawn_at = Some(now() + days(1)));
    assert_eq!(d, by_consent("c1"));
}

#[test]
fn expired_consent_denies() {
    assert_eq!(under(|c| c.valid_until = Some(now() - days(1))), NO_BASIS);
}

#[test]
fn consent_valid_until_exactly_now_denies() {
    assert_eq!(under(|c| c.valid_until = Some(now())), NO_BASIS);
}

#[test]
fn consent_not_yet_valid_denies() {
    assert_eq!(under(|c| c.valid_from = now() + days(1)), NO_BASIS);
    // The first instant of validity already holds.
    assert_eq!(under(|c| c.valid_from = now()), by_consent("c1"));
}

#[test]
fn withdrawal_ends_only_that_consent() {
    let mut withdrawn = consent("c-old", &[Identity], &[MINE], &[]);
    withdrawn.withdrawn_at = Some(now() - days(1));
    let active = consent("c-new", &[Identity], &[MINE], &[]);
    let s = subject(vec![withdrawn, active]);
    assert_eq!(cw(&s, Identity), by_consent("c-new"));
}

#[test]
fn proxy_consent_opens_like_the_persons_own() {
    let mut c = consent("c-proxy", &[Identity, Health], &[MINE], &[]);
    c.by_proxy = true;
    let s = sole(c);
    assert_eq!(cw(&s, Health), by_consent("c-proxy"));
    assert_eq!(cw(&s, Narrative), NO_BASIS);
}

// ---- deny wins: role ceiling --------------------------------------------------------
#[test]
fn analyst_auditor_admin_see_nothing_even_in_their_own_record() {
    let everything = consent("c-all", Category::ALL, &[OWNER], &[Disability]);
    let mut s = sole(everything);
    s.meetings.push(meeting("m1", &[OWNER], Category::ALL));
    s.emergencies.push(grant("g1", &format!("{OWNER}/acct-1")));
    for role in [Role::Analyst, Role::Auditor, Role::Admin] {
        let p = principal(OWNER, Disability, &[role]);
        for &cat in Category::ALL {
            assert_eq!(read_cat(&p, &s, cat), CEILING, "{role} {cat}");
        }
        assert_eq!(read(&p, &s, Item::location()), CEILING, "{role}");
    }
}

#[test]
fn life_support_coordinator_denied_special_care_even_with_consent_but_sees_identity() {
    let p = principal(MINE, ChildFamily, &[Role::LifeSupportCoordinator]);
    let s = sole(consent(
        "c1",
        &[Identity, Health, ChildProtection],
        &[MINE],
        &[],
    ));
    assert_eq!(read_cat(&p, &s, Health), CEILING);
    assert_eq!(read_cat(&p, &s, ChildProtection), CEILING);
    assert_eq!(read_cat(&p, &s, Identity), by_consent("c1"));
}

#[test]
fn caseworker_and_analyst_roles_union_their_ceilings() {
    // Ceilings are a union: the analyst role does not take away what caseworker allows.
    let p = principal(MINE, ChildFamily, &[Role::Caseworker, Role::Analyst]);
    let s = sole(consent("c1", &[Health], &[MINE], &[]));
    assert_eq!(read_cat(&p, &s, Health), by_consent("c1"));
    assert_eq!(read_cat(&p, &s, Narrative), NO_BASIS);
    let own = decide(&p, &s, MINE, Item::of(Health), Purpose::Support, now());
    assert_eq!(own, Ok(Basis::Own));
}

// ---- address_confidential -----------------------------------------------------------
#[test]
fn confidential_location_denied_under_kind_consent() {
    let s = confidential(vec![consent("c1", &[Contact], &[], &[ChildFamily])]);
    assert_eq!(cw_loc(&s), CONFIDENTIAL);
}

#[test]
fn confidential_location_allowed_under_consent_naming_the_agency() {
    let s = confidential(vec![
        consent("c-kind", &[Contact], &[], &[ChildFamily]),
        consent("c-named", &[Contact], &[MINE], &[]),
    ]);
    assert_eq!(cw_loc(&s), by_consent("c-named"));
}

#[test]
fn confidential_location_denied_when_naming_consent_lapsed() {
    let mut c = consent("c1", &[Contact], &[MINE], &[]);
    c.withdrawn_at = Some(now() - days(1));
    let s = confidential(vec![c]);
    assert_eq!(cw_loc(&s), CONFIDENTIAL);
}

#[test]
fn confidential_location_allowed_for_own() {
    let p = principal(OWNER, Disability, &[Role::Caseworker]);
    let s = confidential(vec![consent("c1", &[Contact], &[], &[Disability])]);
    assert_eq!(read(&p, &s, Item::location()), Ok(Basis::Own));
}

#[test]
fn confidential_location_denied_under_support_meeting() {
    let mut s = confidential(vec![]);
    s.meetings.push(meeting("m1", &[MINE], Category::ALL));
    assert_eq!(cw_loc(&s), CONFIDENTIAL);
}

#[test]
fn confidential_location_denied_under_emergency_grant() {
    let p = caseworker();
    let mut s = confidential(vec![]);
    s.emergencies.push(grant("g1", &p.account_id));
    assert_eq!(read(&p, &s, Item::location()), CONFIDENTIAL);
}

#[test]
fn confidential_persons_non_location_contact_opened_by_kind_consent() {
    let s = confidential(vec![consent("c1", &[Contact], &[], &[ChildFamily])]);
    assert_eq!(read(&caseworker(), &s, Item::of(Contact)), by_consent("c1"));
}

#[test]
fn non_confidential_location_opened_by_kind_consent() {
    let s = sole(consent("c1", &[Contact], &[], &[ChildFamily]));
    assert_eq!(cw_loc(&s), by_consent("c1"));
}

// ---- SUPPORT_MEETING ----------------------------------------------------------------
fn with_meeting(m: MeetingFacts) -> SubjectFacts {
    let mut s = subject(vec![]);
    s.meetings.push(m);
    s
}

#[test]
fn meeting_member_within_period_gets_support_meeting_basis() {
    let mut m = meeting("m1", &[MINE, OWNER], &[Identity, Livelihood]);
    let meeting_id = "m1".to_owned();
    let expected = Ok(Basis::SupportMeeting { meeting_id });
    assert_eq!(cw(&with_meeting(m.clone()), Livelihood), expected);
    m.from = now(); // the first instant of the period counts
    assert_eq!(cw(&with_meeting(m), Livelihood), expected);
}

#[test]
fn meeting_outside_its_period_denies() {
    // Before `from`, exactly at `until`, and after `until` (days relative to now).
    for (from, until) in [(1, 5), (-10, 0), (-5, -1)] {
        let mut m = meeting("m1", &[MINE], &[Identity]);
        (m.from, m.until) = (now() + days(from), now() + days(until));
        assert_eq!(cw(&with_meeting(m), Identity), NO_BASIS, "{from}..{until}");
    }
}

#[test]
fn meeting_non_member_denied() {
    let s = with_meeting(meeting("m1", &[OWNER, OTHER], &[Identity]));
    assert_eq!(cw(&s, Identity), NO_BASIS);
}

#[test]
fn meeting_undeclared_category_denied() {
    let s = with_meeting(meeting("m1", &[MINE], &[Identity]));
    assert_eq!(cw(&s, Health), NO_BASIS);
}

#[test]
fn meeting_is_no_basis_for_evaluation() {
    let s = with_meeting(meeting("m1", &[MINE], &[Identity]));
    let d = decide(
        &caseworker(),
        &s,
        OWNER,
        Item::of(Identity),
        Purpose::Evaluation,
        now(),
    );
    assert_eq!(d, NO_BASIS);
}

#[test]
fn consent_preferred_over_support_meeting() {
    let mut s = sole(consent("c1", &[Identity], &[MINE], &[]));
    s.meetings.push(meeting("m1", &[MINE], &[Identity]));
    assert_eq!(cw(&s, Identity), by_consent("c1"));
}

// ---- EMERGENCY ----------------------------------------------------------------------
fn with_grant(g: EmergencyFacts) -> SubjectFacts {
    let mut s = subject(vec![]);
    s.emergencies.push(g);
    s
}

#[test]
fn emergency_grant_account_within_window_gets_emergency_basis() {
    let p = caseworker();
    let grant_id = "g1".to_owned();
    let expected = Ok(Basis::Emergency { grant_id });
    let s = with_grant(grant("g1", &p.account_id));
    assert_eq!(read_cat(&p, &s, Health), expected);
}

#[test]
fn emergency_grant_does_not_open_for_another_account_of_the_same_agency() {
    let s = with_grant(grant("g1", &caseworker().account_id));
    let colleague = Principal {
        account_id: format!("{MINE}/acct-2"),
        ..caseworker()
    };
    assert_eq!(read_cat(&colleague, &s, Health), NO_BASIS);
}

#[test]
fn expired_emergency_grant_denies() {
    let p = caseworker();
    let mut expired = grant("g1", &p.account_id);
    expired.until = now();
    assert_eq!(read_cat(&p, &with_grant(expired), Health), NO_BASIS);
}

// ---- visible_scope ------------------------------------------------------------------
#[test]
fn visible_scope_none_when_ceiling_denies() {
    let (analyst, lsc) = (only(Role::Analyst), only(Role::LifeSupportCoordinator));
    assert_eq!(
        visible_scope(&analyst, Identity, Purpose::Support, now()),
        None
    );
    assert_eq!(visible_scope(&lsc, Health, Purpose::Support, now()), None);
}

#[test]
fn visible_scope_carries_the_callers_agency() {
    let p = principal(MINE, SelfReliance, &[Role::Caseworker]);
    let scope = visible_scope(&p, Health, Purpose::Evaluation, now()).expect("in ceiling");
    assert_eq!(scope.agency_id, MINE);
    assert_eq!(scope.agency_kind, SelfReliance);
    assert_eq!(
        (scope.category, scope.purpose),
        (Health, Purpose::Evaluation)
    );
}

// ---- explain ------------------------------------------------------------------------
fn explain_cw(s: &SubjectFacts, cat: Category) -> Explanation {
    let p = caseworker();
    explain(&p, s, OWNER, Item::of(cat), Purpose::Support, now())
}

#[test]
fn explain_lists_a_withdrawn_consent_as_lapsed() {
    let mut c = consent("c1", &[Identity], &[MINE], &[]);
    c.withdrawn_at = Some(now() - days(1));
    let e = explain_cw(&sole(c), Identity);
    assert_eq!(e.decision, NO_BASIS);
    assert_eq!(e.lapsed, vec![("c1".to_owned(), Lapse::Withdrawn)]);
    assert!(e.other_recipients.is_empty());
}

#[test]
fn explain_lists_a_consent_naming_another_agency() {
    // A withdrawn consent for another agency is neither "other" (it is gone) nor "lapsed"
    // for this caller (it never named them).
    let mut gone = consent("c-gone", &[Identity], &[OTHER], &[]);
    gone.withdrawn_at = Some(now() - days(1));
    let s = subject(vec![consent("c-other", &[Identity], &[OTHER], &[]), gone]);
    let e = explain_cw(&s, Identity);
    assert_eq!(e.decision, NO_BASIS);
    assert_eq!(e.other_recipients, vec!["c-other".to_owned()]);
    assert!(e.lapsed.is_empty(), "{:?}", e.lapsed);
}

#[test]
fn explain_decision_always_equals_decide() {
    let mut lapsed = consent("c-lapsed", &[Health], &[MINE], &[]);
    lapsed.valid_until = Some(now() - days(1));
    let mut s = confidential(vec![
        consent("c-kind", &[Identity, Contact], &[], &[ChildFamily]),
        consent("c-other", &[Narrative], &[OTHER], &[]),
        lapsed,
    ]);
    s.meetings
        .push(meeting("m1", &[MINE], &[Livelihood, Contact]));
    s.emergencies.push(grant("g1", &format!("{OTHER}/acct-1")));
    let principals = [
        caseworker(),
        principal(OWNER, Disability, &[Role::Caseworker]),
        principal(OTHER, Disability, &[Role::Coordinator]),
        principal(MINE, ChildFamily, &[Role::LifeSupportCoordinator]),
        principal(MINE, ChildFamily, &[Role::Analyst]),
    ];
    for p in &principals {
        let items = Category::ALL.iter().map(|&c| Item::of(c));
        for item in items.chain([Item::location()]) {
            for purpose in [Purpose::Support, Purpose::Evaluation] {
                let d = decide(p, &s, OWNER, item, purpose, now());
                let e = explain(p, &s, OWNER, item, purpose, now());
                assert_eq!(e.decision, d, "{} {item:?} {purpose}", p.agency_id);
                assert_eq!(e.item, item);
            }
        }
    }
}

// ---- may() --------------------------------------------------------------------------
#[test]
fn only_admin_may_manage_registry() {
    for &role in Role::ALL {
        let expected = role == Role::Admin;
        assert_eq!(may(&only(role), Action::ManageRegistry), expected, "{role}");
    }
}

#[test]
fn admin_and_auditor_may_oversee() {
    for &role in Role::ALL {
        let expected = matches!(role, Role::Admin | Role::Auditor);
        assert_eq!(may(&only(role), Action::Oversee), expected, "{role}");
    }
}

#[test]
fn analyst_may_do_no_write_action() {
    let analyst = only(Role::Analyst);
    assert!(!may(&analyst, Action::ManageRegistry));
    assert!(!may(&analyst, Action::RecordPerson));
    assert!(!may(&analyst, Action::RecordConsultation));
    assert!(!may(&analyst, Action::Refer));
    assert!(!may(&analyst, Action::RecordConsent));
}

#[test]
fn integration_may_record_person() {
    assert!(may(&only(Role::Integration), Action::RecordPerson));
}

// ---- exhaustive ceiling -------------------------------------------------------------
/// The version-1 ceiling, written out independently of `ceiling.rs`: x = may see.
/// Columns are category prefixes; every role must have exactly one row.
const EXPECTED_CEILING: &str = "
    role                      IDE CON HOU HEA LIV CHI NAR PLA
    admin                      .   .   .   .   .   .   .   .
    coordinator                x   x   x   x   x   x   x   x
    caseworker                 x   x   x   x   x   x   x   x
    life_support_coordinator   x   x   x   .   x   .   x   x
    analyst                    .   .   .   .   .   .   .   .
    auditor                    .   .   .   .   .   .   .   .
    integration                x   x   x   x   x   x   x   x
";

#[test]
fn own_read_allowed_iff_the_role_ceiling_lists_the_category() {
    let mut lines = EXPECTED_CEILING.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = Category::ALL.iter().map(|c| &c.as_str()[..3]).collect();
    let header_row = lines.next().expect("header row");
    let columns: Vec<&str> = header_row.split_whitespace().skip(1).collect();
    assert_eq!(columns, header, "columns follow Category::ALL");
    let s = subject(vec![]);
    let mut seen = BTreeSet::new();
    for line in lines {
        let mut cells = line.split_whitespace();
        let role = Role::parse(cells.next().expect("role")).expect("known role");
        assert!(seen.insert(role), "{role} listed twice");
        let p = principal(OWNER, Disability, &[role]);
        for (&cat, cell) in Category::ALL.iter().zip(cells) {
            let expected = if cell == "x" { Ok(Basis::Own) } else { CEILING };
            assert_eq!(read_cat(&p, &s, cat), expected, "{role} {cat}");
        }
    }
    assert_eq!(seen.len(), Role::ALL.len(), "every role has a row");
}

// ---- referrals and consent gaps --------------------------------------------------------

#[test]
fn referral_needs_identity_and_contact_for_the_receiver() {
    let both = subject(vec![consent("c1", &[Identity, Contact], &[OTHER], &[])]);
    assert!(referral_missing(&both, OTHER, Disability, Purpose::Support, now()).is_empty());
    let identity_only = subject(vec![consent("c1", &[Identity], &[OTHER], &[])]);
    assert_eq!(
        referral_missing(&identity_only, OTHER, Disability, Purpose::Support, now()),
        vec![Contact]
    );
    // Named for another agency: nothing covers this receiver.
    let elsewhere = subject(vec![consent("c1", &[Identity, Contact], &[MINE], &[])]);
    assert_eq!(
        referral_missing(&elsewhere, OTHER, Disability, Purpose::Support, now()),
        vec![Identity, Contact]
    );
    // By kind it counts; withdrawn it does not.
    let by_kind = subject(vec![consent(
        "c1",
        &[Identity, Contact],
        &[],
        &[Disability],
    )]);
    assert!(referral_missing(&by_kind, OTHER, Disability, Purpose::Support, now()).is_empty());
    let mut withdrawn = consent("c1", &[Identity, Contact], &[OTHER], &[]);
    withdrawn.withdrawn_at = Some(now() - days(1));
    assert_eq!(
        referral_missing(
            &subject(vec![withdrawn]),
            OTHER,
            Disability,
            Purpose::Support,
            now()
        )
        .len(),
        2
    );
}

#[test]
fn consent_covers_is_per_category_recipient_and_purpose() {
    let s = subject(vec![consent("c1", &[Health], &[OTHER], &[SelfReliance])]);
    assert!(consent_covers(
        &s,
        OTHER,
        ChildFamily,
        Health,
        Purpose::Support,
        now()
    ));
    assert!(consent_covers(
        &s,
        MINE,
        SelfReliance,
        Health,
        Purpose::Support,
        now()
    ));
    assert!(!consent_covers(
        &s,
        MINE,
        ChildFamily,
        Health,
        Purpose::Support,
        now()
    ));
    assert!(!consent_covers(
        &s,
        OTHER,
        ChildFamily,
        Narrative,
        Purpose::Support,
        now()
    ));
    assert!(!consent_covers(
        &s,
        OTHER,
        ChildFamily,
        Health,
        Purpose::Evaluation,
        now()
    ));
    // A 支援会議 is never consent.
    let mut m = subject(vec![]);
    m.meetings.push(meeting("m1", &[OTHER], &[Health]));
    assert!(!consent_covers(
        &m,
        OTHER,
        ChildFamily,
        Health,
        Purpose::Support,
        now()
    ));
}

#[test]
fn only_the_city_convenes_a_support_meeting_on_own_or_consented_knowledge() {
    use AgencyKind::MultiAgency;
    let city = principal(MINE, MultiAgency, &[Role::Coordinator]);
    let knows_by_consent = subject(vec![consent("c1", &[Household], &[MINE], &[])]);
    let mut own_record = subject(vec![]);
    own_record.owner_agency_id = MINE.to_owned();
    let stranger = subject(vec![]);
    let conv = |p: &Principal, members: &[&SubjectFacts]| {
        may_convene_support_meeting(p, members, Purpose::Support, now())
    };
    // By consent of a current member, or the city's own record of the person: yes.
    assert!(conv(&city, &[&knows_by_consent]).is_ok());
    assert!(conv(&city, &[&own_record, &stranger]).is_ok());
    // Known only through another meeting or a break-glass grant — or not at all: no (a
    // household the city made itself does not count; persons are judged by their own record).
    let mut via_meeting = subject(vec![]);
    via_meeting
        .meetings
        .push(meeting("m1", &[MINE], &[Household]));
    let mut via_grant = subject(vec![]);
    via_grant.emergencies.push(grant("g1", &city.account_id));
    assert!(conv(&city, &[&via_meeting]).is_err());
    assert!(conv(&city, &[&via_grant, &stranger]).is_err());
    // Not a city agency, or not a coordinator: no.
    let agency = principal(MINE, ChildFamily, &[Role::Coordinator]);
    assert!(conv(&agency, &[&own_record]).is_err());
    let cw = principal(MINE, MultiAgency, &[Role::Caseworker]);
    assert!(conv(&cw, &[&own_record]).is_err());
    // The same rule founds household memberships.
    assert!(knows_by_own_or_consent(
        &city,
        &own_record,
        Identity,
        Purpose::Support,
        now()
    ));
    assert!(!knows_by_own_or_consent(
        &city,
        &via_grant,
        Identity,
        Purpose::Support,
        now()
    ));
}

#[test]
fn parties_with_a_person_level_role_know_exchanged_records() {
    assert!(is_party(&caseworker(), [OTHER, MINE]));
    assert!(!is_party(&caseworker(), [OTHER, OWNER]));
    // Party, but a role that sees no person-level data: no.
    assert!(!is_party(&only(Role::Analyst), [MINE]));
    assert!(!is_party(&only(Role::Auditor), [MINE]));
}

#[test]
fn all_consents_only_for_the_registering_agency_and_overseers() {
    assert!(sees_all_consents(&caseworker(), MINE));
    assert!(!sees_all_consents(&caseworker(), OWNER));
    assert!(sees_all_consents(&only(Role::Auditor), OWNER));
    assert!(sees_all_consents(&only(Role::Admin), OWNER));
}

/// 2025-06-01T12:00Z is 2025-06-01 21:00 in JST; 15:00Z is already 06-02 in JST.
fn date(s: &str) -> chrono::NaiveDate {
    s.parse().expect("test date")
}

#[test]
fn the_city_date_is_jst() {
    assert_eq!(city_date(now()), date("2025-06-01"));
    let late = "2025-06-01T15:00:00Z".parse().expect("time");
    assert_eq!(city_date(late), date("2025-06-02"));
}

#[test]
fn a_membership_is_current_from_its_join_date_until_the_day_it_ends() {
    let cur =
        |j: Option<&str>, l: Option<&str>| membership_current(j.map(date), l.map(date), now());
    assert!(cur(None, None));
    assert!(cur(Some("2025-06-01"), None), "joined today");
    assert!(!cur(Some("2025-06-02"), None), "joins tomorrow");
    assert!(!cur(Some("2025-07-01"), None), "joins next month");
    assert!(cur(None, Some("2025-06-02")), "leaves tomorrow");
    assert!(!cur(None, Some("2025-06-01")), "left today");
    assert!(
        !cur(Some("2024-01-01"), Some("2025-01-01")),
        "left last year"
    );
}

#[test]
fn a_support_meeting_opens_only_current_members() {
    let with = |j: Option<&str>, l: Option<&str>| {
        let mut m = meeting("m1", &[MINE], &[Identity, Health]);
        m.joined_on = j.map(date);
        m.left_on = l.map(date);
        cw(&with_meeting(m), Health)
    };
    let basis = Ok(Basis::SupportMeeting {
        meeting_id: "m1".into(),
    });
    assert_eq!(with(Some("2024-01-01"), None), basis);
    assert_eq!(with(None, Some("2025-06-02")), basis, "leaves tomorrow");
    assert_eq!(with(Some("2025-07-01"), None), NO_BASIS, "not joined yet");
    assert_eq!(with(None, Some("2025-05-01")), NO_BASIS, "left");
}

#[test]
fn an_error_names_a_subject_only_where_the_tie_to_the_record_may_be_seen() {
    let p = caseworker();
    let name =
        |s: &SubjectFacts, link: Link<'_>| may_name_subject(&p, s, link, Purpose::Support, now());
    let narrative = Link::Data {
        category: Narrative,
        holder: OTHER,
    };
    // Known (IDENTITY) but not the tie (NARRATIVE of a consultation another agency holds).
    let known = sole(consent("c1", &[Identity], &[MINE], &[]));
    assert!(name(&known, Link::Person));
    assert!(!name(&known, narrative));
    let tied = sole(consent("c1", &[Identity, Narrative], &[MINE], &[]));
    assert!(name(&tied, narrative));
    // The tie without the person: never named.
    let unknown = sole(consent("c1", &[Narrative], &[MINE], &[]));
    assert!(!name(&unknown, narrative));
    assert!(!name(&unknown, Link::Person));
    // The holder of the tie is OWN for it.
    let own_tie = Link::Data {
        category: Household,
        holder: MINE,
    };
    assert!(name(&known, own_tie));
}

#[test]
fn a_consent_is_known_to_the_registering_agency_overseers_its_recipients_and_its_recorder() {
    let cw = caseworker();
    // The caller's agency (MINE) registered the person: it knows every consent.
    assert!(may_know_consent(&cw, MINE, false, OWNER));
    // Another agency knows a consent only if it is named or recorded it.
    assert!(!may_know_consent(&cw, OWNER, false, OWNER));
    assert!(may_know_consent(&cw, OWNER, true, OWNER));
    assert!(may_know_consent(&cw, OWNER, false, MINE));
    // Overseers know every consent.
    assert!(may_know_consent(&only(Role::Auditor), OWNER, false, OWNER));
}
