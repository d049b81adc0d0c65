//! The core scenario: agency A records a person with health and narrative data and the
//! person's consent to share IDENTITY and CONTACT with agency B, and refers them to B. B
//! sees name and address but not health or narrative; a HEALTH consent opens health only;
//! withdrawing the consents hides the person from B entirely; the ledger holds each of B's
//! reads with what was shown, what was withheld and on what basis.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(referral_under_consent, analyst_sees_no_person);

const B_VIEW: &str = r#"query BView($p: ID!, $r: ID!) {
  person(id: $p) { id familyName givenName familyNameKana address phone careLevel publicAssistance
                   consultations { id summary } }
  referral(id: $r) { status reason person { id familyName } }
}"#;

fn error_categories(r: &tsunagi_tests::Gql) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = r
        .errors()
        .iter()
        .map(|e| {
            let ext = &e["extensions"];
            (
                ext["code"].as_str().unwrap_or("").to_owned(),
                ext["category"].as_str().unwrap_or("").to_owned(),
                e["path"]
                    .as_array()
                    .and_then(|p| p.last())
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn referral_under_consent(srv: &Server) {
    let a = srv.agency("houkatsu-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("nikokoro-b", "DISABILITY").await;
    let (_a_cw, a_tok) = srv.account("a-cw", &a, &["caseworker"]).await;
    let (b_cw, b_tok) = srv.account("b-cw", &b, &["caseworker"]).await;

    // A records the person, a consultation (narrative) and the consent for B.
    let p = srv
        .person(&a_tok, person_input("山田", "健一", "やまだ", "けんいち"))
        .await;
    let c = srv
        .gql(
            &a_tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id summary } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [p],
                "issues": [{ "code": "HIKIKOMORI", "main": true }], "summary": "20年以上ひきこもり。母の年金で生活。", "urgency": "HIGH" } }),
        )
        .await;
    let consultation = c.ok()["recordConsultation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (idc, idc_v) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]),
        )
        .await;
    let r = srv
        .gql(
            &a_tok,
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id status } }",
            json!({ "i": { "personId": p, "toAgencyId": b, "consultationId": consultation, "reason": "障害の可能性についてアセスメントを依頼" } }),
        )
        .await;
    let referral = r.ok()["proposeReferral"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.ok()["proposeReferral"]["status"], "PROPOSED");

    // A, the owner, sees everything.
    let own = srv
        .gql(&a_tok, B_VIEW, json!({ "p": p, "r": referral }))
        .await;
    let own = own.ok();
    assert_eq!(own["person"]["careLevel"], "要介護2");
    assert_eq!(
        own["person"]["familyNameKana"], "ヤマダ",
        "hiragana input is stored as katakana"
    );
    assert_eq!(
        own["person"]["consultations"][0]["summary"],
        "20年以上ひきこもり。母の年金で生活。"
    );
    assert_eq!(
        own["referral"]["reason"],
        "障害の可能性についてアセスメントを依頼"
    );

    // B: identity and contact shown; health, livelihood and narrative withheld.
    let first = srv
        .gql(&b_tok, B_VIEW, json!({ "p": p, "r": referral }))
        .await;
    assert_eq!(first.status, 200);
    let d = first.data();
    assert_eq!(d["person"]["familyName"], "山田");
    assert_eq!(d["person"]["address"], "鶴岡市本町一丁目 1-1");
    assert_eq!(d["person"]["phone"], "0235-00-0000");
    first.assert_withheld(&[json!("person"), json!("careLevel")], "HEALTH");
    first.assert_withheld(&[json!("person"), json!("publicAssistance")], "LIVELIHOOD");
    first.assert_withheld(&[json!("referral"), json!("reason")], "NARRATIVE");
    assert_eq!(
        d["person"]["consultations"],
        json!([]),
        "A's consultation is not listed for B"
    );
    assert_eq!(d["referral"]["reason"], Value::Null);
    assert_eq!(d["referral"]["person"]["familyName"], "山田");
    assert_eq!(
        error_categories(&first),
        vec![
            (
                "CONSENT_REQUIRED".into(),
                "HEALTH".into(),
                "careLevel".into()
            ),
            (
                "CONSENT_REQUIRED".into(),
                "LIVELIHOOD".into(),
                "publicAssistance".into()
            ),
            (
                "CONSENT_REQUIRED".into(),
                "NARRATIVE".into(),
                "reason".into()
            ),
        ]
    );
    for e in first.errors() {
        assert_eq!(e["extensions"]["subjectId"], p.as_str());
    }
    // Which agency registered the person is itself NARRATIVE: withheld from B, shown to A.
    let owner_q = "query OwnerCheck($p: ID!) { person(id: $p) { ownerAgency { code } } }";
    let owner = srv.gql(&b_tok, owner_q, json!({ "p": p })).await;
    owner.assert_withheld(&[json!("person"), json!("ownerAgency")], "NARRATIVE");
    let owner = srv.gql(&a_tok, owner_q, json!({ "p": p })).await;
    assert_eq!(owner.ok()["person"]["ownerAgency"]["code"], "houkatsu-a");
    // The consultation itself is not B's to know about.
    let hidden = srv
        .gql(
            &b_tok,
            "query($id: ID!) { consultation(id: $id) { id } }",
            json!({ "id": consultation }),
        )
        .await;
    hidden.only_error("NOT_FOUND");

    // A records a HEALTH consent for B: health opens, narrative stays closed.
    let (hc, hc_v) = srv
        .consent(&a_tok, consent_input(&p, &["HEALTH"], &[&b], &[]))
        .await;
    let second = srv
        .gql(&b_tok, B_VIEW, json!({ "p": p, "r": referral }))
        .await;
    assert_eq!(second.data()["person"]["careLevel"], "要介護2");
    assert_eq!(second.data()["referral"]["reason"], Value::Null);
    assert_eq!(
        error_categories(&second),
        vec![
            (
                "CONSENT_REQUIRED".into(),
                "LIVELIHOOD".into(),
                "publicAssistance".into()
            ),
            (
                "CONSENT_REQUIRED".into(),
                "NARRATIVE".into(),
                "reason".into()
            ),
        ]
    );

    // The consents are withdrawn: B can no longer see the person at all.
    for (id, v) in [(&idc, idc_v), (&hc, hc_v)] {
        let w = srv
            .gql(&a_tok, "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { state withdrawnAt } }", json!({ "id": id, "v": v }))
            .await;
        assert_eq!(w.ok()["withdrawConsent"]["state"], "WITHDRAWN");
    }
    let gone = srv
        .gql(
            &b_tok,
            "query($p: ID!) { person(id: $p) { id familyName } }",
            json!({ "p": p }),
        )
        .await;
    let e = gone.only_error("NOT_FOUND");
    assert_eq!(gone.data(), &Value::Null);
    assert!(!gone.body.to_string().contains("山田"));
    assert_eq!(e["extensions"]["field"], "id");
    let list = srv
        .gql(&b_tok, "{ persons { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(list.ok()["persons"]["edges"], json!([]));
    let third = srv
        .gql(
            &b_tok,
            "query($r: ID!) { referral(id: $r) { status person { familyName } } }",
            json!({ "r": referral }),
        )
        .await;
    assert_eq!(
        third.data()["referral"]["status"],
        "PROPOSED",
        "B still sees its own referral record"
    );
    third.assert_withheld(&[json!("referral"), json!("person")], "IDENTITY");
    assert_eq!(
        error_categories(&third),
        vec![(
            "CONSENT_REQUIRED".into(),
            "IDENTITY".into(),
            "person".into()
        )]
    );
    // The consents stay on record, with their history.
    let history = srv
        .gql(
            &a_tok,
            "query($p: ID!) { consents(personId: $p) { id state categories withdrawnAt } }",
            json!({ "p": p }),
        )
        .await;
    let history = history.ok()["consents"].as_array().unwrap().clone();
    assert_eq!(history.len(), 2);
    assert!(history
        .iter()
        .all(|c| c["state"] == "WITHDRAWN" && !c["withdrawnAt"].is_null()));

    // The ledger: B's reads, in order, with shown / withheld categories and bases.
    let rows: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| {
            r.account_id.as_deref() == Some(b_cw.as_str())
                && r.action == "READ"
                && r.subject_person_id.as_deref() == Some(p.as_str())
                && r.operation != "OwnerCheck"
        })
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "one ledger row per B request that touched the person: {rows:#?}"
    );
    let list_of = |s: &str| -> Vec<String> { serde_json::from_str(s).unwrap() };
    assert_eq!(rows[0].operation, "BView");
    assert_eq!(list_of(&rows[0].shown), vec!["CONTACT", "IDENTITY"]);
    assert_eq!(
        list_of(&rows[0].withheld),
        vec!["HEALTH", "LIVELIHOOD", "NARRATIVE"]
    );
    let bases: Value = serde_json::from_str(&rows[0].bases).unwrap();
    assert_eq!(bases["IDENTITY"], json!([format!("CONSENT:{idc}")]));
    assert_eq!(bases["CONTACT"], json!([format!("CONSENT:{idc}")]));
    assert_eq!(
        list_of(&rows[1].shown),
        vec!["CONTACT", "HEALTH", "IDENTITY"]
    );
    assert_eq!(list_of(&rows[1].withheld), vec!["LIVELIHOOD", "NARRATIVE"]);
    let bases: Value = serde_json::from_str(&rows[1].bases).unwrap();
    assert_eq!(bases["HEALTH"], json!([format!("CONSENT:{hc}")]));
    assert_eq!(list_of(&rows[2].shown), Vec::<String>::new());
    assert_eq!(list_of(&rows[2].withheld), vec!["IDENTITY"]);

    // The same, through the API, for the auditor.
    let log = srv
        .gql(&srv.admin_token, "query($p: ID!) { accessLog(personId: $p, first: 50) { edges { node { accountId operation shown withheld bases } } } }", json!({ "p": p }))
        .await;
    let by_b: Vec<Value> = log.ok()["accessLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .filter(|n| n["accountId"] == b_cw.as_str() && n["operation"] != "OwnerCheck")
        .collect();
    assert_eq!(by_b.len(), 3);
    assert_eq!(
        by_b[2]["withheld"],
        json!(["HEALTH", "LIVELIHOOD", "NARRATIVE"]),
        "newest first"
    );
    let verify = srv
        .gql(
            &srv.admin_token,
            "{ verifyAuditChain { ok checked firstBrokenSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(verify.ok()["verifyAuditChain"]["ok"], true);
}

async fn analyst_sees_no_person(srv: &Server) {
    let a = srv.agency("agency-a", "SELF_RELIANCE").await;
    let (_, a_tok) = srv.account("a-cw", &a, &["caseworker"]).await;
    let (an_id, an_tok) = srv.account("a-analyst", &a, &["analyst"]).await;
    let p = srv
        .person(&a_tok, person_input("鈴木", "一郎", "スズキ", "イチロウ"))
        .await;
    // Even a consent naming the analyst's own agency opens nothing for the analyst role.
    srv.consent(
        &a_tok,
        consent_input(&p, &["IDENTITY", "CONTACT", "HEALTH"], &[&a], &[]),
    )
    .await;
    let list = srv.gql(&an_tok, "{ persons { edges { node { id } } } consultations { edges { node { id } } } households { edges { node { id } } } referrals { edges { node { id } } } }", json!({})).await;
    let d = list.ok();
    for k in ["persons", "consultations", "households", "referrals"] {
        assert_eq!(d[k]["edges"], json!([]), "{k} must be empty for an analyst");
    }
    let one = srv
        .gql(
            &an_tok,
            "query($p: ID!) { person(id: $p) { id familyName } }",
            json!({ "p": p }),
        )
        .await;
    one.only_error("NOT_FOUND");
    // The caseworker of the same agency, on the same data, sees the person.
    let cw = srv
        .gql(
            &a_tok,
            "query($p: ID!) { person(id: $p) { familyName careLevel } }",
            json!({ "p": p }),
        )
        .await;
    assert_eq!(cw.ok()["person"]["familyName"], "鈴木");
    // explainAccess: the analyst may not even ask (it may not know the person exists); an
    // admin asking on the analyst's behalf sees every category denied by the role ceiling.
    let own = srv
        .gql(
            &an_tok,
            "query($p: ID!) { explainAccess(personId: $p) { items { allowed } } }",
            json!({ "p": p }),
        )
        .await;
    own.only_error("NOT_FOUND");
    let why = srv
        .gql(&srv.admin_token, "query($p: ID!, $a: ID) { explainAccess(personId: $p, accountId: $a) { items { category location allowed denial } } }", json!({ "p": p, "a": an_id }))
        .await;
    let items = why.ok()["explainAccess"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 9, "eight categories and the location item");
    assert!(
        items
            .iter()
            .all(|i| i["allowed"] == false && i["denial"] == "ROLE_CEILING"),
        "{items:?}"
    );
}
