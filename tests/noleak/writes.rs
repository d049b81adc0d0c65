//! Id-taking writes on hidden records (issue 10, rule 4): a mutation sent against a record
//! the oracle says the caller may not know must answer byte-identically to the same
//! mutation against a random UUID — NOT_FOUND naming the id argument as its field — and
//! must change nothing. Only writes the oracle says must be refused are sent, so a world
//! is never changed by a passing test (and a failing one shows what changed).

use serde_json::{json, Value};
use tsunagi_tests::{snapshot, Server};

use crate::oracle::Oracle;
use crate::rng::Rng;

pub struct Write {
    pub name: &'static str,
    pub text: String,
    /// Variables naming the hidden record; the same with a random UUID in `arg`.
    pub hidden: Value,
    pub missing: Value,
    /// The id argument (and the variable that carries it).
    pub arg: &'static str,
    /// What the hidden record is, for the report.
    pub target: String,
    /// Whether the caller's roles may do this operation (README §6 role table): then the
    /// answer must be NOT_FOUND; otherwise FORBIDDEN for both is as good.
    pub permitted: bool,
}

fn has(o: &Oracle, roles: &[&str]) -> bool {
    o.a.roles.iter().any(|r| roles.contains(r))
}

const RECORDERS: &[&str] = &["coordinator", "caseworker", "integration"];

/// A random id-taking write on a record the caller may not know, or None when the world
/// holds no such record for this caller.
pub fn generate(rng: &mut Rng, o: &Oracle) -> Option<Write> {
    let w = o.w;
    let today = w.today.to_string();
    let later = (w.today + chrono::Duration::days(15)).to_string();
    let hidden = |ids: Vec<(String, String)>, rng: &mut Rng| -> Option<(String, String)> {
        (!ids.is_empty()).then(|| ids[rng.below(ids.len())].clone())
    };
    let unknown_cases: Vec<(String, String)> = (0..w.cases.len())
        .filter(|k| !o.knows_case(*k))
        .map(|k| (w.cases[k].id.clone(), format!("support case {k}")))
        .collect();
    for _ in 0..20 {
        let (name, text, arg, pick, permitted): (_, String, _, _, _) = match rng.below(16) {
            0 => {
                // Mostly a consent of a person the caller does know (the case).
                let all: Vec<usize> = (0..w.consents.len())
                    .filter(|k| !o.sees_consent(*k))
                    .collect();
                let of_known: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|k| o.knows_person(w.consents[*k].person))
                    .collect();
                let from = if rng.chance(70) && !of_known.is_empty() {
                    of_known
                } else {
                    all
                };
                (
                    "withdrawConsent",
                    "mutation W($id: ID!) { withdrawConsent(id: $id, version: 1, reason: \"撤回の確認\") { id } }".to_owned(),
                    "id",
                    hidden(
                        from.into_iter()
                            .map(|k| (w.consents[k].id.clone(), format!("consent {k}")))
                            .collect(),
                        rng,
                    ),
                    has(o, RECORDERS),
                )
            }
            1 => {
                // Mostly a membership of a household the caller does know.
                let mut all = Vec::new();
                let mut of_known = Vec::new();
                for (h, hh) in w.households.iter().enumerate() {
                    for (m, mm) in hh.members.iter().enumerate() {
                        if !o.sees_member(h, m) {
                            let x = (mm.id.clone(), format!("member {m} of household {h}"));
                            if o.knows_household(h) {
                                of_known.push(x.clone());
                            }
                            all.push(x);
                        }
                    }
                }
                let from = if rng.chance(70) && !of_known.is_empty() {
                    of_known
                } else {
                    all
                };
                (
                    "endHouseholdMembership",
                    format!("mutation W($id: ID!) {{ endHouseholdMembership(memberId: $id, leftOn: \"{later}\") {{ id }} }}"),
                    "memberId",
                    hidden(from, rng),
                    // Household writes are not in the README's role table.
                    false,
                )
            }
            2 => (
                "updatePerson",
                "mutation W($id: ID!) { updatePerson(id: $id, version: 1, input: { phone: \"0000-0000\" }) { id } }".to_owned(),
                "id",
                hidden(
                    (0..w.persons.len())
                        .filter(|p| !o.knows_person(*p))
                        .map(|p| (w.persons[p].id.clone(), format!("person {p}")))
                        .collect(),
                    rng,
                ),
                has(o, RECORDERS),
            ),
            3 => (
                "setConsultationStatus",
                "mutation W($id: ID!) { setConsultationStatus(id: $id, version: 1, status: IN_PROGRESS) { id } }".to_owned(),
                "id",
                hidden(
                    (0..w.consultations.len())
                        .filter(|c| !o.knows_consultation(*c))
                        .map(|c| (w.consultations[c].id.clone(), format!("consultation {c}")))
                        .collect(),
                    rng,
                ),
                has(o, &["coordinator", "caseworker", "integration", "life_support_coordinator"]),
            ),
            n @ 4..=6 => {
                let (name, text) = match n {
                    4 => ("acceptReferral", "mutation W($id: ID!) { acceptReferral(id: $id, version: 1) { id } }"),
                    5 => ("declineReferral", "mutation W($id: ID!) { declineReferral(id: $id, version: 1, reason: \"辞退の確認\") { id } }"),
                    _ => ("completeReferral", "mutation W($id: ID!) { completeReferral(id: $id, version: 1) { id } }"),
                };
                (
                    name,
                    text.to_owned(),
                    "id",
                    hidden(
                        (0..w.referrals.len())
                            .filter(|r| !o.knows_referral(*r))
                            .map(|r| (w.referrals[r].id.clone(), format!("referral {r}")))
                            .collect(),
                        rng,
                    ),
                    has(o, RECORDERS),
                )
            }
            7 => (
                "updateMeetingMinutes",
                "mutation W($id: ID!) { updateMeetingMinutes(id: $id, version: 1, minutes: \"議事録の確認\") { id } }".to_owned(),
                "id",
                hidden(
                    (0..w.meetings.len())
                        .filter(|m| !o.knows_meeting(*m))
                        .map(|m| (w.meetings[m].id.clone(), format!("meeting {m}")))
                        .collect(),
                    rng,
                ),
                has(o, &["coordinator"]),
            ),
            8 => (
                "advanceCase",
                "mutation W($id: ID!) { advanceCase(id: $id, version: 1, to: PLANNING) { id } }".to_owned(),
                "id",
                hidden(unknown_cases.clone(), rng),
                has(o, &["coordinator"]),
            ),
            9 => (
                "endInvolvement",
                format!("mutation W($id: ID!) {{ endInvolvement(id: $id, version: 1, endedOn: \"{today}\") {{ id }} }}"),
                "id",
                hidden(
                    (0..w.involvements.len())
                        .filter(|i| {
                            let k = w.involvements[*i].case;
                            !(o.knows_case(k) && o.sees_case_content(k, "PLAN"))
                        })
                        .map(|i| {
                            let k = w.involvements[i].case;
                            let why = if o.knows_case(k) { "content hidden" } else { "case hidden" };
                            (w.involvements[i].id.clone(), format!("involvement {i} ({why})"))
                        })
                        .collect(),
                    rng,
                ),
                has(o, &["coordinator"]),
            ),
            10 => (
                "recordPlanAgreement",
                format!("mutation W($id: ID!) {{ recordPlanAgreement(planId: $id, agreedOn: \"{today}\", method: SIGNED) {{ id }} }}"),
                "planId",
                hidden(
                    (0..w.plans.len())
                        .filter(|p| !o.knows_case(w.plans[*p].case))
                        .map(|p| (w.plans[p].id.clone(), format!("plan {p}")))
                        .collect(),
                    rng,
                ),
                has(o, &["coordinator"]),
            ),
            11 => (
                "setPlacementStatus",
                "mutation W($id: ID!) { setPlacementStatus(id: $id, version: 1, status: PAUSED) { id } }".to_owned(),
                "id",
                hidden(
                    (0..w.placements.len())
                        .filter(|x| !o.sees_placement(*x))
                        .map(|x| (w.placements[x].id.clone(), format!("placement {x}")))
                        .collect(),
                    rng,
                ),
                // Placements are not in the README's role table.
                false,
            ),
            12 => {
                // A person the caller knows (so the member is not what is refused).
                let known: Vec<usize> = (0..w.persons.len())
                    .filter(|p| o.knows_person(*p))
                    .collect();
                if known.is_empty() {
                    continue;
                }
                let p = &w.persons[known[rng.below(known.len())]].id;
                (
                    "addHouseholdMember",
                    format!("mutation W($id: ID!) {{ addHouseholdMember(householdId: $id, member: {{ personId: \"{p}\", relationship: \"同居人\" }}) {{ id }} }}"),
                    "householdId",
                    hidden(
                        (0..w.households.len())
                            .filter(|h| !o.knows_household(*h))
                            .map(|h| (w.households[h].id.clone(), format!("household {h}")))
                            .collect(),
                        rng,
                    ),
                    false,
                )
            }
            13 => {
                let me = &w.agencies[o.a.agency].id;
                (
                    "createPlanVersion",
                    format!("mutation W($id: ID!) {{ createPlanVersion(caseId: $id, input: {{ wishes: \"思いの確認\", longTermGoal: \"目標\", shortTermGoals: [\"短期\"], nextReviewOn: \"{later}\", assignments: [{{ agencyId: \"{me}\", role: SUPPORTING, task: \"役割\" }}] }}) {{ id }} }}"),
                    "caseId",
                    hidden(unknown_cases.clone(), rng),
                    has(o, &["coordinator"]),
                )
            }
            14 => {
                let me = &w.agencies[o.a.agency].id;
                (
                    "addInvolvement",
                    format!("mutation W($id: ID!) {{ addInvolvement(caseId: $id, input: {{ agencyId: \"{me}\", role: SUPPORTING, startedOn: \"{today}\" }}) {{ id }} }}"),
                    "caseId",
                    hidden(unknown_cases.clone(), rng),
                    has(o, &["coordinator"]),
                )
            }
            _ => (
                "recordSupportDecision",
                format!("mutation W($id: ID!) {{ recordSupportDecision(caseId: $id, input: {{ decidedOn: \"{today}\", decider: \"課長\", basis: \"根拠の確認\" }}) {{ id }} }}"),
                "caseId",
                hidden(unknown_cases.clone(), rng),
                has(o, &["coordinator"]),
            ),
        };
        let Some((id, target)) = pick else {
            continue;
        };
        let fresh = uuid::Uuid::now_v7().to_string();
        return Some(Write {
            name,
            text,
            hidden: json!({ "id": id }),
            missing: json!({ "id": fresh }),
            arg,
            target,
            permitted,
        });
    }
    None
}

/// Sends the write against the hidden record and against a random UUID; returns the
/// problems and both bodies (for the report).
pub async fn check(srv: &Server, token: &str, x: &Write) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let before = srv.snapshot().await;
    let hidden = srv.gql(token, &x.text, x.hidden.clone()).await;
    let missing = srv.gql(token, &x.text, x.missing.clone()).await;
    let after = srv.snapshot().await;
    // Byte-identical: the same serialised body and status (the random id is not echoed).
    let (hb, mb) = (
        serde_json::to_string(&hidden.body).unwrap_or_default(),
        serde_json::to_string(&missing.body).unwrap_or_default(),
    );
    if hb != mb || hidden.status != missing.status {
        problems.push(format!(
            "LEAK: {} on a hidden {} answers differently from a random id:\n    hidden:  {hb}\n    missing: {mb}",
            x.name, x.target
        ));
    }
    let codes = hidden.codes();
    let field = hidden
        .errors()
        .first()
        .map(|e| e["extensions"]["field"].clone());
    let not_found = codes == ["NOT_FOUND"] && field == Some(json!(x.arg));
    let forbidden = codes == ["FORBIDDEN"];
    if !(not_found || (!x.permitted && forbidden)) {
        problems.push(format!(
            "{} on a hidden {}: want NOT_FOUND field {}{}, got {hb}",
            x.name,
            x.target,
            x.arg,
            if x.permitted {
                ""
            } else {
                " (or FORBIDDEN: the role may not write)"
            }
        ));
    }
    if !hidden.body["data"].is_null() {
        problems.push(format!("{}: data on a refused write: {hb}", x.name));
    }
    // Every table, every column; READ rows of the ledger aside (other cases read meanwhile,
    // and a refusal may ledger what it looked at), never a WRITE row.
    let written = snapshot::writes(&before, &after);
    if !written.is_empty() {
        problems.push(format!(
            "LEAK: {} on a hidden {} changed the world: {written:?}",
            x.name, x.target
        ));
    }
    (problems, format!("hidden: {hb}\n  missing: {mb}"))
}
