//! Issue 16 §4: the person's disclosure report (開示請求), `disclosureReport(personId:)` and
//! `GET /disclosure/{personId}` (JSON and the printable HTML page).
//!
//! The world: agency A registers P (the requester) in a household with Q (母) and R (弟),
//! records a consultation whose subjects are P and Q (the summary names Q), a proxy consent
//! (withdrawn) and a consent naming B, a referral to B, a case conference on the household
//! whose minutes name R, and an activity about P naming Q. B's caseworker then reads P on
//! the consent. The report must hold every field of P's own, nothing of Q's or R's (names,
//! kana, ids, contact, health, birth date) nor the proxy's name — searched in the bytes of
//! the GraphQL answer, the JSON and the HTML — and list B's read with its CONSENT basis.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

use crate::activities::day;
use crate::meetings::id_of;

tests!(
    disclosure_report_holds_the_person_and_masks_third_parties,
    disclosure_report_is_for_admins_only_and_unknown_persons_are_not_found,
    disclosure_report_leaves_out_what_happened_after_the_person_left
);

const REPORT: &str = "query($p: ID!) { disclosureReport(personId: $p) {
  producedAt legalBasis policyVersion categories reviewRequired accessLogTotal accessLogTruncated
  person { id familyName givenName familyNameKana givenNameKana birthDate sex address phone district
    addressConfidential careLevel disabilityCertificate publicAssistance ownerAgency { name } createdAt updatedAt }
  households { id relationship isHead current otherMembers { relationship isHead current } }
  consultations { id summary otherSubjects householdId issues { code name main } receivingAgency { name } }
  referrals { id reason status toAgency { id name } consultationId }
  consents { id givenBy proxyRelationship categories state withdrawnAt withdrawalReason
    recipientAgencies { id } }
  cases { id }
  meetings { id kind minutes minutesWithheld participants { name } }
  activities { id note }
  placements { id }
  emergencyAccesses { reason }
  accessSummary { agency { name kind } action rows firstAt lastAt }
  accessLog { seq at action operation agency { id name kind } roles shown withheld purpose bases { kind reference } }
  masking { scope treatment article }
} }";

struct World {
    a_tok: String,
    b: String,
    b_tok: String,
    auditor_tok: String,
    p: String,
    q: String,
    r: String,
    consent: String,
    /// Everything of Q's, R's and the proxy's that must not appear.
    secrets: Vec<String>,
}

async fn world(srv: &Server) -> World {
    let a = srv.agency("dr-a", "MULTI_AGENCY").await;
    let b = srv.agency("dr-b", "SELF_RELIANCE").await;
    let (_, a_tok) = srv.account("dr-a-co", &a, &["coordinator"]).await;
    let (_, b_tok) = srv.account("dr-b-cw", &b, &["caseworker"]).await;
    let (_, auditor_tok) = srv.account("dr-aud", &a, &["auditor"]).await;
    let mut pi = person_input("真壁", "太郎", "マカベ", "タロウ");
    pi["phone"] = json!("0235-11-2233");
    pi["address"] = json!("鶴岡市本町三丁目 3-3");
    pi["birthDate"] = json!("1970-05-06");
    let p = srv.person(&a_tok, pi).await;
    let mut qi = person_input("鬼塚", "花子", "オニヅカ", "ハナコ");
    qi["phone"] = json!("0235-99-8877");
    qi["address"] = json!("秘密の住所 9-9-9");
    qi["birthDate"] = json!("1931-02-03");
    qi["careLevel"] = json!("要介護5");
    qi["disabilityCertificate"] = json!("身体障害者手帳1級");
    let q = srv.person(&a_tok, qi).await;
    let mut ri = person_input("別居", "次郎", "ベッキョ", "ジロウ");
    ri["phone"] = json!("0235-77-6655");
    ri["address"] = json!("酒田市の別の住所 7-7");
    ri["birthDate"] = json!("1975-08-09");
    let r = srv.person(&a_tok, ri).await;
    let h = srv
        .gql(
            &a_tok,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [
                { "personId": p, "relationship": "本人", "isHead": true },
                { "personId": q, "relationship": "母" },
                { "personId": r, "relationship": "弟" },
            ] }),
        )
        .await;
    let household = id_of(&h, "createHousehold");
    let c = srv
        .gql(
            &a_tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [p, q],
                "householdId": household, "issues": [{ "code": "NURSING_CARE", "main": true }],
                "summary": "真壁太郎さんと母の鬼塚花子さんが来所。ハナコさんの介護で太郎さんが疲れている。", "urgency": "HIGH" } }),
        )
        .await;
    let consultation = id_of(&c, "recordConsultation");
    let mut proxy = consent_input(&p, &["IDENTITY"], &[&b], &[]);
    proxy["givenBy"] = json!("PROXY");
    proxy["proxyName"] = json!("代理 美咲");
    proxy["proxyRelationship"] = json!("姉");
    let (proxy_id, proxy_version) = srv.consent(&a_tok, proxy).await;
    let w = srv
        .gql(
            &a_tok,
            "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人が自分で同意したため\") { id } }",
            json!({ "id": proxy_id, "v": proxy_version }),
        )
        .await;
    w.ok();
    let (consent, _) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["IDENTITY", "CONTACT", "NARRATIVE"], &[&b], &[]),
        )
        .await;
    let referral = srv
        .gql(
            &a_tok,
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
            json!({ "i": { "personId": p, "toAgencyId": b, "consultationId": consultation,
                "reason": "鬼塚花子さんの介護負担が大きく、家計の相談も必要" } }),
        )
        .await;
    id_of(&referral, "proposeReferral");
    let m = srv
        .gql(
            &a_tok,
            "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id version } }",
            json!({ "i": { "kind": "CASE_CONFERENCE", "householdId": household,
                "heldAt": "2026-10-02T10:00:00+09:00", "participantAgencyIds": [b], "categories": [] } }),
        )
        .await;
    let meeting = id_of(&m, "createMeeting");
    let version = m.ok()["createMeeting"]["version"].as_i64().unwrap();
    srv.gql(
        &a_tok,
        "mutation($id: ID!, $v: Int!, $t: String!) { updateMeetingMinutes(id: $id, version: $v, minutes: $t) { id } }",
        json!({ "id": meeting, "v": version, "t": "弟の別居次郎さん (ジロウ) は遠方。太郎さん本人は就労を希望。" }),
    )
    .await
    .ok();
    srv.gql(
        &a_tok,
        "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
        json!({ "i": { "kind": "OUTREACH_VISIT", "personId": p, "occurredOn": day(-1), "result": "MET",
            "stage": "CONTACT", "note": "自宅を訪問。鬼塚 花子さんも同席。" } }),
    )
    .await
    .ok();
    // B reads P on the consent: a real earlier read by another agency.
    let seen = srv
        .gql(
            &b_tok,
            "query($p: ID!) { person(id: $p) { familyName phone } }",
            json!({ "p": p }),
        )
        .await;
    assert_eq!(seen.ok()["person"]["familyName"], "真壁");
    let secrets = [
        q.as_str(),
        r.as_str(),
        "鬼塚",
        "花子",
        "ハナコ",
        "オニヅカ",
        "別居",
        "次郎",
        "ジロウ",
        "ベッキョ",
        "0235-99-8877",
        "0235-77-6655",
        "秘密の住所",
        "酒田市の別の住所",
        "1931-02-03",
        "1975-08-09",
        "要介護5",
        "身体障害者手帳1級",
        "美咲",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    World {
        a_tok,
        b,
        b_tok,
        auditor_tok,
        p,
        q,
        r,
        consent,
        secrets,
    }
}

/// No third party's data anywhere in `text`.
fn assert_masked(w: &World, what: &str, text: &str) {
    for s in &w.secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} holds a third party's {s:?}: {text}"
        );
    }
}

/// P's own data, present in `text`.
fn assert_own(w: &World, what: &str, text: &str) {
    for s in [
        w.p.as_str(),
        "真壁",
        "太郎",
        "マカベ",
        "タロウ",
        "1970-05-06",
        "0235-11-2233",
        "鶴岡市本町三丁目 3-3",
        "中央圏域",
        "要介護2",
        "［第三者］",
        w.consent.as_str(),
    ] {
        assert!(text.contains(s), "{what} lacks the person's {s:?}");
    }
}

/// The ledger rows of productions of P's report.
async fn productions(srv: &Server, p: &str) -> Vec<entity::audit_event::Model> {
    srv.ledger()
        .await
        .into_iter()
        .filter(|e| e.operation == "disclosureReport" && e.subject_person_id.as_deref() == Some(p))
        .collect()
}

async fn get(srv: &Server, token: &str, path: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(srv.url(path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", accept)
        .send()
        .await
        .unwrap()
}

async fn disclosure_report_holds_the_person_and_masks_third_parties(srv: &Server) {
    let w = world(srv).await;
    assert!(productions(srv, &w.p).await.is_empty());

    // GraphQL.
    let r = srv.gql(&srv.admin_token, REPORT, json!({ "p": w.p })).await;
    let rep = r.ok()["disclosureReport"].clone();
    let person = &rep["person"];
    assert_eq!(person["id"], w.p.as_str());
    assert_eq!(person["familyName"], "真壁");
    assert_eq!(person["givenNameKana"], "タロウ");
    assert_eq!(person["birthDate"], "1970-05-06");
    assert_eq!(person["phone"], "0235-11-2233");
    assert_eq!(person["address"], "鶴岡市本町三丁目 3-3");
    assert_eq!(person["careLevel"], "要介護2");
    assert_eq!(person["publicAssistance"], true);
    assert_eq!(person["ownerAgency"]["name"], "dr-a 機関");
    let hh = &rep["households"][0];
    assert_eq!(hh["relationship"], "本人");
    assert_eq!(hh["isHead"], true);
    let mut rels: Vec<&str> = hh["otherMembers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["relationship"].as_str().unwrap())
        .collect();
    rels.sort();
    assert_eq!(rels, ["弟", "母"], "other members by relationship only");
    let c = &rep["consultations"][0];
    assert_eq!(c["otherSubjects"], 1);
    assert_eq!(c["issues"][0]["code"], "NURSING_CARE");
    assert_eq!(
        c["summary"],
        "真壁太郎さんと母の［第三者］さんが来所。［第三者］さんの介護で太郎さんが疲れている。"
    );
    assert_eq!(rep["referrals"][0]["toAgency"]["id"], w.b.as_str());
    assert!(rep["referrals"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("［第三者］さんの介護負担"));
    let consents = rep["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2, "{consents:?}");
    let proxy = consents.iter().find(|c| c["givenBy"] == "PROXY").unwrap();
    assert_eq!(proxy["state"], "WITHDRAWN");
    assert_eq!(proxy["proxyRelationship"], "姉");
    assert_eq!(proxy["withdrawalReason"], "本人が自分で同意したため");
    let active = consents
        .iter()
        .find(|c| c["id"] == w.consent.as_str())
        .unwrap();
    assert_eq!(active["state"], "ACTIVE");
    assert_eq!(active["recipientAgencies"][0]["id"], w.b.as_str());
    let minutes = rep["meetings"][0]["minutes"].as_str().unwrap();
    assert!(
        minutes.contains("［第三者］") && minutes.contains("太郎さん本人"),
        "{minutes}"
    );
    assert_eq!(
        rep["activities"][0]["note"],
        "自宅を訪問。［第三者］さんも同席。"
    );
    assert_eq!(rep["reviewRequired"], true);
    assert!(!rep["masking"].as_array().unwrap().is_empty());

    // The ledger section: B's read of P on the consent, with its basis and purpose.
    let log = rep["accessLog"].as_array().unwrap();
    let by_b: Vec<&Value> = log
        .iter()
        .filter(|e| e["agency"]["id"] == w.b.as_str() && e["action"] == "READ")
        .collect();
    assert!(!by_b.is_empty(), "B's read is listed: {log:?}");
    let read = by_b[0];
    assert_eq!(read["agency"]["name"], "dr-b 機関");
    assert_eq!(read["agency"]["kind"], "SELF_RELIANCE");
    assert_eq!(read["roles"], json!(["caseworker"]));
    assert_eq!(read["purpose"], "SUPPORT");
    assert!(read["shown"]
        .as_array()
        .unwrap()
        .contains(&json!("IDENTITY")));
    assert!(read["shown"]
        .as_array()
        .unwrap()
        .contains(&json!("CONTACT")));
    assert_eq!(
        read["bases"],
        json!([{ "kind": "CONSENT", "reference": w.consent }]),
        "{read}"
    );
    assert!(log
        .iter()
        .any(|e| e["action"] == "WRITE" && e["operation"] == "createPerson"));
    assert!(rep["accessSummary"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["agency"]["name"] == "dr-b 機関"
            && s["action"] == "READ"
            && s["rows"].as_i64() >= Some(1)));
    assert_eq!(rep["accessLogTotal"].as_i64().unwrap() as usize, log.len());
    let graphql_text = r.body.to_string();
    assert_masked(&w, "the GraphQL answer", &graphql_text);
    assert_own(&w, "the GraphQL answer", &graphql_text);

    // The production is ledgered: one row, by the admin, about P, naming what it produced.
    let rows = productions(srv, &w.p).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.action, "READ");
    assert_eq!(row.account_id.as_deref(), Some(srv.admin_id.as_str()));
    let shown: Vec<String> = serde_json::from_str(&row.shown).unwrap();
    for cat in ["IDENTITY", "CONTACT", "HOUSEHOLD", "HEALTH", "NARRATIVE"] {
        assert!(shown.contains(&cat.to_owned()), "{cat} in {shown:?}");
    }
    let detail: Value = serde_json::from_str(&row.detail).unwrap();
    assert_eq!(detail["categories"], json!(shown));
    assert_eq!(detail["alert"], "DISCLOSURE_PRODUCED");

    // JSON over HTTP: the same report, the second production listed in its own ledger.
    let resp = get(
        srv,
        &srv.admin_token,
        &format!("/disclosure/{}", w.p),
        "application/json",
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let text = resp.text().await.unwrap();
    assert_masked(&w, "the JSON", &text);
    assert_own(&w, "the JSON", &text);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["person"]["familyName"], "真壁");
    assert!(json["accessLog"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["operation"] == "disclosureReport"
            && e["purpose"] == "DISCLOSURE"
            && e["bases"][0]["kind"] == "DISCLOSURE"));
    assert_eq!(productions(srv, &w.p).await.len(), 2);

    // The printable page: A4, Japanese, no script, no external resource, not cached.
    for (path, accept) in [
        (
            format!("/disclosure/{}", w.p),
            "text/html,application/xhtml+xml",
        ),
        (format!("/disclosure/{}?format=html", w.p), "*/*"),
    ] {
        let resp = get(srv, &srv.admin_token, &path, accept).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(
            csp.contains("style-src 'sha256-") && !csp.contains("unsafe-inline"),
            "the one <style> by hash: {csp}"
        );
        let html = resp.text().await.unwrap();
        assert!(html.contains("<html lang=\"ja\">"));
        assert!(html.contains("@page{size:A4"));
        assert!(html.contains("保有個人情報の開示"));
        assert!(
            html.contains("dr-b 機関") && html.contains("本人の同意"),
            "B's read with its basis"
        );
        for banned in [
            "<script", "src=", "href=", "http://", "https://", "@import", "url(",
        ] {
            assert!(!html.contains(banned), "the page holds {banned}");
        }
        assert_masked(&w, "the HTML", &html);
        assert_own(&w, "the HTML", &html);
    }
    assert_eq!(productions(srv, &w.p).await.len(), 4);
    // The chain still verifies with the productions in it.
    let v = srv
        .gql(&srv.admin_token, "{ verifyAuditChain { ok } }", json!({}))
        .await;
    assert_eq!(v.ok()["verifyAuditChain"]["ok"], true);
    let _ = (&w.q, &w.r);
}

async fn disclosure_report_is_for_admins_only_and_unknown_persons_are_not_found(srv: &Server) {
    let w = world(srv).await;
    let before = srv.ledger().await.len();
    // A caseworker of the registering agency, one of the agency the person consented to,
    // and an auditor: refused, before anything is read, with nothing written.
    for tok in [&w.a_tok, &w.b_tok, &w.auditor_tok] {
        let r = srv.gql(tok, REPORT, json!({ "p": w.p })).await;
        r.only_error("FORBIDDEN");
        assert_eq!(r.data(), &Value::Null);
        assert!(!r.body.to_string().contains("真壁"));
        let resp = get(srv, tok, &format!("/disclosure/{}", w.p), "text/html").await;
        assert_eq!(resp.status(), 403);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        assert!(!body.to_string().contains("真壁"));
    }
    // No token.
    let resp = reqwest::Client::new()
        .get(srv.url(&format!("/disclosure/{}", w.p)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // An id that is no person's, and one that is no id.
    let random = "0193a0c0-0000-7000-8000-00000000abcd";
    let r = srv
        .gql(&srv.admin_token, REPORT, json!({ "p": random }))
        .await;
    assert_eq!(r.only_error("NOT_FOUND")["extensions"]["field"], "personId");
    let resp = get(
        srv,
        &srv.admin_token,
        &format!("/disclosure/{random}"),
        "application/json",
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = get(
        srv,
        &srv.admin_token,
        "/disclosure/not-an-id",
        "application/json",
    )
    .await;
    assert_eq!(resp.status(), 400);
    let resp = get(
        srv,
        &srv.admin_token,
        &format!("/disclosure/{}?format=pdf", w.p),
        "*/*",
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(
        srv.ledger().await[before..]
            .iter()
            .all(|e| e.operation != "disclosureReport"),
        "no production was ledgered"
    );
    assert!(productions(srv, &w.p).await.is_empty());
}

/// A case of P's household goes on after P has left it: what it records after that day (a
/// decision, an agency joining) is the remaining members' record, not P's; what was
/// decided while P belonged is P's, with the staff member who decided masked.
async fn disclosure_report_leaves_out_what_happened_after_the_person_left(srv: &Server) {
    let a = srv.agency("dl-a", "MULTI_AGENCY").await;
    let b = srv.agency("dl-b", "DISABILITY").await;
    let (_, coord) = srv.account("dl-a-coord", &a, &["coordinator"]).await;
    let p = srv
        .person(&coord, person_input("離脱", "一郎", "リダツ", "イチロウ"))
        .await;
    let q = srv
        .person(&coord, person_input("残留", "二郎", "ザンリュウ", "ジロウ"))
        .await;
    let h = srv
        .gql(
            &coord,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id members { id person { id } } } }",
            json!({ "m": [
                { "personId": p, "relationship": "本人", "isHead": true },
                { "personId": q, "relationship": "弟" },
            ] }),
        )
        .await;
    let household = h.ok()["createHousehold"]["id"].as_str().unwrap().to_owned();
    let p_member = h.ok()["createHousehold"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person"]["id"] == p.as_str())
        .unwrap()["id"]
        .clone();
    let c = srv
        .gql(
            &coord,
            "mutation($i: OpenCaseInput!) { openCase(input: $i) { id version } }",
            json!({ "i": { "householdId": household, "openedOn": "2026-10-01" } }),
        )
        .await;
    let case = c.ok()["openCase"]["id"].as_str().unwrap().to_owned();
    let v = c.ok()["openCase"]["version"].as_i64().unwrap();
    let decide = |v: i64, on: &str, decider: &str| json!({ "v": v, "d": { "decidedOn": on, "decider": decider, "reason": "OTHER", "note": "面談のうえ" } });
    let suspend = decide(v, "2026-10-02", "課長 甲野");
    srv.gql(
        &coord,
        "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { suspendCase(id: $id, version: $v, decision: $d) { version } }",
        json!({ "id": case, "v": suspend["v"], "d": suspend["d"] }),
    )
    .await
    .ok();
    // P leaves on 3 October; the case goes on for Q.
    srv.gql(
        &coord,
        "mutation($m: ID!, $d: Date!) { endHouseholdMembership(memberId: $m, leftOn: $d) { id } }",
        json!({ "m": p_member, "d": "2026-10-03" }),
    )
    .await
    .ok();
    let resume = decide(v + 1, "2026-10-06", "課長 乙山");
    srv.gql(
        &coord,
        "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { resumeCase(id: $id, version: $v, decision: $d) { version } }",
        json!({ "id": case, "v": resume["v"], "d": resume["d"] }),
    )
    .await
    .ok();
    srv.gql(
        &coord,
        "mutation($id: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $id, input: $i) { id } }",
        json!({ "id": case, "i": { "agencyId": b, "role": "SUPPORTING", "startedOn": "2026-10-07" } }),
    )
    .await
    .ok();

    let r = srv
        .gql(
            &srv.admin_token,
            "query($p: ID!) { disclosureReport(personId: $p) { cases { id
              decisions { kind decidedOn decider } involvements { agency { id } startedOn } } } }",
            json!({ "p": p }),
        )
        .await;
    let cases = r.ok()["disclosureReport"]["cases"].clone();
    assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
    assert_eq!(cases[0]["id"], case.as_str());
    assert_eq!(
        cases[0]["decisions"],
        json!([{ "kind": "SUSPENSION", "decidedOn": "2026-10-02", "decider": "［担当者］" }]),
        "only what was decided while P belonged, the decider masked"
    );
    let agencies: Vec<&Value> = cases[0]["involvements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["agency"]["id"])
        .collect();
    assert!(
        !agencies.contains(&&json!(b)),
        "B joined after P left: {cases}"
    );
    let text = r.body.to_string();
    for s in ["甲野", "乙山", "2026-10-06", "2026-10-07"] {
        assert!(!text.contains(s), "{s} in {text}");
    }
}
