//! The rules built on the decision: what a referral lacks, consent coverage, convening a
//! 支援会議, parties to an exchange, which consents a caller may know, and naming a subject in
//! an error.

use super::*;

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
    let covers = |s: &SubjectFacts, agency: &str, kind: AgencyKind, cat, purpose| {
        consent_covers(s, agency, kind, cat, purpose, now())
    };
    let s = subject(vec![consent("c1", &[Health], &[OTHER], &[SelfReliance])]);
    assert!(covers(&s, OTHER, ChildFamily, Health, Purpose::Support));
    assert!(covers(&s, MINE, SelfReliance, Health, Purpose::Support));
    assert!(!covers(&s, MINE, ChildFamily, Health, Purpose::Support));
    assert!(!covers(&s, OTHER, ChildFamily, Narrative, Purpose::Support));
    assert!(!covers(&s, OTHER, ChildFamily, Health, Purpose::Evaluation));
    // A 支援会議 is never consent.
    let mut m = subject(vec![]);
    m.meetings.push(meeting("m1", &[OTHER], &[Health]));
    assert!(!covers(&m, OTHER, ChildFamily, Health, Purpose::Support));
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
    let knows =
        |s: &SubjectFacts| knows_by_own_or_consent(&city, s, Identity, Purpose::Support, now());
    assert!(knows(&own_record));
    assert!(!knows(&via_grant));
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
