//! Random read queries over the schema, each with __typename and id on every object so
//! the checker can tell what it is looking at, and the set of ids the query itself names
//! (the caller already knows those strings).

use serde_json::{json, Value};

use crate::oracle::Oracle;
use crate::rng::Rng;
use crate::world::{kana_prefix, Account, World, DISTRICTS};
use crate::world_refs::{ExtRef, RefKind, SYSTEMS};

/// The caller's agency's references to a record (Person, Household, Consultation, Consent):
/// now and then (each costs the server a query), and always on the record a lookup by
/// reference finds (under an alias, `externalRefsFound`).
pub const REFS_SEL: &str = "externalRefs { system externalId createdAt }";

fn refs_sel(rng: &mut Rng) -> &'static str {
    if rng.chance(25) {
        REFS_SEL
    } else {
        ""
    }
}

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
    /// personMatches (名寄せ): what was typed (matches.rs).
    Matches(crate::matches::Probe),
    /// personByRef and the like: (system, externalId) of a reference.
    ByRef {
        kind: RefKind,
        system: String,
        external_id: String,
    },
}

impl Ask {
    /// The root field of the Query type this asks.
    pub fn root(&self) -> &'static str {
        match self {
            Ask::Person(_) => "person",
            Ask::Persons { .. } => "persons",
            Ask::Household(_) => "household",
            Ask::Households => "households",
            Ask::Consultation(_) => "consultation",
            Ask::Consultations { .. } => "consultations",
            Ask::Referral(_) => "referral",
            Ask::Referrals { .. } => "referrals",
            Ask::Consents(_) => "consents",
            Ask::Explain(..) => "explainAccess",
            Ask::Meeting(_) => "meeting",
            Ask::Meetings(_) => "meetings",
            Ask::Activities(_) => "activities",
            Ask::Case(_) => "supportCase",
            Ask::Cases(_) => "supportCases",
            Ask::NoContact => "noContact",
            Ask::Placements(_) => "placements",
            Ask::ConsentGaps(_) => "consentGaps",
            Ask::Matches(_) => "personMatches",
            Ask::ByRef { kind, .. } => kind.lookup(),
        }
    }
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
    let mut s = format!(
        "__typename id {} {}",
        subset(rng, &PERSON_SCALARS, 55),
        refs_sel(rng)
    );
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
        s.push_str(&format!(" consents {{ {} }}", consent_sel(rng)));
    }
    s
}

fn household_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {}",
        subset(rng, &["ownerAgency { id }", "version"], 60)
    );
    s.push(' ');
    s.push_str(refs_sel(rng));
    if rng.chance(80) {
        s.push_str(&format!(" members {{ {} }}", member_sel(rng, depth)));
    }
    s
}

pub fn consultation_sel(rng: &mut Rng, depth: usize) -> String {
    let mut s = format!(
        "__typename id {} {}",
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
        ),
        refs_sel(rng)
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
        "__typename id {} {}",
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
        ),
        refs_sel(rng)
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

/// An activity with a random part of its content, now and then its references.
fn activity_sel(rng: &mut Rng) -> String {
    let mut s = format!(
        "__typename id {} {}",
        subset(
            rng,
            &["note", "kind", "agency { id }", "caseId", "placementId"],
            70
        ),
        refs_sel(rng)
    );
    if rng.chance(50) {
        s.push_str(&format!(" person {{ {} }}", person_sel(rng, 0)));
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

/// A consent, now and then with its references.
fn consent_sel(rng: &mut Rng) -> String {
    format!("{CONSENT_SEL} {}", refs_sel(rng))
}

/// An id of a random existing record, or (sometimes) one that exists nowhere.
fn some_id(rng: &mut Rng, ids: Vec<String>) -> String {
    if ids.is_empty() || rng.chance(8) {
        uuid::Uuid::now_v7().to_string()
    } else {
        pick(rng, &ids).clone()
    }
}

/// A person id for a query taking one: now and then one whom a rare basis may open to the
/// caller (a person it holds an open break-glass grant for, a current member of a household
/// a 支援会議 in its period with its agency is about), which random picks meet seldom; else
/// mostly one for whom the query `answers` the caller; else any person, or one that exists
/// nowhere.
fn person_id(rng: &mut Rng, o: &Oracle, answers: impl Fn(usize) -> bool) -> String {
    let (w, caller) = (o.w, o.a);
    let granted = w
        .grants
        .iter()
        .filter(|g| g.active && w.accounts[g.account].id == caller.id)
        .map(|g| g.person);
    let met = w
        .meetings
        .iter()
        .filter(|m| m.in_period && m.members.contains(&caller.agency))
        .flat_map(|m| &w.households[m.household].members)
        .filter(|m| m.current(w.today))
        .map(|m| m.person);
    let rare: Vec<usize> = granted.chain(met).collect();
    if !rare.is_empty() && rng.chance(30) {
        return w.persons[*pick(rng, &rare)].id.clone();
    }
    id_of(rng, &w.persons, 60, answers, |p| &p.id)
}

/// The id of one of `records`: with `percent` chance one of those for which `favoured`
/// holds of its index (one the caller may know, say, which picks from the whole world
/// meet seldom) when there are any, else [`some_id`] of them all.
fn id_of<'r, T>(
    rng: &mut Rng,
    records: &'r [T],
    percent: u64,
    favoured: impl Fn(usize) -> bool,
    id: impl Fn(&'r T) -> &'r String,
) -> String {
    let mine: Vec<&String> = (0..records.len())
        .filter(|i| favoured(*i))
        .map(|i| id(&records[i]))
        .collect();
    if !mine.is_empty() && rng.chance(percent) {
        (*pick(rng, &mine)).clone()
    } else {
        some_id(rng, records.iter().map(id).cloned().collect())
    }
}

/// How many kinds of query the generator writes (person and persons count twice). Case `n`
/// of a world asks kind `n % KINDS`, so every kind is asked equally often.
pub const KINDS: usize = 27;
const REFERRAL: usize = 8;
const REFERRALS: usize = 9;
const MEETING: usize = 12;
const MEETINGS: usize = 13;
const CASE: usize = 15;
const CASES: usize = 16;
const NO_CONTACT: usize = 17;
const CONSENT_GAPS: usize = 19;
/// The lookups by reference, one kind each (`RefKind::ALL[kind - BY_REF]`), up to MATCHES.
const BY_REF: usize = 20;
/// personMatches (matches.rs), the last kind.
const MATCHES: usize = 26;

/// The accounts a kind of query answers with data, where random callers seldom are: those
/// that may know some referral, meeting or support case for the queries of those; accounts
/// that may record activities at an agency holding a support case for noContact; the
/// coordinators of an agency that convened a 重層的支援会議 for consentGaps; accounts whose
/// agency holds a reference to a record of the type for the lookups by one (found when the
/// account may know the record, NOT_FOUND when its roles may not).
pub fn fitting_callers(w: &World, kind: usize) -> Vec<usize> {
    let fits = |a: &Account| {
        let o = Oracle::new(w, a);
        match kind {
            REFERRAL | REFERRALS => (0..w.referrals.len()).any(|r| o.knows_referral(r)),
            MEETING | MEETINGS => (0..w.meetings.len()).any(|m| o.knows_meeting(m)),
            CASE | CASES => (0..w.cases.len()).any(|k| o.knows_case(k)),
            NO_CONTACT => {
                !crate::oracle::ceiling(&a.roles).is_empty()
                    && w.cases.iter().any(|c| c.owner == a.agency)
            }
            CONSENT_GAPS => {
                a.roles.contains(&"coordinator")
                    && w.meetings
                        .iter()
                        .any(|m| m.convener == a.agency && m.kind == "MULTI_AGENCY_MEETING")
            }
            MATCHES => a
                .roles
                .iter()
                .any(|r| matches!(*r, "coordinator" | "caseworker" | "integration")),
            BY_REF.. => {
                let kind = RefKind::ALL[kind - BY_REF];
                w.refs
                    .iter()
                    .any(|r| r.agency == a.agency && r.kind == kind)
            }
            _ => false,
        }
    };
    let fitting: Vec<usize> = (0..w.accounts.len())
        .filter(|a| fits(&w.accounts[*a]))
        .collect();
    if kind < BY_REF || kind == MATCHES {
        return fitting;
    }
    // Holders that may know none of their agency's records of the type (no category in
    // their roles' ceiling; their lookups must answer NOT_FOUND) are few: a quarter of the
    // picks.
    let kind = RefKind::ALL[kind - BY_REF];
    let (knowing, unknowing): (Vec<usize>, Vec<usize>) = fitting.into_iter().partition(|a| {
        let (a, o) = (&w.accounts[*a], Oracle::new(w, &w.accounts[*a]));
        w.refs
            .iter()
            .any(|r| r.agency == a.agency && r.kind == kind && o.knows_record(kind, r.record))
    });
    if knowing.is_empty() || unknowing.is_empty() {
        return [knowing, unknowing].concat();
    }
    let mut out = Vec::new();
    for _ in 0..3 * unknowing.len() {
        out.extend(&knowing);
    }
    for _ in 0..knowing.len() {
        out.extend(&unknowing);
    }
    out
}

/// A query of kind `kind` (below [`KINDS`]) as `caller`.
pub fn generate(rng: &mut Rng, w: &World, caller: &Account, kind: usize) -> Query {
    let mut q = generate_one(rng, w, caller, kind);
    let connection = matches!(
        q.ask,
        Ask::Persons { .. } | Ask::Households | Ask::Consultations { .. } | Ask::Referrals { .. }
    );
    let root = connection.then(|| q.ask.root());
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

fn generate_one(rng: &mut Rng, w: &World, caller: &Account, kind: usize) -> Query {
    // Most id-taking queries name a record the caller may know (the rest any record, or
    // none): this oracle is the generator's own, so what it is asked counts for no case.
    let o = Oracle::new(w, caller);
    let depth = 1 + rng.below(2);
    let person_ids: Vec<String> = w.persons.iter().map(|p| p.id.clone()).collect();
    match kind {
        0 | 1 => {
            let id = person_id(rng, &o, |p| o.knows_person(p));
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
            let id = id_of(rng, &w.households, 70, |h| o.knows_household(h), |h| &h.id);
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
            let known = |c| o.knows_consultation(c);
            let id = id_of(rng, &w.consultations, 70, known, |c| &c.id);
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
        REFERRAL => {
            let id = id_of(rng, &w.referrals, 70, |r| o.knows_referral(r), |r| &r.id);
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
        REFERRALS => {
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
            let id = person_id(rng, &o, |p| o.knows_person_id(p));
            // Admins and auditors may ask about another account (not the bootstrap admin);
            // now and then another caller tries (and is refused).
            let oversight = caller
                .roles
                .iter()
                .any(|r| *r == "admin" || *r == "auditor");
            let about = rng
                .chance(if oversight { 50 } else { 15 })
                .then(|| rng.below(w.accounts.len() - 1));
            Query {
                text: "query Q($id: ID!, $acc: ID) { explainAccess(personId: $id, accountId: $acc) { personId items { category location allowed basis basisReference denial lapsedConsentIds otherRecipientConsentIds } } }".to_owned(),
                vars: json!({ "id": id, "acc": about.map(|a| w.accounts[a].id.clone()) }),
                paged: None,
                ask: Ask::Explain(id, about),
            }
        }
        MEETING => {
            let id = id_of(rng, &w.meetings, 70, |m| o.knows_meeting(m), |m| &m.id);
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
        MEETINGS => {
            // Mostly the household of a meeting.
            let id = if rng.chance(70) && !w.meetings.is_empty() {
                let known = |m| o.knows_meeting(m);
                id_of(rng, &w.meetings, 70, known, |m| {
                    &w.households[m.household].id
                })
            } else {
                some_id(rng, w.households.iter().map(|h| h.id.clone()).collect())
            };
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
            // Mostly a person with activities.
            let id = if rng.chance(80) && !w.activities.is_empty() {
                let known = |x| o.sees_activity(x) && o.knows_person(w.activities[x].person);
                id_of(rng, &w.activities, 70, known, |x| &w.persons[x.person].id)
            } else {
                some_id(rng, person_ids)
            };
            Query {
                text: format!(
                    "query Q($id: ID!) {{ activities(personId: $id, first: 100) {{ nodes {{ {} }} }} }}",
                    activity_sel(rng)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Activities(id),
            }
        }
        CASE => {
            let id = id_of(rng, &w.cases, 70, |k| o.knows_case(k), |c| &c.id);
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
        CASES => {
            // Mostly the household of a case.
            let id = if rng.chance(70) && !w.cases.is_empty() {
                let known = |k| o.knows_case(k);
                id_of(rng, &w.cases, 70, known, |c| &w.households[c.household].id)
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
        NO_CONTACT => Query {
            text: format!(
                "query Q {{ noContact(days: 1) {{ reason person {{ {} }} }} }}",
                person_sel(rng, 0)
            ),
            vars: json!({}),
            paged: None,
            ask: Ask::NoContact,
        },
        18 => {
            // Mostly a person with placements.
            let id = if rng.chance(70) && !w.placements.is_empty() {
                let known = |x| o.sees_placement(x) && o.knows_person(w.placements[x].person);
                id_of(rng, &w.placements, 70, known, |x| &w.persons[x.person].id)
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
        CONSENT_GAPS => {
            // Mostly a 重層的支援会議 the caller's agency convened (the one answered).
            let convened = |m: usize| {
                w.meetings[m].convener == caller.agency
                    && w.meetings[m].kind == "MULTI_AGENCY_MEETING"
            };
            let id = id_of(rng, &w.meetings, 80, convened, |m| &m.id);
            Query {
                text: "query Q($id: ID!) { consentGaps(meetingId: $id) { gaps { agency { id } personId category } unknownMembers } }".to_owned(),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::ConsentGaps(id),
            }
        }
        MATCHES => crate::matches::generate(rng, w, caller, depth),
        BY_REF.. => {
            let kind = RefKind::ALL[(kind - BY_REF) % RefKind::ALL.len()];
            let (system, external_id) = reference(rng, &o, kind);
            let sel = match kind {
                RefKind::Person => person_sel(rng, depth),
                RefKind::Household => household_sel(rng, depth),
                RefKind::Consultation => consultation_sel(rng, depth),
                RefKind::Consent => consent_sel(rng),
                RefKind::Referral => referral_sel(rng, depth),
                RefKind::Activity => activity_sel(rng),
            };
            Query {
                text: format!(
                    "query Q($s: String!, $e: String!) {{ {}(system: $s, externalId: $e) {{ {sel} externalRefsFound: {REFS_SEL} }} }}",
                    kind.lookup()
                ),
                vars: json!({ "s": system, "e": external_id }),
                paged: None,
                ask: Ask::ByRef {
                    kind,
                    system,
                    external_id,
                },
            }
        }
        _ => {
            let id = person_id(rng, &o, |p| {
                let seen = |k: usize| w.consents[k].person == p && o.sees_consent(k);
                (0..w.consents.len()).any(seen)
            });
            Query {
                text: format!(
                    "query Q($id: ID!) {{ consents(personId: $id) {{ {} }} }}",
                    consent_sel(rng)
                ),
                vars: json!({ "id": id }),
                paged: None,
                ask: Ask::Consents(id),
            }
        }
    }
}

/// The reference a lookup of records of `kind` names: mostly one the caller's agency holds
/// for a record it may know (the lookup answered), or for one it may not if there is none;
/// else one its agency holds for a record of that type, one another agency holds (for a
/// record the caller may know otherwise if there is one, and now and then the same `(system,
/// externalId)` as one of its own: neither may find another agency's record), one its
/// agency holds for a record of another type, one of its own under the other system, or
/// one nobody holds.
fn reference(rng: &mut Rng, o: &Oracle, kind: RefKind) -> (String, String) {
    let w = o.w;
    let mine = |r: &&ExtRef| r.agency == o.a.agency;
    let known = |r: &&ExtRef| o.knows_record(r.kind, r.record);
    let of_kind = || w.refs.iter().filter(move |r| r.kind == kind);
    let from: Vec<&ExtRef> = match rng.below(100) {
        0..=69 => {
            let own: Vec<&ExtRef> = of_kind().filter(mine).filter(known).collect();
            if own.is_empty() {
                of_kind().filter(mine).collect()
            } else {
                own
            }
        }
        70..=74 => of_kind().filter(mine).collect(),
        75..=89 => {
            let theirs: Vec<&ExtRef> = of_kind().filter(|r| !mine(r)).filter(known).collect();
            if theirs.is_empty() {
                of_kind().filter(|r| !mine(r)).collect()
            } else {
                theirs
            }
        }
        90..=94 => w
            .refs
            .iter()
            .filter(mine)
            .filter(|r| r.kind != kind)
            .collect(),
        95..=97 => {
            let own: Vec<&ExtRef> = of_kind().filter(mine).collect();
            if !own.is_empty() {
                let r = pick(rng, &own);
                let other = SYSTEMS
                    .iter()
                    .find(|s| **s != r.system)
                    .unwrap_or(&SYSTEMS[0]);
                return (other.to_string(), r.external_id.clone());
            }
            Vec::new()
        }
        _ => Vec::new(),
    };
    if from.is_empty() {
        let system = pick(rng, &SYSTEMS).to_string();
        return (system, uuid::Uuid::now_v7().to_string());
    }
    let r = pick(rng, &from);
    (r.system.to_owned(), r.external_id.clone())
}
