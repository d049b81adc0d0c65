//! The fixture world, built once per server through the API and shared by every row: agency
//! A owns one record of every kind; B is another agency with the same roles and no basis for
//! anything of A's; R receives A's referrals under the person's consent.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, Gql, Server};

/// Who calls. `Anon` sends no Authorization header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    ACw,
    ACoord,
    ALsc,
    AAnalyst,
    AAuditor,
    BCw,
    BCoord,
    BLsc,
    /// An admin account at agency B (admins are city-wide: see the createAccount row).
    BAdmin,
    RCw,
    RAnalyst,
    /// The bootstrap admin at the city office.
    Admin,
}

pub struct World {
    pub a: String,
    pub r: String,
    pub city: String,
    /// (who, account id, token)
    tokens: Vec<(Who, String, String)>,
    /// An A caseworker account the registry rows change (and finally deactivate).
    pub account: String,
    /// p1: in household H, subject of the consultation, referral f1, case, activity.
    pub p1: String,
    /// p2: alone in household H2 (openCase), subject of referral f2.
    pub p2: String,
    /// p3: in no household (addHouseholdMember adds it to H).
    pub p3: String,
    /// p4: in household H beside p1 (endHouseholdMembership ends its membership).
    pub p4: String,
    pub household: String,
    pub household2: String,
    /// p4's membership of H (endHouseholdMembership ends it).
    pub member: String,
    pub consultation: String,
    /// p1's consent for R (IDENTITY, CONTACT): what the referrals stand on.
    pub consent: String,
    /// p1's PLAN consent for R (withdrawConsent withdraws it).
    pub consent2: String,
    /// A → R about p1 (accepted, then completed, by R).
    pub referral: String,
    /// A → R about p2 (declined by R).
    pub referral2: String,
    /// R's caseworker's open break-glass grant for p2 (closed by the admin).
    pub grant: String,
    pub resource: String,
    pub placement: String,
    pub case: String,
    pub plan: String,
    /// R's SUPPORTING involvement in the case.
    pub involvement: String,
    /// A 重層的支援会議 convened by A about H.
    pub meeting: String,
    pub activity: String,
    /// A's proposal that p1 and p4 are one person (confirmed, then revoked, by A's
    /// coordinator). R knows p1 by consent, not p4: the link is hidden from R.
    pub link: String,
    /// A SERVICE account at A holding INTEGRATION (createServiceClient issues it a client).
    pub service_account: String,
    /// A service client of that account (rotated, then revoked, by the admin).
    pub client: String,
}

impl World {
    fn identity(&self, who: Who) -> &(Who, String, String) {
        self.tokens
            .iter()
            .find(|(w, _, _)| *w == who)
            .unwrap_or_else(|| panic!("no account for {who:?}"))
    }
    pub fn token(&self, who: Who) -> &str {
        &self.identity(who).2
    }
    pub fn account_id(&self, who: Who) -> &str {
        &self.identity(who).1
    }
}

pub fn id_of(r: &Gql, field: &str) -> String {
    r.ok()[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} id in {}", r.body))
        .to_owned()
}

async fn create(srv: &Server, tok: &str, field: &str, op: &str, vars: Value) -> String {
    id_of(&srv.gql(tok, op, vars).await, field)
}

pub async fn build(srv: &Server) -> World {
    let a = srv.agency("authz-a", "MULTI_AGENCY").await;
    let b = srv.agency("authz-b", "MULTI_AGENCY").await;
    let r = srv.agency("authz-r", "DISABILITY").await;
    let admin = srv
        .gql(&srv.admin_token, "{ viewer { account { id } } }", json!({}))
        .await;
    let admin = admin.ok()["viewer"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = vec![(Who::Admin, admin, srv.admin_token.clone())];
    for (who, login, agency, role) in [
        (Who::ACw, "authz-a-cw", &a, "caseworker"),
        (Who::ACoord, "authz-a-coord", &a, "coordinator"),
        (Who::ALsc, "authz-a-lsc", &a, "life_support_coordinator"),
        (Who::AAnalyst, "authz-a-analyst", &a, "analyst"),
        (Who::AAuditor, "authz-a-auditor", &a, "auditor"),
        (Who::BCw, "authz-b-cw", &b, "caseworker"),
        (Who::BCoord, "authz-b-coord", &b, "coordinator"),
        (Who::BLsc, "authz-b-lsc", &b, "life_support_coordinator"),
        (Who::BAdmin, "authz-b-admin", &b, "admin"),
        (Who::RCw, "authz-r-cw", &r, "caseworker"),
        (Who::RAnalyst, "authz-r-analyst", &r, "analyst"),
    ] {
        let (id, token) = srv.account(login, agency, &[role]).await;
        tokens.push((who, id, token));
    }
    let tok = |who: Who| tokens.iter().find(|(w, _, _)| *w == who).unwrap().2.clone();
    let (cw, coord, lsc, r_cw) = (
        tok(Who::ACw),
        tok(Who::ACoord),
        tok(Who::ALsc),
        tok(Who::RCw),
    );
    let (account, _) = srv.account("authz-a-target", &a, &["caseworker"]).await;

    let p1 = srv
        .person(&cw, person_input("山田", "健一", "ヤマダ", "ケンイチ"))
        .await;
    let p2 = srv
        .person(&cw, person_input("山田", "次郎", "ヤマダ", "ジロウ"))
        .await;
    let p3 = srv
        .person(&cw, person_input("山田", "三郎", "ヤマダ", "サブロウ"))
        .await;
    let p4 = srv
        .person(&cw, person_input("山田", "四郎", "ヤマダ", "シロウ"))
        .await;
    let hh = "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id members { id person { id } } } }";
    let h = srv
        .gql(
            &cw,
            hh,
            json!({ "m": [
                { "personId": p1, "relationship": "本人", "isHead": true },
                { "personId": p4, "relationship": "弟" },
            ] }),
        )
        .await;
    let household = id_of(&h, "createHousehold");
    let member = h.ok()["createHousehold"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person"]["id"] == p4.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let household2 = create(
        srv,
        &cw,
        "createHousehold",
        hh,
        json!({ "m": [{ "personId": p2, "relationship": "本人", "isHead": true }] }),
    )
    .await;
    let consultation = create(
        srv,
        &cw,
        "recordConsultation",
        "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
        json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [p1],
            "householdId": household, "issues": [{ "code": "HIKIKOMORI", "main": true }],
            "summary": "20年以上ひきこもり。", "urgency": "HIGH" } }),
    )
    .await;
    let (consent, _) = srv
        .consent(
            &cw,
            consent_input(&p1, &["IDENTITY", "CONTACT"], &[&r], &[]),
        )
        .await;
    let (consent2, _) = srv
        .consent(&cw, consent_input(&p1, &["PLAN"], &[&r], &[]))
        .await;
    srv.consent(
        &cw,
        consent_input(&p2, &["IDENTITY", "CONTACT"], &[&r], &[]),
    )
    .await;
    let propose = "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }";
    let referral = create(
        srv,
        &cw,
        "proposeReferral",
        propose,
        json!({ "i": { "personId": p1, "toAgencyId": r, "consultationId": consultation, "reason": "障害福祉サービスの検討を依頼" } }),
    )
    .await;
    let referral2 = create(
        srv,
        &cw,
        "proposeReferral",
        propose,
        json!({ "i": { "personId": p2, "toAgencyId": r, "reason": "就労支援の検討を依頼" } }),
    )
    .await;
    let grant = create(
        srv,
        &r_cw,
        "requestEmergencyAccess",
        "mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"安否確認が取れず生命の危険がある\") { id } }",
        json!({ "p": p2 }),
    )
    .await;
    let resource = create(
        srv,
        &lsc,
        "createCommunityResource",
        "mutation { createCommunityResource(input: { kind: SALON, name: \"ふれあいサロン\", district: \"中央圏域\" }) { id } }",
        json!({}),
    )
    .await;
    let placement = create(
        srv,
        &cw,
        "startPlacement",
        "mutation($p: ID!, $r: ID!) { startPlacement(personId: $p, resourceId: $r, startedOn: \"2026-10-01\") { id } }",
        json!({ "p": p1, "r": resource }),
    )
    .await;
    let case = create(
        srv,
        &coord,
        "openCase",
        "mutation($h: ID!) { openCase(input: { householdId: $h, openedOn: \"2026-10-01\" }) { id } }",
        json!({ "h": household }),
    )
    .await;
    let plan = create(
        srv,
        &coord,
        "createPlanVersion",
        "mutation($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": plan_input(&a) }),
    )
    .await;
    let involvement = create(
        srv,
        &coord,
        "addInvolvement",
        "mutation($c: ID!, $a: ID!) { addInvolvement(caseId: $c, input: { agencyId: $a, role: SUPPORTING, startedOn: \"2026-10-02\" }) { id } }",
        json!({ "c": case, "a": r }),
    )
    .await;
    let meeting = create(
        srv,
        &coord,
        "createMeeting",
        "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
        json!({ "i": { "kind": "MULTI_AGENCY_MEETING", "householdId": household, "caseId": case,
            "heldAt": "2026-10-03T10:00:00Z", "participantAgencyIds": [r], "categories": ["PLAN"] } }),
    )
    .await;
    let activity = create(
        srv,
        &cw,
        "recordActivity",
        "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
        json!({ "i": { "kind": "MONITORING", "personId": p1, "occurredOn": "2026-01-01", "note": "自宅訪問、体調は安定" } }),
    )
    .await;
    let link = create(
        srv,
        &cw,
        "proposePersonLink",
        "mutation($p: ID!, $o: ID!) { proposePersonLink(personId: $p, otherPersonId: $o) { id } }",
        json!({ "p": p1, "o": p4 }),
    )
    .await;
    let service_account = create(
        srv,
        &srv.admin_token,
        "createAccount",
        "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
        json!({ "i": { "login": "authz-a-system", "displayName": "A の連携システム", "agencyId": a,
            "kind": "SERVICE", "roles": ["INTEGRATION"] } }),
    )
    .await;
    let client = srv
        .gql(
            &srv.admin_token,
            "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { client { id } } }",
            json!({ "i": { "accountId": service_account, "name": "記録システム", "scopes": ["INTEGRATION"] } }),
        )
        .await;
    let client = client.ok()["createServiceClient"]["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        a,
        r,
        city: srv.city_agency.clone(),
        tokens,
        account,
        p1,
        p2,
        p3,
        p4,
        household,
        household2,
        member,
        consultation,
        consent,
        consent2,
        referral,
        referral2,
        grant,
        resource,
        placement,
        case,
        plan,
        involvement,
        meeting,
        activity,
        link,
        service_account,
        client,
    }
}

pub fn plan_input(agency: &str) -> Value {
    json!({ "wishes": "家で母と暮らし続けたい", "longTermGoal": "地域の居場所につながる",
        "shortTermGoals": ["週1回外出する"], "nextReviewOn": "2026-01-01",
        "assignments": [{ "agencyId": agency, "role": "LEAD", "task": "訪問と見守り", "contactFrequency": "月1回" }] })
}
