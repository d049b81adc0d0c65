//! What each caller must never meet: every canary value and record id of the world whose
//! oracle verdict for that caller is "denied". A response is scanned for all of them.

use crate::oracle::Oracle;

/// Everything secret in the world, with the oracle's verdict for one caller.
pub struct Secrets {
    /// (value, what it is) the caller must never see.
    pub denied: Vec<(String, String)>,
}

pub fn secrets(o: &Oracle) -> Secrets {
    let w = o.w;
    let mut denied = Vec::new();
    let mut put = |allowed: bool, value: &str, what: String| {
        if !allowed {
            denied.push((value.to_owned(), what));
        }
    };
    for (i, p) in w.persons.iter().enumerate() {
        let id = o.sees(i, "IDENTITY");
        put(o.knows_person_id(i), &p.id, format!("id of person {i}"));
        for (v, f) in [
            (&p.family, "familyName"),
            (&p.given, "givenName"),
            (&p.family_kana, "familyNameKana"),
            (&p.given_kana, "givenNameKana"),
            (&p.birth, "birthDate"),
        ] {
            put(id, v, format!("{f} of person {i}"));
        }
        if let Some(a) = &p.address {
            put(o.sees_location(i), a, format!("address of person {i}"));
        }
        if let Some(v) = &p.phone {
            put(o.sees(i, "CONTACT"), v, format!("phone of person {i}"));
        }
        for v in [&p.care, &p.disability].into_iter().flatten() {
            put(o.sees(i, "HEALTH"), v, format!("HEALTH of person {i}"));
        }
    }
    for (h, hh) in w.households.iter().enumerate() {
        // SupportCase.householdId (non-null) names the household to whoever knows the
        // case; the oracle allows that id (not the household) — see the report.
        let via_case = w
            .cases
            .iter()
            .enumerate()
            .any(|(k, x)| x.household == h && o.knows_case(k));
        put(
            o.knows_household(h) || via_case,
            &hh.id,
            format!("id of household {h}"),
        );
        for (m, mm) in hh.members.iter().enumerate() {
            let seen = o.sees_member(h, m);
            put(seen, &mm.id, format!("id of member {m} of household {h}"));
            put(
                seen,
                &mm.relationship,
                format!("relationship of member {m} of household {h}"),
            );
        }
    }
    for (c, cc) in w.consultations.iter().enumerate() {
        put(
            o.knows_consultation(c),
            &cc.id,
            format!("id of consultation {c}"),
        );
        put(
            o.sees_summary(c),
            &cc.summary,
            format!("summary of consultation {c}"),
        );
    }
    for (r, rr) in w.referrals.iter().enumerate() {
        let known = o.knows_referral(r);
        put(known, &rr.id, format!("id of referral {r}"));
        put(
            known && o.sees_reason(r),
            &rr.reason,
            format!("reason of referral {r}"),
        );
        if let Some(d) = &rr.decline_reason {
            put(
                known && o.sees_decline_reason(r),
                d,
                format!("declineReason of referral {r}"),
            );
        }
    }
    for (m, mm) in w.meetings.iter().enumerate() {
        let known = o.knows_meeting(m);
        // Overseers meet meeting ids as basis references (explainAccess, the ledger).
        put(known || o.oversight(), &mm.id, format!("id of meeting {m}"));
        put(
            known && o.sees_minutes(m),
            &mm.minutes,
            format!("minutes of meeting {m}"),
        );
    }
    for (a, x) in w.activities.iter().enumerate() {
        let seen = o.sees_activity(a);
        put(seen, &x.id, format!("id of activity {a}"));
        put(seen, &x.note, format!("note of activity {a}"));
    }
    for (k, x) in w.placements.iter().enumerate() {
        put(o.sees_placement(k), &x.id, format!("id of placement {k}"));
    }
    for (k, x) in w.cases.iter().enumerate() {
        put(o.knows_case(k), &x.id, format!("id of support case {k}"));
    }
    // Case content: decisions and plans (ids, dates) come with the case; their text, the
    // involvements and the assignments need the category for every current member.
    for (d, dd) in w.decisions.iter().enumerate() {
        let known = o.knows_case(dd.case);
        put(known, &dd.id, format!("id of decision {d}"));
        put(
            known && o.sees_case_content(dd.case, "PLAN"),
            &dd.basis,
            format!("basis of decision {d}"),
        );
        if let Some(n) = &dd.note {
            put(
                known && o.sees_case_content(dd.case, "NARRATIVE"),
                n,
                format!("note of decision {d}"),
            );
        }
    }
    for (i, ii) in w.involvements.iter().enumerate() {
        let seen = o.knows_case(ii.case) && o.sees_case_content(ii.case, "PLAN");
        put(seen, &ii.id, format!("id of involvement {i}"));
    }
    for (p, pp) in w.plans.iter().enumerate() {
        let known = o.knows_case(pp.case);
        put(known, &pp.id, format!("id of plan {p}"));
        let text = known && o.sees_case_content(pp.case, "PLAN");
        for (v, what) in [
            (&pp.wishes, "wishes"),
            (&pp.long_goal, "longTermGoal"),
            (&pp.short_goal, "shortTermGoals"),
            (&pp.assignment, "assignment id"),
            (&pp.task, "task"),
            (&pp.frequency, "contactFrequency"),
        ] {
            put(text, v, format!("{what} of plan {p}"));
        }
    }
    for (k, cc) in w.consents.iter().enumerate() {
        let seen = o.sees_consent(k);
        put(seen, &cc.id, format!("id of consent {k}"));
        put(seen, &cc.evidence, format!("evidenceRef of consent {k}"));
        for v in [&cc.proxy_name, &cc.withdrawal_reason]
            .into_iter()
            .flatten()
        {
            put(seen, v, format!("proxy/withdrawal of consent {k}"));
        }
    }
    // Another agency's reference ids (unless the caller's agency holds the same id).
    for r in &w.refs {
        let own = w
            .refs
            .iter()
            .any(|x| x.agency == o.a.agency && x.external_id == r.external_id);
        put(
            own,
            &r.external_id,
            format!(
                "external id of agency {} for {:?} {}",
                r.agency, r.kind, r.record
            ),
        );
    }
    Secrets { denied }
}
