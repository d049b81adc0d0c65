//! OWN and CONSENT: the record's own agency, and consents by recipient, category, purpose
//! and lifetime.

use super::*;

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
