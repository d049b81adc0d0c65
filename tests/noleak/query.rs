//! Random read queries over the schema, each with __typename and id on every object so
//! the checker can tell what it is looking at, and the set of ids the query itself names
//! (the caller already knows those strings).

use serde_json::{json, Value};

use crate::rng::Rng;
use crate::world::{kana_prefix, Account, World, DISTRICTS};

/// Person fields the generator knows, with nothing nested.
pub const PERSON_SCALARS: [&str; 16] = [
    "ownerAgency { id }",
    "familyName",
    "givenName",
    "familyNameKana",
    "givenNameKana",
    "birthDate",
    "sex",
    "address",
    "district",
    "phone",
    "addressConfidential",
    "careLevel",
    "disabilityCertificate",
    "publicAssistance",
    "version",
    "id",
];

/// What the query asks, so the checker knows which list the oracle must match.
#[derive(Debug, Clone)]
pub enum Ask {
    Person(String),
    Persons {
        kana: Option<String>,
        /// persons(name:): a prefix of family + given name as written (spaces ignored).
        name: Option<String>,
        district: Option<String>,
    },
    Household(String),
    Households,
    Consultation(String),
    Consultations {
        issue: Option<String>,
        person: Option<String>,
        receiving: Option<String>,
    },
    Referral(String),
    Referrals {
        incoming: Option<bool>,
    },
    Consents(String),
    /// explainAccess(personId, accountId?): the account index it is about.
    Explain(String, Option<usize>),
    Meeting(String),
    Meetings(String),
    Activities(String),
    Case(String),
    Cases(String),
    NoContact,
    Placements(String),
    ConsentGaps(String),
}

pub struct Query {
    pub text: String,
    pub vars: Value,
    pub ask: Ask,
    /// A list read page by page (`first` small, following `endCursor`): its root field.
    pub paged: Option<&'static str>,
}

fn pick<'a, T>(rng: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.below(xs.len())]
}

fn subset(rng: &mut Rng, fields: &[&str], percent: u64) -> String {
    let chosen: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|_| rng.chance(percent))
        .collect();
    chosen.join(" ")
}

fn member_sel(rng: &mut Rng, depth: usize) -> String {
    let person = if depth > 0 && rng.chance(70) {
        format!("person {{ {} }}", person_sel(rng, depth - 1))
    } else {
        String::new()
    };
    format!(
        "__typename id householdId {} {person}",
        subset(rng, &["relationship", "isHead", "joinedOn", "leftOn"], 60)
    )
}

pub fn person_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!("__typename id {}", subset(rng, &PERSON_SCALARS, 55));
    if depth > 0 && rng.chance(40) {
        s.push_str(&format!(" households {{ {} }}", member_sel(rng, depth - 1)));
    }
    if depth > 0 && rng.chance(40) {
        s.push_str(&format!(
            " consultations {{ {} }}",
            consultation_sel(rng, depth - 1)
        ));
    }
    if depth > 0 && rng.chance(30) {
        // The newest n the caller may see; the alias tells the walker n.
        // Mostly 1: the worlds hold one or two consultations per person.
        let n = if rng.chance(70) { 1 } else { 2 };
        s.push_str(&format!(
            " consultationsFirst{n}: consultations(first: {n}) {{ {} }}",
            consultation_sel(rng, depth - 1)
        ));
    }
    if rng.chance(25) {
        s.push_str(&format!(" consents {{ {CONSENT_SEL} }}"));
    }
    s
}

fn household_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {}",
        subset(rng, &["ownerAgency { id }", "version"], 60)
    );
    if rng.chance(80) {
        s.push_str(&format!(" members {{ {} }}", member_sel(rng, depth)));
    }
    s
}

pub fn consultation_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {}",
        subset(
            rng,
            &[
                "summary",
                "receivingAgency { id }",
                "receivedAt",
                "status",
                "issues { category { code } main }"
            ],
            60
        )
    );
    if depth > 0 && rng.chance(60) {
        s.push_str(&format!(" subjects {{ {} }}", person_sel(rng, depth - 1)));
    }
    if depth > 0 && rng.chance(40) {
        s.push_str(&format!(
            " household {{ {} }}",
            household_sel(rng, depth - 1)
        ));
    }
    s
}

fn referral_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {}",
        subset(
            rng,
            &[
                "reason",
                "declineReason",
                "status",
                "fromAgency { id }",
                "toAgency { id }"
            ],
            65
        )
    );
    if rng.chance(60) {
        s.push_str(&format!(" person {{ {} }}", person_sel(rng, depth)));
    }
    if rng.chance(40) {
        s.push_str(&format!(
            " consultation {{ {} }}",
            consultation_sel(rng, depth)
        ));
    }
    s
}

fn meeting_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {}",
        subset(
            rng,
            &[
                "kind",
                "minutes",
                "convener { id }",
                "participants { id }",
                "categories",
                "inEffect",
                "caseId",
                "decisions { __typename id kind decidedOn reason }"
            ],
            65
        )
    );
    if rng.chance(40) {
        s.push_str(&format!(
            " household {{ {} }}",
            household_sel(rng, depth - 1)
        ));
    }
    s
}

const DECISION_SEL: &str = "__typename id kind decidedOn decider basis reason note meetingId";

const PLAN_SEL: &str = "__typename id caseId planVersion wishes longTermGoal shortTermGoals \
    agreementMethod assignments { __typename id agency { id } role task contactFrequency }";

/// A support case with a random part of its content.
fn case_sel(rng: &mut Rng) -> String {
    let parts = [
        format!("decisions {{ {DECISION_SEL} }}"),
        format!("supportDecision {{ {DECISION_SEL} }}"),
        "involvements { __typename id caseId agency { id } role }".to_owned(),
        format!("plans {{ {PLAN_SEL} }}"),
        format!("currentPlan {{ {PLAN_SEL} }}"),
    ];
    let mut s = "__typename id householdId ownerAgency { id } status".to_owned();
    for p in parts {
        if rng.chance(45) {
            s.push(' ');
            s.push_str(&p);
        }
    }
    s
}

const CONSENT_SEL: &str = "__typename id personId givenBy proxyName proxyRelationship categories \
    recipientAgencies { id } recipientAgencyKinds purpose evidenceRef withdrawalReason state";

/// An id of a random existing record, or (sometimes) one that exists nowhere.
fn some_id(rng: &mut Rng, ids: Vec<String>) -> String {
    if ids.is_empty() || rng.chance(8) {
        uuid::Uuid::now_v7().to_string()
    } else {
        pick(rng, &ids).clone()
    }
}

pub fn generate(rng: &mut Rng, w: &World, caller: &Account) -> Query {
    let mut q = generate_one(rng, w, caller);
    let root = match q.ask {
        Ask::Persons { .. } => Some("persons"),
        Ask::Households => Some("households"),
        Ask::Consultations { .. } => Some("consultations"),
        Ask::Referrals { .. } => Some("referrals"),
        _ => None,
    };
    if let Some(root) = root.filter(|_| rng.chance(35)) {
        // Page through the same list a few rows at a time.
        q.text = q
            .text
            .replace(
                "first: 100) { nodes",
                "first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes",
            )
            .replacen("query Q(", "query Q($first: Int, $after: String, ", 1)
            .replacen("query Q {", "query Q($first: Int, $after: String) {", 1);
        q.vars["first"] = json!(1 + rng.below(4));
        q.vars["after"] = Value::Null;
        q.paged = Some(root);
    }
    q
}

fn generate_one(rng: &mut Rng, w: &World, caller: &Account) -> Query {
    let depth = 1 + rng.below(2);
    let person_ids: Vec<String> = w.persons.iter().map(|p| p.id.clone()).collect();
    match rng.below(20) {
        0 | 1 => {
            let id = some_id(rng, person_ids);
            Query {
                text: format!(
                    "query Q($id: ID!) {{ person(id: $id) {{ {} }} }}",
                    person_sel(rng, depth)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Person(id),
            }
        }
        2 | 3 => {
            let kana = rng
                .chance(30)
                .then(|| kana_prefix(rng.below(w.persons.len().div_ceil(10))));
            // Districts filter on a location: mostly one where a person under a support
            // measure lives, the case most likely to give a hidden address away.
            let hidden: Vec<&str> = w
                .persons
                .iter()
                .filter(|p| p.confidential)
                .filter_map(|p| p.district)
                .collect();
            let district = rng.chance(45).then(|| {
                if rng.chance(70) && !hidden.is_empty() {
                    pick(rng, &hidden).to_string()
                } else {
                    pick(rng, &DISTRICTS).to_string()
                }
            });
            // By name as written: a group of ten ("氏F01"), one family name and the start of
            // a given name ("氏F012 名G0"), or a whole name; any person, hidden ones included.
            let name = rng.chance(35).then(|| {
                let p = &w.persons[rng.below(w.persons.len())];
                match rng.below(3) {
                    0 => p.family.chars().take(4).collect(),
                    1 => format!(
                        "{} {}",
                        p.family,
                        p.given.chars().take(3).collect::<String>()
                    ),
                    _ => format!("{}{}", p.family, p.given),
                }
            });
            Query {
                text: format!(
                    "query Q($k: String, $n: String, $d: String) {{ persons(kana: $k, name: $n, district: $d, first: 100) {{ nodes {{ {} }} }} }}",
                    person_sel(rng, depth)
                ),
                vars: json!({ "k": kana, "n": name, "d": district }),
                paged: None,
                ask: Ask::Persons {
                    kana,
                    name,
                    district,
                },
            }
        }
        4 => {
            let id = some_id(rng, w.households.iter().map(|h| h.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ household(id: $id) {{ {} }} }}",
                    household_sel(rng, depth)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Household(id),
            }
        }
        5 => Query {
            text: format!(
                "query Q {{ households(first: 100) {{ nodes {{ {} }} }} }}",
                household_sel(rng, depth)
            ),
            vars: json!({}),
            paged: None,
            ask: Ask::Households,
        },
        6 => {
            let id = some_id(rng, w.consultations.iter().map(|c| c.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ consultation(id: $id) {{ {} }} }}",
                    consultation_sel(rng, depth)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Consultation(id),
            }
        }
        7 => {
            let issue = rng
                .chance(30)
                .then(|| pick(rng, &w.issue_categories).0.clone());
            let person = rng.chance(25).then(|| some_id(rng, person_ids.clone()));
            let receiving = rng.chance(20).then(|| pick(rng, &w.agencies).id.clone());
            Query {
                text: format!(
                    "query Q($i: String, $p: ID, $r: ID) {{ consultations(issue: $i, personId: $p, receivingAgencyId: $r, first: 100) {{ nodes {{ {} }} }} }}",
                    consultation_sel(rng, depth)
                ),
                vars: json!({ "i": issue, "p": person, "r": receiving }),
                paged: None,
                ask: Ask::Consultations {
                    issue,
                    person,
                    receiving,
                },
            }
        }
        8 => {
            let id = some_id(rng, w.referrals.iter().map(|r| r.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ referral(id: $id) {{ {} }} }}",
                    referral_sel(rng, depth - 1)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Referral(id),
            }
        }
        9 => {
            let incoming = match rng.below(3) {
                0 => None,
                1 => Some(true),
                _ => Some(false),
            };
            Query {
                text: format!(
                    "query Q($in: Boolean) {{ referrals(incoming: $in, first: 100) {{ nodes {{ {} }} }} }}",
                    referral_sel(rng, depth - 1)
                ),
                vars: json!({ "in": incoming }),
                paged: None,
                ask: Ask::Referrals { incoming },
            }
        }
        11 => {
            let id = some_id(rng, person_ids);
            // Admins and auditors may ask about another account (not the bootstrap admin).
            let about = rng.chance(50).then(|| rng.below(w.accounts.len() - 1));
            Query {
                text: "query Q($id: ID!, $acc: ID) { explainAccess(personId: $id, accountId: $acc) { personId items { category location allowed basis basisReference denial lapsedConsentIds otherRecipientConsentIds } } }".to_owned(),
                vars: json!({ "id": id, "acc": about.map(|a| w.accounts[a].id.clone()) }),
                paged: None,
                ask: Ask::Explain(id, about),
            }
        }
        12 => {
            let id = some_id(rng, w.meetings.iter().map(|m| m.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ meeting(id: $id) {{ {} }} }}",
                    meeting_sel(rng, depth)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Meeting(id),
            }
        }
        13 => {
            let id = some_id(rng, w.households.iter().map(|h| h.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ meetings(householdId: $id) {{ {} }} }}",
                    meeting_sel(rng, depth)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Meetings(id),
            }
        }
        14 => {
            // Mostly a person with activities, often ones the caller's agency recorded.
            let own: Vec<usize> = w
                .activities
                .iter()
                .filter(|x| x.agency == caller.agency)
                .map(|x| x.person)
                .collect();
            let id = if rng.chance(50) && !own.is_empty() {
                w.persons[*pick(rng, &own)].id.clone()
            } else if rng.chance(60) && !w.activities.is_empty() {
                w.persons[pick(rng, &w.activities).person].id.clone()
            } else {
                some_id(rng, person_ids)
            };
            Query {
                text: format!(
                    "query Q($id: ID!) {{ activities(personId: $id, first: 100) {{ nodes {{ __typename id {} }} }} }}",
                    subset(
                        rng,
                        &["note", "kind", "agency { id }", "caseId", "placementId"],
                        70
                    )
                        + &if rng.chance(50) {
                            format!(" person {{ {} }}", person_sel(rng, 0))
                        } else {
                            String::new()
                        }
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Activities(id),
            }
        }
        15 => {
            let id = some_id(rng, w.cases.iter().map(|c| c.id.clone()).collect());
            Query {
                text: format!(
                    "query Q($id: ID!) {{ supportCase(id: $id) {{ {} }} }}",
                    case_sel(rng)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Case(id),
            }
        }
        16 => {
            let id = if rng.chance(70) && !w.cases.is_empty() {
                w.households[pick(rng, &w.cases).household].id.clone()
            } else {
                some_id(rng, w.households.iter().map(|h| h.id.clone()).collect())
            };
            Query {
                text: format!(
                    "query Q($id: ID!) {{ supportCases(householdId: $id) {{ {} }} }}",
                    case_sel(rng)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Cases(id),
            }
        }
        17 => Query {
            text: format!(
                "query Q {{ noContact(days: 1) {{ reason person {{ {} }} }} }}",
                person_sel(rng, 0)
            ),
            vars: json!({}),
            paged: None,
            ask: Ask::NoContact,
        },
        18 => {
            let id = if rng.chance(70) && !w.placements.is_empty() {
                w.persons[pick(rng, &w.placements).person].id.clone()
            } else {
                some_id(rng, person_ids)
            };
            let person = if rng.chance(50) {
                format!("person {{ {} }}", person_sel(rng, 0))
            } else {
                String::new()
            };
            Query {
                text: format!(
                    "query Q($id: ID!) {{ placements(personId: $id) {{ __typename id status agency {{ id }} resource {{ id name }} {person} }} }}"
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Placements(id),
            }
        }
        19 => {
            let convened: Vec<String> = w
                .meetings
                .iter()
                .filter(|m| m.convener == caller.agency)
                .map(|m| m.id.clone())
                .collect();
            let id = if rng.chance(60) && !convened.is_empty() {
                pick(rng, &convened).clone()
            } else {
                some_id(rng, w.meetings.iter().map(|m| m.id.clone()).collect())
            };
            Query {
                text: "query Q($id: ID!) { consentGaps(meetingId: $id) { gaps { agency { id } personId category } unknownMembers } }".to_owned(),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::ConsentGaps(id),
            }
        }
        _ => {
            let id = some_id(rng, person_ids);
            Query {
                text: format!(
                    "query Q($id: ID!) {{ consents(personId: $id) {{ {CONSENT_SEL} }} }}"
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Consents(id),
            }
        }
    }
}
