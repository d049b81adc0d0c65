//! The structural walk: every object in a response (by __typename) is checked field by
//! field against the oracle (allowed: its true value and no error; denied: null with a
//! CONSENT_REQUIRED error of the right category at its path), and every nested list
//! against the oracle's list. Persons, households and consultations here; the other
//! record types in walk_more.rs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tsunagi_tests::Gql;

use crate::oracle::Oracle;
use crate::world_refs::RefKind;

/// Which subject a CONSENT_REQUIRED error may name in `extensions.subjectId` (rule 2).
pub enum Who {
    /// Exactly this person (a person's own fields; a referral's known person).
    Must(String),
    /// No `subjectId` key at all.
    Absent,
    /// No key, or one of these (denied subjects the caller may know with their link).
    Any(BTreeSet<String>),
}

pub struct Checker<'a> {
    pub o: &'a Oracle<'a>,
    /// Errors by path: the whole error object.
    pub errors: BTreeMap<String, Vec<Value>>,
    /// Paths whose CONSENT_REQUIRED error the oracle judged.
    pub judged: BTreeSet<String>,
    pub problems: Vec<String>,
    /// Rows the oracle expected in the lists checked (a measure of what a case exercised).
    pub expected_rows: usize,
    /// What the case judged of external references, by `coverage::REFS` index.
    pub refs_judged: [usize; 4],
}

pub fn path_key(path: &[Value]) -> String {
    serde_json::to_string(path).unwrap_or_default()
}

pub fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap_or("<no id>").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn set(xs: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    xs.into_iter().collect()
}

impl<'a> Checker<'a> {
    pub fn new(o: &'a Oracle<'a>, r: &Gql) -> Self {
        let mut errors: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for e in r.errors() {
            let key = e["path"]
                .as_array()
                .map(|p| path_key(p))
                .unwrap_or_default();
            errors.entry(key).or_default().push(e);
        }
        Checker {
            o,
            errors,
            judged: BTreeSet::new(),
            problems: Vec::new(),
            expected_rows: 0,
            refs_judged: [0; 4],
        }
    }

    pub fn fail(&mut self, msg: String) {
        self.problems.push(msg);
    }

    /// One field: allowed → its value and no error there; denied → null and a
    /// CONSENT_REQUIRED error of `cat` at its path, naming only whom `who` allows.
    pub fn field(
        &mut self,
        path: &[Value],
        got: &Value,
        allowed: bool,
        cat: &str,
        want: Value,
        who: Who,
    ) {
        if allowed {
            if *got != want {
                self.fail(format!(
                    "{path:?}: allowed ({cat}) but got {got}, want {want}"
                ));
            }
            self.no_error(path, cat);
        } else {
            if !got.is_null() {
                self.fail(format!("LEAK {path:?}: denied ({cat}) but got {got}"));
            }
            self.denied_error(path, cat, who);
        }
    }

    /// No error at `path` (an allowed field).
    pub fn no_error(&mut self, path: &[Value], cat: &str) {
        // (Judged here: an error at an allowed field fails once, as such.)
        self.judged.insert(path_key(path));
        if let Some(errs) = self.errors.get(&path_key(path)).cloned() {
            self.fail(format!("{path:?}: allowed ({cat}) but errors {errs:?}"));
        }
    }

    /// A CONSENT_REQUIRED error of `cat` at `path`, whose `extensions.subjectId` is what
    /// `who` allows (rule 2: a subject only when the caller may know the person and the
    /// person's link to this record; otherwise no key at all).
    pub fn denied_error(&mut self, path: &[Value], cat: &str, who: Who) {
        let key = path_key(path);
        self.judged.insert(key.clone());
        let errs = self.errors.get(&key).cloned().unwrap_or_default();
        let Some(e) = errs.iter().find(|e| {
            e["extensions"]["code"] == json!("CONSENT_REQUIRED")
                && e["extensions"]["category"] == json!(cat)
        }) else {
            return self.fail(format!(
                "{path:?}: denied ({cat}) without a CONSENT_REQUIRED {cat} error: {errs:?}"
            ));
        };
        let named = e["extensions"].get("subjectId");
        let ok = match (&who, named) {
            (Who::Must(id), Some(v)) => v == &json!(id),
            (Who::Must(_), None) => false,
            (Who::Absent, n) => n.is_none(),
            (Who::Any(_), None) => true,
            (Who::Any(ids), Some(v)) => v.as_str().is_some_and(|v| ids.contains(v)),
        };
        if !ok {
            let want = match &who {
                Who::Must(id) => format!("subjectId {id}"),
                Who::Absent => "no subjectId key".to_owned(),
                Who::Any(ids) => format!("no subjectId key or one of {ids:?}"),
            };
            let leak = if named.is_some() { "LEAK " } else { "" };
            self.fail(format!(
                "{leak}{path:?}: CONSENT_REQUIRED {cat} error names subject {}, oracle: {want}",
                named.map_or("(none)".to_owned(), |v| v.to_string())
            ));
        }
    }

    /// An id-valued field pointing at another record: the id when the caller may know
    /// that record, else null, and never an error (rule 3).
    pub fn id_ref(&mut self, path: &[Value], got: &Value, want: Option<String>, what: &str) {
        let want = want.map_or(Value::Null, |v| json!(v));
        if *got != want {
            let leak = if want.is_null() { "LEAK " } else { "" };
            self.fail(format!("{leak}{path:?}: {what} id: got {got}, want {want}"));
        }
        if let Some(errs) = self.errors.get(&path_key(path)).cloned() {
            self.fail(format!("{path:?}: {what} id with errors {errs:?}"));
        }
    }

    /// The index of the record `obj` is (found by its id among `records`) when the caller
    /// may know it (`known`); else None, having failed the case (an id unknown to the world,
    /// or a LEAK).
    pub fn record<T>(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        path: &[Value],
        what: &str,
        records: &[T],
        id: impl Fn(&T) -> &String,
        known: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let want = obj["id"].as_str().unwrap_or_default();
        let Some(i) = records.iter().position(|x| id(x) == want) else {
            self.fail(format!("{path:?}: unknown {what} id {want}"));
            return None;
        };
        if !known(i) {
            self.fail(format!("LEAK {path:?}: {what} {i} may not be known"));
            return None;
        }
        Some(i)
    }

    /// A record nested in another (`what`): the one with id `want` when the caller may know
    /// it, walked in turn; else null.
    pub fn nested(&mut self, path: Vec<Value>, got: &Value, want: Option<&String>, what: &str) {
        match want {
            Some(id) => {
                if got["id"] != json!(id) {
                    self.fail(format!("{path:?}: {what} missing or wrong: {got}"));
                }
                self.walk(got, path);
            }
            None if !got.is_null() => {
                self.fail(format!("LEAK {path:?}: {what} not knowable: {got}"));
            }
            None => {}
        }
    }

    /// Person `p` nested in a record: shown exactly when the caller may know them.
    pub fn nested_person(&mut self, path: Vec<Value>, got: &Value, p: usize, what: &str) {
        let want = self.o.knows_person(p).then(|| &self.o.w.persons[p].id);
        self.nested(path, got, want, what);
    }

    /// An agency nested in a record: always this one (agencies are public).
    pub fn agency(&mut self, path: &[Value], got: &Value, agency: usize) {
        if got["id"] != json!(self.o.w.agencies[agency].id) {
            self.fail(format!("{path:?}: wrong agency {got}"));
        }
    }

    pub fn list(&mut self, path: &[Value], got: &Value, want: BTreeSet<String>, what: &str) {
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
                Some("CaseDecision") => self.decision(obj, &path),
                Some("MeetingDecision") => self.meeting_decision(obj, &path),
                Some("CaseInvolvement") => self.involvement(obj, &path),
                Some("SupportPlan") => self.plan(obj, &path),
                Some("PlanAssignment") => self.assignment(obj, &path),
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

    pub fn child(path: &[Value], key: &str) -> Vec<Value> {
        let mut p = path.to_vec();
        p.push(json!(key));
        p
    }

    pub fn person(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |i: usize| o.knows_person(i);
        let Some(i) = self.record(obj, path, "person", &w.persons, |x| &x.id, known) else {
            return;
        };
        let p = &w.persons[i];
        // A person's own fields: the link is the person (rule 2), known here.
        let who = || Who::Must(p.id.clone());
        for (k, got) in obj {
            let fp = Self::child(path, k);
            let s = |x: &Option<String>| x.as_ref().map_or(Value::Null, |v| json!(v));
            match k.as_str() {
                "__typename" | "id" | "version" => {}
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Person, i)
                }
                "ownerAgency" => self.field(
                    &fp,
                    got,
                    o.sees(i, "NARRATIVE"),
                    "NARRATIVE",
                    json!({ "id": w.agencies[p.owner].id }),
                    who(),
                ),
                "familyName" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.family),
                    who(),
                ),
                "givenName" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.given),
                    who(),
                ),
                "familyNameKana" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.family_kana),
                    who(),
                ),
                "givenNameKana" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.given_kana),
                    who(),
                ),
                "birthDate" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.birth),
                    who(),
                ),
                "sex" => self.field(
                    &fp,
                    got,
                    o.sees(i, "IDENTITY"),
                    "IDENTITY",
                    json!(p.sex),
                    who(),
                ),
                "address" => self.field(
                    &fp,
                    got,
                    o.sees_location(i),
                    "CONTACT",
                    s(&p.address),
                    who(),
                ),
                "district" => self.field(
                    &fp,
                    got,
                    o.sees_location(i),
                    "CONTACT",
                    p.district.map_or(Value::Null, |d| json!(d)),
                    who(),
                ),
                "phone" => self.field(
                    &fp,
                    got,
                    o.sees(i, "CONTACT"),
                    "CONTACT",
                    s(&p.phone),
                    who(),
                ),
                "addressConfidential" => self.field(
                    &fp,
                    got,
                    o.sees(i, "CHILD_PROTECTION"),
                    "CHILD_PROTECTION",
                    json!(p.confidential),
                    who(),
                ),
                "careLevel" => {
                    self.field(&fp, got, o.sees(i, "HEALTH"), "HEALTH", s(&p.care), who())
                }
                "disabilityCertificate" => self.field(
                    &fp,
                    got,
                    o.sees(i, "HEALTH"),
                    "HEALTH",
                    s(&p.disability),
                    who(),
                ),
                "publicAssistance" => self.field(
                    &fp,
                    got,
                    o.sees(i, "LIVELIHOOD"),
                    "LIVELIHOOD",
                    p.assistance.map_or(Value::Null, |b| json!(b)),
                    who(),
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
                "consents" => {
                    self.list(&fp, got, o.person_consents(i), "consent");
                    self.walk(got, fp);
                }
                recent if recent.starts_with("consultationsFirst") => {
                    let Ok(n) = recent["consultationsFirst".len()..].parse::<usize>() else {
                        self.fail(format!("{path:?}: Person.{recent} unknown to the oracle"));
                        continue;
                    };
                    let want = o.recent_consultations(i, n);
                    let got_ids = crate::walk::ids_of(got);
                    if got_ids != want && set(got_ids.clone()) == set(want.clone()) {
                        self.fail(format!("{fp:?}: consultations not newest first"));
                    }
                    self.list(&fp, got, set(want), "consultation");
                    self.walk(got, fp);
                }
                other => self.fail(format!("{path:?}: Person.{other} unknown to the oracle")),
            }
        }
    }

    pub fn member(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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
                "__typename" | "id" => continue,
                "householdId" => json!(w.households[h].id),
                "relationship" => json!(mm.relationship),
                "isHead" => json!(m == 0),
                "joinedOn" => mm.joined.map_or(Value::Null, |d| json!(d.to_string())),
                "leftOn" => mm.left.map_or(Value::Null, |d| json!(d.to_string())),
                "person" => {
                    self.nested_person(fp, got, mm.person, "member's person");
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

    pub fn household(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |h: usize| o.knows_household(h);
        let Some(h) = self.record(obj, path, "household", &w.households, |x| &x.id, known) else {
            return;
        };
        let hh = &w.households[h];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "version" => {}
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Household, h)
                }
                "ownerAgency" => self.field(
                    &fp,
                    got,
                    o.sees_household_owner(h),
                    "NARRATIVE",
                    json!({ "id": w.agencies[hh.owner].id }),
                    Who::Any(o.nameable_in_household(h, "NARRATIVE", hh.owner)),
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

    pub fn consultation(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |c: usize| o.knows_consultation(c);
        let Some(c) = self.record(
            obj,
            path,
            "consultation",
            &w.consultations,
            |x| &x.id,
            known,
        ) else {
            return;
        };
        let cc = &w.consultations[c];
        for (k, got) in obj {
            let fp = Self::child(path, k);
            match k.as_str() {
                "__typename" | "id" | "version" | "receivedAt" | "status" => {}
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Consultation, c)
                }
                "summary" => self.field(
                    &fp,
                    got,
                    o.sees_summary(c),
                    "NARRATIVE",
                    json!(cc.summary),
                    Who::Any(o.nameable_in_consultation(c, "NARRATIVE")),
                ),
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
                "household" => {
                    let known = cc.household.filter(|h| o.knows_household(*h));
                    self.nested(fp, got, known.map(|h| &w.households[h].id), "household");
                }
                other => self.fail(format!(
                    "{path:?}: Consultation.{other} unknown to the oracle"
                )),
            }
        }
    }
}
