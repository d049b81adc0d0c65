//! 同意 / consents: 75 % in force, 10 % withdrawn, 15 % expired; recipients by agency or by
//! agency kind; IDENTITY plus a subset of the other categories.

use std::time::Instant;

use chrono::Duration;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::{id, report, Actor, Op, Run, Table};
use crate::graphql::enums::{ConsentMethod, GivenBy};
use entity::{consent, consent_category, consent_recipient};

const RECORD_CONSENT: Op = Op::new("recordConsent", "consent");

/// Categories a consent may cover (IDENTITY is always included).
const CONSENT_CATEGORIES: &[&str] = &[
    "CONTACT",
    "HOUSEHOLD",
    "HEALTH",
    "LIVELIHOOD",
    "NARRATIVE",
    "PLAN",
];

/// Consents of persons drawn from `persons` (each with the agency that registered them),
/// recorded by that agency.
pub(super) async fn consents(run: &mut Run<'_>, persons: &[(String, usize)]) -> anyhow::Result<()> {
    let (rng, out, city, scale, today) = run.parts();
    let t = Instant::now();
    let mut consents = Table::<consent::Entity>::new("consent");
    let mut categories = Table::<consent_category::Entity>::new("consent_category");
    let mut recipients = Table::<consent_recipient::Entity>::new("consent_recipient");
    for n in 0..scale.consents {
        let (pid, owner_ix) = &persons[rng.random_range(0..persons.len())];
        let owner = &city.agencies[*owner_ix];
        let by = owner.staff.choose(rng).cloned().unwrap_or_default();
        let recorded = today - Duration::days(rng.random_range(1..1800));
        let fate = rng.random_range(0..100);
        let (valid_until, withdrawn) = match fate {
            0..75 => (today + Duration::days(rng.random_range(30..730)), None),
            75..85 => (
                recorded + Duration::days(730),
                Some(recorded + Duration::days(rng.random_range(1..300))),
            ),
            _ => (today - Duration::days(rng.random_range(1..200)), None),
        };
        let proxy = rng.random_bool(0.05);
        let cid = id(rng);
        consents.push(consent::Model {
            id: cid.clone(),
            subject_person_id: pid.clone(),
            given_by: if proxy {
                GivenBy::Proxy
            } else {
                GivenBy::SelfGiven
            }
            .as_str()
            .to_owned(),
            proxy_name: proxy.then(|| "成年後見人".to_owned()),
            proxy_relationship: proxy.then(|| "成年後見人".to_owned()),
            purpose: "SUPPORT".to_owned(),
            valid_from: recorded,
            valid_until: Some(valid_until),
            method: [
                ConsentMethod::Written,
                ConsentMethod::Written,
                ConsentMethod::Written,
                ConsentMethod::OralWithWitness,
                ConsentMethod::Electronic,
            ][rng.random_range(0..5)]
            .as_str()
            .to_owned(),
            evidence_ref: Some(format!("同意書 S-{n:06}")),
            explanation_version: Some("v1".to_owned()),
            recorded_by: by.clone(),
            recorded_agency_id: owner.id.clone(),
            recorded_at: recorded,
            withdrawn_at: withdrawn,
            withdrawn_by: withdrawn.map(|_| by.clone()),
            withdrawal_reason: withdrawn.map(|_| "本人の申出".to_owned()),
            version: if withdrawn.is_some() { 2 } else { 1 },
        });
        categories.push(consent_category::Model {
            consent_id: cid.clone(),
            category: "IDENTITY".to_owned(),
        });
        let k = rng.random_range(1..5);
        for c in CONSENT_CATEGORIES.choose_multiple(rng, k) {
            categories.push(consent_category::Model {
                consent_id: cid.clone(),
                category: (*c).to_owned(),
            });
        }
        let mut to: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.random_range(1..3) {
            let r = if rng.random_bool(0.3) {
                (
                    "AGENCY_KIND".to_owned(),
                    city.agencies[city.pick(rng)].kind.to_owned(),
                )
            } else {
                (
                    "AGENCY".to_owned(),
                    city.agencies[city.pick(rng)].id.clone(),
                )
            };
            if !to.contains(&r) {
                to.push(r);
            }
        }
        for (t, v) in to {
            recipients.push(consent_recipient::Model {
                consent_id: cid.clone(),
                recipient_type: t,
                recipient_value: v,
            });
        }
        let actor = Actor::new(&by, &owner.id, "caseworker");
        out.ledger
            .write(rng, actor, RECORD_CONSENT, &cid, Some(pid), recorded);
        let last = n + 1 == scale.consents;
        out.batch(&mut [&mut consents, &mut categories, &mut recipients], last)
            .await?;
    }
    report(t, &[&consents, &categories, &recipients]);
    Ok(())
}
