//! The referral rules. The state machine is checked against a table written out here (not
//! read from `MOVES`): every (from, to) for the sender, the receiver and a bystander.

use chrono::{DateTime, Utc};

use super::*;
use crate::policy::write::test_support::principal;
use crate::policy::{ConsentFacts, Role};

use ReferralStatus::{Accepted, Completed, Declined, Proposed};

const SENDER: &str = "a-send";
const RECEIVER: &str = "a-recv";

fn now() -> DateTime<Utc> {
    "2025-06-01T12:00:00Z".parse().expect("fixed test time")
}

/// A person of SENDER with an active SUPPORT consent to `cats` naming RECEIVER.
fn subject(cats: &[Category]) -> SubjectFacts {
    SubjectFacts {
        person_id: "p".to_owned(),
        owner_agency_id: SENDER.to_owned(),
        consents: vec![ConsentFacts {
            id: "c".to_owned(),
            categories: cats.iter().copied().collect(),
            recipient_agencies: [RECEIVER.to_owned()].into(),
            recipient_kinds: Default::default(),
            purpose: Purpose::Support,
            valid_from: now() - chrono::Duration::days(1),
            valid_until: None,
            withdrawn_at: None,
            by_proxy: false,
        }],
        ..SubjectFacts::default()
    }
}

fn referral(status: ReferralStatus, subject: Option<&SubjectFacts>) -> ReferralFacts<'_> {
    ReferralFacts {
        id: "r",
        from_agency_id: SENDER,
        to_agency_id: RECEIVER,
        status,
        version: 4,
        subject,
    }
}

fn caseworker(agency: &str) -> Principal {
    principal(agency, &[Role::Caseworker])
}

/// What a move is answered with, in short.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Unknown,
    Forbidden,
    Illegal,
}

fn outcome(agency: &str, from: ReferralStatus, to: ReferralStatus) -> Outcome {
    let s = subject(&REFERRAL_CATEGORIES);
    match referral_transition(
        &caseworker(agency),
        &referral(from, Some(&s)),
        4,
        to,
        Purpose::Support,
        now(),
    ) {
        Ok(permit) => {
            assert_eq!(permit.id(), "r");
            Outcome::Ok
        }
        Err(Blocked::Refused(Refusal::Unknown)) => Outcome::Unknown,
        Err(Blocked::Refused(Refusal::Forbidden(_))) => Outcome::Forbidden,
        Err(Blocked::Illegal { from: f, to: t }) => {
            assert_eq!((f, t), (from, to));
            Outcome::Illegal
        }
        Err(other) => panic!("{from} → {to} by {agency}: unexpected {other:?}"),
    }
}

#[test]
fn every_transition_by_every_side() {
    use Outcome::*;
    // (from, to, by the sender, by the receiver)
    let table = [
        (Proposed, Proposed, Illegal, Illegal),
        (Proposed, Accepted, Forbidden, Ok),
        (Proposed, Declined, Forbidden, Ok),
        (Proposed, Completed, Forbidden, Illegal),
        (Accepted, Proposed, Illegal, Illegal),
        (Accepted, Accepted, Forbidden, Illegal),
        (Accepted, Declined, Forbidden, Illegal),
        (Accepted, Completed, Forbidden, Ok),
        (Declined, Proposed, Illegal, Illegal),
        (Declined, Accepted, Forbidden, Illegal),
        (Declined, Declined, Forbidden, Illegal),
        (Declined, Completed, Forbidden, Illegal),
        (Completed, Proposed, Illegal, Illegal),
        (Completed, Accepted, Forbidden, Illegal),
        (Completed, Declined, Forbidden, Illegal),
        (Completed, Completed, Forbidden, Illegal),
    ];
    assert_eq!(table.len(), ReferralStatus::ALL.len().pow(2));
    for (from, to, by_sender, by_receiver) in table {
        assert_eq!(
            outcome(SENDER, from, to),
            by_sender,
            "{from} → {to} by the sender"
        );
        assert_eq!(
            outcome(RECEIVER, from, to),
            by_receiver,
            "{from} → {to} by the receiver"
        );
        // An agency not party to it does not know the referral exists.
        assert_eq!(
            outcome("a-other", from, to),
            Unknown,
            "{from} → {to} by a bystander"
        );
    }
}

#[test]
fn checks_come_in_order() {
    let s = subject(&REFERRAL_CATEGORIES);
    let move_ = |p: &Principal, from, version, to| {
        referral_transition(
            p,
            &referral(from, Some(&s)),
            version,
            to,
            Purpose::Support,
            now(),
        )
    };
    // Without the role to refer: FORBIDDEN naming the mutation, before anything else.
    let auditor = principal(RECEIVER, &[Role::Auditor, Role::Admin]);
    for (to, op) in [
        (Accepted, "acceptReferral"),
        (Declined, "declineReferral"),
        (Completed, "completeReferral"),
    ] {
        assert_eq!(
            move_(&auditor, Proposed, 1, to).unwrap_err(),
            Blocked::Refused(Refusal::Forbidden(op))
        );
    }
    // The sender is FORBIDDEN whatever the version.
    assert!(matches!(
        move_(&caseworker(SENDER), Proposed, 1, Accepted),
        Err(Blocked::Refused(Refusal::Forbidden(_)))
    ));
    // A stale version is CONFLICT before the move is judged (accepting twice on the version
    // read before the first acceptance).
    assert_eq!(
        move_(&caseworker(RECEIVER), Accepted, 3, Accepted).unwrap_err(),
        Blocked::Stale(4)
    );
    assert_eq!(
        move_(&caseworker(RECEIVER), Proposed, 5, Accepted).unwrap_err(),
        Blocked::Stale(4)
    );
}

#[test]
fn accepting_needs_the_consent_still() {
    let receiver = caseworker(RECEIVER);
    let accept = |s: Option<&SubjectFacts>| {
        referral_transition(
            &receiver,
            &referral(Proposed, s),
            4,
            Accepted,
            Purpose::Support,
            now(),
        )
    };
    assert!(accept(Some(&subject(&REFERRAL_CATEGORIES))).is_ok());
    assert_eq!(
        accept(Some(&subject(&[Category::Identity]))).unwrap_err(),
        Blocked::NeedsConsent(Category::Contact)
    );
    let mut withdrawn = subject(&REFERRAL_CATEGORIES);
    withdrawn.consents[0].withdrawn_at = Some(now());
    assert_eq!(
        accept(Some(&withdrawn)).unwrap_err(),
        Blocked::NeedsConsent(Category::Identity)
    );
    // Without the person's facts, no acceptance.
    assert_eq!(
        accept(None).unwrap_err(),
        Blocked::NeedsConsent(Category::Identity)
    );
    // Declining needs no consent.
    assert!(referral_transition(
        &receiver,
        &referral(Proposed, None),
        4,
        Declined,
        Purpose::Support,
        now()
    )
    .is_ok());
}

#[test]
fn a_referral_is_proposed_to_another_agency_with_consent() {
    let sender = caseworker(SENDER);
    let propose = |s: &SubjectFacts, to: &str| {
        may_propose_referral(
            &sender,
            s,
            to,
            AgencyKind::Disability,
            Purpose::Support,
            now(),
        )
    };
    let s = subject(&REFERRAL_CATEGORIES);
    assert_eq!(propose(&s, RECEIVER).unwrap().id(), "p");
    assert!(matches!(
        propose(&s, SENDER),
        Err(Blocked::Target(m)) if m.contains("own agency")
    ));
    assert!(referral_target(&sender, SENDER).is_err());
    assert_eq!(referral_target(&sender, RECEIVER), Ok(()));
    assert_eq!(
        propose(&subject(&[Category::Contact]), RECEIVER).unwrap_err(),
        Blocked::NeedsConsent(Category::Identity)
    );
    // A consent naming another agency does not do.
    assert_eq!(
        propose(&s, "a-other").unwrap_err(),
        Blocked::NeedsConsent(Category::Identity)
    );
    let auditor = principal(SENDER, &[Role::Auditor]);
    assert_eq!(
        may_propose_referral(
            &auditor,
            &s,
            RECEIVER,
            AgencyKind::Disability,
            Purpose::Support,
            now()
        )
        .unwrap_err(),
        Blocked::Refused(Refusal::Forbidden("proposeReferral"))
    );
}

#[test]
fn statuses_round_trip_their_stored_text() {
    for s in ReferralStatus::ALL {
        assert_eq!(ReferralStatus::parse(s.as_str()), Some(*s));
    }
    assert_eq!(mover(Proposed), None);
}
