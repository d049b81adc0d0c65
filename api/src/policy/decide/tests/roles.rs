//! Deny wins: the role ceiling (checked exhaustively against a table written out here), and
//! the operations each role may perform.

use super::*;

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
