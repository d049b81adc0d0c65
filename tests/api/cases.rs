//! Support cases (多機関協働) through the HTTP API: every legal status move and a table of
//! illegal ones (each BAD_USER_INPUT, nothing written), 支援決定 before the plan's agreement
//! and the agreement before ACTIVE, versioned plans with their history, stale versions,
//! closure with reason and meeting, one open LEAD, the coordinator views, and who may see
//! and change a case: the owning agency's coordinators write, its caseworkers only read,
//! another agency sees the case only with a PLAN basis for a member and its content only
//! with one for every member, and an agency without one cannot tell it from a random id.

use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    concurrent_open_case_one_wins,
    meeting_links_need_part_and_kind,
    legal_transitions_record_decisions,
    illegal_transitions_change_nothing,
    stale_versions_conflict,
    plan_versions_keep_their_history,
    closure_links_a_meeting_of_the_household,
    one_open_lead_per_case,
    coordinator_views,
    access_follows_the_plan_basis
);

const OPEN: &str =
    "mutation($i: OpenCaseInput!) { openCase(input: $i) { id status version leadAccountId } }";
const ADVANCE: &str = "mutation($id: ID!, $v: Int!, $to: CaseStatus!) { advanceCase(id: $id, version: $v, to: $to) { status version } }";
pub(crate) const SUSPEND: &str = "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { suspendCase(id: $id, version: $v, decision: $d) { status statusBeforeSuspension version } }";
const RESUME: &str = "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { resumeCase(id: $id, version: $v, decision: $d) { status statusBeforeSuspension version } }";
const CLOSE: &str = "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { closeCase(id: $id, version: $v, decision: $d) { status closedOn version } }";
const DECIDE: &str = "mutation($id: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $id, input: $i) { version supportDecision { kind decider } } }";
const PLAN: &str = "mutation($id: ID!, $i: PlanInput!) { createPlanVersion(caseId: $id, input: $i) { id planVersion } }";
const AGREE: &str = "mutation($id: ID!) { recordPlanAgreement(planId: $id, agreedOn: \"2026-10-12\", method: SIGNED) { id agreedOn agreementMethod } }";
const ADD_INV: &str = "mutation($id: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $id, input: $i) { id role version } }";
const END_INV: &str = "mutation($id: ID!, $v: Int!, $e: Date!) { endInvolvement(id: $id, version: $v, endedOn: $e) { id endedOn version } }";
const STATE: &str = "query($id: ID!) { supportCase(id: $id) { status version } }";
const CASE: &str = r#"query ReadCase($id: ID!) { supportCase(id: $id) { id status version leadAccountId
  decisions { kind decidedOn decider basis reason note meetingId }
  involvements { id role endedOn version agency { id } }
  currentPlan { id planVersion wishes agreedOn }
  plans { id planVersion wishes longTermGoal shortTermGoals nextReviewOn agreedOn agreementMethod
          assignments { role task contactFrequency dueOn agency { id } } } } }"#;

/// Agency A runs cases; B and C are other agencies; D is a fourth.
struct World {
    a: String,
    b: String,
    a_coord: (String, String),
    a_coord2: (String, String),
    a_cw: String,
    b_coord: String,
    c_coord: String,
    d_coord: String,
    p1: String,
    p2: String,
}

async fn world(srv: &Server) -> World {
    let a = srv.agency("case-a", "MULTI_AGENCY").await;
    let b = srv.agency("case-b", "DISABILITY").await;
    let c = srv.agency("case-c", "SELF_RELIANCE").await;
    let d = srv.agency("case-d", "OUTREACH").await;
    let a_coord = srv.account("case-a-coord", &a, &["coordinator"]).await;
    let a_coord2 = srv.account("case-a-coord2", &a, &["coordinator"]).await;
    let (_, a_cw) = srv.account("case-a-cw", &a, &["caseworker"]).await;
    let (_, b_coord) = srv.account("case-b-coord", &b, &["coordinator"]).await;
    let (_, c_coord) = srv.account("case-c-coord", &c, &["coordinator"]).await;
    let (_, d_coord) = srv.account("case-d-coord", &d, &["coordinator"]).await;
    let p1 = srv
        .person(&a_cw, person_input("佐藤", "花子", "サトウ", "ハナコ"))
        .await;
    let p2 = srv
        .person(&a_cw, person_input("佐藤", "一郎", "サトウ", "イチロウ"))
        .await;
    World {
        a,
        b,
        a_coord,
        a_coord2,
        a_cw,
        b_coord,
        c_coord,
        d_coord,
        p1,
        p2,
    }
}

pub(crate) async fn open(srv: &Server, tok: &str, hh: &str) -> (String, i64) {
    let r = srv
        .gql(
            tok,
            OPEN,
            json!({ "i": { "householdId": hh, "openedOn": "2026-10-01" } }),
        )
        .await;
    let c = &r.ok()["openCase"];
    assert_eq!(c["status"], "ASSESSMENT");
    (
        c["id"].as_str().unwrap().to_owned(),
        c["version"].as_i64().unwrap(),
    )
}

pub(crate) fn decision(reason: &str) -> Value {
    json!({ "decidedOn": "2026-10-10", "decider": "福祉課長", "reason": reason, "note": "本人と面談のうえ決定" })
}

fn support_input() -> Value {
    json!({ "decidedOn": "2026-10-05", "decider": "福祉部長", "basis": "重層的支援体制整備事業実施要綱 第5条" })
}

fn plan_input(review: &str, agencies: &[&str]) -> Value {
    let assignments: Vec<Value> = agencies
        .iter()
        .enumerate()
        .map(|(i, a)| json!({ "agencyId": a, "role": if i == 0 { "LEAD" } else { "SUPPORTING" },
            "task": format!("訪問と見守り {i}"), "contactFrequency": "月1回", "dueOn": "2027-03-31" }))
        .collect();
    json!({ "wishes": "家で母と暮らし続けたい", "longTermGoal": "地域の居場所につながる",
        "shortTermGoals": ["週1回外出する", "生活リズムを整える"], "nextReviewOn": review, "assignments": assignments })
}

pub(crate) async fn state(srv: &Server, tok: &str, id: &str) -> (String, i64) {
    let r = srv.gql(tok, STATE, json!({ "id": id })).await;
    let c = &r.ok()["supportCase"];
    (
        c["status"].as_str().unwrap().to_owned(),
        c["version"].as_i64().unwrap(),
    )
}

async fn advance(srv: &Server, tok: &str, id: &str, v: i64, to: &str) -> Gql {
    srv.gql(tok, ADVANCE, json!({ "id": id, "v": v, "to": to }))
        .await
}

async fn decide(srv: &Server, tok: &str, q: &str, id: &str, v: i64, reason: &str) -> Gql {
    srv.gql(tok, q, json!({ "id": id, "v": v, "d": decision(reason) }))
        .await
}

pub(crate) async fn create_plan(
    srv: &Server,
    tok: &str,
    id: &str,
    review: &str,
    agencies: &[&str],
) -> Gql {
    srv.gql(
        tok,
        PLAN,
        json!({ "id": id, "i": plan_input(review, agencies) }),
    )
    .await
}

pub(crate) fn plan_id(r: &Gql) -> String {
    r.ok()["createPlanVersion"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A fresh case of `hh` brought to `status` by legal moves; returns (id, version).
async fn walk_to(srv: &Server, w: &World, hh: &str, status: &str) -> (String, i64) {
    let tok = &w.a_coord.1;
    let (id, _) = open(srv, tok, hh).await;
    let steps: &[&str] = match status {
        "ASSESSMENT" => &[],
        "PLANNING" => &["PLANNING"],
        "ACTIVE" => &["PLANNING", "plan", "ACTIVE"],
        "MONITORING" => &["PLANNING", "plan", "ACTIVE", "MONITORING"],
        "SUSPENDED" => &["suspend"],
        "CLOSED" => &["close"],
        other => panic!("{other}"),
    };
    for step in steps {
        let v = state(srv, tok, &id).await.1;
        match *step {
            "plan" => {
                let p = plan_id(&create_plan(srv, tok, &id, "2099-01-01", &[&w.a]).await);
                srv.gql(tok, DECIDE, json!({ "id": id, "i": support_input() }))
                    .await
                    .ok();
                srv.gql(tok, AGREE, json!({ "id": p })).await.ok();
            }
            "suspend" => {
                decide(srv, tok, SUSPEND, &id, v, "REFUSED").await.ok();
            }
            "close" => {
                decide(srv, tok, CLOSE, &id, v, "MOVED_OUT").await.ok();
            }
            to => {
                advance(srv, tok, &id, v, to).await.ok();
            }
        }
    }
    let (s, v) = state(srv, tok, &id).await;
    assert_eq!(s, status);
    (id, v)
}

fn field_of(r: &Gql, code: &str) -> String {
    r.only_error(code)["extensions"]["field"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn legal_transitions_record_decisions(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1, &w.p2]).await;
    let r = srv
        .gql(
            tok,
            OPEN,
            json!({ "i": { "householdId": hh, "openedOn": "2026-10-01" } }),
        )
        .await;
    let opened = &r.ok()["openCase"];
    assert_eq!(opened["leadAccountId"], w.a_coord.0.as_str());
    assert_eq!(opened["version"], 1);
    let id = opened["id"].as_str().unwrap().to_owned();
    // One open case per household and agency.
    let again = srv
        .gql(
            tok,
            OPEN,
            json!({ "i": { "householdId": hh, "openedOn": "2026-10-01" } }),
        )
        .await;
    assert_eq!(field_of(&again, "BAD_USER_INPUT"), "input.householdId");

    let r = advance(srv, tok, &id, 1, "PLANNING").await;
    assert_eq!(
        r.ok()["advanceCase"],
        json!({ "status": "PLANNING", "version": 2 })
    );
    let plan = plan_id(&create_plan(srv, tok, &id, "2099-01-01", &[&w.a, &w.b]).await);
    // The agreement needs the 支援決定; ACTIVE needs the agreement.
    let early = srv.gql(tok, AGREE, json!({ "id": plan })).await;
    assert_eq!(field_of(&early, "BAD_USER_INPUT"), "planId");
    let v = state(srv, tok, &id).await.1;
    assert_eq!(v, 3);
    let r = advance(srv, tok, &id, v, "ACTIVE").await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "to");
    let r = srv
        .gql(tok, DECIDE, json!({ "id": id, "i": support_input() }))
        .await;
    assert_eq!(r.ok()["recordSupportDecision"]["version"], 4);
    assert_eq!(
        r.ok()["recordSupportDecision"]["supportDecision"]["kind"],
        "SUPPORT_DECISION"
    );
    let twice = srv
        .gql(tok, DECIDE, json!({ "id": id, "i": support_input() }))
        .await;
    assert_eq!(field_of(&twice, "BAD_USER_INPUT"), "caseId");
    let agreed = srv.gql(tok, AGREE, json!({ "id": plan })).await;
    assert_eq!(
        agreed.ok()["recordPlanAgreement"]["agreementMethod"],
        "SIGNED"
    );
    let mut v = 5;
    for to in ["ACTIVE", "MONITORING", "ACTIVE", "MONITORING"] {
        let r = advance(srv, tok, &id, v, to).await;
        v += 1;
        assert_eq!(r.ok()["advanceCase"], json!({ "status": to, "version": v }));
    }
    // Suspended from MONITORING and from ACTIVE, each resumed to where it was.
    for before in ["MONITORING", "ACTIVE"] {
        if before == "ACTIVE" {
            advance(srv, tok, &id, v, "ACTIVE").await.ok();
            v += 1;
        }
        let s = decide(srv, tok, SUSPEND, &id, v, "LOST_CONTACT").await;
        v += 1;
        assert_eq!(
            s.ok()["suspendCase"],
            json!({ "status": "SUSPENDED", "statusBeforeSuspension": before, "version": v })
        );
        let r = decide(srv, tok, RESUME, &id, v, "OTHER").await;
        v += 1;
        assert_eq!(
            r.ok()["resumeCase"],
            json!({ "status": before, "statusBeforeSuspension": null, "version": v })
        );
    }
    let before_ledger = srv.ledger().await.len();
    let c = decide(srv, tok, CLOSE, &id, v, "GOAL_ACHIEVED").await;
    assert_eq!(
        c.ok()["closeCase"],
        json!({ "status": "CLOSED", "closedOn": "2026-10-10", "version": v + 1 })
    );
    // The closure's ledger rows: one per member, field names only.
    let rows = srv.ledger().await;
    let new: Vec<_> = rows[before_ledger..].iter().collect();
    assert_eq!(new.len(), 2, "{new:?}");
    let mut subjects: Vec<_> = new
        .iter()
        .map(|e| e.subject_person_id.clone().unwrap())
        .collect();
    subjects.sort();
    let mut members = vec![w.p1.clone(), w.p2.clone()];
    members.sort();
    assert_eq!(subjects, members);
    for e in &new {
        assert_eq!(
            (
                e.action.as_str(),
                e.operation.as_str(),
                e.record_type.as_str()
            ),
            ("WRITE", "closeCase", "support_case")
        );
        assert_eq!(e.record_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.account_id.as_deref(), Some(w.a_coord.0.as_str()));
        assert!(!e.detail.contains("面談") && !e.detail.contains("GOAL_ACHIEVED"));
        assert!(e.detail.contains("closedOn"), "{}", e.detail);
    }
    let all = srv.gql(tok, CASE, json!({ "id": id })).await;
    let kinds: Vec<_> = all.ok()["supportCase"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "SUPPORT_DECISION",
            "SUSPENSION",
            "RESUMPTION",
            "SUSPENSION",
            "RESUMPTION",
            "CLOSURE"
        ]
    );
    let closure = &all.ok()["supportCase"]["decisions"][5];
    assert_eq!(closure["reason"], "GOAL_ACHIEVED");
    assert_eq!(closure["note"], "本人と面談のうえ決定");
    assert_eq!(closure["decider"], "福祉課長");

    // Suspension from ASSESSMENT and PLANNING, and closure of a suspended case, under the
    // second coordinator of A.
    let tok2 = &w.a_coord2.1;
    let hh2 = srv.household(&w.a_cw, &[&w.p1]).await;
    let (id2, v2) = open(srv, tok2, &hh2).await;
    let s = decide(srv, tok2, SUSPEND, &id2, v2, "REFUSED").await;
    assert_eq!(
        s.ok()["suspendCase"]["statusBeforeSuspension"],
        "ASSESSMENT"
    );
    let r = decide(srv, tok2, RESUME, &id2, v2 + 1, "OTHER").await;
    assert_eq!(r.ok()["resumeCase"]["status"], "ASSESSMENT");
    advance(srv, tok2, &id2, v2 + 2, "PLANNING").await.ok();
    let s = decide(srv, tok2, SUSPEND, &id2, v2 + 3, "REFUSED").await;
    assert_eq!(s.ok()["suspendCase"]["statusBeforeSuspension"], "PLANNING");
    let c = decide(srv, tok2, CLOSE, &id2, v2 + 4, "DIED").await;
    assert_eq!(c.ok()["closeCase"]["status"], "CLOSED");
    // Closing is final; a new case for the household may then be opened.
    open(srv, tok2, &hh2).await;
}

async fn illegal_transitions_change_nothing(srv: &Server) {
    let w = world(srv).await;
    // (status, mutation, target or "", expected error field)
    let table: &[(&str, &str, &str, &str)] = &[
        ("ASSESSMENT", "advance", "ACTIVE", "to"),
        ("ASSESSMENT", "advance", "MONITORING", "to"),
        ("ASSESSMENT", "advance", "ASSESSMENT", "to"),
        ("ASSESSMENT", "advance", "SUSPENDED", "to"),
        ("ASSESSMENT", "advance", "CLOSED", "to"),
        ("ASSESSMENT", "resume", "", "id"),
        ("PLANNING", "advance", "MONITORING", "to"),
        ("PLANNING", "advance", "ASSESSMENT", "to"),
        ("PLANNING", "advance", "PLANNING", "to"),
        ("PLANNING", "advance", "ACTIVE", "to"),
        ("PLANNING", "resume", "", "id"),
        ("ACTIVE", "advance", "PLANNING", "to"),
        ("ACTIVE", "advance", "ASSESSMENT", "to"),
        ("ACTIVE", "advance", "ACTIVE", "to"),
        ("ACTIVE", "resume", "", "id"),
        ("MONITORING", "advance", "PLANNING", "to"),
        ("MONITORING", "advance", "MONITORING", "to"),
        ("MONITORING", "advance", "CLOSED", "to"),
        ("MONITORING", "resume", "", "id"),
        ("SUSPENDED", "advance", "PLANNING", "to"),
        ("SUSPENDED", "advance", "ACTIVE", "to"),
        ("SUSPENDED", "advance", "MONITORING", "to"),
        ("SUSPENDED", "suspend", "", "id"),
        ("CLOSED", "advance", "ACTIVE", "to"),
        ("CLOSED", "advance", "PLANNING", "to"),
        ("CLOSED", "advance", "MONITORING", "to"),
        ("CLOSED", "suspend", "", "id"),
        ("CLOSED", "resume", "", "id"),
        ("CLOSED", "close", "", "id"),
    ];
    let tok = &w.a_coord.1;
    let mut cases = std::collections::HashMap::new();
    for status in [
        "ASSESSMENT",
        "PLANNING",
        "ACTIVE",
        "MONITORING",
        "SUSPENDED",
        "CLOSED",
    ] {
        let hh = srv.household(&w.a_cw, &[&w.p1]).await;
        cases.insert(status, walk_to(srv, &w, &hh, status).await);
    }
    // PLANNING → ACTIVE is illegal without an agreed plan: give that case an unagreed one.
    let (planning, _) = &cases["PLANNING"];
    create_plan(srv, tok, planning, "2099-01-01", &[&w.a])
        .await
        .ok();
    let v = state(srv, tok, planning).await.1;
    cases.insert("PLANNING", (planning.clone(), v));
    for (status, op, to, field) in table {
        let (id, v) = &cases[status];
        let before = srv.snapshot().await;
        let attempt = |who: String| async move {
            match *op {
                "advance" => advance(srv, &who, id, *v, to).await,
                "suspend" => decide(srv, &who, SUSPEND, id, *v, "REFUSED").await,
                "resume" => decide(srv, &who, RESUME, id, *v, "OTHER").await,
                _ => decide(srv, &who, CLOSE, id, *v, "OTHER").await,
            }
        };
        let r = attempt(tok.clone()).await;
        assert_eq!(field_of(&r, "BAD_USER_INPUT"), *field, "{status} {op} {to}");
        assert_eq!(r.data(), &Value::Null);
        // Under a caseworker of the same agency: refused for the role.
        attempt(w.a_cw.clone()).await.only_error("FORBIDDEN");
        srv.assert_unchanged(&before, format!("{status} {op} {to}"))
            .await;
        assert_eq!(
            state(srv, tok, id).await,
            (status.to_string(), *v),
            "{status} {op} {to}"
        );
    }
}

async fn stale_versions_conflict(srv: &Server) {
    let w = world(srv).await;
    let hh = srv.household(&w.a_cw, &[&w.p1]).await;
    let (id, v) = open(srv, &w.a_coord.1, &hh).await;
    advance(srv, &w.a_coord.1, &id, v, "PLANNING").await.ok();
    let before = srv.snapshot().await;
    for tok in [&w.a_coord.1, &w.a_coord2.1] {
        let r = advance(srv, tok, &id, v, "PLANNING").await;
        r.only_error("CONFLICT");
        let r = decide(srv, tok, SUSPEND, &id, v, "REFUSED").await;
        r.only_error("CONFLICT");
        let r = decide(srv, tok, CLOSE, &id, v + 5, "REFUSED").await;
        r.only_error("CONFLICT");
    }
    srv.assert_unchanged(&before, "stale versions").await;
    assert_eq!(state(srv, &w.a_coord.1, &id).await, ("PLANNING".into(), 2));
    // The other coordinator of the same agency, with the current version, may write.
    let s = decide(srv, &w.a_coord2.1, SUSPEND, &id, 2, "REFUSED").await;
    assert_eq!(s.ok()["suspendCase"]["version"], 3);
    // An involvement's own version.
    let r = srv
        .gql(
            &w.a_coord.1,
            ADD_INV,
            json!({ "id": id, "i": { "agencyId": w.b, "role": "SUPPORTING", "startedOn": "2026-10-02" } }),
        )
        .await;
    let inv = r.ok()["addInvolvement"]["id"].as_str().unwrap().to_owned();
    let r = srv
        .gql(
            &w.a_coord.1,
            END_INV,
            json!({ "id": inv, "v": 2, "e": "2026-11-01" }),
        )
        .await;
    r.only_error("CONFLICT");
    let r = srv
        .gql(
            &w.a_coord2.1,
            END_INV,
            json!({ "id": inv, "v": 1, "e": "2026-11-01" }),
        )
        .await;
    assert_eq!(r.ok()["endInvolvement"]["version"], 2);
}

async fn plan_versions_keep_their_history(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1, &w.p2]).await;
    let (id, _) = open(srv, tok, &hh).await;
    let v1 = plan_id(&create_plan(srv, tok, &id, "2099-01-01", &[&w.a, &w.b]).await);
    srv.gql(tok, DECIDE, json!({ "id": id, "i": support_input() }))
        .await
        .ok();
    srv.gql(tok, AGREE, json!({ "id": v1 })).await.ok();
    let mut changed = plan_input("2099-06-01", &[&w.b]);
    changed["wishes"] = json!("一人暮らしを始めたい");
    let r = srv
        .gql(&w.a_coord2.1, PLAN, json!({ "id": id, "i": changed }))
        .await;
    assert_eq!(r.ok()["createPlanVersion"]["planVersion"], 2);
    let v2 = plan_id(&r);
    let all = srv.gql(tok, CASE, json!({ "id": id })).await;
    let c = &all.ok()["supportCase"];
    assert_eq!(c["currentPlan"]["id"], v2.as_str());
    assert_eq!(c["currentPlan"]["agreedOn"], Value::Null);
    let plans = c["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["planVersion"], 2);
    assert_eq!(plans[0]["wishes"], "一人暮らしを始めたい");
    assert_eq!(plans[0]["assignments"][0]["role"], "LEAD");
    assert_eq!(plans[0]["assignments"][0]["agency"]["id"], w.b.as_str());
    // Version 1 is as it was, agreement included.
    assert_eq!(plans[1]["planVersion"], 1);
    assert_eq!(plans[1]["wishes"], "家で母と暮らし続けたい");
    assert_eq!(
        plans[1]["shortTermGoals"],
        json!(["週1回外出する", "生活リズムを整える"])
    );
    assert_eq!(plans[1]["nextReviewOn"], "2099-01-01");
    assert_eq!(plans[1]["agreedOn"], "2026-10-12");
    assert_eq!(plans[1]["assignments"].as_array().unwrap().len(), 2);
    assert_eq!(plans[1]["assignments"][1]["task"], "訪問と見守り 1");
    assert_eq!(plans[1]["assignments"][1]["contactFrequency"], "月1回");
    // Only the latest version takes an agreement, once.
    let old = srv.gql(tok, AGREE, json!({ "id": v1 })).await;
    assert_eq!(field_of(&old, "BAD_USER_INPUT"), "planId");
    srv.gql(tok, AGREE, json!({ "id": v2 })).await.ok();
    let again = srv.gql(&w.a_coord2.1, AGREE, json!({ "id": v2 })).await;
    assert_eq!(field_of(&again, "BAD_USER_INPUT"), "planId");
    // Inputs are checked, naming the field.
    let mut bad = plan_input("2026-13-01", &[&w.a]);
    let r = srv
        .gql(tok, PLAN, json!({ "id": id, "i": bad.clone() }))
        .await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "input.nextReviewOn");
    bad["nextReviewOn"] = json!("2099-01-01");
    bad["assignments"][0]["agencyId"] = json!(uuid::Uuid::new_v4().to_string());
    let r = srv.gql(tok, PLAN, json!({ "id": id, "i": bad })).await;
    assert_eq!(field_of(&r, "NOT_FOUND"), "input.assignments.0.agencyId");
    // Others: A's caseworker may not write; B, without a basis, does not find the case.
    let r = create_plan(srv, &w.a_cw, &id, "2099-01-01", &[&w.a]).await;
    r.only_error("FORBIDDEN");
    let r = create_plan(srv, &w.b_coord, &id, "2099-01-01", &[&w.a]).await;
    assert_eq!(field_of(&r, "NOT_FOUND"), "caseId");
    srv.gql(&w.b_coord, AGREE, json!({ "id": v2 }))
        .await
        .only_error("NOT_FOUND");
    let plans = entity::support_plan::Entity::find()
        .count(&srv.db)
        .await
        .unwrap();
    assert_eq!(plans, 2);
}

async fn insert_meeting(srv: &Server, household: &str, owner: &str) -> String {
    let now = chrono::Utc::now();
    let m = entity::meeting::Model {
        id: uuid::Uuid::now_v7().to_string(),
        kind: "CASE_CONFERENCE".into(),
        household_id: household.into(),
        case_id: None,
        owner_agency_id: owner.into(),
        held_at: now,
        minutes: None,
        period_from: None,
        period_until: None,
        version: 1,
        created_by: "test".into(),
        created_at: now,
        updated_at: now,
    };
    entity::meeting::ActiveModel::from(m.clone())
        .insert(&srv.db)
        .await
        .unwrap();
    m.id
}

async fn closure_links_a_meeting_of_the_household(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1]).await;
    let other_hh = srv.household(&w.a_cw, &[&w.p2]).await;
    let (id, v) = open(srv, tok, &hh).await;
    let here = insert_meeting(srv, &hh, &w.a).await;
    let own_elsewhere = insert_meeting(srv, &other_hh, &w.a).await;
    let foreign = insert_meeting(srv, &other_hh, &w.b).await;
    let close_with = |m: String| {
        let mut d = decision("HANDED_TO_LEAD");
        d["meetingId"] = json!(m);
        srv.gql(tok, CLOSE, json!({ "id": id, "v": v, "d": d }))
    };
    let r = srv.writes_nothing(close_with(own_elsewhere)).await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "decision.meetingId");
    for m in [foreign, uuid::Uuid::new_v4().to_string()] {
        let r = srv.writes_nothing(close_with(m)).await;
        assert_eq!(field_of(&r, "NOT_FOUND"), "decision.meetingId");
    }
    let mut early = decision("HANDED_TO_LEAD");
    early["decidedOn"] = json!("2026-09-30");
    let r = srv
        .gql(tok, CLOSE, json!({ "id": id, "v": v, "d": early }))
        .await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "decision.decidedOn");
    let r = close_with(here.clone()).await;
    assert_eq!(r.ok()["closeCase"]["status"], "CLOSED");
    let c = srv.gql(&w.a_coord2.1, CASE, json!({ "id": id })).await;
    let d = &c.ok()["supportCase"]["decisions"][0];
    assert_eq!(d["kind"], "CLOSURE");
    assert_eq!(d["reason"], "HANDED_TO_LEAD");
    assert_eq!(d["meetingId"], here.as_str());
    assert_eq!(d["decidedOn"], "2026-10-10");
    // A caseworker of A reads it too (OWN), but may not close another case.
    let cw = srv.gql(&w.a_cw, CASE, json!({ "id": id })).await;
    assert_eq!(
        cw.ok()["supportCase"]["decisions"][0]["reason"],
        "HANDED_TO_LEAD"
    );
    let (id2, v2) = open(srv, tok, &other_hh).await;
    decide(srv, &w.a_cw, CLOSE, &id2, v2, "OTHER")
        .await
        .only_error("FORBIDDEN");
}

async fn one_open_lead_per_case(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1]).await;
    let (id, _) = open(srv, tok, &hh).await;
    let add = |who: String, agency: String, role: &'static str, started: &'static str| {
        let id = id.clone();
        async move {
            srv.gql(
                &who,
                ADD_INV,
                json!({ "id": id, "i": { "agencyId": agency, "role": role, "startedOn": started } }),
            )
            .await
        }
    };
    let lead = add(tok.clone(), w.a.clone(), "LEAD", "2026-10-02").await;
    let lead_id = lead.ok()["addInvolvement"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = add(w.a_coord2.1.clone(), w.b.clone(), "LEAD", "2026-10-03").await;
    assert_eq!(field_of(&second, "BAD_USER_INPUT"), "input.role");
    let sup = add(tok.clone(), w.b.clone(), "SUPPORTING", "2026-10-03").await;
    assert_eq!(sup.ok()["addInvolvement"]["role"], "SUPPORTING");
    let dup = add(tok.clone(), w.b.clone(), "SUPPORTING", "2026-10-04").await;
    assert_eq!(field_of(&dup, "BAD_USER_INPUT"), "input.agencyId");
    // Others: A's caseworker is refused; B and C cannot see the case.
    add(w.a_cw.clone(), w.b.clone(), "SUPPORTING", "2026-10-04")
        .await
        .only_error("FORBIDDEN");
    for other in [&w.b_coord, &w.c_coord] {
        let r = add(other.clone(), w.b.clone(), "SUPPORTING", "2026-10-04").await;
        assert_eq!(field_of(&r, "NOT_FOUND"), "caseId");
        let r = srv
            .gql(
                other,
                END_INV,
                json!({ "id": lead_id, "v": 1, "e": "2026-11-01" }),
            )
            .await;
        assert_eq!(field_of(&r, "NOT_FOUND"), "id");
    }
    srv.gql(
        &w.a_cw,
        END_INV,
        json!({ "id": lead_id, "v": 1, "e": "2026-11-01" }),
    )
    .await
    .only_error("FORBIDDEN");
    // Ended not before it started.
    let r = srv
        .gql(
            tok,
            END_INV,
            json!({ "id": lead_id, "v": 1, "e": "2026-10-01" }),
        )
        .await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "endedOn");
    let before = srv.ledger().await.len();
    let r = srv
        .gql(
            tok,
            END_INV,
            json!({ "id": lead_id, "v": 1, "e": "2026-11-01" }),
        )
        .await;
    assert_eq!(r.ok()["endInvolvement"]["endedOn"], "2026-11-01");
    let rows = srv.ledger().await;
    assert_eq!(rows.len(), before + 1);
    assert_eq!(rows[before].operation, "endInvolvement");
    assert_eq!(
        rows[before].subject_person_id.as_deref(),
        Some(w.p1.as_str())
    );
    let r = srv
        .gql(
            tok,
            END_INV,
            json!({ "id": lead_id, "v": 2, "e": "2026-11-02" }),
        )
        .await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "id");
    // With the lead ended, another agency may lead.
    let next = add(w.a_coord2.1.clone(), w.b.clone(), "LEAD", "2026-11-01").await;
    assert_eq!(
        field_of(&next, "BAD_USER_INPUT"),
        "input.agencyId",
        "B is still supporting"
    );
    let c_agency = srv.agency("case-e", "CHILD_FAMILY").await;
    let next = add(w.a_coord2.1.clone(), c_agency, "LEAD", "2026-11-01").await;
    assert_eq!(next.ok()["addInvolvement"]["role"], "LEAD");
    let c = srv.gql(tok, CASE, json!({ "id": id })).await;
    let invs = c.ok()["supportCase"]["involvements"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(invs.len(), 3);
    assert_eq!(invs.iter().filter(|i| i["endedOn"].is_null()).count(), 2);
}

async fn view_ids(srv: &Server, tok: &str, view: &str) -> Vec<String> {
    let r = srv
        .gql(
            tok,
            &format!("{{ {view}(first: 50) {{ edges {{ node {{ id }} }} }} }}"),
            json!({}),
        )
        .await;
    let mut ids: Vec<String> = r.ok()[view]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn coordinator_views(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hhs = [
        srv.household(&w.a_cw, &[&w.p1]).await,
        srv.household(&w.a_cw, &[&w.p1]).await,
        srv.household(&w.a_cw, &[&w.p2]).await,
        srv.household(&w.a_cw, &[&w.p2]).await,
    ];
    // overdue: plan review in the past, agreed; pending: plan not agreed, review ahead.
    let (overdue, _) = open(srv, tok, &hhs[0]).await;
    let p = plan_id(&create_plan(srv, tok, &overdue, "2020-01-01", &[&w.a]).await);
    srv.gql(tok, DECIDE, json!({ "id": overdue, "i": support_input() }))
        .await
        .ok();
    srv.gql(tok, AGREE, json!({ "id": p })).await.ok();
    let (pending, _) = open(srv, tok, &hhs[1]).await;
    create_plan(srv, tok, &pending, "2099-01-01", &[&w.a])
        .await
        .ok();
    // led by the second coordinator, no plan.
    let r = srv
        .gql(
            tok,
            OPEN,
            json!({ "i": { "householdId": hhs[2], "openedOn": "2026-10-01", "leadAccountId": w.a_coord2.0 } }),
        )
        .await;
    let other_lead = r.ok()["openCase"]["id"].as_str().unwrap().to_owned();
    // closed with an involvement left open.
    let (closed, _) = open(srv, tok, &hhs[3]).await;
    srv.gql(
        tok,
        ADD_INV,
        json!({ "id": closed, "i": { "agencyId": w.b, "role": "SUPPORTING", "startedOn": "2026-10-02" } }),
    )
    .await
    .ok();
    let v = state(srv, tok, &closed).await.1;
    decide(srv, tok, CLOSE, &closed, v, "MOVED_OUT").await.ok();

    assert_eq!(
        view_ids(srv, tok, "myCases").await,
        sorted(vec![overdue.clone(), pending.clone()])
    );
    assert_eq!(
        view_ids(srv, &w.a_coord2.1, "myCases").await,
        vec![other_lead.clone()]
    );
    for t in [tok, &w.a_coord2.1] {
        assert_eq!(
            view_ids(srv, t, "overdueReviews").await,
            vec![overdue.clone()]
        );
        assert_eq!(
            view_ids(srv, t, "plansWithoutAgreement").await,
            vec![pending.clone()]
        );
        assert_eq!(
            view_ids(srv, t, "openInvolvementsAfterClosure").await,
            vec![closed.clone()]
        );
    }
    // Paging: one at a time, the cursor carries on.
    let r = srv
        .gql(
            tok,
            "{ myCases(first: 1) { edges { cursor node { id } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["myCases"]["pageInfo"]["hasNextPage"], true);
    let cursor = r.ok()["myCases"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = srv
        .gql(
            tok,
            "query($a: String) { myCases(first: 1, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(r.ok()["myCases"]["pageInfo"]["hasNextPage"], false);
    // Another agency's coordinator sees none of A's cases; a caseworker may not ask.
    for view in [
        "myCases",
        "overdueReviews",
        "plansWithoutAgreement",
        "openInvolvementsAfterClosure",
    ] {
        assert!(view_ids(srv, &w.b_coord, view).await.is_empty(), "{view}");
        let r = srv
            .gql(
                &w.a_cw,
                &format!("{{ {view} {{ edges {{ node {{ id }} }} }} }}"),
                json!({}),
            )
            .await;
        r.only_error("FORBIDDEN");
    }
}

async fn access_follows_the_plan_basis(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1, &w.p2]).await;
    let (id, v) = open(srv, tok, &hh).await;
    let plan = plan_id(&create_plan(srv, tok, &id, "2099-01-01", &[&w.a]).await);
    let v = v + 1;
    let s = decide(srv, tok, SUSPEND, &id, v, "REFUSED").await;
    let v = s.ok()["suspendCase"]["version"].as_i64().unwrap();
    // B: PLAN for both members. C: IDENTITY only. D: PLAN for one member only.
    let (cb1, _) = srv
        .consent(&w.a_cw, consent_input(&w.p1, &["PLAN"], &[&w.b], &[]))
        .await;
    srv.consent(&w.a_cw, consent_input(&w.p2, &["PLAN"], &[&w.b], &[]))
        .await;
    for p in [&w.p1, &w.p2] {
        srv.consent(
            &w.a_cw,
            consent_input(p, &["IDENTITY"], &[], &["SELF_RELIANCE"]),
        )
        .await;
    }
    srv.consent(&w.a_cw, consent_input(&w.p1, &["PLAN"], &[], &["OUTREACH"]))
        .await;

    // The owner's coordinator and caseworker see everything.
    for t in [tok, &w.a_cw] {
        let r = srv.gql(t, CASE, json!({ "id": id })).await;
        let c = &r.ok()["supportCase"];
        assert_eq!(c["plans"][0]["wishes"], "家で母と暮らし続けたい");
        assert_eq!(c["decisions"][0]["note"], "本人と面談のうえ決定");
    }
    // B sees the plan content; the decision's note is NARRATIVE, which B's consent lacks.
    let before = srv.ledger().await.len();
    let r = srv
        .gql(
            &w.b_coord,
            "query BCase($id: ID!) { supportCase(id: $id) { status version currentPlan { id wishes longTermGoal } decisions { kind reason note } } }",
            json!({ "id": id }),
        )
        .await;
    let c = &r.data()["supportCase"];
    assert_eq!(c["status"], "SUSPENDED");
    assert_eq!(c["version"], v);
    assert_eq!(c["currentPlan"]["wishes"], "家で母と暮らし続けたい");
    assert_eq!(c["decisions"][0]["reason"], "REFUSED");
    r.assert_withheld(
        &[
            json!("supportCase"),
            json!("decisions"),
            json!(0),
            json!("note"),
        ],
        "NARRATIVE",
    );
    assert_eq!(r.errors().len(), 1, "{}", r.body);
    // B's read is ledgered per member: PLAN shown on its consent, NARRATIVE withheld.
    let rows: Vec<_> = srv.ledger().await.into_iter().skip(before).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = rows
        .iter()
        .find(|e| e.subject_person_id.as_deref() == Some(w.p1.as_str()))
        .unwrap();
    assert_eq!(
        (row.action.as_str(), row.operation.as_str()),
        ("READ", "BCase")
    );
    assert_eq!(row.shown, r#"["PLAN"]"#);
    assert_eq!(row.withheld, r#"["NARRATIVE"]"#);
    let bases: Value = serde_json::from_str(&row.bases).unwrap();
    assert_eq!(bases["PLAN"], json!([format!("CONSENT:{cb1}")]));
    assert!(row.detail.contains(&plan), "{}", row.detail);
    // B may see but not change it.
    decide(srv, &w.b_coord, RESUME, &id, v, "OTHER")
        .await
        .only_error("FORBIDDEN");
    // D has PLAN for one member only: the case exists for D, its content does not.
    let r = srv
        .gql(
            &w.d_coord,
            "query($id: ID!) { supportCase(id: $id) { status involvements { agency { kind } role } currentPlan { planVersion wishes agreementMethod assignments { agency { kind } role } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.data()["supportCase"]["currentPlan"]["planVersion"], 1);
    // Which agencies are involved, in which role, and how the person agreed are PLAN too.
    for path in [
        vec![json!("supportCase"), json!("currentPlan"), json!("wishes")],
        vec![json!("supportCase"), json!("involvements")],
        vec![
            json!("supportCase"),
            json!("currentPlan"),
            json!("assignments"),
        ],
        vec![
            json!("supportCase"),
            json!("currentPlan"),
            json!("agreementMethod"),
        ],
    ] {
        r.assert_withheld(&path, "PLAN");
    }
    assert!(!r.body.to_string().contains("母と"));
    // C (IDENTITY only) cannot tell the case from a random id, and does not list it.
    let random = uuid::Uuid::new_v4().to_string();
    let hidden = srv.gql(&w.c_coord, STATE, json!({ "id": id })).await;
    let missing = srv.gql(&w.c_coord, STATE, json!({ "id": random })).await;
    assert_eq!(
        hidden.only_error("NOT_FOUND")["message"],
        missing.only_error("NOT_FOUND")["message"]
    );
    assert_eq!(hidden.body.to_string(), missing.body.to_string());
    let r = decide(srv, &w.c_coord, RESUME, &id, v, "OTHER").await;
    assert_eq!(
        r.body.to_string(),
        decide(srv, &w.c_coord, RESUME, &random, v, "OTHER")
            .await
            .body
            .to_string()
    );
    let list = "query($h: ID!) { supportCases(householdId: $h) { id } }";
    for (t, n) in [(&w.c_coord, 0), (&w.b_coord, 1), (tok, 1)] {
        let r = srv.gql(t, list, json!({ "h": hh })).await;
        assert_eq!(r.ok()["supportCases"].as_array().unwrap().len(), n);
    }
    // Nobody else reached the plan by id either.
    let r = srv.gql(&w.c_coord, AGREE, json!({ "id": plan })).await;
    assert_eq!(field_of(&r, "NOT_FOUND"), "planId");
    // The write ledger of openCase names both members.
    let opens: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.operation == "openCase")
        .collect();
    assert_eq!(opens.len(), 2);
    assert!(opens
        .iter()
        .all(|e| e.record_id.as_deref() == Some(id.as_str())));
}

/// A decision may cite only a meeting the caller's agency took part in; a 支援決定 is never
/// taken at a 支援会議; a meeting lists only decisions on cases the caller may see.
async fn meeting_links_need_part_and_kind(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1]).await;
    let (id, _) = open(srv, tok, &hh).await;
    // A meeting about the same household convened by B, without A: not citable by A.
    let foreign = insert_meeting(srv, &hh, &w.b).await;
    let mut d = json!({ "decidedOn": "2026-10-10", "decider": "課長", "basis": "要綱第5条" });
    d["meetingId"] = json!(foreign);
    let r = srv
        .writes_nothing(srv.gql(tok, DECIDE, json!({ "id": id, "i": d })))
        .await;
    assert_eq!(field_of(&r, "NOT_FOUND"), "input.meetingId");
    // A's own 支援会議 about the household: not a place for a 支援決定.
    let support = insert_meeting(srv, &hh, &w.a).await;
    {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let m = entity::meeting::Entity::find_by_id(support.clone())
            .one(&srv.db)
            .await
            .unwrap()
            .unwrap();
        let mut am: entity::meeting::ActiveModel = m.into();
        am.kind = Set("SUPPORT_MEETING".into());
        am.update(&srv.db).await.unwrap();
    }
    d["meetingId"] = json!(support);
    let r = srv
        .writes_nothing(srv.gql(tok, DECIDE, json!({ "id": id, "i": d })))
        .await;
    assert_eq!(field_of(&r, "BAD_USER_INPUT"), "input.meetingId");
    // At A's own case conference it is fine, and the meeting lists it for A …
    let conf = insert_meeting(srv, &hh, &w.a).await;
    d["meetingId"] = json!(conf);
    srv.gql(tok, DECIDE, json!({ "id": id, "i": d })).await.ok();
    let q = "query($m: ID!) { meeting(id: $m) { decisions { kind reason } } }";
    let mine = srv.gql(tok, q, json!({ "m": conf })).await;
    assert_eq!(
        mine.ok()["meeting"]["decisions"][0]["kind"],
        "SUPPORT_DECISION"
    );
    // … but a meeting B convened with A as a member lists A's decision only to those who
    // may see A's case: not to B, which has no PLAN basis for the household.
    let b_meeting = insert_meeting(srv, &hh, &w.b).await;
    {
        use sea_orm::ActiveModelTrait;
        entity::meeting_member::ActiveModel::from(entity::meeting_member::Model {
            meeting_id: b_meeting.clone(),
            agency_id: w.a.clone(),
        })
        .insert(&srv.db)
        .await
        .unwrap();
    }
    let c = srv
        .gql(
            tok,
            "query($id: ID!) { supportCase(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    let v = c.ok()["supportCase"]["version"].as_i64().unwrap();
    let mut close = decision("LOST_CONTACT");
    close["meetingId"] = json!(b_meeting);
    srv.gql(tok, CLOSE, json!({ "id": id, "v": v, "d": close }))
        .await
        .ok();
    let for_a = srv.gql(tok, q, json!({ "m": b_meeting })).await;
    assert_eq!(
        for_a.ok()["meeting"]["decisions"][0]["reason"],
        "LOST_CONTACT"
    );
    let for_b = srv.gql(&w.b_coord, q, json!({ "m": b_meeting })).await;
    assert_eq!(
        for_b.ok()["meeting"]["decisions"],
        json!([]),
        "{}",
        for_b.body
    );
}

/// Two openCase calls at once for the same household: the database lets exactly one win; the
/// other is refused (CONFLICT, or BAD_USER_INPUT if it saw the first), and one case exists.
async fn concurrent_open_case_one_wins(srv: &Server) {
    let w = world(srv).await;
    let tok = &w.a_coord.1;
    let hh = srv.household(&w.a_cw, &[&w.p1]).await;
    for _ in 0..3 {
        let vars = json!({ "i": { "householdId": hh, "openedOn": "2026-10-01" } });
        let (x, y) = futures::join!(
            srv.gql(tok, OPEN, vars.clone()),
            srv.gql(tok, OPEN, vars.clone())
        );
        let oks = [&x, &y].iter().filter(|r| r.errors().is_empty()).count();
        assert!(oks <= 1, "both won: {} {}", x.body, y.body);
        for r in [&x, &y] {
            if !r.errors().is_empty() {
                assert!(
                    matches!(r.codes()[0].as_str(), "CONFLICT" | "BAD_USER_INPUT"),
                    "{}",
                    r.body
                );
            }
        }
    }
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::support_case::Entity::find()
            .count(&srv.db)
            .await
            .unwrap(),
        1
    );
}
