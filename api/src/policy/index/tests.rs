//! The index agrees with `decide` for every reader, category, purpose and instant, over
//! generated facts: consents (withdrawn, expired, not yet valid), 支援会議 with memberships that
//! start, end or lie outside the meeting's period, and break-glass grants.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

const AGENCIES: [&str; 3] = ["a1", "a2", "a3"];
const KINDS: [AgencyKind; 2] = [AgencyKind::ComprehensiveCare, AgencyKind::Disability];
const ACCOUNTS: [&str; 2] = ["u1", "u2"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

/// An instant some hours after the base (the generated facts live within ten days).
fn at(hours: i64) -> DateTime<Utc> {
    base() + Duration::hours(hours)
}

fn day(d: i64) -> NaiveDate {
    base().date_naive() + Duration::days(d)
}

fn categories() -> impl Strategy<Value = BTreeSet<Category>> {
    proptest::sample::subsequence(Category::ALL.to_vec(), 1..4)
        .prop_map(|v| v.into_iter().collect())
}

fn consent() -> impl Strategy<Value = ConsentFacts> {
    (
        categories(),
        proptest::sample::subsequence(AGENCIES.to_vec(), 0..3),
        proptest::sample::subsequence(KINDS.to_vec(), 0..2),
        any::<bool>(),
        0i64..240,
        proptest::option::of(0i64..240),
        proptest::option::of(0i64..240),
        0u32..1000,
    )
        .prop_map(
            |(categories, agencies, kinds, support, from, until, withdrawn, n)| ConsentFacts {
                id: format!("c{n}"),
                categories,
                recipient_agencies: agencies.into_iter().map(str::to_owned).collect(),
                recipient_kinds: kinds.into_iter().collect(),
                purpose: if support {
                    Purpose::Support
                } else {
                    Purpose::Evaluation
                },
                valid_from: at(from),
                valid_until: until.map(at),
                withdrawn_at: withdrawn.map(at),
                by_proxy: false,
            },
        )
}

fn meeting() -> impl Strategy<Value = MeetingFacts> {
    (
        proptest::sample::subsequence(AGENCIES.to_vec(), 1..3),
        categories(),
        0i64..240,
        1i64..240,
        proptest::option::of(-2i64..11),
        proptest::option::of(-2i64..11),
        0u32..1000,
    )
        .prop_map(
            |(agencies, categories, from, len, joined, left, n)| MeetingFacts {
                id: format!("m{n}"),
                member_agencies: agencies.into_iter().map(str::to_owned).collect(),
                categories,
                from: at(from),
                until: at(from + len),
                joined_on: joined.map(day),
                left_on: left.map(day),
            },
        )
}

fn grant() -> impl Strategy<Value = EmergencyFacts> {
    (
        proptest::sample::select(ACCOUNTS.to_vec()),
        0i64..240,
        1i64..24,
        0u32..1000,
    )
        .prop_map(|(account, from, len, n)| EmergencyFacts {
            id: format!("g{n}"),
            account_id: account.to_owned(),
            from: at(from),
            until: at(from + len),
        })
}

fn subject() -> impl Strategy<Value = SubjectFacts> {
    (
        proptest::sample::select(AGENCIES.to_vec()),
        proptest::collection::vec(consent(), 0..4),
        proptest::collection::vec(meeting(), 0..3),
        proptest::collection::vec(grant(), 0..2),
    )
        .prop_map(|(owner, consents, meetings, emergencies)| SubjectFacts {
            person_id: "p".into(),
            owner_agency_id: owner.into(),
            address_confidential: false,
            consents,
            meetings,
            emergencies,
        })
}

/// Every instant where an answer may change, and a second either side of it.
fn instants(s: &SubjectFacts, entries: &[IndexEntry]) -> Vec<DateTime<Utc>> {
    let mut edges: Vec<DateTime<Utc>> = entries
        .iter()
        .flat_map(|e| [e.from, e.until])
        .flatten()
        .collect();
    for m in &s.meetings {
        edges.extend([m.from, m.until]);
        edges.extend(m.joined_on.into_iter().chain(m.left_on).map(city_midnight));
    }
    for c in &s.consents {
        edges.extend(
            [Some(c.valid_from), c.valid_until, c.withdrawn_at]
                .into_iter()
                .flatten(),
        );
    }
    edges.push(at(-1));
    edges
        .into_iter()
        .flat_map(|t| [t - Duration::seconds(1), t, t + Duration::seconds(1)])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_index_says_what_decide_says(s in subject()) {
        let entries = index_entries(&s);
        for now in instants(&s, &entries) {
            for agency in AGENCIES {
                for kind in KINDS {
                    for account in ACCOUNTS {
                        for category in Category::ALL {
                            for purpose in Purpose::ALL {
                                let scope = ListScope {
                                    account_id: account.into(),
                                    agency_id: agency.into(),
                                    agency_kind: kind,
                                    category: *category,
                                    purpose: *purpose,
                                    now,
                                };
                                for with_own in [true, false] {
                                    prop_assert_eq!(
                                        entries_allow(&entries, &scope, with_own),
                                        knows(&s, &scope, with_own),
                                        "{:?} with_own={}", scope, with_own
                                    );
                                }
                                prop_assert_eq!(
                                    entries_name_agency(&entries, &scope),
                                    consent_names_agency(&s, &scope),
                                    "{:?}", scope
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The oracle itself is `decide`: an agency named by a consent knows the person under that
/// consent's category and purpose only, and OWN only for the registering agency.
#[test]
fn the_oracle_is_decide() {
    let s = SubjectFacts {
        person_id: "p".into(),
        owner_agency_id: "a1".into(),
        consents: vec![ConsentFacts {
            id: "c".into(),
            categories: [Category::Identity].into(),
            recipient_agencies: ["a2".to_owned()].into(),
            recipient_kinds: BTreeSet::new(),
            purpose: Purpose::Support,
            valid_from: at(0),
            valid_until: None,
            withdrawn_at: Some(at(10)),
            by_proxy: false,
        }],
        ..SubjectFacts::default()
    };
    let scope = |agency: &str, category, now| ListScope {
        account_id: "u".into(),
        agency_id: agency.into(),
        agency_kind: AgencyKind::Disability,
        category,
        purpose: Purpose::Support,
        now,
    };
    let entries = index_entries(&s);
    assert!(knows(&s, &scope("a2", Category::Identity, at(5)), false));
    assert!(entries_allow(
        &entries,
        &scope("a2", Category::Identity, at(5)),
        false
    ));
    assert!(
        !knows(&s, &scope("a2", Category::Identity, at(10)), false),
        "withdrawn"
    );
    assert!(!entries_allow(
        &entries,
        &scope("a2", Category::Identity, at(10)),
        false
    ));
    assert!(!entries_allow(
        &entries,
        &scope("a2", Category::Health, at(5)),
        true
    ));
    assert!(entries_allow(
        &entries,
        &scope("a1", Category::Health, at(5)),
        true
    ));
    assert!(!entries_allow(
        &entries,
        &scope("a1", Category::Health, at(5)),
        false
    ));
}
