//! Writes on hidden records, for every id-taking mutation (issue 10 §4, rules.md §4): a caller
//! who knows the surrounding context — the person, or the household — but may not know the
//! record answers byte-identically for that record and for a random id that does not exist
//! (same `data`, same message, same `extensions` incl. `code` and `field`), and writes
//! nothing (the ledger may keep READ rows of what was withheld from it, never a WRITE). The table's NonOwner column asks a caller who knows nothing; this asks one who
//! knows enough to be told the difference.
//!
//! The caller is K, a 多機関協働 agency's coordinator (the widest set of actions) holding
//! p1's IDENTITY and HOUSEHOLD consent: K knows p1, household H and p1's membership, and
//! nothing else of A's — not p4 or p4's membership of H, not H2, the consultation, the
//! referrals, the consents naming R, the placement, the case, its plan and involvement, the
//! meeting, or A's accounts and service clients.
//!
//! The mutations are found in the schema: every Mutation field with an ID argument, or an
//! input object argument holding one (at any depth), must have a probe below or an
//! exemption saying why it cannot hide anything; a new one fails the test until classified.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, Server};

use super::mass::{input_types, named, Inputs};
use super::world::{self, plan_input, Who, World};
use super::{caught, current_version, last_seq, ledger_after, with_probe};

/// One hidden id sent to one mutation.
struct Probe {
    op: &'static str,
    vars: fn(&World) -> Value,
    /// JSON pointer to the hidden id in the variables (replaced by a random id to compare).
    pointer: &'static str,
    /// The table of the hidden record, whose current version is passed as `$v`.
    versioned: Option<&'static str>,
    /// The code both answers carry.
    code: &'static str,
    /// The `extensions.field` both answers carry (None: the code carries none).
    field: Option<&'static str>,
}

const NOT_FOUND: &str = "NOT_FOUND";
/// Admin-only mutations: a non-admin is refused before any id is looked at.
const FORBIDDEN: &str = "FORBIDDEN";

fn probe(
    op: &'static str,
    vars: fn(&World) -> Value,
    pointer: &'static str,
    versioned: Option<&'static str>,
    field: &'static str,
) -> Probe {
    Probe {
        op,
        vars,
        pointer,
        versioned,
        code: NOT_FOUND,
        field: Some(field),
    }
}

fn admin_only(
    op: &'static str,
    vars: fn(&World) -> Value,
    pointer: &'static str,
    versioned: Option<&'static str>,
) -> Probe {
    Probe {
        op,
        vars,
        pointer,
        versioned,
        code: FORBIDDEN,
        field: None,
    }
}

/// Id-taking mutations that cannot hide anything, and why.
const EXEMPT: &[(&str, &str)] = &[
    (
        "updateAgency",
        "agencies are the public directory (Query.agencies): every caller may know every agency id",
    ),
    (
        "createAccount",
        "its only id is input.agencyId, an agency of the public directory",
    ),
    (
        "updateCommunityResource",
        "community resources are public (communityResource(id) answers every role): none is hidden",
    ),
    (
        "requestEmergencyAccess",
        "break-glass opens a person the caller has no basis for — that is its point (README §6: ledgered, alerted, reviewed); it must tell an existing person from a random id",
    ),
];

fn decision(reason: &str) -> Value {
    json!({ "decidedOn": "2026-10-10", "decider": "福祉課長", "reason": reason })
}

fn probes() -> Vec<Probe> {
    vec![
        // 個人・世帯
        probe(
            "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.p4, "i": { "givenName": "五郎" } }),
            "/id",
            Some("person"),
            "id",
        ),
        // 名寄せの結びつき: K knows p1, not p4 (nor the p1–p4 link).
        probe(
            "mutation($p: ID!, $o: ID!) { proposePersonLink(personId: $p, otherPersonId: $o) { id } }",
            |w| json!({ "p": w.p1, "o": w.p4 }),
            "/o",
            None,
            "otherPersonId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { confirmPersonLink(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.link }),
            "/id",
            Some("person_link"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { revokePersonLink(id: $id, version: $v, reason: \"確認\") { id } }",
            |w| json!({ "id": w.link }),
            "/id",
            Some("person_link"),
            "id",
        ),
        probe(
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            |w| json!({ "m": [
                { "personId": w.p1, "relationship": "本人", "isHead": true },
                { "personId": w.p4, "relationship": "弟" },
            ] }),
            "/m/1/personId",
            None,
            "members.1.personId",
        ),
        probe(
            "mutation($h: ID!, $m: MemberInput!) { addHouseholdMember(householdId: $h, member: $m) { id } }",
            |w| json!({ "h": w.household2, "m": { "personId": w.p1, "relationship": "同居人" } }),
            "/h",
            None,
            "householdId",
        ),
        probe(
            "mutation($m: ID!) { endHouseholdMembership(memberId: $m, leftOn: \"2026-11-01\") { id } }",
            |w| json!({ "m": w.member }),
            "/m",
            None,
            "memberId",
        ),
        probe(
            "mutation($r: ExternalRefInput!, $m: [MemberInput!]!) { upsertHousehold(ref: $r, members: $m) { household { id } } }",
            |w| json!({ "r": { "system": "hidden", "externalId": "H-1" }, "m": [
                { "personId": w.p1, "relationship": "本人", "isHead": true },
                { "personId": w.p4, "relationship": "弟" },
            ] }),
            "/m/1/personId",
            None,
            "members.1.personId",
        ),
        probe(
            "mutation($r: ExternalRefInput!, $i: RecordConsultationInput!) { upsertConsultation(ref: $r, input: $i) { consultation { id } } }",
            |w| json!({ "r": { "system": "hidden", "externalId": "C-1" }, "i": { "receivedAt": "2026-10-05T09:00:00Z", "channel": "PHONE", "subjectPersonIds": [w.p1, w.p4],
                "householdId": w.household, "issues": [], "summary": "電話で近況確認", "urgency": "LOW" } }),
            "/i/subjectPersonIds/1",
            None,
            "input.subjectPersonIds.1",
        ),
        probe(
            "mutation($r: ExternalRefInput!, $i: RecordConsentInput!) { upsertConsent(ref: $r, input: $i) { consent { id } } }",
            |w| json!({ "r": { "system": "hidden", "externalId": "D-1" }, "i": consent_input(&w.p4, &["HEALTH"], &[&w.r], &[]) }),
            "/i/personId",
            None,
            "input.personId",
        ),
        // 相談
        probe(
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            |w| json!({ "i": { "receivedAt": "2026-10-05T09:00:00Z", "channel": "PHONE", "subjectPersonIds": [w.p1],
                "householdId": w.household2, "issues": [], "summary": "電話で近況確認", "urgency": "LOW" } }),
            "/i/householdId",
            None,
            "input.householdId",
        ),
        probe(
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            |w| json!({ "i": { "receivedAt": "2026-10-05T09:00:00Z", "channel": "PHONE", "subjectPersonIds": [w.p1, w.p4],
                "householdId": w.household, "issues": [], "summary": "電話で近況確認", "urgency": "LOW" } }),
            "/i/subjectPersonIds/1",
            None,
            "input.subjectPersonIds.1",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { setConsultationStatus(id: $id, version: $v, status: CLOSED) { id } }",
            |w| json!({ "id": w.consultation }),
            "/id",
            Some("consultation"),
            "id",
        ),
        // つなぎ
        probe(
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
            |w| json!({ "i": { "personId": w.p1, "toAgencyId": w.r, "consultationId": w.consultation, "reason": "再度の検討を依頼" } }),
            "/i/consultationId",
            None,
            "input.consultationId",
        ),
        probe(
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
            |w| json!({ "i": { "personId": w.p4, "toAgencyId": w.r, "reason": "検討を依頼" } }),
            "/i/personId",
            None,
            "input.personId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { acceptReferral(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.referral }),
            "/id",
            Some("referral"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { declineReferral(id: $id, version: $v, reason: \"対象外\") { id } }",
            |w| json!({ "id": w.referral }),
            "/id",
            Some("referral"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { completeReferral(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.referral }),
            "/id",
            Some("referral"),
            "id",
        ),
        // 同意
        probe(
            "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id } }",
            |w| json!({ "i": consent_input(&w.p4, &["HEALTH"], &[&w.r], &[]) }),
            "/i/personId",
            None,
            "input.personId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
            |w| json!({ "id": w.consent2 }),
            "/id",
            Some("consent"),
            "id",
        ),
        // 参加支援
        probe(
            "mutation($p: ID!, $r: ID!) { startPlacement(personId: $p, resourceId: $r, startedOn: \"2026-11-01\") { id } }",
            |w| json!({ "p": w.p4, "r": w.resource }),
            "/p",
            None,
            "personId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { setPlacementStatus(id: $id, version: $v, status: PAUSED) { id } }",
            |w| json!({ "id": w.placement }),
            "/id",
            Some("participation_placement"),
            "id",
        ),
        // 支援ケース
        probe(
            "mutation($i: OpenCaseInput!) { openCase(input: $i) { id } }",
            |w| json!({ "i": { "householdId": w.household2, "openedOn": "2026-10-01" } }),
            "/i/householdId",
            None,
            "input.householdId",
        ),
        Probe {
            op: "mutation($i: OpenCaseInput!) { openCase(input: $i) { id } }",
            vars: |w| json!({ "i": { "householdId": w.household, "openedOn": "2026-10-01",
                "leadAccountId": w.account_id(Who::ACoord) } }),
            pointer: "/i/leadAccountId",
            versioned: None,
            code: "BAD_USER_INPUT",
            field: Some("input.leadAccountId"),
        },
        probe(
            "mutation($c: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": { "decidedOn": "2026-10-05", "decider": "福祉部長", "basis": "実施要綱 第5条" } }),
            "/c",
            None,
            "caseId",
        ),
        probe(
            "mutation($c: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": { "agencyId": w.city, "role": "SUPPORTING", "startedOn": "2026-10-02" } }),
            "/c",
            None,
            "caseId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { endInvolvement(id: $id, version: $v, endedOn: \"2026-10-20\") { id } }",
            |w| json!({ "id": w.involvement }),
            "/id",
            Some("case_involvement"),
            "id",
        ),
        probe(
            "mutation($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": plan_input(&w.a) }),
            "/c",
            None,
            "caseId",
        ),
        probe(
            "mutation($p: ID!) { recordPlanAgreement(planId: $p, agreedOn: \"2026-10-12\", method: SIGNED) { id } }",
            |w| json!({ "p": w.plan }),
            "/p",
            None,
            "planId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { advanceCase(id: $id, version: $v, to: PLANNING) { id } }",
            |w| json!({ "id": w.case }),
            "/id",
            Some("support_case"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { suspendCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("REFUSED") }),
            "/id",
            Some("support_case"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { resumeCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("OTHER") }),
            "/id",
            Some("support_case"),
            "id",
        ),
        probe(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { closeCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("GOAL_ACHIEVED") }),
            "/id",
            Some("support_case"),
            "id",
        ),
        // 会議
        probe(
            "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
            |w| json!({ "i": { "kind": "CASE_CONFERENCE", "householdId": w.household2, "heldAt": "2026-11-01T10:00:00Z",
                "participantAgencyIds": [w.r], "categories": [] } }),
            "/i/householdId",
            None,
            "input.householdId",
        ),
        probe(
            "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
            |w| json!({ "i": { "kind": "CASE_CONFERENCE", "householdId": w.household, "caseId": w.case,
                "heldAt": "2026-11-01T10:00:00Z", "participantAgencyIds": [w.r], "categories": [] } }),
            "/i/caseId",
            None,
            "input.caseId",
        ),
        probe(
            "mutation($id: ID!, $v: Int!) { updateMeetingMinutes(id: $id, version: $v, minutes: \"役割分担を確認\") { id } }",
            |w| json!({ "id": w.meeting }),
            "/id",
            Some("meeting"),
            "id",
        ),
        // 活動
        probe(
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            |w| json!({ "i": { "kind": "MONITORING", "personId": w.p1, "caseId": w.case, "occurredOn": "2026-11-01", "note": "電話で近況確認" } }),
            "/i/caseId",
            None,
            "input.caseId",
        ),
        probe(
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            |w| json!({ "i": { "kind": "MONITORING", "personId": w.p1, "placementId": w.placement, "occurredOn": "2026-11-01", "note": "電話で近況確認" } }),
            "/i/placementId",
            None,
            "input.placementId",
        ),
        probe(
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            |w| json!({ "i": { "kind": "MONITORING", "personId": w.p4, "occurredOn": "2026-11-01", "note": "電話で近況確認" } }),
            "/i/personId",
            None,
            "input.personId",
        ),
        // The registry and the service clients (admins'): K is refused before any lookup.
        admin_only(
            "mutation($id: ID!, $v: Int!, $i: UpdateAccountInput!) { updateAccount(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.account, "i": { "displayName": "改名" } }),
            "/id",
            Some("account"),
        ),
        admin_only(
            "mutation($id: ID!, $v: Int!) { setAccountRoles(id: $id, version: $v, roles: [CASEWORKER]) { id } }",
            |w| json!({ "id": w.account }),
            "/id",
            Some("account"),
        ),
        admin_only(
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.account }),
            "/id",
            Some("account"),
        ),
        admin_only(
            "mutation($id: ID!, $v: Int!) { reactivateAccount(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.account }),
            "/id",
            Some("account"),
        ),
        admin_only(
            "mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"確認済み\") { id } }",
            |w| json!({ "id": w.grant }),
            "/id",
            None,
        ),
        admin_only(
            "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { client { id } } }",
            |w| json!({ "i": { "accountId": w.service_account, "name": "二つ目の連携", "scopes": ["INTEGRATION"] } }),
            "/i/accountId",
            None,
        ),
        admin_only(
            "mutation($id: ID!, $v: Int!) { rotateServiceClientSecret(id: $id, version: $v) { client { id } } }",
            |w| json!({ "id": w.client }),
            "/id",
            Some("service_client"),
        ),
        admin_only(
            "mutation($id: ID!, $v: Int!) { revokeServiceClient(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.client }),
            "/id",
            Some("service_client"),
        ),
    ]
}

/// `Mutation.x` → "x".
fn mutation_name(op: &str) -> String {
    super::field_of(op)
        .trim_start_matches("Mutation.")
        .to_owned()
}

/// Whether an argument of this named type carries an id (an ID, or an input object that
/// holds one at any depth).
fn carries_id(ty: &str, inputs: &Inputs, seen: &mut BTreeSet<String>) -> bool {
    if ty == "ID" {
        return true;
    }
    let Some(fields) = inputs.get(ty) else {
        return false;
    };
    if !seen.insert(ty.to_owned()) {
        return false;
    }
    fields.values().any(|t| carries_id(t, inputs, seen))
}

/// The Mutation fields of the schema that take an id.
async fn id_taking_mutations(srv: &Server) -> BTreeSet<String> {
    let inputs = input_types(srv).await;
    let r = srv
        .gql(
            &srv.admin_token,
            "{ __type(name: \"Mutation\") { fields { name args { name type { name ofType { name ofType { name ofType { name } } } } } } } }",
            json!({}),
        )
        .await;
    r.ok()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["args"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| carries_id(&named(&a["type"]), &inputs, &mut BTreeSet::new()))
        })
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// One probe: K's answer about the hidden record and about a random id are the same bytes,
/// with the expected code and field, and nothing is written by either.
async fn check(srv: &Server, w: &World, k_tok: &str, p: &Probe) {
    let name = mutation_name(p.op);
    let at = format!("{name} with {} hidden", p.pointer);
    let mut vars = (p.vars)(w);
    let hidden = vars
        .pointer(p.pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{at}: no id at the pointer"))
        .to_owned();
    if let Some(table) = p.versioned {
        vars["v"] = json!(current_version(srv, table, &hidden).await);
    }
    let before = srv.snapshot().await;
    let last = last_seq(srv).await;
    let r = srv.gql(k_tok, p.op, vars.clone()).await;
    let e = r.errors();
    assert_eq!(e.len(), 1, "{at}: {}", r.body);
    assert_eq!(e[0]["extensions"]["code"], p.code, "{at}: {}", r.body);
    match p.field {
        Some(f) => assert_eq!(e[0]["extensions"]["field"], f, "{at}: {}", r.body),
        None => assert!(
            e[0]["extensions"].get("field").is_none(),
            "{at}: {}",
            r.body
        ),
    }
    crate::bola::assert_indistinguishable(
        srv,
        k_tok,
        p.op,
        |id| with_probe(&vars, p.pointer, id),
        &hidden,
        p.code,
    )
    .await;
    // Nothing written; the ledger may hold the READ rows of what the refusal looked at
    // (withheld), never a WRITE.
    srv.assert_only_reads(&before, &at).await;
    let writes: Vec<_> = ledger_after(srv, last)
        .await
        .into_iter()
        .filter(|e| e.action != "READ" || e.shown != "[]")
        .collect();
    assert!(writes.is_empty(), "{at}: ledgered {writes:?}");
}

pub async fn every_id_taking_mutation_hides_what_a_caller_with_context_may_not_know(srv: &Server) {
    // Unthrottled, as the table's test: a 429 would hide what the policy answers.
    let srv = &Server::start_with(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    // Every id-taking mutation of the schema is probed or exempt, and nothing else is listed.
    let schema = id_taking_mutations(srv).await;
    let probes = probes();
    let probed: BTreeSet<String> = probes.iter().map(|p| mutation_name(p.op)).collect();
    let exempt: BTreeSet<String> = EXEMPT.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert!(
        probed.is_disjoint(&exempt),
        "probed and exempt: {:?}",
        probed.intersection(&exempt).collect::<Vec<_>>()
    );
    let listed: BTreeSet<String> = probed.union(&exempt).cloned().collect();
    assert_eq!(
        listed, schema,
        "every id-taking mutation has a hidden-id probe or an exemption"
    );

    let w = world::build(srv).await;
    let k = srv.agency("authz-k", "MULTI_AGENCY").await;
    let (_, k_tok) = srv.account("authz-k-coord", &k, &["coordinator"]).await;
    srv.consent(
        w.token(Who::ACw),
        consent_input(&w.p1, &["IDENTITY", "HOUSEHOLD"], &[&k], &[]),
    )
    .await;
    // The context K knows: p1 and household H, with p1's membership only.
    let h = srv
        .gql(
            &k_tok,
            "query($id: ID!) { household(id: $id) { members { id person { id familyName } } } }",
            json!({ "id": w.household }),
        )
        .await;
    let members = h.ok()["household"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{}", h.body);
    assert_eq!(members[0]["person"]["id"], w.p1.as_str());
    assert_eq!(members[0]["person"]["familyName"], "山田");

    let mut failures = Vec::new();
    for p in &probes {
        failures.extend(caught(check(srv, &w, &k_tok, p)).await);
    }
    assert!(
        failures.is_empty(),
        "{} failing probes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
