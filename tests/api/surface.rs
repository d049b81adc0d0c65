//! The whole API surface under roles that may not use it: every mutation refused with
//! FORBIDDEN and nothing written; plus the plain HTTP endpoints and the body limit.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(mutations_need_their_role, http_endpoints_and_body_limit);

/// (mutation, variables) — well-formed calls, refused only for the caller's role.
fn mutations(agency: &str, person: &str, uuid: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
         json!({ "i": { "code": "x-agency", "name": "X", "kind": "OUTREACH", "legalRegime": "PUBLIC_BODY" } })),
        ("mutation($id: ID!) { updateAgency(id: $id, version: 1, input: { name: \"Y\" }) { id } }", json!({ "id": agency })),
        ("mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
         json!({ "i": { "login": "x-login", "displayName": "X", "agencyId": agency, "kind": "STAFF", "roles": ["ADMIN"] } })),
        ("mutation($id: ID!) { updateAccount(id: $id, version: 1, input: { displayName: \"Y\" }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { setAccountRoles(id: $id, version: 1, roles: [ADMIN]) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { deactivateAccount(id: $id, version: 1) { id } }", json!({ "id": uuid })),
        ("mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }", json!({ "i": person_input("新", "規", "シン", "キ") })),
        ("mutation($id: ID!) { updatePerson(id: $id, version: 1, input: { givenName: \"改\" }) { id } }", json!({ "id": person })),
        ("mutation($p: ID!) { createHousehold(members: [{ personId: $p, relationship: \"本人\", isHead: true }]) { id } }", json!({ "p": person })),
        ("mutation($h: ID!, $p: ID!) { addHouseholdMember(householdId: $h, member: { personId: $p, relationship: \"妻\" }) { id } }", json!({ "h": uuid, "p": person })),
        ("mutation($m: ID!) { endHouseholdMembership(memberId: $m, leftOn: \"2026-01-01\") { id } }", json!({ "m": uuid })),
        ("mutation($p: ID!) { recordConsultation(input: { receivedAt: \"2026-10-01T00:00:00Z\", channel: PHONE, subjectPersonIds: [$p], issues: [], summary: \"相談\", urgency: LOW }) { id } }", json!({ "p": person })),
        ("mutation($id: ID!) { setConsultationStatus(id: $id, version: 1, status: CLOSED) { id } }", json!({ "id": uuid })),
        ("mutation($p: ID!, $a: ID!) { proposeReferral(input: { personId: $p, toAgencyId: $a, reason: \"理由\" }) { id } }", json!({ "p": person, "a": agency })),
        ("mutation($id: ID!) { acceptReferral(id: $id, version: 1) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { declineReferral(id: $id, version: 1, reason: \"r\") { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { completeReferral(id: $id, version: 1) { id } }", json!({ "id": uuid })),
        ("mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id } }", json!({ "i": consent_input(person, &["IDENTITY"], &[agency], &[]) })),
        ("mutation($id: ID!) { withdrawConsent(id: $id, version: 1) { id } }", json!({ "id": uuid })),
        ("mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"十分に長い緊急の理由です\") { id } }", json!({ "p": person })),
        ("mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"n\") { id } }", json!({ "id": uuid })),
        ("mutation { createCommunityResource(input: { kind: SALON, name: \"s\" }) { id } }", json!({})),
        ("mutation($id: ID!) { updateCommunityResource(id: $id, version: 1, input: { kind: SALON, name: \"s\" }) { id } }", json!({ "id": uuid })),
        ("mutation($p: ID!, $r: ID!) { startPlacement(personId: $p, resourceId: $r, startedOn: \"2026-11-01\") { id } }", json!({ "p": person, "r": uuid })),
        ("mutation($id: ID!) { setPlacementStatus(id: $id, version: 1, status: PAUSED) { id } }", json!({ "id": uuid })),
        ("mutation($h: ID!) { openCase(input: { householdId: $h, openedOn: \"2026-10-01\" }) { id } }", json!({ "h": uuid })),
        ("mutation($id: ID!) { advanceCase(id: $id, version: 1, to: PLANNING) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { suspendCase(id: $id, version: 1, decision: { decidedOn: \"2026-10-02\", decider: \"課長\", reason: REFUSED }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { resumeCase(id: $id, version: 1, decision: { decidedOn: \"2026-10-02\", decider: \"課長\", reason: OTHER }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { closeCase(id: $id, version: 1, decision: { decidedOn: \"2026-10-02\", decider: \"課長\", reason: GOAL_ACHIEVED }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { recordSupportDecision(caseId: $id, input: { decidedOn: \"2026-10-02\", decider: \"課長\", basis: \"要綱\" }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!, $a: ID!) { addInvolvement(caseId: $id, input: { agencyId: $a, role: LEAD, startedOn: \"2026-10-02\" }) { id } }", json!({ "id": uuid, "a": agency })),
        ("mutation($id: ID!) { endInvolvement(id: $id, version: 1, endedOn: \"2026-10-02\") { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { createPlanVersion(caseId: $id, input: { wishes: \"w\", longTermGoal: \"g\", shortTermGoals: [], nextReviewOn: \"2027-01-01\", assignments: [] }) { id } }", json!({ "id": uuid })),
        ("mutation($id: ID!) { recordPlanAgreement(planId: $id, agreedOn: \"2026-10-02\", method: SIGNED) { id } }", json!({ "id": uuid })),
        ("mutation($a: ID!) { createMeeting(input: { kind: CASE_CONFERENCE, householdId: $a, heldAt: \"2026-10-01T00:00:00Z\", participantAgencyIds: [$a], categories: [] }) { id } }", json!({ "a": agency })),
        ("mutation($id: ID!) { updateMeetingMinutes(id: $id, version: 1, minutes: \"m\") { id } }", json!({ "id": uuid })),
        ("mutation($p: ID!) { recordActivity(input: { kind: MONITORING, personId: $p, occurredOn: \"2026-01-01\", note: \"n\" }) { id } }", json!({ "p": person })),
    ]
}

const REGISTRY_ONLY: usize = 6;

async fn mutations_need_their_role(srv: &Server) {
    let a = srv.agency("surface-a", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("surface-cw", &a, &["caseworker"]).await;
    let (_, analyst) = srv.account("surface-analyst", &a, &["analyst"]).await;
    let (_, auditor) = srv
        .account("surface-auditor", &srv.city_agency, &["auditor"])
        .await;
    let person = srv
        .person(&cw, person_input("表面", "太郎", "ヒョウメン", "タロウ"))
        .await;
    let uuid = "01890000-0000-7000-8000-000000000000";
    let before_ledger = srv.ledger().await.len();
    let before_persons = entity::person::Entity::find().count(&srv.db).await.unwrap();
    let all = mutations(&a, &person, uuid);
    // The list covers every mutation the schema has (asked by introspection).
    let schema = srv
        .gql(
            &cw,
            "{ __type(name: \"Mutation\") { fields { name } } }",
            json!({}),
        )
        .await;
    let mut in_schema: Vec<String> = schema.ok()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let mut listed: Vec<String> = all
        .iter()
        .map(|(m, _)| {
            let body = match m.find(") {") {
                Some(i) if m.starts_with("mutation(") => &m[i + 3..],
                _ => &m["mutation {".len()..],
            };
            body.trim_start()
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    in_schema.sort();
    listed.sort();
    assert_eq!(listed, in_schema, "every mutation of the schema is listed");
    for (i, (m, vars)) in all.iter().enumerate() {
        // Analysts and auditors may do none of them.
        for tok in [&analyst, &auditor] {
            let r = srv.gql(tok, m, vars.clone()).await;
            r.only_error("FORBIDDEN");
            assert_eq!(r.data(), &Value::Null, "{m}");
        }
        // Caseworkers may do none of the registry ones.
        if i < REGISTRY_ONLY {
            srv.gql(&cw, m, vars.clone()).await.only_error("FORBIDDEN");
        }
    }
    assert_eq!(
        srv.ledger().await.len(),
        before_ledger,
        "nothing was written, not even to the ledger"
    );
    assert_eq!(
        entity::person::Entity::find().count(&srv.db).await.unwrap(),
        before_persons
    );
    let agencies = srv
        .gql(&srv.admin_token, "{ agencies { code name } }", json!({}))
        .await;
    let agencies = agencies.ok()["agencies"].as_array().unwrap().clone();
    assert!(agencies
        .iter()
        .all(|a| a["code"] != "x-agency" && a["name"] != "Y"));
}

async fn http_endpoints_and_body_limit(srv: &Server) {
    let client = reqwest::Client::new();
    let h = client.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(h.status(), 200);
    let r = client.get(srv.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
    // A body over the limit (256 KiB here) is refused before it is parsed.
    let huge = "x".repeat(300 * 1024);
    let big = client
        .post(srv.url("/graphql"))
        .bearer_auth(&srv.admin_token)
        .header("content-type", "application/json")
        .body(
            json!({ "query": format!("{{ viewer {{ account {{ login }} }} }} # {huge}") })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    // As a coded GraphQL error, like every other refusal.
    let big: Value = big.json().await.unwrap();
    assert_eq!(
        big["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{big}"
    );
    assert_eq!(big["errors"][0]["extensions"]["reason"], "body_too_large");
    // Unauthenticated requests are refused before the body is parsed.
    let anon = srv
        .raw(None, json!({ "query": "{ agencies { code } }" }))
        .await;
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.only_error("UNAUTHENTICATED")["extensions"]["reason"],
        "missing_token"
    );
}
