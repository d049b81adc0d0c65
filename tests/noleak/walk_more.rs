//! The structural walk, continued: referrals, activities, placements, support cases,
//! meetings and consents.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::walk::{set, Checker, Who};
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
        // The referral's person is known to both parties: IDENTITY only (rule 2).
        let who = || {
            if o.knows_person(rr.person) {
                Who::Must(w.persons[rr.person].id.clone())
            } else {
                Who::Absent
            }
        };
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
                "reason" => self.field(
                    &fp,
                    got,
                    o.sees_reason(r),
                    "NARRATIVE",
                    json!(rr.reason),
                    who(),
                ),
                "declineReason" => self.field(
                    &fp,
                    got,
                    o.sees_decline_reason(r),
                    "NARRATIVE",
                    rr.decline_reason.as_ref().map_or(Value::Null, |d| json!(d)),
                    who(),
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
                "__typename" | "id" | "kind" => {}
                "note" => self.field(&fp, got, true, "NARRATIVE", json!(x.note), Who::Absent),
                "caseId" => self.id_ref(&fp, got, o.case_ref(x.case), "Activity.caseId"),
                "placementId" => self.id_ref(
                    &fp,
                    got,
                    o.placement_ref(x.placement),
                    "Activity.placementId",
                ),
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
            let fp = Self::child(path, key);
            let want = match key.as_str() {
                "__typename" | "id" | "status" => continue,
                "householdId" => json!(w.households[x.household].id),
                "ownerAgency" => json!({ "id": w.agencies[x.owner].id }),
                "decisions" => {
                    let want = set(w
                        .decisions
                        .iter()
                        .filter(|d| d.case == k)
                        .map(|d| d.id.clone()));
                    self.list(&fp, got, want, "decision");
                    self.walk(got, fp);
                    continue;
                }
                "supportDecision" => {
                    match w.decisions.iter().find(|d| d.case == k) {
                        Some(d) if got["id"] == json!(d.id) => self.walk(got, fp),
                        Some(d) => self.fail(format!("{fp:?}: got {got}, want decision {}", d.id)),
                        None if got.is_null() => {}
                        None => self.fail(format!("{fp:?}: got {got}, want null")),
                    }
                    continue;
                }
                "plans" => {
                    let want = set(w.plans.iter().filter(|p| p.case == k).map(|p| p.id.clone()));
                    self.list(&fp, got, want, "plan");
                    self.walk(got, fp);
                    continue;
                }
                "currentPlan" => {
                    match w.plans.iter().find(|p| p.case == k) {
                        Some(p) if got["id"] == json!(p.id) => self.walk(got, fp),
                        Some(p) => self.fail(format!("{fp:?}: got {got}, want plan {}", p.id)),
                        None if got.is_null() => {}
                        None => self.fail(format!("{fp:?}: got {got}, want null")),
                    }
                    continue;
                }
                "involvements" => {
                    if o.sees_case_content(k, "PLAN") {
                        let want = set(w
                            .involvements
                            .iter()
                            .filter(|i| i.case == k)
                            .map(|i| i.id.clone()));
                        self.no_error(&fp, "PLAN");
                        self.list(&fp, got, want, "involvement");
                        self.walk(got, fp);
                    } else {
                        if !got.is_null() {
                            self.fail(format!("LEAK {fp:?}: involvements without PLAN: {got}"));
                        }
                        let who = Who::Any(o.nameable_in_household(x.household, "PLAN", x.owner));
                        self.denied_error(&fp, "PLAN", who);
                    }
                    continue;
                }
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

    /// A field of case `k`'s content in `cat`: PLAN/NARRATIVE of every current member.
    fn case_content(&mut self, k: usize, fp: &[Value], got: &Value, cat: &str, want: Value) {
        let o = self.o;
        let x = &o.w.cases[k];
        let who = Who::Any(o.nameable_in_household(x.household, cat, x.owner));
        self.field(fp, got, o.sees_case_content(k, cat), cat, want, who);
    }

    pub fn decision(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(d) = w.decisions.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown decision id {id}"));
        };
        let dd = &w.decisions[d];
        if !o.knows_case(dd.case) {
            return self.fail(format!("LEAK {path:?}: decision {d} of an unknowable case"));
        }
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "kind" | "decidedOn" | "decider" | "createdAt" => {}
                "basis" => self.case_content(dd.case, &fp, got, "PLAN", json!(dd.basis)),
                "reason" => self.case_content(dd.case, &fp, got, "PLAN", Value::Null),
                "note" => self.case_content(dd.case, &fp, got, "NARRATIVE", json!(dd.note)),
                "meetingId" => self.id_ref(
                    &fp,
                    got,
                    o.meeting_ref(dd.meeting),
                    "CaseDecision.meetingId",
                ),
                other => self.fail(format!(
                    "{path:?}: CaseDecision.{other} unknown to the oracle"
                )),
            }
        }
    }

    pub fn meeting_decision(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(d) = w.decisions.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown decision id {id}"));
        };
        let dd = &w.decisions[d];
        if !o.knows_case(dd.case) {
            return self.fail(format!("LEAK {path:?}: decision {d} of an unknowable case"));
        }
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "kind" | "decidedOn" => {}
                "reason" => self.case_content(dd.case, &fp, got, "PLAN", Value::Null),
                other => self.fail(format!(
                    "{path:?}: MeetingDecision.{other} unknown to the oracle"
                )),
            }
        }
    }

    pub fn involvement(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(i) = w.involvements.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown involvement id {id}"));
        };
        let ii = &w.involvements[i];
        if !o.sees_case_content(ii.case, "PLAN") {
            return self.fail(format!("LEAK {path:?}: involvement {i} without PLAN"));
        }
        for (key, got) in obj {
            let want = match key.as_str() {
                "__typename" | "id" | "role" | "startedOn" | "endedOn" | "version" => continue,
                "caseId" => json!(w.cases[ii.case].id),
                "agency" => json!({ "id": w.agencies[ii.agency].id }),
                other => {
                    self.fail(format!(
                        "{path:?}: CaseInvolvement.{other} unknown to the oracle"
                    ));
                    continue;
                }
            };
            if *got != want {
                self.fail(format!("{path:?}.{key}: got {got}, want {want}"));
            }
        }
    }

    pub fn plan(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(p) = w.plans.iter().position(|x| x.id == id) else {
            return self.fail(format!("{path:?}: unknown plan id {id}"));
        };
        let pp = &w.plans[p];
        let k = pp.case;
        if !o.knows_case(k) {
            return self.fail(format!("LEAK {path:?}: plan {p} of an unknowable case"));
        }
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "planVersion" | "nextReviewOn" | "agreedOn" | "createdAt" => {
                }
                "caseId" => {
                    if *got != json!(w.cases[k].id) {
                        self.fail(format!("{fp:?}: got {got}"));
                    }
                }
                "wishes" => self.case_content(k, &fp, got, "PLAN", json!(pp.wishes)),
                "longTermGoal" => self.case_content(k, &fp, got, "PLAN", json!(pp.long_goal)),
                "shortTermGoals" => self.case_content(k, &fp, got, "PLAN", json!([pp.short_goal])),
                "agreementMethod" => self.case_content(k, &fp, got, "PLAN", Value::Null),
                "assignments" => {
                    if o.sees_case_content(k, "PLAN") {
                        self.no_error(&fp, "PLAN");
                        self.list(&fp, got, set([pp.assignment.clone()]), "assignment");
                        self.walk(got, fp);
                    } else {
                        if !got.is_null() {
                            self.fail(format!("LEAK {fp:?}: assignments without PLAN: {got}"));
                        }
                        let x = &w.cases[k];
                        let who = Who::Any(o.nameable_in_household(x.household, "PLAN", x.owner));
                        self.denied_error(&fp, "PLAN", who);
                    }
                }
                other => self.fail(format!(
                    "{path:?}: SupportPlan.{other} unknown to the oracle"
                )),
            }
        }
    }

    pub fn assignment(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let id = obj["id"].as_str().unwrap_or_default();
        let Some(p) = w.plans.iter().position(|x| x.assignment == id) else {
            return self.fail(format!("{path:?}: unknown assignment id {id}"));
        };
        let pp = &w.plans[p];
        if !o.sees_case_content(pp.case, "PLAN") {
            return self.fail(format!(
                "LEAK {path:?}: assignment of plan {p} without PLAN"
            ));
        }
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "role" | "dueOn" => {}
                "agency" => {
                    if got["id"] != json!(w.agencies[pp.assignment_agency].id) {
                        self.fail(format!("{fp:?}: wrong agency {got}"));
                    }
                }
                "task" => self.case_content(pp.case, &fp, got, "PLAN", json!(pp.task)),
                "contactFrequency" => {
                    self.case_content(pp.case, &fp, got, "PLAN", json!(pp.frequency))
                }
                other => self.fail(format!(
                    "{path:?}: PlanAssignment.{other} unknown to the oracle"
                )),
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
                    let who =
                        Who::Any(o.nameable_in_household(mm.household, "NARRATIVE", mm.convener));
                    self.field(
                        &fp,
                        got,
                        o.sees_minutes(m),
                        "NARRATIVE",
                        json!(mm.minutes),
                        who,
                    )
                }
                "caseId" => self.id_ref(&fp, got, o.case_ref(mm.case), "Meeting.caseId"),
                "decisions" => {
                    let want = set(w
                        .decisions
                        .iter()
                        .filter(|d| d.meeting == Some(m) && o.knows_case(d.case))
                        .map(|d| d.id.clone()));
                    self.list(&fp, got, want, "meeting decision");
                    self.walk(got, fp);
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
