//! Checks one response against the oracle: no denied canary and no unknowable id anywhere
//! in the body (data, errors, extensions); every object returned may be known; every field
//! asked for is either its true value (allowed) or null with a CONSENT_REQUIRED error of the
//! right category at its path (denied, whatever the value, so even "has no value" stays
//! hidden); every list equals the oracle's list, in the documented order; a hidden id
//! answers exactly like an id that exists nowhere.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tsunagi_tests::{Gql, Server};

use crate::oracle::Oracle;
use crate::query::{Ask, Query};
use crate::world::ConsentState;

const CODES: [&str; 7] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "CONSENT_REQUIRED",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
];

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
    Secrets { denied }
}

pub struct Checker<'a> {
    pub o: &'a Oracle<'a>,
    errors: BTreeMap<String, Vec<(String, String)>>,
    pub problems: Vec<String>,
    /// Rows the oracle expected in the lists checked (a measure of what a case exercised).
    pub expected_rows: usize,
}

fn path_key(path: &[Value]) -> String {
    serde_json::to_string(path).unwrap_or_default()
}

fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap_or("<no id>").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn set(xs: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    xs.into_iter().collect()
}

impl<'a> Checker<'a> {
    pub fn new(o: &'a Oracle<'a>, r: &Gql) -> Self {
        let mut errors: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for e in r.errors() {
            let key = e["path"]
                .as_array()
                .map(|p| path_key(p))
                .unwrap_or_default();
            errors.entry(key).or_default().push((
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned(),
                e["extensions"]["category"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            ));
        }
        Checker {
            o,
            errors,
            problems: Vec::new(),
            expected_rows: 0,
        }
    }

    fn fail(&mut self, msg: String) {
        self.problems.push(msg);
    }

    /// One field: allowed → its value and no error there; denied → null and a
    /// CONSENT_REQUIRED error of `cat` at its path.
    fn field(&mut self, path: &[Value], got: &Value, allowed: bool, cat: &str, want: Value) {
        let errs = self
            .errors
            .get(&path_key(path))
            .cloned()
            .unwrap_or_default();
        if allowed {
            if *got != want {
                self.fail(format!(
                    "{path:?}: allowed ({cat}) but got {got}, want {want}"
                ));
            }
            if !errs.is_empty() {
                self.fail(format!("{path:?}: allowed ({cat}) but errors {errs:?}"));
            }
        } else {
            if !got.is_null() {
                self.fail(format!("LEAK {path:?}: denied ({cat}) but got {got}"));
            }
            if !errs
                .iter()
                .any(|(code, c)| code == "CONSENT_REQUIRED" && c == cat)
            {
                self.fail(format!(
                    "{path:?}: denied ({cat}) without a CONSENT_REQUIRED {cat} error: {errs:?}"
                ));
            }
        }
    }

    fn list(&mut self, path: &[Value], got: &Value, want: BTreeSet<String>, what: &str) {
        self.expected_rows += want.len();
        let ids = ids_of(got);
        let got_set = set(ids.clone());
        if got_set.len() != ids.len() {
            self.fail(format!("{path:?}: duplicate {what} ids"));
        }
        for extra in got_set.difference(&want) {
            self.fail(format!(
                "LEAK {path:?}: {what} {extra} listed but not allowed"
            ));
        }
        for missing in want.difference(&got_set) {
            self.fail(format!("{path:?}: {what} {missing} allowed but missing"));
        }
    }

    pub fn walk(&mut self, v: &Value, path: Vec<Value>) {
        match v {
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(json!(i));
                    self.walk(x, p);
                }
            }
            Value::Object(obj) => match obj.get("__typename").and_then(|t| t.as_str()) {
                Some("Person") => self.person(obj, &path),
                Some("HouseholdMember") => self.member(obj, &path),
                Some("Household") => self.household(obj, &path),
                Some("Consultation") => self.consultation(obj, &path),
                Some("Referral") => self.referral(obj, &path),
                Some("Consent") => self.consent(obj, &path),
                Some("Meeting") => self.meeting(obj, &path),
                Some("Activity") => self.activity(obj, &path),
                Some("SupportCase") => self.case(obj, &path),
                Some("Placement") => self.placement(obj, &path),
                Some(t) => self.fail(format!("{path:?}: unexpected type {t}")),
                None => {
                    for (k, x) in obj {
                        let mut p = path.clone();
                        p.push(json!(k));
                        self.walk(x, p);
                    }
                }
            },
            _ => {}
        }
    }

    fn child(path: &[Value], key: &str) -> Vec<Value> {
        let mut p = path.to_vec();
        p.push(json!(key));
        p
    }

    fn person(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(i) = w.persons.iter().position(|p| p.id == id) else {
            return self.fail(format!("{path:?}: unknown person id {id}"));
        };
        if !o.knows_person(i) {
            return self.fail(format!(
                "LEAK {path:?}: person {i} returned without IDENTITY"
            ));
        }
        let p = &w.persons[i];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            let s = |x: &Option<String>| x.as_ref().map_or(Value::Null, |v| json!(v));
            match k.as_str() {
                "__typename" | "id" | "version" => {}
                "ownerAgency" => self.field(
                    &fp,
                    got,
                    o.sees(i, "NARRATIVE"),
                    "NARRATIVE",
                    json!({ "id": w.agencies[p.owner].id }),
                ),
                "familyName" => {
                    self.field(&fp, got, o.sees(i, "IDENTITY"), "IDENTITY", json!(p.family))
                }
                "givenName" => {
                    self.field(&fp, got, o.sees(i, "IDENTITY"), "IDENTITY", json!(p.given))
                }
                "familyNameKana" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.family_kana),
                ),
                "givenNameKana" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.given_kana),
                ),
                "birthDate" => {
                    self.field(&fp, got, o.sees(i, "IDENTITY"), "IDENTITY", json!(p.birth))
                }
                "sex" => self.field(&fp, got, o.sees(i, "IDENTITY"), "IDENTITY", json!(p.sex)),
                "address" => self.field(&fp, got, o.sees_location(i), "CONTACT", s(&p.address)),
                "district" => self.field(
                    &fp,
                    got,
                    o.sees_location(i),
                    "CONTACT",
                    p.district.map_or(Value::Null, |d| json!(d)),
                ),
                "phone" => self.field(&fp, got, o.sees(i, "CONTACT"), "CONTACT", s(&p.phone)),
                "addressConfidential" => self.field(
                    &fp,
                    got,
                    o.sees(i, "CHILD_PROTECTION"),
                    "CHILD_PROTECTION",
                    json!(p.confidential),
                ),
                "careLevel" => self.field(&fp, got, o.sees(i, "HEALTH"), "HEALTH", s(&p.care)),
                "disabilityCertificate" => {
                    self.field(&fp, got, o.sees(i, "HEALTH"), "HEALTH", s(&p.disability))
                }
                "publicAssistance" => self.field(
                    &fp,
                    got,
                    o.sees(i, "LIVELIHOOD"),
                    "LIVELIHOOD",
                    p.assistance.map_or(Value::Null, |b| json!(b)),
                ),
                "households" => {
                    let mut want = BTreeSet::new();
                    for (h, hh) in w.households.iter().enumerate() {
                        for (m, mm) in hh.members.iter().enumerate() {
                            if mm.person == i && o.sees_member(h, m) {
                                want.insert(mm.id.clone());
                            }
                        }
                    }
                    self.list(&fp, got, want, "membership");
                    self.walk(got, fp);
                }
                "consultations" => {
                    let want = set(w
                        .consultations
                        .iter()
                        .enumerate()
                        .filter(|(c, cc)| cc.subjects.contains(&i) && o.sees_link(*c, i))
                        .map(|(_, cc)| cc.id.clone()));
                    self.list(&fp, got, want, "consultation");
                    self.walk(got, fp);
                }
                other => self.fail(format!("{path:?}: Person.{other} unknown to the oracle")),
            }
        }
    }

    fn member(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let found = w
            .households
            .iter()
            .enumerate()
            .find_map(|(h, hh)| hh.members.iter().position(|m| m.id == id).map(|m| (h, m)));
        let Some((h, m)) = found else {
            return self.fail(format!("{path:?}: unknown member id {id}"));
        };
        if !o.sees_member(h, m) {
            return self.fail(format!(
                "LEAK {path:?}: member {m} of household {h} not allowed"
            ));
        }
        let mm = &w.households[h].members[m];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            let want = match k.as_str() {
                "__typename" | "id" | "joinedOn" => continue,
                "householdId" => json!(w.households[h].id),
                "relationship" => json!(mm.relationship),
                "isHead" => json!(m == 0),
                "leftOn" => {
                    if mm.left {
                        json!("2024-03-31")
                    } else {
                        Value::Null
                    }
                }
                "person" => {
                    if o.knows_person(mm.person) {
                        if got["id"] != json!(w.persons[mm.person].id) {
                            self.fail(format!("{fp:?}: member's person missing or wrong: {got}"));
                        }
                        self.walk(got, fp);
                    } else if !got.is_null() {
                        self.fail(format!("LEAK {fp:?}: member's person not knowable: {got}"));
                    }
                    continue;
                }
                other => {
                    self.fail(format!(
                        "{path:?}: HouseholdMember.{other} unknown to the oracle"
                    ));
                    continue;
                }
            };
            if *got != want {
                self.fail(format!("{fp:?}: got {got}, want {want}"));
            }
        }
    }

    fn household(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(h) = w.households.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown household id {id}"));
        };
        if !o.knows_household(h) {
            return self.fail(format!("LEAK {path:?}: household {h} not knowable"));
        }
        let hh = &w.households[h];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "version" => {}
                "ownerAgency" => self.field(
                    &fp,
                    got,
                    o.sees_household_owner(h),
                    "NARRATIVE",
                    json!({ "id": w.agencies[hh.owner].id }),
                ),
                "members" => {
                    let want = set((0..hh.members.len())
                        .filter(|m| o.sees_member(h, *m))
                        .map(|m| hh.members[m].id.clone()));
                    self.list(&fp, got, want, "member");
                    self.walk(got, fp);
                }
                other => self.fail(format!("{path:?}: Household.{other} unknown to the oracle")),
            }
        }
    }

    fn consultation(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(c) = w.consultations.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown consultation id {id}"));
        };
        if !o.knows_consultation(c) {
            return self.fail(format!("LEAK {path:?}: consultation {c} not knowable"));
        }
        let cc = &w.consultations[c];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "version" | "receivedAt" | "status" => {}
                "summary" => {
                    self.field(&fp, got, o.sees_summary(c), "NARRATIVE", json!(cc.summary))
                }
                "receivingAgency" => {
                    if got["id"] != json!(w.agencies[cc.receiver].id) {
                        self.fail(format!("{fp:?}: wrong receiving agency {got}"));
                    }
                }
                "issues" => {
                    let want: BTreeSet<(String, bool)> = cc
                        .issues
                        .iter()
                        .filter(|(code, _)| o.sees_issue(c, code))
                        .cloned()
                        .collect();
                    let got_set: BTreeSet<(String, bool)> = got
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|x| {
                                    (
                                        x["category"]["code"].as_str().unwrap_or("").to_owned(),
                                        x["main"].as_bool().unwrap_or(false),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    for extra in got_set.difference(&want) {
                        self.fail(format!("LEAK {fp:?}: issue {extra:?} not allowed"));
                    }
                    for missing in want.difference(&got_set) {
                        self.fail(format!("{fp:?}: issue {missing:?} allowed but missing"));
                    }
                }
                "subjects" => {
                    let want = set(cc
                        .subjects
                        .iter()
                        .filter(|p| o.sees_subject(c, **p))
                        .map(|p| w.persons[*p].id.clone()));
                    self.list(&fp, got, want, "subject");
                    self.walk(got, fp);
                }
                "household" => match cc.household.filter(|h| o.knows_household(*h)) {
                    Some(h) => {
                        if got["id"] != json!(w.households[h].id) {
                            self.fail(format!("{fp:?}: household missing or wrong: {got}"));
                        }
                        self.walk(got, fp);
                    }
                    None => {
                        if !got.is_null() {
                            self.fail(format!("LEAK {fp:?}: household not knowable: {got}"));
                        }
                    }
                },
                other => self.fail(format!(
                    "{path:?}: Consultation.{other} unknown to the oracle"
                )),
            }
        }
    }

    fn referral(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(r) = w.referrals.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown referral id {id}"));
        };
        if !o.knows_referral(r) {
            return self.fail(format!("LEAK {path:?}: referral {r} not knowable"));
        }
        let rr = &w.referrals[r];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "status" | "version" => {}
                "fromAgency" => {
                    if got["id"] != json!(w.agencies[rr.from].id) {
                        self.fail(format!("{fp:?}: wrong {got}"));
                    }
                }
                "toAgency" => {
                    if got["id"] != json!(w.agencies[rr.to].id) {
                        self.fail(format!("{fp:?}: wrong {got}"));
                    }
                }
                "reason" => self.field(&fp, got, o.sees_reason(r), "NARRATIVE", json!(rr.reason)),
                "declineReason" => self.field(
                    &fp,
                    got,
                    o.sees_decline_reason(r),
                    "NARRATIVE",
                    rr.decline_reason.as_ref().map_or(Value::Null, |d| json!(d)),
                ),
                "person" => {
                    if o.knows_person(rr.person) {
                        if got["id"] != json!(w.persons[rr.person].id) {
                            self.fail(format!("{fp:?}: referral person missing: {got}"));
                        }
                        self.walk(got, fp);
                    } else if !got.is_null() {
                        self.fail(format!("LEAK {fp:?}: referral person not knowable"));
                    }
                }
                "consultation" => match rr.consultation.filter(|c| o.knows_consultation(*c)) {
                    Some(c) => {
                        if got["id"] != json!(w.consultations[c].id) {
                            self.fail(format!("{fp:?}: consultation missing: {got}"));
                        }
                        self.walk(got, fp);
                    }
                    None => {
                        if !got.is_null() {
                            self.fail(format!("LEAK {fp:?}: consultation not knowable"));
                        }
                    }
                },
                other => self.fail(format!("{path:?}: Referral.{other} unknown to the oracle")),
            }
        }
    }

    fn activity(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(a) = w.activities.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown activity id {id}"));
        };
        if !o.sees_activity(a) {
            return self.fail(format!("LEAK {path:?}: activity {a} not visible"));
        }
        let x = &w.activities[a];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "kind" | "caseId" => {}
                "note" => self.field(&fp, got, true, "NARRATIVE", json!(x.note)),
                "agency" => {
                    if got["id"] != json!(w.agencies[x.agency].id) {
                        self.fail(format!("{fp:?}: wrong agency {got}"));
                    }
                }
                "person" => {
                    if o.knows_person(x.person) {
                        if got["id"] != json!(w.persons[x.person].id) {
                            self.fail(format!("{fp:?}: activity person missing: {got}"));
                        }
                        self.walk(got, fp);
                    } else if !got.is_null() {
                        self.fail(format!("LEAK {fp:?}: activity person not knowable"));
                    }
                }
                other => self.fail(format!("{path:?}: Activity.{other} unknown to the oracle")),
            }
        }
    }

    fn placement(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(k) = w.placements.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown placement id {id}"));
        };
        if !o.sees_placement(k) {
            return self.fail(format!("LEAK {path:?}: placement {k} not visible"));
        }
        let x = &w.placements[k];
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "status" | "resource" => {}
                "agency" => {
                    if got["id"] != json!(w.agencies[x.agency].id) {
                        self.fail(format!("{fp:?}: wrong agency {got}"));
                    }
                }
                "person" => {
                    if o.knows_person(x.person) {
                        if got["id"] != json!(w.persons[x.person].id) {
                            self.fail(format!("{fp:?}: placement person missing: {got}"));
                        }
                        self.walk(got, fp);
                    } else if !got.is_null() {
                        self.fail(format!("LEAK {fp:?}: placement person not knowable"));
                    }
                }
                other => self.fail(format!("{path:?}: Placement.{other} unknown to the oracle")),
            }
        }
    }

    fn case(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(k) = w.cases.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown support case id {id}"));
        };
        if !o.knows_case(k) {
            return self.fail(format!("LEAK {path:?}: support case {k} not knowable"));
        }
        let x = &w.cases[k];
        for (key, got) in obj {
            let want = match key.as_str() {
                "__typename" | "id" | "status" => continue,
                "householdId" => json!(w.households[x.household].id),
                "ownerAgency" => json!({ "id": w.agencies[x.owner].id }),
                other => {
                    self.fail(format!(
                        "{path:?}: SupportCase.{other} unknown to the oracle"
                    ));
                    continue;
                }
            };
            if *got != want {
                self.fail(format!("{path:?}.{key}: got {got}, want {want}"));
            }
        }
    }

    fn meeting(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(m) = w.meetings.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown meeting id {id}"));
        };
        if !o.knows_meeting(m) {
            return self.fail(format!("LEAK {path:?}: meeting {m} not knowable"));
        }
        let mm = &w.meetings[m];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "kind" | "inEffect" => {}
                "minutes" => {
                    self.field(&fp, got, o.sees_minutes(m), "NARRATIVE", json!(mm.minutes))
                }
                "convener" => {
                    if got["id"] != json!(w.agencies[mm.convener].id) {
                        self.fail(format!("{fp:?}: wrong convener {got}"));
                    }
                }
                "participants" => {
                    let want = set(mm.members.iter().map(|a| w.agencies[*a].id.clone()));
                    self.list(&fp, got, want, "participant");
                }
                "categories" => {
                    let got_set: BTreeSet<String> = got
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if got_set != set(mm.categories.iter().map(|c| c.to_string())) {
                        self.fail(format!("{fp:?}: categories {got}"));
                    }
                }
                "household" => {
                    if o.knows_household(mm.household) {
                        if got["id"] != json!(w.households[mm.household].id) {
                            self.fail(format!("{fp:?}: household missing or wrong: {got}"));
                        }
                        self.walk(got, fp);
                    } else if !got.is_null() {
                        self.fail(format!("LEAK {fp:?}: household not knowable: {got}"));
                    }
                }
                other => self.fail(format!("{path:?}: Meeting.{other} unknown to the oracle")),
            }
        }
    }

    fn consent(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(k) = w.consents.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown consent id {id}"));
        };
        if !o.sees_consent(k) {
            return self.fail(format!("LEAK {path:?}: consent {k} not visible"));
        }
        let c = &w.consents[k];
        let all = o.sees_all_recipients(k);
        let me = o.a.agency;
        let my_kind = w.agencies[me].kind;
        for (key, got) in obj {
            let fp = Self::child(path, key);
            let want = match key.as_str() {
                "__typename" | "id" | "proxyRelationship" => continue,
                "personId" => json!(w.persons[c.person].id),
                "givenBy" => json!(if c.proxy_name.is_some() {
                    "PROXY"
                } else {
                    "SELF"
                }),
                "proxyName" => json!(c.proxy_name),
                "purpose" => json!(c.purpose),
                "evidenceRef" => json!(c.evidence),
                "withdrawalReason" => json!(c.withdrawal_reason),
                "state" => json!(match c.state {
                    ConsentState::Active => "ACTIVE",
                    ConsentState::Withdrawn => "WITHDRAWN",
                    ConsentState::Expired => "EXPIRED",
                    ConsentState::NotYetValid => "NOT_YET_VALID",
                }),
                "categories" => {
                    let got_set: BTreeSet<String> = got
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if got_set != set(c.categories.iter().map(|x| x.to_string())) {
                        self.fail(format!("{fp:?}: categories {got}"));
                    }
                    continue;
                }
                "recipientAgencies" => {
                    let want = set(c
                        .agencies
                        .iter()
                        .filter(|a| all || **a == me)
                        .map(|a| w.agencies[*a].id.clone()));
                    self.list(&fp, got, want, "recipient agency");
                    continue;
                }
                "recipientAgencyKinds" => {
                    let got_set: BTreeSet<String> = got
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    let want = set(c
                        .kinds
                        .iter()
                        .filter(|x| all || **x == my_kind)
                        .map(|x| x.to_string()));
                    if got_set != want {
                        self.fail(format!("{fp:?}: kinds {got_set:?}, want {want:?}"));
                    }
                    continue;
                }
                other => {
                    self.fail(format!("{path:?}: Consent.{other} unknown to the oracle"));
                    continue;
                }
            };
            if *got != want {
                self.fail(format!("{fp:?}: got {got}, want {want}"));
            }
        }
    }
}

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

/// Checks one case; returns the problems found (empty: the case passed) and how many rows
/// the oracle expected in the lists it checked.
pub async fn check(
    srv: &Server,
    token: &str,
    o: &Oracle<'_>,
    s: &Secrets,
    q: &Query,
    r: &Gql,
) -> (Vec<String>, usize) {
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
        Ask::Persons { kana, district } => {
            let want = set(w
                .persons
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    o.knows_person(*i)
                        && kana
                            .as_ref()
                            .is_none_or(|k| p.family_kana.starts_with(k.as_str()))
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
    if twin {
        // A hidden id must answer exactly like an id that exists nowhere.
        let mut vars = q.vars.clone();
        let fresh = json!(uuid::Uuid::now_v7().to_string());
        for key in ["id", "p"] {
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
    (c.problems, c.expected_rows)
}
