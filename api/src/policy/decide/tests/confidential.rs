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
