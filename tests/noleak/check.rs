//! Checks one response against the oracle: no denied canary and no unknowable id anywhere
//! in the body (data, errors, extensions); every object returned may be known; every field
//! asked for is either its true value (allowed) or null with a CONSENT_REQUIRED error of the
//! right category at its path (denied, whatever the value, so even "has no value" stays
//! hidden); every list equals the oracle's list, in the documented order; a hidden id
//! answers exactly like an id that exists nowhere.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tsunagi_tests::{Gql, Server};

use crate::oracle::Oracle;
use crate::query::{Ask, Query};
use crate::secrets::Secrets;
use crate::walk::{ids_of, set, Checker};

const CODES: [&str; 7] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "CONSENT_REQUIRED",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
];

/// Sends the query; a paged list is followed to its end and answered as one response
/// (nodes concatenated, error paths shifted to the concatenated index) after checking
/// that pages neither repeat nor skip, and that the last page says so.
pub async fn send(srv: &Server, token: &str, q: &Query) -> (Gql, Vec<String>) {
    let Some(root) = q.paged else {
        return (srv.gql(token, &q.text, q.vars.clone()).await, Vec::new());
    };
    let mut problems = Vec::new();
    let mut vars = q.vars.clone();
    let mut nodes: Vec<Value> = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    let mut status = 200;
    for page in 0.. {
        let r = srv.gql(token, &q.text, vars.clone()).await;
        status = status.max(r.status);
        let conn = &r.body["data"][root];
        let offset = nodes.len();
        let these = conn["nodes"].as_array().cloned().unwrap_or_default();
        for mut e in r.errors() {
            if let Some(i) = e["path"].get(2).and_then(|i| i.as_u64()) {
                e["path"][2] = json!(i as usize + offset);
            }
            errors.push(e);
        }
        if r.body["data"].is_null() {
            // Refused outright: answer with the page's own body.
            return (r, problems);
        }
        let more = conn["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
        let first = vars["first"].as_u64().unwrap_or(1) as usize;
        if these.len() > first || (more && these.len() < first) {
            problems.push(format!(
                "page {page}: {} rows for first {first}, hasNextPage {more}",
                these.len()
            ));
        }
        nodes.extend(these);
        if !more || page > 200 {
            break;
        }
        vars["after"] = conn["pageInfo"]["endCursor"].clone();
    }
    let mut body = json!({ "data": { root: { "nodes": nodes } } });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    (Gql { status, body }, problems)
}

/// Whether the response is "nothing here": a single NOT_FOUND error, or FORBIDDEN.
fn refused(r: &Gql) -> bool {
    let codes = r.codes();
    codes.len() == 1 && (codes[0] == "NOT_FOUND" || codes[0] == "FORBIDDEN")
}

/// Checks one case; returns the problems found (empty: the case passed), how many rows the
/// oracle expected in the lists it checked, and what it judged of external references (by
/// `coverage::REFS` index).
pub async fn check(
    srv: &Server,
    token: &str,
    o: &Oracle<'_>,
    s: &Secrets,
    q: &Query,
    r: &Gql,
) -> (Vec<String>, usize, [usize; 4]) {
    let w = o.w;
    let body = serde_json::to_string(&r.body).unwrap_or_default();
    let named = serde_json::to_string(&q.vars).unwrap_or_default();
    let mut c = Checker::new(o, r);
    if r.status != 200 {
        c.fail(format!("HTTP {}", r.status));
    }
    for e in r.errors() {
        let code = e["extensions"]["code"].as_str().unwrap_or("<none>");
        if !CODES.contains(&code) {
            c.fail(format!("error with code {code}: {e}"));
        }
    }
    for (value, what) in &s.denied {
        if body.contains(value.as_str()) && !named.contains(value.as_str()) {
            c.fail(format!("LEAK: {what} ({value}) appears in the response"));
        }
    }
    c.walk(&r.body["data"], Vec::new());

    // The list or record asked for must be exactly the oracle's.
    let data = &r.body["data"];
    let person_ix = |id: &str| w.persons.iter().position(|p| p.id == id);
    let mut twin = false;
    let ordered = |c: &mut Checker, got: &Value, want: Vec<(i64, String)>| {
        let mut want = want;
        want.sort();
        let want_ids: Vec<String> = want.into_iter().map(|(_, id)| id).collect();
        if ids_of(got) != want_ids && set(ids_of(got)) == set(want_ids.clone()) {
            c.fail("consultations not newest first".to_owned());
        }
        c.list(&[json!("list")], got, set(want_ids), "consultation");
    };
    match &q.ask {
        Ask::Person(id) => match person_ix(id).filter(|p| o.knows_person(*p)) {
            Some(_) => {
                if data["person"]["id"] != json!(id) {
                    c.fail(format!("person {id} allowed but not returned"));
                }
            }
            None => twin = true,
        },
        Ask::Persons {
            kana,
            name,
            district,
        } => {
            let want = set(w
                .persons
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    o.knows_person(*i)
                        && kana
                            .as_ref()
                            .is_none_or(|k| p.family_kana.starts_with(k.as_str()))
                        && name.as_ref().is_none_or(|n| {
                            format!("{}{}", p.family, p.given)
                                .replace(' ', "")
                                .starts_with(&n.replace(' ', ""))
                        })
                        && district
                            .as_ref()
                            .is_none_or(|d| o.sees_location(*i) && p.district == Some(d.as_str()))
                })
                .map(|(_, p)| p.id.clone()));
            if !(want.is_empty() && refused(r)) {
                c.list(
                    &[json!("persons")],
                    &data["persons"]["nodes"],
                    want,
                    "person",
                );
            }
        }
        Ask::Household(id) => match w.households.iter().position(|h| h.id == *id) {
            Some(h) if o.knows_household(h) => {
                if data["household"]["id"] != json!(id) {
                    c.fail(format!("household {id} allowed but not returned"));
                }
            }
            _ => twin = true,
        },
        Ask::Households => {
            let want = set((0..w.households.len())
                .filter(|h| o.knows_household(*h))
                .map(|h| w.households[h].id.clone()));
            if !(want.is_empty() && refused(r)) {
                c.list(
                    &[json!("households")],
                    &data["households"]["nodes"],
                    want,
                    "household",
                );
            }
        }
        Ask::Consultation(id) => match w.consultations.iter().position(|x| x.id == *id) {
            Some(x) if o.knows_consultation(x) => {
                if data["consultation"]["id"] != json!(id) {
                    c.fail(format!("consultation {id} allowed but not returned"));
                }
            }
            _ => twin = true,
        },
        Ask::Consultations {
            issue,
            person,
            receiving,
        } => {
            let filter_person = person.as_ref().map(|p| person_ix(p));
            if let Some(None) = filter_person {
                twin = true;
            } else if let Some(Some(p)) =
                filter_person.filter(|p| !p.is_some_and(|p| o.knows_person(p)))
            {
                let _ = p;
                twin = true;
            } else {
                let want: Vec<(i64, String)> = w
                    .consultations
                    .iter()
                    .enumerate()
                    .filter(|(x, cc)| {
                        o.knows_consultation(*x)
                            && issue.as_ref().is_none_or(|code| {
                                cc.issues.iter().any(|(i, _)| i == code) && o.sees_issue(*x, code)
                            })
                            && filter_person
                                .flatten()
                                .is_none_or(|p| cc.subjects.contains(&p) && o.sees_link(*x, p))
                            && receiving
                                .as_ref()
                                .is_none_or(|a| w.agencies[cc.receiver].id == *a)
                    })
                    .map(|(_, cc)| (cc.minutes_ago, cc.id.clone()))
                    .collect();
                if !(want.is_empty() && refused(r)) {
                    ordered(&mut c, &data["consultations"]["nodes"], want);
                }
            }
        }
        Ask::Referral(id) => match w.referrals.iter().position(|x| x.id == *id) {
            Some(x) if o.knows_referral(x) => {
                if data["referral"]["id"] != json!(id) {
                    c.fail(format!("referral {id} allowed but not returned"));
                }
            }
            _ => twin = true,
        },
        Ask::Referrals { incoming } => {
            let me = o.a.agency;
            let want = set(w
                .referrals
                .iter()
                .enumerate()
                .filter(|(x, rr)| {
                    o.knows_referral(*x)
                        && match incoming {
                            None => true,
                            Some(true) => rr.to == me,
                            Some(false) => rr.from == me,
                        }
                })
                .map(|(_, rr)| rr.id.clone()));
            if !(want.is_empty() && refused(r)) {
                c.list(
                    &[json!("referrals")],
                    &data["referrals"]["nodes"],
                    want,
                    "referral",
                );
            }
        }
        Ask::Consents(id) => {
            let want = set(w
                .consents
                .iter()
                .enumerate()
                .filter(|(k, cc)| w.persons[cc.person].id == *id && o.sees_consent(*k))
                .map(|(_, cc)| cc.id.clone()));
            if want.is_empty() && !person_ix(id).is_some_and(|p| o.knows_person_id(p)) {
                twin = true;
            } else if !(want.is_empty() && refused(r)) {
                c.list(&[json!("consents")], &data["consents"], want, "consent");
            }
        }
        Ask::Matches(probe) => crate::matches::judge(&mut c, o, probe, &r.body),
        Ask::ByRef {
            kind,
            system,
            external_id,
        } => {
            let found = o.by_ref(*kind, system, external_id);
            match found {
                Some(x) => {
                    let root = q.ask.root();
                    if data[root]["id"] != json!(w.record_id(*kind, x)) {
                        c.fail(format!(
                            "{root}({system}, {external_id}) names {kind:?} {x}, allowed, but not returned"
                        ));
                    }
                }
                None => twin = true,
            }
            // The near misses: the caller's agency's reference to a record it may not know;
            // another agency's reference to a record the caller may know (not found by it).
            let named = w.refs.iter().filter(|r| {
                r.kind == *kind && r.system == system.as_str() && r.external_id == *external_id
            });
            for r in named {
                let mine = r.agency == o.a.agency;
                if mine && found.is_none() {
                    c.refs_judged[2] += 1;
                } else if !mine && found != Some(r.record) && o.knows_record(*kind, r.record) {
                    c.refs_judged[3] += 1;
                }
            }
        }
        _ => {}
    }
    match &q.ask {
        Ask::Explain(id, about) => {
            let p = person_ix(id);
            let may_ask = about.is_none() || o.oversight();
            let knows = p.is_some_and(|p| o.knows_person_id(p));
            if !(may_ask && knows) {
                if about.is_some() && !o.oversight() {
                    // Asking about another account is oversight: refused whatever the id.
                    if !r.codes().iter().any(|c| c == "FORBIDDEN") {
                        c.fail(format!(
                            "explainAccess for another account not refused: {}",
                            r.body
                        ));
                    }
                } else {
                    twin = true;
                }
            } else if let Some(p) = p {
                let target = match about {
                    Some(a) => Oracle::new(w, &w.accounts[*a]),
                    None => Oracle::new(w, o.a),
                };
                let items = data["explainAccess"]["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if items.len() < 8 {
                    c.fail(format!("explainAccess: {} items", items.len()));
                }
                for it in items {
                    let cat = it["category"].as_str().unwrap_or_default();
                    let location = it["location"].as_bool().unwrap_or(false);
                    let want = target.explain(p, cat, location);
                    o.note(want);
                    if it["allowed"] != json!(want.is_some()) || it["basis"] != json!(want) {
                        c.fail(format!(
                            "explainAccess {cat} location {location}: got {} {}, oracle {want:?}",
                            it["allowed"], it["basis"]
                        ));
                    }
                }
            }
        }
        Ask::Meeting(id) => match w.meetings.iter().position(|x| x.id == *id) {
            Some(m) if o.knows_meeting(m) => {
                if data["meeting"]["id"] != json!(id) {
                    c.fail(format!("meeting {id} allowed but not returned: {}", r.body));
                }
            }
            _ => twin = true,
        },
        Ask::Meetings(id) => {
            let want = set(w
                .meetings
                .iter()
                .enumerate()
                .filter(|(m, mm)| w.households[mm.household].id == *id && o.knows_meeting(*m))
                .map(|(_, mm)| mm.id.clone()));
            if want.is_empty() {
                twin = true;
            } else {
                c.list(&[json!("meetings")], &data["meetings"], want, "meeting");
            }
        }
        Ask::Activities(id) => match person_ix(id).filter(|p| o.knows_person(*p)) {
            Some(p) => {
                let want = set(w
                    .activities
                    .iter()
                    .enumerate()
                    .filter(|(a, x)| x.person == p && o.sees_activity(*a))
                    .map(|(_, x)| x.id.clone()));
                if !(want.is_empty() && refused(r)) {
                    c.list(
                        &[json!("activities")],
                        &data["activities"]["nodes"],
                        want,
                        "activity",
                    );
                }
            }
            None => twin = true,
        },
        Ask::Case(id) => match w.cases.iter().position(|x| x.id == *id) {
            Some(k) if o.knows_case(k) => {
                if data["supportCase"]["id"] != json!(id) {
                    c.fail(format!(
                        "support case {id} allowed but not returned: {}",
                        r.body
                    ));
                }
            }
            _ => twin = true,
        },
        Ask::Cases(id) => {
            let want = set(w
                .cases
                .iter()
                .enumerate()
                .filter(|(k, x)| w.households[x.household].id == *id && o.knows_case(*k))
                .map(|(_, x)| x.id.clone()));
            if want.is_empty() {
                twin = true;
            } else {
                c.list(
                    &[json!("supportCases")],
                    &data["supportCases"],
                    want,
                    "support case",
                );
            }
        }
        Ask::Placements(id) => match person_ix(id).filter(|p| o.knows_person(*p)) {
            Some(p) => {
                let want = set(w
                    .placements
                    .iter()
                    .enumerate()
                    .filter(|(k, x)| x.person == p && o.sees_placement(*k))
                    .map(|(_, x)| x.id.clone()));
                if !(want.is_empty() && refused(r)) {
                    c.list(
                        &[json!("placements")],
                        &data["placements"],
                        want,
                        "placement",
                    );
                }
            }
            None => twin = true,
        },
        Ask::ConsentGaps(id) => {
            let m = w.meetings.iter().position(|x| x.id == *id);
            let coordinator = o.a.roles.contains(&"coordinator");
            match m {
                _ if !coordinator => {
                    // The role is checked first: refused before any lookup.
                    if r.codes() != ["FORBIDDEN"] {
                        c.fail(format!(
                            "consentGaps without the coordinator role: {}",
                            r.body
                        ));
                    }
                }
                Some(m)
                    if w.meetings[m].convener == o.a.agency
                        && w.meetings[m].kind == "MULTI_AGENCY_MEETING" =>
                {
                    let (gaps, unknown) = o.consent_gaps(m);
                    let want: BTreeSet<(String, String, String)> = gaps
                        .into_iter()
                        .map(|(a, p, cat)| {
                            (
                                w.agencies[a].id.clone(),
                                w.persons[p].id.clone(),
                                cat.to_owned(),
                            )
                        })
                        .collect();
                    c.expected_rows += want.len();
                    let got: BTreeSet<(String, String, String)> = data["consentGaps"]["gaps"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|g| {
                                    (
                                        g["agency"]["id"].as_str().unwrap_or("").to_owned(),
                                        g["personId"].as_str().unwrap_or("").to_owned(),
                                        g["category"].as_str().unwrap_or("").to_owned(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if got != want {
                        c.fail(format!(
                            "consentGaps: got {got:?}, oracle {want:?}: {}",
                            r.body
                        ));
                    }
                    if data["consentGaps"]["unknownMembers"] != json!(unknown) {
                        c.fail(format!(
                            "consentGaps unknownMembers: oracle {unknown}: {}",
                            r.body
                        ));
                    }
                }
                // Another kind at the convener: refused as input, or answered (checked by
                // the scans above); anyone else: like a meeting that does not exist.
                Some(m) if w.meetings[m].convener == o.a.agency => {}
                // A participant knows the meeting: refused, one way or another.
                Some(m) if o.knows_meeting(m) => {
                    if !refused(r) {
                        c.fail(format!("consentGaps for a participant: {}", r.body));
                    }
                }
                _ => twin = true,
            }
        }
        Ask::NoContact => {
            let want = set(o.no_contact().into_iter().map(|p| w.persons[p].id.clone()));
            let got: Vec<Value> = data["noContact"]
                .as_array()
                .map(|a| a.iter().map(|x| x["person"].clone()).collect())
                .unwrap_or_default();
            // A role without the 多機関協働 views may be refused outright (nothing shown).
            let forbidden = refused(r) && r.codes()[0] == "FORBIDDEN";
            if !(forbidden || (want.is_empty() && refused(r))) {
                c.list(&[json!("noContact")], &json!(got), want, "person");
            }
        }
        _ => {}
    }
    // Every error that names a subject must be one the oracle judged (rule 2).
    for (key, errs) in &c.errors.clone() {
        for e in errs {
            let named = e["extensions"].get("subjectId");
            if e["extensions"]["code"] == json!("CONSENT_REQUIRED")
                && named.is_some()
                && !c.judged.contains(key)
            {
                c.fail(format!(
                    "error at {key} names subject {} where the oracle judged no denied field: {e}",
                    named.map(|v| v.to_string()).unwrap_or_default()
                ));
            }
        }
    }
    if twin {
        // A hidden id (or reference) must answer exactly like one that exists nowhere.
        let mut vars = q.vars.clone();
        let fresh = json!(uuid::Uuid::now_v7().to_string());
        for key in ["id", "p", "e"] {
            // (accountId stays: only the subject is hidden.)
            if vars.get(key).is_some_and(|v| !v.is_null()) {
                vars[key] = fresh.clone();
            }
        }
        let twin_q = Query {
            text: q.text.clone(),
            vars,
            ask: q.ask.clone(),
            paged: q.paged,
        };
        let (other, _) = send(srv, token, &twin_q).await;
        if other.body != r.body || other.status != r.status {
            c.fail(format!(
                "LEAK: a hidden id answers differently from a missing id:\n  hidden:  {}\n  missing: {}",
                r.body, other.body
            ));
        }
    }
    (c.problems, c.expected_rows, c.refs_judged)
}
