//! `statistics` and `evaluationReport` (issue 17), judged per world like the change feed:
//! every caller asks every measure by every dimension it has (and by two at once), and the
//! report. The analyst gets tables, every other role FORBIDDEN with no data; an admin gets
//! the report too. Nothing of any person may appear in any answer: no id, name, reading,
//! birth date, address, phone or special-care value (the caller's denied secrets, scanned
//! for in the whole body), no record id of the world at all, and no published value below
//! the threshold (a cell of one person).

use serde_json::{json, Value};
use tsunagi_tests::Server;

use crate::secrets::Secrets;
use crate::world::World;

const MEASURES: &[&str] = &[
    "CONSULTATIONS",
    "PERSONS_CONSULTED",
    "NEW_PERSONS_CONSULTED",
    "HOUSEHOLDS_CONSULTED",
    "REFERRALS",
    "REFERRALS_ACCEPTED",
    "CASES_OPENED",
    "SUPPORT_DECISIONS",
    "CASES_CLOSED",
    "PLANS_MADE",
    "PLANS_AGREED",
    "MEETINGS",
    "OUTREACH_CONTACTS",
    "OUTREACH_PERSONS",
    "PLACEMENTS_STARTED",
    "PLACEMENTS_RETAINED",
    "PLACEMENT_PERSONS",
    "CONSENTS_RECORDED",
    "CONSENTS_WITHDRAWN",
];

const DIMENSIONS: &[&str] = &[
    "FISCAL_YEAR",
    "MONTH",
    "DISTRICT",
    "AGE_BAND_5",
    "AGE_BAND_10",
    "SEX",
    "AGENCY",
    "AGENCY_KIND",
    "ISSUE",
    "ISSUE_GROUP",
    "CHANNEL",
    "STATUS",
    "KIND",
];

const TABLE: &str = "query($m: Measure!, $g: [Dimension!]) { statistics(measure: $m, groupBy: $g) { total threshold cells { values value } } }";
const REPORT: &str = "query($y: Int!) { evaluationReport(fiscalYear: $y) { fiscalYear threshold indicators { indicator actual previousYear breakdown { dimension value actual } } } }";

/// Every record id of the world: none belongs in an aggregate, whatever the caller may know.
fn ids(w: &World) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(w.persons.iter().map(|p| p.id.clone()));
    out.extend(w.households.iter().map(|h| h.id.clone()));
    out.extend(w.consultations.iter().map(|c| c.id.clone()));
    out.extend(w.referrals.iter().map(|r| r.id.clone()));
    out.extend(w.consents.iter().map(|c| c.id.clone()));
    out.extend(w.cases.iter().map(|c| c.id.clone()));
    out.extend(w.meetings.iter().map(|m| m.id.clone()));
    out.extend(w.accounts.iter().map(|a| a.id.clone()));
    out.retain(|id| !id.is_empty());
    out
}

fn judge(
    problems: &mut Vec<String>,
    who: &str,
    what: &str,
    body: &str,
    secrets: &Secrets,
    ids: &[String],
) {
    for (value, name) in &secrets.denied {
        if body.contains(value.as_str()) {
            problems.push(format!("{who} {what}: LEAK: {name} ({value})"));
        }
    }
    for id in ids {
        if body.contains(id.as_str()) {
            problems.push(format!("{who} {what}: a record id ({id}) in an aggregate"));
        }
    }
}

/// The problems found in `w` (empty: judged and fine), and how many tables were judged.
pub async fn check(srv: &Server, w: &World, secrets: &[Secrets]) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut tables = 0usize;
    let ids = ids(w);
    for (i, a) in w.accounts.iter().enumerate() {
        let analyst = a.roles.contains(&"analyst");
        let admin = a.roles.contains(&"admin");
        let who = format!("{} ({:?})", a.login, a.roles);
        // A caller who is refused is refused whatever the table: a few suffice.
        let measures = if analyst { MEASURES } else { &MEASURES[..2] };
        for (k, m) in measures.iter().enumerate() {
            // Each measure by each dimension, and by two; one not applicable is refused as
            // input (BAD_USER_INPUT) and says nothing.
            let d = DIMENSIONS[k % DIMENSIONS.len()];
            let e = DIMENSIONS[(k + 5) % DIMENSIONS.len()];
            let groupings: Vec<Value> = if analyst {
                DIMENSIONS
                    .iter()
                    .map(|d| json!([d]))
                    .chain([json!([]), json!([d, e])])
                    .collect()
            } else {
                vec![json!([d, e])]
            };
            for g in groupings {
                let r = srv.gql(&a.token, TABLE, json!({ "m": m, "g": g })).await;
                let what = format!("statistics({m}, {g})");
                judge(
                    &mut problems,
                    &who,
                    &what,
                    &r.body.to_string(),
                    &secrets[i],
                    &ids,
                );
                let codes = r.codes();
                if !analyst {
                    if codes != ["FORBIDDEN"] || !r.data().is_null() {
                        problems.push(format!("{who} {what}: not FORBIDDEN: {}", r.body));
                    }
                    continue;
                }
                if codes == ["BAD_USER_INPUT"] && r.data().is_null() {
                    continue;
                }
                if !codes.is_empty() {
                    problems.push(format!("{who} {what}: {}", r.body));
                    continue;
                }
                tables += 1;
                let t = &r.data()["statistics"];
                let k = t["threshold"].as_i64().unwrap_or(i64::MAX);
                for c in t["cells"].as_array().into_iter().flatten() {
                    if c["value"].as_i64().is_none_or(|v| v < k) {
                        problems.push(format!("{who} {what}: a cell below the threshold: {c}"));
                    }
                }
            }
        }
        let year = w
            .today
            .format("%Y")
            .to_string()
            .parse::<i32>()
            .unwrap_or(2026);
        for (query, what) in [
            (REPORT, format!("evaluationReport({year})")),
            (
                "query($y: Int!) { targets(fiscalYear: $y) { indicator value note } }",
                format!("targets({year})"),
            ),
            (
                "{ statisticsSettings { group enabled } }",
                "statisticsSettings".to_owned(),
            ),
        ] {
            let r = srv.gql(&a.token, query, json!({ "y": year })).await;
            judge(
                &mut problems,
                &who,
                &what,
                &r.body.to_string(),
                &secrets[i],
                &ids,
            );
            if analyst || admin {
                if !r.codes().is_empty() {
                    problems.push(format!("{who} {what}: {}", r.body));
                }
            } else if r.codes() != ["FORBIDDEN"] || !r.data().is_null() {
                problems.push(format!("{who} {what}: not FORBIDDEN: {}", r.body));
            }
        }
    }
    (problems, tables)
}
