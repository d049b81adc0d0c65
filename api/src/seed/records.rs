//! 相談 / consultations over ten fiscal years, and つなぎ / referrals from a consultation's
//! agency to another agency.

use std::time::Instant;

use chrono::Duration;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::people::House;
use super::{id, names, report, Actor, Op, Pending, Run, Table};
use crate::graphql::enums::{Channel, ConsultationStatus, ReferralStatus, Urgency};
use entity::{consultation, consultation_issue, consultation_subject, referral};

const RECORD_CONSULTATION: Op = Op::new("recordConsultation", "consultation");
const CREATE_REFERRAL: Op = Op::new("createReferral", "referral");

/// A consultation a referral may come from: its id, its agency (an index into the city's
/// agencies) and its first subject.
pub(super) type Consulted = (String, usize, String);

/// Consultations over ten fiscal years (more in recent years), skewed towards a minority of
/// households, issue mixes by the receiving agency's kind. Returns up to four times as many
/// consultations as there are referrals to make, for [`referrals`].
pub(super) async fn consultations(
    run: &mut Run<'_>,
    households: &[House],
) -> anyhow::Result<Vec<Consulted>> {
    let (rng, out, city, scale, today) = run.parts();
    let t = Instant::now();
    let mut consultations = Table::<consultation::Entity>::new("consultation");
    let mut subjects = Table::<consultation_subject::Entity>::new("consultation_subject");
    let mut issues = Table::<consultation_issue::Entity>::new("consultation_issue");
    let mut consult_refs: Vec<Consulted> = Vec::new();
    for n in 0..scale.consultations {
        // Squaring a uniform number skews towards the first households.
        let u: f64 = rng.random();
        let h = &households[((u * u) * households.len() as f64) as usize % households.len().max(1)];
        let agency_ix = if rng.random_bool(0.6) {
            h.agency
        } else {
            city.pick(rng)
        };
        let a = &city.agencies[agency_ix];
        let by = a.staff.choose(rng).cloned().unwrap_or_default();
        // sqrt of a uniform number: recent years get more consultations.
        let age_days = ((1.0 - rng.random::<f64>().sqrt()) * 3650.0) as i64;
        let at = today - Duration::days(age_days) - Duration::minutes(rng.random_range(0..600));
        let main = a.issues.choose(rng).copied().unwrap_or("OTHER");
        let cid = id(rng);
        let status = if age_days > 365 {
            ConsultationStatus::Closed
        } else {
            [
                ConsultationStatus::Open,
                ConsultationStatus::InProgress,
                ConsultationStatus::InProgress,
                ConsultationStatus::Referred,
                ConsultationStatus::Closed,
            ][rng.random_range(0..5)]
        }
        .as_str();
        consultations.push(consultation::Model {
            id: cid.clone(),
            receiving_agency_id: a.id.clone(),
            received_at: at,
            channel: [
                Channel::Visit,
                Channel::Phone,
                Channel::Phone,
                Channel::Outreach,
                Channel::Email,
                Channel::Referral,
                Channel::Other,
            ][rng.random_range(0..7)]
            .as_str()
            .to_owned(),
            household_id: Some(h.id.clone()),
            summary: names::summary(main).to_owned(),
            urgency: [
                Urgency::Low,
                Urgency::Normal,
                Urgency::Normal,
                Urgency::Normal,
                Urgency::High,
                Urgency::Critical,
            ][rng.random_range(0..6)]
            .as_str()
            .to_owned(),
            status: status.to_owned(),
            version: 1,
            created_by: by.clone(),
            created_at: at,
            updated_at: at,
        });
        let first = rng.random_range(0..h.members.len());
        let mut who = vec![h.members[first].clone()];
        if h.members.len() > 1 && rng.random_bool(0.3) {
            who.push(h.members[(first + 1) % h.members.len()].clone());
        }
        for p in &who {
            subjects.push(consultation_subject::Model {
                consultation_id: cid.clone(),
                person_id: p.clone(),
            });
        }
        issues.push(consultation_issue::Model {
            consultation_id: cid.clone(),
            issue_code: main.to_owned(),
            is_main: true,
        });
        let k = rng.random_range(0..3);
        for extra in a.issues.choose_multiple(rng, k) {
            if *extra != main {
                issues.push(consultation_issue::Model {
                    consultation_id: cid.clone(),
                    issue_code: (*extra).to_owned(),
                    is_main: false,
                });
            }
        }
        let actor = Actor::new(&by, &a.id, "caseworker");
        out.ledger
            .write(rng, actor, RECORD_CONSULTATION, &cid, Some(&who[0]), at);
        if consult_refs.len() < scale.referrals * 4 {
            consult_refs.push((cid, agency_ix, who[0].clone()));
        }
        let last = n + 1 == scale.consultations;
        out.batch(&mut [&mut consultations, &mut subjects, &mut issues], last)
            .await?;
    }
    report(t, &[&consultations, &subjects, &issues]);
    Ok(consult_refs)
}

/// Referrals from the agency of an evenly spread selection of `consulted` to another agency.
pub(super) async fn referrals(run: &mut Run<'_>, consulted: &[Consulted]) -> anyhow::Result<()> {
    let (rng, out, city, scale, today) = run.parts();
    let t = Instant::now();
    let mut referrals = Table::<referral::Entity>::new("referral");
    for n in 0..scale.referrals.min(consulted.len()) {
        let (cid, from_ix, pid) = &consulted[n * consulted.len() / scale.referrals.max(1)];
        let mut to_ix = city.pick(rng);
        if to_ix == *from_ix {
            to_ix = (to_ix + 1) % city.agencies.len();
        }
        let from = &city.agencies[*from_ix];
        let by = from.staff.choose(rng).cloned().unwrap_or_default();
        let at = today - Duration::days(rng.random_range(0..1500));
        let status = [
            ReferralStatus::Proposed,
            ReferralStatus::Accepted,
            ReferralStatus::Accepted,
            ReferralStatus::Completed,
            ReferralStatus::Completed,
            ReferralStatus::Declined,
        ][rng.random_range(0..6)]
        .as_str();
        let rid = id(rng);
        referrals.push(referral::Model {
            id: rid.clone(),
            from_agency_id: from.id.clone(),
            to_agency_id: city.agencies[to_ix].id.clone(),
            person_id: pid.clone(),
            consultation_id: Some(cid.clone()),
            reason: "専門的な支援が必要と考えられるため、つなぎをお願いしたい。".to_owned(),
            status: status.to_owned(),
            decline_reason: (status == "DECLINED").then(|| "対象外のため".to_owned()),
            version: 1,
            created_by: by.clone(),
            created_at: at,
            updated_at: at,
            decided_at: (status != "PROPOSED").then_some(at + Duration::days(3)),
            completed_at: (status == "COMPLETED").then_some(at + Duration::days(60)),
        });
        let actor = Actor::new(&by, &from.id, "caseworker");
        out.ledger
            .write(rng, actor, CREATE_REFERRAL, &rid, Some(pid), at);
    }
    referrals.flush(out.txn).await?;
    referrals.report(t);
    Ok(())
}
