//! SUPPORT_MEETING and EMERGENCY: the members of a 支援会議 within its period and categories,
//! break-glass grants, and the city date that membership is judged by.

use super::*;

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
