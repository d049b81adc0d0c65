//! What is derived from the decision: list scopes and explanations.

use super::*;

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
