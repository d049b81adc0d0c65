//! The structural walk, continued: referrals, activities, placements, support cases,
//! meetings and consents.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::walk::{set, Checker};
use crate::world::ConsentState;

impl Checker<'_> {
    pub fn referral(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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

    pub fn activity(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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

    pub fn placement(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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

    pub fn case(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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

    pub fn meeting(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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

    pub fn consent(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
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
