//! The structural walk, continued: referrals, activities, placements, support cases,
//! meetings and consents.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::walk::{set, Checker, Who};
use crate::world::ConsentState;
use crate::world_refs::RefKind;

impl Checker<'_> {
    pub fn referral(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |r: usize| o.knows_referral(r);
        let Some(r) = self.record(obj, path, "referral", &w.referrals, |x| &x.id, known) else {
            return;
        };
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
                "fromAgency" => self.agency(&fp, got, rr.from),
                "toAgency" => self.agency(&fp, got, rr.to),
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
                "person" => self.nested_person(fp, got, rr.person, "referral person"),
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Referral, r)
                }
                "consultation" => {
                    let known = rr.consultation.filter(|c| o.knows_consultation(*c));
                    let want = known.map(|c| &w.consultations[c].id);
                    self.nested(fp, got, want, "consultation");
                }
                other => self.fail(format!("{path:?}: Referral.{other} unknown to the oracle")),
            }
        }
    }

    pub fn activity(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |a: usize| o.sees_activity(a);
        let Some(a) = self.record(obj, path, "activity", &w.activities, |x| &x.id, known) else {
            return;
        };
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
                "agency" => self.agency(&fp, got, x.agency),
                "person" => self.nested_person(fp, got, x.person, "activity person"),
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Activity, a)
                }
                other => self.fail(format!("{path:?}: Activity.{other} unknown to the oracle")),
            }
        }
    }

    pub fn placement(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |k: usize| o.sees_placement(k);
        let Some(k) = self.record(obj, path, "placement", &w.placements, |x| &x.id, known) else {
            return;
        };
        let x = &w.placements[k];
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "status" | "resource" => {}
                "agency" => self.agency(&fp, got, x.agency),
                "person" => self.nested_person(fp, got, x.person, "placement person"),
                other => self.fail(format!("{path:?}: Placement.{other} unknown to the oracle")),
            }
        }
    }

    pub fn case(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |k: usize| o.knows_case(k);
        let Some(k) = self.record(obj, path, "support case", &w.cases, |x| &x.id, known) else {
            return;
        };
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
        let known = |d: usize| o.knows_case(w.decisions[d].case);
        let Some(d) = self.record(obj, path, "decision", &w.decisions, |x| &x.id, known) else {
            return;
        };
        let dd = &w.decisions[d];
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
        let known = |d: usize| o.knows_case(w.decisions[d].case);
        let Some(d) = self.record(obj, path, "decision", &w.decisions, |x| &x.id, known) else {
            return;
        };
        let dd = &w.decisions[d];
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
        let known = |i: usize| o.sees_case_content(w.involvements[i].case, "PLAN");
        let Some(i) = self.record(obj, path, "involvement", &w.involvements, |x| &x.id, known)
        else {
            return;
        };
        let ii = &w.involvements[i];
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
        let known = |p: usize| o.knows_case(w.plans[p].case);
        let Some(p) = self.record(obj, path, "plan", &w.plans, |x| &x.id, known) else {
            return;
        };
        let pp = &w.plans[p];
        let k = pp.case;
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
        let known = |p: usize| o.sees_case_content(w.plans[p].case, "PLAN");
        let Some(p) = self.record(obj, path, "assignment", &w.plans, |x| &x.assignment, known)
        else {
            return;
        };
        let pp = &w.plans[p];
        for (key, got) in obj {
            let fp = Self::child(path, key);
            match key.as_str() {
                "__typename" | "id" | "role" | "dueOn" => {}
                "agency" => self.agency(&fp, got, pp.assignment_agency),
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
        let known = |m: usize| o.knows_meeting(m);
        let Some(m) = self.record(obj, path, "meeting", &w.meetings, |x| &x.id, known) else {
            return;
        };
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
                    let known = o.knows_household(mm.household);
                    let want = known.then(|| &w.households[mm.household].id);
                    self.nested(fp, got, want, "household");
                }
                other => self.fail(format!("{path:?}: Meeting.{other} unknown to the oracle")),
            }
        }
    }

    pub fn consent(&mut self, obj: &serde_json::Map<String, Value>, path: &[Value]) {
        let (o, w) = (self.o, self.o.w);
        let known = |k: usize| o.sees_consent(k);
        let Some(k) = self.record(obj, path, "consent", &w.consents, |x| &x.id, known) else {
            return;
        };
        let c = &w.consents[k];
        let all = o.sees_all_recipients(k);
        let me = o.a.agency;
        let my_kind = w.agencies[me].kind;
        for (key, got) in obj {
            let fp = Self::child(path, key);
            let want = match key.as_str() {
                "__typename" | "id" | "proxyRelationship" => continue,
                "externalRefs" | "externalRefsFound" => {
                    self.external_refs(&fp, got, RefKind::Consent, k);
                    continue;
                }
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

impl Checker<'_> {
    /// `externalRefs` of record `x` of type `kind`: exactly the caller's agency's references,
    /// in system order (each with its `createdAt`), never an error; another agency's
    /// reference in it is a LEAK.
    pub fn external_refs(&mut self, path: &[Value], got: &Value, kind: RefKind, x: usize) {
        let o = self.o;
        let want = o.external_refs(kind, x);
        self.no_error(path, "externalRefs");
        let Some(items) = got.as_array() else {
            return self.fail(format!("{path:?}: externalRefs not a list: {got}"));
        };
        let mut refs = Vec::new();
        for r in items {
            if !r["createdAt"].is_string() {
                self.fail(format!("{path:?}: externalRefs without createdAt: {r}"));
            }
            let part = |k: &str| r[k].as_str().unwrap_or("<none>").to_owned();
            refs.push((part("system"), part("externalId")));
        }
        if refs != want {
            let leak = refs.iter().any(|r| !want.contains(r));
            let leak = if leak { "LEAK " } else { "" };
            return self.fail(format!(
                "{leak}{path:?}: externalRefs {refs:?}, oracle (the caller's agency's, in system order) {want:?}"
            ));
        }
        let others = o.w.refs.iter().any(|r| r.kind == kind && r.record == x);
        if !want.is_empty() {
            self.refs_judged[0] += 1;
        } else if others {
            self.refs_judged[1] += 1;
        }
    }
}
