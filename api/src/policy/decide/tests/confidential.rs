//! address_confidential (DV等支援措置): only OWN or a consent naming the agency opens a location.

use super::*;

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

#[test]
fn explanation_names_address_confidential_only_to_who_may_see_child_protection() {
    let p = caseworker();
    // A kind consent for CONTACT only: the location is denied for the support measure, which
    // the caller may not know about (no basis for CHILD_PROTECTION), so it is told NO_BASIS.
    let s = confidential(vec![consent("c1", &[Contact], &[], &[ChildFamily])]);
    let told = |s: &SubjectFacts| {
        explain_to_caller(&p, s, OWNER, Item::location(), Purpose::Support, now()).decision
    };
    assert_eq!(
        explain(&p, &s, OWNER, Item::location(), Purpose::Support, now()).decision,
        CONFIDENTIAL
    );
    assert_eq!(told(&s), Err(Denial::NoBasis));
    // With CHILD_PROTECTION consented as well, the reason is told as it is.
    let s = confidential(vec![consent(
        "c1",
        &[Contact, ChildProtection],
        &[],
        &[ChildFamily],
    )]);
    assert_eq!(told(&s), CONFIDENTIAL);
}
