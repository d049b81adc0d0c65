//! The change feed (`Query.changes`) judged for every caller of a world, against the oracle.
//!
//! The feed's truth is the ledger: every WRITE row of a person, household (or membership),
//! consultation, referral, consent or activity, and consecutive rows of one write about one
//! record are one event (README: a consultation's row per subject, a household's row and its
//! members'). Each caller reads the whole feed once, right after the world is built, and it
//! must hold exactly the events of the records the oracle says the caller may know (complete:
//! none missing; no leak: none more), in ledger order, with categories the oracle allows
//! (exactly those for a create of a person or a consent), an agency only where the oracle
//! allows it, and no denied canary or id anywhere. Roles with no person-level category get an
//! empty feed. Written from the specification, not from `api/src/policy`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tsunagi_tests::Server;

use crate::oracle::{ceiling, Oracle};
use crate::secrets::Secrets;
use crate::world::World;

const FEED: &str = "query NoleakFeed($after: String) { changes(first: 1000, after: $after) { edges { cursor node { recordType recordId operation categories agencyId } } pageInfo { hasNextPage endCursor } } }";

/// The categories a createPerson (or upsertPerson that creates) names.
const PERSON_CREATE: [&str; 5] = [
    "IDENTITY",
    "CONTACT",
    "HEALTH",
    "LIVELIHOOD",
    "CHILD_PROTECTION",
];

/// The record an event is about, as an index into the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rec {
    Person(usize),
    Household(usize),
    Consultation(usize),
    Referral(usize),
    Consent(usize),
    Activity(usize),
}

/// One expected event: the record, the ledger positions of its first and last rows (its
/// cursor is one of them: the last the server read — rows about a person the caller may not
/// know are not read at all), its operation name, the agency that wrote it (index), whether
/// every row of it is about a membership only.
struct Expected {
    rec: Rec,
    first_seq: i64,
    last_seq: i64,
    operation: String,
    created: bool,
    writer: Option<usize>,
    membership_only: bool,
    members: Vec<usize>,
}

/// What a caller's judging found: problems, events judged, events hidden from it.
#[derive(Default)]
pub struct Judged {
    pub problems: Vec<String>,
    pub shown: usize,
    pub hidden: usize,
}

/// The events the ledger holds, oldest first (records the world does not know are left out).
async fn expected(srv: &Server, w: &World) -> Vec<Expected> {
    let members: Vec<entity::household_member::Model> = entity::household_member::Entity::find()
        .all(&srv.db)
        .await
        .unwrap();
    let pos = |ids: Vec<&String>, id: &str| ids.iter().position(|x| x.as_str() == id);
    let mut out: Vec<Expected> = Vec::new();
    let mut last_key: Option<(DateTime<Utc>, String, Option<Rec>)> = None;
    for row in srv.ledger().await {
        if row.action != "WRITE" {
            continue;
        }
        let id = row.record_id.clone().unwrap_or_default();
        let ix = |ids: Vec<&String>| pos(ids, &id);
        let rec = match row.record_type.as_str() {
            "person" => ix(w.persons.iter().map(|x| &x.id).collect()).map(Rec::Person),
            "consent" => ix(w.consents.iter().map(|x| &x.id).collect()).map(Rec::Consent),
            "household" => ix(w.households.iter().map(|x| &x.id).collect()).map(Rec::Household),
            "household_member" => members
                .iter()
                .find(|m| m.id == id)
                .and_then(|m| {
                    pos(
                        w.households.iter().map(|x| &x.id).collect(),
                        &m.household_id,
                    )
                })
                .map(Rec::Household),
            "consultation" => {
                ix(w.consultations.iter().map(|x| &x.id).collect()).map(Rec::Consultation)
            }
            "referral" => ix(w.referrals.iter().map(|x| &x.id).collect()).map(Rec::Referral),
            "activity" => ix(w.activities.iter().map(|x| &x.id).collect()).map(Rec::Activity),
            _ => continue,
        };
        let detail: Value = serde_json::from_str(&row.detail).unwrap_or_default();
        let membership = row.record_type == "household_member";
        let member = row
            .subject_person_id
            .as_deref()
            .and_then(|s| w.persons.iter().position(|p| p.id == s));
        let key = (row.at, row.operation.clone(), rec);
        match out.last_mut() {
            Some(e) if rec.is_some() && last_key.as_ref() == Some(&key) => {
                e.last_seq = row.seq;
                e.membership_only &= membership;
                e.members.extend(member.filter(|_| membership));
            }
            _ => {
                if let Some(rec) = rec {
                    out.push(Expected {
                        rec,
                        first_seq: row.seq,
                        last_seq: row.seq,
                        operation: row.operation.clone(),
                        created: detail["created"].as_bool().unwrap_or(false),
                        writer: row
                            .agency_id
                            .as_deref()
                            .and_then(|a| w.agencies.iter().position(|x| x.id == a)),
                        membership_only: membership,
                        members: member.filter(|_| membership).into_iter().collect(),
                    });
                }
            }
        }
        last_key = Some(key);
    }
    out
}

fn id_of(w: &World, rec: Rec) -> (&'static str, &str) {
    match rec {
        Rec::Person(x) => ("PERSON", &w.persons[x].id),
        Rec::Household(x) => ("HOUSEHOLD", &w.households[x].id),
        Rec::Consultation(x) => ("CONSULTATION", &w.consultations[x].id),
        Rec::Referral(x) => ("REFERRAL", &w.referrals[x].id),
        Rec::Consent(x) => ("CONSENT", &w.consents[x].id),
        Rec::Activity(x) => ("ACTIVITY", &w.activities[x].id),
    }
}

/// Whether the caller may know the event's record now (as when read by id).
fn knows(o: &Oracle, e: &Expected) -> bool {
    let w = o.w;
    if !ceiling(&o.a.roles).contains("IDENTITY") {
        return false;
    }
    match e.rec {
        Rec::Person(p) => o.knows_person(p),
        Rec::Household(h) => {
            o.knows_household(h)
                && (!e.membership_only
                    || w.households[h]
                        .members
                        .iter()
                        .enumerate()
                        .any(|(m, x)| e.members.contains(&x.person) && o.sees_member(h, m)))
        }
        Rec::Consultation(c) => o.knows_consultation(c),
        Rec::Referral(r) => o.knows_referral(r),
        Rec::Consent(k) => o.sees_consent(k),
        Rec::Activity(a) => o.knows_person(w.activities[a].person) && o.sees_activity(a),
    }
}

/// The subjects of an event's record (a household's: its current members).
fn subjects(o: &Oracle, rec: Rec) -> Vec<usize> {
    let w = o.w;
    match rec {
        Rec::Person(p) => vec![p],
        Rec::Household(h) => o.current_members(h),
        Rec::Consultation(c) => w.consultations[c].subjects.clone(),
        Rec::Referral(r) => vec![w.referrals[r].person],
        Rec::Consent(k) => vec![w.consents[k].person],
        Rec::Activity(a) => vec![w.activities[a].person],
    }
}

/// The categories the event may name (an upper bound), and those it must name (a create of a
/// person or a consent names every category the caller may see of what it recorded).
fn categories(o: &Oracle, e: &Expected) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let w = o.w;
    let create = matches!(e.operation.as_str(), "createPerson" | "recordConsent")
        || (e.operation.starts_with("upsert") && e.created);
    match e.rec {
        Rec::Person(p) => {
            let may: BTreeSet<&'static str> = crate::world::CATEGORIES
                .into_iter()
                .filter(|c| o.sees(p, c))
                .collect();
            let must = if create {
                PERSON_CREATE
                    .into_iter()
                    .filter(|c| may.contains(c))
                    .collect()
            } else {
                BTreeSet::new()
            };
            (may, must)
        }
        Rec::Consent(k) => {
            let c = &w.consents[k];
            let may: BTreeSet<&'static str> = c
                .categories
                .iter()
                .copied()
                .filter(|cat| o.sees(c.person, cat))
                .collect();
            let must = if create { may.clone() } else { BTreeSet::new() };
            (may, must)
        }
        Rec::Household(_) => (BTreeSet::from(["HOUSEHOLD"]), BTreeSet::new()),
        Rec::Consultation(_) | Rec::Referral(_) | Rec::Activity(_) => {
            (BTreeSet::from(["NARRATIVE"]), BTreeSet::new())
        }
    }
}

/// Whether the event may name its writing agency: the caller's own, one the record shows
/// anyway, or one whose records about every subject the caller may see (NARRATIVE it holds;
/// a shared record's field needs every subject).
fn agency_allowed(o: &Oracle, e: &Expected, writer: usize) -> bool {
    let w = o.w;
    let shown = match e.rec {
        Rec::Consultation(c) => vec![w.consultations[c].receiver],
        Rec::Referral(r) => vec![w.referrals[r].from, w.referrals[r].to],
        Rec::Activity(a) => vec![w.activities[a].agency],
        Rec::Consent(k) => vec![w.persons[w.consents[k].person].owner],
        Rec::Person(_) | Rec::Household(_) => vec![],
    };
    let subjects = subjects(o, e.rec);
    writer == o.a.agency
        || shown.contains(&writer)
        || (!subjects.is_empty()
            && subjects
                .into_iter()
                .all(|p| o.basis(p, "NARRATIVE", Some(writer)).is_some()))
}

/// Read the whole feed as `token`.
async fn read(srv: &Server, token: &str) -> Result<(Vec<(i64, Value)>, String), String> {
    let mut out = Vec::new();
    let mut bodies = String::new();
    let mut after: Option<String> = None;
    loop {
        let r = srv.gql(token, FEED, json!({ "after": after })).await;
        if r.status != 200 || !r.errors().is_empty() {
            return Err(format!("changes answered {}: {}", r.status, r.body));
        }
        bodies.push_str(&r.body.to_string());
        let c = &r.body["data"]["changes"];
        for e in c["edges"].as_array().into_iter().flatten() {
            let seq = e["cursor"]
                .as_str()
                .and_then(tsunagi_api::store::decode_cursor)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| format!("a cursor that is no ledger position: {e}"))?;
            out.push((seq, e["node"].clone()));
        }
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if c["pageInfo"]["hasNextPage"] != true {
            return Ok((out, bodies));
        }
    }
}

/// Judge every caller's feed of a freshly built world.
pub async fn check(srv: &Server, w: &World, oracles: &[Oracle<'_>], secrets: &[Secrets]) -> Judged {
    let expected = expected(srv, w).await;
    let mut judged = Judged::default();
    for (i, o) in oracles.iter().enumerate() {
        let a = &w.accounts[i];
        let who = format!("feed of {} ({:?})", a.login, a.roles);
        let (got, body) = match read(srv, &a.token).await {
            Ok(x) => x,
            Err(e) => {
                judged.problems.push(format!("{who}: {e}"));
                continue;
            }
        };
        for (value, what) in &secrets[i].denied {
            if body.contains(value.as_str()) {
                judged
                    .problems
                    .push(format!("{who}: LEAK: {what} ({value}) in the feed"));
            }
        }
        let want: Vec<&Expected> = expected.iter().filter(|e| knows(o, e)).collect();
        judged.hidden += expected.len() - want.len();
        let got_seqs: Vec<i64> = got.iter().map(|(s, _)| *s).collect();
        let want_seqs: Vec<(i64, i64)> = want.iter().map(|e| (e.first_seq, e.last_seq)).collect();
        let matches = got_seqs.len() == want_seqs.len()
            && got_seqs
                .iter()
                .zip(&want_seqs)
                .all(|(s, (first, last))| first <= s && s <= last);
        if !matches {
            judged.problems.push(format!(
                "{who}: events at {got_seqs:?}, the oracle expects one in each of {want_seqs:?}"
            ));
            continue;
        }
        for (e, (_, node)) in want.iter().zip(&got) {
            judged.shown += 1;
            let (kind, id) = id_of(w, e.rec);
            if node["recordType"] != kind || node["recordId"] != id {
                judged.problems.push(format!(
                    "{who}: event {} is {node}, not {kind} {id}",
                    e.last_seq
                ));
            }
            let named: BTreeSet<&str> = node["categories"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let (may, must) = categories(o, e);
            if !named.iter().all(|c| may.contains(c)) || !must.iter().all(|c| named.contains(c)) {
                judged.problems.push(format!(
                    "{who}: event {} ({kind} {}) names {named:?}; the oracle allows {may:?} and requires {must:?}",
                    e.last_seq, e.operation
                ));
            }
            let agency = node["agencyId"].as_str();
            let allowed = e.writer.is_some_and(|x| agency_allowed(o, e, x));
            let writer_id = e.writer.map(|x| w.agencies[x].id.as_str());
            if (allowed && agency != writer_id) || (!allowed && agency.is_some()) {
                judged.problems.push(format!(
                    "{who}: event {} ({kind} {}) names agency {agency:?}; the oracle {} it",
                    e.last_seq,
                    e.operation,
                    if allowed { "shows" } else { "hides" }
                ));
            }
        }
    }
    judged
}
