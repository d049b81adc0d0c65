//! The household overview's person fields (issue 5): `Person.consultations(first:)` gives the
//! N newest consultations the caller may see (a hidden one never takes a place, so the
//! count tells nothing), and `Person.consents` answers exactly as the root query
//! `consents(personId:)` does, caller by caller, and is ledgered the same way.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(
    person_consultations_first_takes_the_newest_visible,
    person_consultations_first_is_checked,
    person_consents_equal_root_consents,
    issues_are_listed_once_however_the_consultation_is_reached
);

const RECORD: &str =
    "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";

/// Record a consultation about `person` as `tok`, received on `day` of October 2026.
async fn consult(srv: &Server, tok: &str, person: &str, day: u32) -> String {
    let r = srv
        .gql(
            tok,
            RECORD,
            json!({ "i": { "receivedAt": format!("2026-10-{day:02}T09:00:00Z"), "channel": "VISIT",
                "subjectPersonIds": [person],
                "issues": [{ "code": "HIKIKOMORI", "main": true }],
                "summary": format!("相談 {day}"), "urgency": "NORMAL" } }),
        )
        .await;
    r.ok()["recordConsultation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const RECENT: &str =
    "query($p: ID!, $n: Int) { person(id: $p) { id consultations(first: $n) { id receivedAt } } }";

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn recent(srv: &Server, tok: &str, p: &str, n: Option<i64>) -> Vec<String> {
    let r = srv.gql(tok, RECENT, json!({ "p": p, "n": n })).await;
    ids(&r.ok()["person"]["consultations"])
}

async fn person_consultations_first_takes_the_newest_visible(srv: &Server) {
    let a = srv.agency("fc-a", "DISABILITY").await;
    let b = srv.agency("fc-b", "MULTI_AGENCY").await;
    let (_, a_cw) = srv.account("fc-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("fc-b-cw", &b, &["caseworker"]).await;
    // A registers the person; B may know them (IDENTITY) but not A's consultations
    // (no NARRATIVE): B sees only the consultations it received itself.
    let p = srv
        .person(&a_cw, person_input("佐藤", "一郎", "サトウ", "イチロウ"))
        .await;
    srv.consent(&a_cw, consent_input(&p, &["IDENTITY"], &[&b], &[]))
        .await;
    let b1 = consult(srv, &b_cw, &p, 1).await;
    let a2 = consult(srv, &a_cw, &p, 2).await;
    let b3 = consult(srv, &b_cw, &p, 3).await;
    let b4 = consult(srv, &b_cw, &p, 4).await;
    // The newest two are A's: hidden from B.
    let a5 = consult(srv, &a_cw, &p, 5).await;
    let a6 = consult(srv, &a_cw, &p, 6).await;

    // Without `first`: every visible one, newest first.
    assert_eq!(
        recent(srv, &b_cw, &p, None).await,
        vec![b4.clone(), b3.clone(), b1.clone()]
    );
    // With `first`: the newest N of those B may see; A's newer ones take no place.
    assert_eq!(recent(srv, &b_cw, &p, Some(1)).await, vec![b4.clone()]);
    assert_eq!(
        recent(srv, &b_cw, &p, Some(2)).await,
        vec![b4.clone(), b3.clone()]
    );
    assert_eq!(
        recent(srv, &b_cw, &p, Some(3)).await,
        vec![b4.clone(), b3.clone(), b1.clone()]
    );
    // More than there are: all of them, and nothing about how many are hidden.
    assert_eq!(
        recent(srv, &b_cw, &p, Some(5)).await,
        vec![b4.clone(), b3.clone(), b1.clone()]
    );
    assert_eq!(recent(srv, &b_cw, &p, Some(100)).await.len(), 3);
    // A (which may not see B's consultations either: registering gives no OWN over them).
    assert_eq!(
        recent(srv, &a_cw, &p, Some(2)).await,
        vec![a6.clone(), a5.clone()]
    );
    assert_eq!(
        recent(srv, &a_cw, &p, None).await,
        vec![a6.clone(), a5.clone(), a2.clone()]
    );

    // Under a household's members (the batched path), the same rule: A's two newest are
    // hidden from B and take no place.
    let h = srv
        .gql(
            &b_cw,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [{ "personId": p, "relationship": "本人", "isHead": true }] }),
        )
        .await;
    let h = h.ok()["createHousehold"]["id"].as_str().unwrap().to_owned();
    let q = "query($h: ID!) { household(id: $h) { members { person { id consultations(first: 2) { id } } } } }";
    let in_household =
        |r: &tsunagi_tests::Gql| ids(&r.ok()["household"]["members"][0]["person"]["consultations"]);
    let r = srv.gql(&b_cw, q, json!({ "h": h })).await;
    assert_eq!(in_household(&r), vec![b4.clone(), b3.clone()]);

    // With NARRATIVE consented, B sees A's too: the newest N of all.
    srv.consent(&a_cw, consent_input(&p, &["NARRATIVE"], &[&b], &[]))
        .await;
    assert_eq!(
        recent(srv, &b_cw, &p, Some(4)).await,
        vec![a6.clone(), a5.clone(), b4.clone(), b3.clone()]
    );
    assert_eq!(recent(srv, &b_cw, &p, None).await.len(), 6);
    let r = srv.gql(&b_cw, q, json!({ "h": h })).await;
    assert_eq!(in_household(&r), vec![a6, a5]);
}

async fn person_consultations_first_is_checked(srv: &Server) {
    let a = srv.agency("fv-a", "DISABILITY").await;
    let (_, a_cw) = srv.account("fv-a-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&a_cw, person_input("鈴木", "次郎", "スズキ", "ジロウ"))
        .await;
    consult(srv, &a_cw, &p, 1).await;
    let q = "query($p: ID!, $n: Int) { person(id: $p) { consultations(first: $n) { id } } }";
    for n in [0, -1, 101, 100_000] {
        let before = srv.snapshot().await;
        let r = srv.gql(&a_cw, q, json!({ "p": p, "n": n })).await;
        srv.assert_unchanged(
            &before,
            format!("nothing written, not even the ledger: {}", r.body),
        )
        .await;
        let e = r.only_error("BAD_USER_INPUT");
        assert_eq!(e["extensions"]["field"], "first", "{}", r.body);
        assert!(!r.body.to_string().contains("相談"), "{}", r.body);
    }
    let r = srv.gql(&a_cw, q, json!({ "p": p, "n": 100 })).await;
    assert_eq!(ids(&r.ok()["person"]["consultations"]).len(), 1);
}

/// Every field of a consent.
const CONSENT_FIELDS: &str = "id personId givenBy proxyName proxyRelationship categories \
    recipientAgencies { id code } recipientAgencyKinds purpose validFrom validUntil method \
    evidenceRef explanationVersion recordedBy recordedAgency { id } recordedAt withdrawnAt \
    withdrawnBy withdrawalReason version state";

async fn root_consents(srv: &Server, tok: &str, p: &str) -> (Value, Vec<String>) {
    let r = srv
        .gql(
            tok,
            &format!("query($p: ID!) {{ consents(personId: $p) {{ {CONSENT_FIELDS} }} }}"),
            json!({ "p": p }),
        )
        .await;
    (r.body["data"]["consents"].clone(), r.codes())
}

async fn field_consents(srv: &Server, tok: &str, p: &str) -> (Value, Vec<String>) {
    let r = srv
        .gql(
            tok,
            &format!("query($p: ID!) {{ person(id: $p) {{ consents {{ {CONSENT_FIELDS} }} }} }}"),
            json!({ "p": p }),
        )
        .await;
    (r.body["data"]["person"]["consents"].clone(), r.codes())
}

/// The consent rows the ledger holds for reads of `p`'s consents: (account, detail).
async fn consent_reads(srv: &Server, p: &str) -> Vec<(Option<String>, String)> {
    srv.ledger()
        .await
        .into_iter()
        .filter(|e| e.record_type == "consent" && e.subject_person_id.as_deref() == Some(p))
        .map(|e| (e.account_id, e.detail))
        .collect()
}

async fn person_consents_equal_root_consents(srv: &Server) {
    let a = srv.agency("pc-a", "DISABILITY").await;
    let b = srv.agency("pc-b", "MULTI_AGENCY").await;
    let c = srv.agency("pc-c", "CHILD_FAMILY").await;
    let d = srv.agency("pc-d", "SELF_RELIANCE").await;
    let (_, a_cw) = srv.account("pc-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("pc-b-cw", &b, &["caseworker"]).await;
    let (_, b_lsc) = srv
        .account("pc-b-lsc", &b, &["life_support_coordinator"])
        .await;
    let (_, c_cw) = srv.account("pc-c-cw", &c, &["caseworker"]).await;
    let (_, d_cw) = srv.account("pc-d-cw", &d, &["caseworker"]).await;
    let p = srv
        .person(&a_cw, person_input("高橋", "三郎", "タカハシ", "サブロウ"))
        .await;
    // In force naming B (and C); naming C only; naming B's kind; withdrawn naming B; by a
    // proxy naming B, expired.
    srv.consent(
        &a_cw,
        consent_input(&p, &["IDENTITY", "NARRATIVE"], &[&b, &c], &[]),
    )
    .await;
    srv.consent(
        &a_cw,
        consent_input(&p, &["IDENTITY", "HEALTH"], &[&c], &[]),
    )
    .await;
    srv.consent(
        &a_cw,
        consent_input(&p, &["HOUSEHOLD"], &[], &["MULTI_AGENCY", "CHILD_FAMILY"]),
    )
    .await;
    let (gone, gone_v) = srv
        .consent(&a_cw, consent_input(&p, &["IDENTITY", "PLAN"], &[&b], &[]))
        .await;
    srv.gql(
        &a_cw,
        "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
        json!({ "id": gone, "v": gone_v }),
    )
    .await
    .ok();
    let mut proxy = consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]);
    proxy["givenBy"] = json!("PROXY");
    proxy["proxyName"] = json!("高橋 花子");
    proxy["proxyRelationship"] = json!("成年後見人");
    proxy["validFrom"] = json!("2025-01-01T00:00:00Z");
    proxy["validUntil"] = json!("2025-12-31T00:00:00Z");
    srv.consent(&a_cw, proxy).await;

    // D knows the person only through a break-glass grant: no consent names D.
    srv.gql(
        &d_cw,
        "mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"意識がなく搬送先に既往歴を伝える必要\", hours: 1) { id } }",
        json!({ "p": p }),
    )
    .await
    .ok();

    // (caller, how many consents it sees, whether it sees every recipient)
    let callers = [
        ("own agency", &a_cw, 5, true),
        ("consented agency", &b_cw, 4, false),
        ("consented agency, narrower role", &b_lsc, 4, false),
        ("another consented agency", &c_cw, 3, false),
        ("unrelated agency with a grant", &d_cw, 0, false),
    ];
    for (who, tok, n, all) in callers {
        let (root, root_codes) = root_consents(srv, tok, &p).await;
        let reads = consent_reads(srv, &p).await;
        let (field, field_codes) = field_consents(srv, tok, &p).await;
        let reads_after = consent_reads(srv, &p).await;
        assert!(root_codes.is_empty(), "{who}: {root_codes:?}");
        assert!(field_codes.is_empty(), "{who}: {field_codes:?}");
        assert_eq!(
            serde_json::to_string(&field).unwrap(),
            serde_json::to_string(&root).unwrap(),
            "{who}: Person.consents must equal consents(personId:) byte for byte"
        );
        let list = root.as_array().unwrap();
        assert_eq!(list.len(), n, "{who}: {root}");
        let recipients: Vec<&Value> = list
            .iter()
            .flat_map(|c| c["recipientAgencies"].as_array().unwrap())
            .collect();
        if !all {
            let me = match who {
                w if w.contains("another") => &c,
                w if w.contains("unrelated") => &d,
                _ => &b,
            };
            assert!(
                recipients.iter().all(|r| r["id"] == json!(me)),
                "{who} sees only itself among the recipients: {root}"
            );
        } else {
            assert!(recipients.iter().any(|r| r["id"] == json!(c)));
        }
        // Ledgered the same way: one more consent read, with the same detail.
        assert_eq!(reads_after.len(), reads.len() + 1, "{who}");
        assert_eq!(reads_after.last(), reads.last(), "{who}");
    }

    // A caller that may not know the person: NOT_FOUND from the root query, and the person
    // (so its consents) is not found either.
    let e = srv.agency("pc-e", "OUTREACH").await;
    let (_, e_cw) = srv.account("pc-e-cw", &e, &["caseworker"]).await;
    let (root, codes) = root_consents(srv, &e_cw, &p).await;
    assert_eq!((root, codes), (Value::Null, vec!["NOT_FOUND".to_owned()]));
    let (field, codes) = field_consents(srv, &e_cw, &p).await;
    assert_eq!((field, codes), (Value::Null, vec!["NOT_FOUND".to_owned()]));
}

/// A consultation reached twice in one request (in the list, and again through its
/// household's members) lists each issue once: the batch loaders fill what is missing and
/// never append to what an earlier loader filled.
async fn issues_are_listed_once_however_the_consultation_is_reached(srv: &Server) {
    let a = srv.agency("iu-a", "DISABILITY").await;
    let (_, cw) = srv.account("iu-a-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&cw, person_input("松本", "一郎", "マツモト", "イチロウ"))
        .await;
    let h = srv.household(&cw, &[&p]).await;
    let r = srv
        .gql(
            &cw,
            RECORD,
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT",
                "subjectPersonIds": [p], "householdId": h,
                "issues": [{ "code": "HIKIKOMORI", "main": true }, { "code": "DEBT", "main": false }],
                "summary": "二つの課題", "urgency": "NORMAL" } }),
        )
        .await;
    let c = r.ok()["recordConsultation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = srv
        .gql(
            &cw,
            "query($a: ID!) { consultations(receivingAgencyId: $a, first: 10) { nodes { id
                issues { main category { code } }
                household { members { person { consultations { id issues { main category { code } } } } } } } } }",
            json!({ "a": a }),
        )
        .await;
    let node = &r.ok()["consultations"]["nodes"][0];
    assert_eq!(node["id"], c.as_str());
    let codes = |v: &Value| -> Vec<String> {
        let mut c: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("issues: {v}"))
            .iter()
            .map(|i| i["category"]["code"].as_str().unwrap_or("").to_owned())
            .collect();
        c.sort();
        c
    };
    assert_eq!(
        codes(&node["issues"]),
        vec!["DEBT", "HIKIKOMORI"],
        "{}",
        r.body
    );
    let again = &node["household"]["members"][0]["person"]["consultations"][0];
    assert_eq!(again["id"], c.as_str());
    assert_eq!(
        codes(&again["issues"]),
        vec!["DEBT", "HIKIKOMORI"],
        "{}",
        r.body
    );
}
