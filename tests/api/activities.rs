//! Activities: outreach visits with result and relationship stage, participation and
//! monitoring notes. An activity is NARRATIVE of its person held by the recording agency:
//! another agency sees it only with a NARRATIVE basis. `noContact` lists the people an
//! agency follows (under its outreach, or in its open support cases) with no recent contact.

use chrono::{Duration, Utc};
use sea_orm::ActiveModelTrait;
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    outreach_visits_and_who_sees_them,
    record_activity_rejects_invalid_input,
    no_contact_lists_stale_and_absent_contact
);

const RECORD: &str = "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id kind occurredOn result stage nextPlannedOn note agency { id } } }";
const LIST: &str = "query($p: ID!, $after: String) { activities(personId: $p, first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id kind stage note agency { id } } } } }";
const NO_CONTACT: &str =
    "query($d: Int!) { noContact(days: $d) { person { id familyName } lastContactOn reason } }";

/// The city's date (JST) `days` from today.
pub(crate) fn day(days: i64) -> String {
    (Utc::now() + Duration::hours(9) + Duration::days(days))
        .date_naive()
        .to_string()
}

fn visit(person: &str, on: &str, result: &str, stage: &str, note: &str) -> Value {
    json!({ "kind": "OUTREACH_VISIT", "personId": person, "occurredOn": on, "result": result,
        "stage": stage, "note": note })
}

async fn record(srv: &Server, tok: &str, input: Value) -> Gql {
    srv.gql(tok, RECORD, json!({ "i": input })).await
}

fn node_ids(r: &Gql) -> Vec<String> {
    r.ok()["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn outreach_visits_and_who_sees_them(srv: &Server) {
    let o = srv.agency("outreach-o", "OUTREACH").await;
    let q = srv.agency("houkatsu-q", "COMPREHENSIVE_CARE").await;
    let (o_account, o_tok) = srv.account("o-cw", &o, &["caseworker"]).await;
    let (_, q_tok) = srv.account("q-cw", &q, &["caseworker"]).await;
    let p = srv
        .person(&o_tok, person_input("高橋", "誠", "タカハシ", "マコト"))
        .await;
    let before = srv.ledger().await.len();
    let first = record(
        srv,
        &o_tok,
        visit(
            &p,
            &day(-10),
            "NOT_MET",
            "PRE_CONTACT",
            "不在。手紙を置いた。",
        ),
    )
    .await;
    let a = &first.ok()["recordActivity"];
    assert_eq!(a["kind"], "OUTREACH_VISIT");
    assert_eq!(a["result"], "NOT_MET");
    assert_eq!(a["stage"], "PRE_CONTACT");
    assert_eq!(a["agency"]["id"], o.as_str());
    let mut second = visit(&p, &day(-3), "MET", "CONTACT", "玄関先で 5 分話せた。");
    second["nextPlannedOn"] = json!(day(7));
    let second = record(srv, &o_tok, second).await;
    assert_eq!(second.ok()["recordActivity"]["nextPlannedOn"], day(7));
    let mon = record(srv, &o_tok, json!({ "kind": "MONITORING", "personId": p, "occurredOn": day(0), "note": "電話で様子を確認。" })).await;
    assert_eq!(mon.ok()["recordActivity"]["stage"], Value::Null);

    // Each write is ledgered with its person, field names only.
    let writes: Vec<_> = srv.ledger().await[before..]
        .iter()
        .filter(|r| r.action == "WRITE" && r.operation == "recordActivity")
        .cloned()
        .collect();
    assert_eq!(writes.len(), 3);
    for w in &writes {
        assert_eq!(w.subject_person_id.as_deref(), Some(p.as_str()));
        assert_eq!(w.account_id.as_deref(), Some(o_account.as_str()));
        assert!(
            w.detail.contains("note") && !w.detail.contains("玄関先") && !w.detail.contains("不在"),
            "{w:?}"
        );
    }

    // O lists its activities newest first, two a page.
    let page1 = srv.gql(&o_tok, LIST, json!({ "p": p })).await;
    let edges = page1.ok()["activities"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["kind"], "MONITORING");
    assert_eq!(edges[1]["node"]["stage"], "CONTACT");
    assert_eq!(edges[1]["node"]["note"], "玄関先で 5 分話せた。");
    assert_eq!(page1.ok()["activities"]["pageInfo"]["hasNextPage"], true);
    let cursor = page1.ok()["activities"]["pageInfo"]["endCursor"].clone();
    let page2 = srv
        .gql(&o_tok, LIST, json!({ "p": p, "after": cursor }))
        .await;
    let rest = page2.ok()["activities"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["node"]["stage"], "PRE_CONTACT");

    // Q knows nothing of the person: NOT_FOUND, and it cannot record for them.
    srv.gql(&q_tok, LIST, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let e = record(
        srv,
        &q_tok,
        json!({ "kind": "MONITORING", "personId": p, "occurredOn": day(0), "note": "x" }),
    )
    .await
    .only_error("NOT_FOUND");
    assert_eq!(e["extensions"]["field"], "input.personId");

    // With IDENTITY consent only, Q knows the person but sees none of O's activities.
    srv.consent(&o_tok, consent_input(&p, &["IDENTITY"], &[&q], &[]))
        .await;
    assert!(node_ids(&srv.gql(&q_tok, LIST, json!({ "p": p })).await).is_empty());
    // Q records its own; O, which registered the person, does not see Q's note.
    let qa = record(srv, &q_tok, json!({ "kind": "PARTICIPATION", "personId": p, "occurredOn": day(-1), "note": "サロンに初参加。" })).await;
    let qa = qa.ok()["recordActivity"]["id"].as_str().unwrap().to_owned();
    let q_list = srv.gql(&q_tok, LIST, json!({ "p": p })).await;
    assert_eq!(node_ids(&q_list), vec![qa.clone()]);
    let o_all = srv
        .gql(
            &o_tok,
            "query($p: ID!) { activities(personId: $p) { edges { node { id } } } }",
            json!({ "p": p }),
        )
        .await;
    assert!(
        !o_all.body.to_string().contains(&qa),
        "Q's activity is not listed for O"
    );
    assert_eq!(
        o_all.ok()["activities"]["edges"].as_array().unwrap().len(),
        3
    );

    // A NARRATIVE consent naming Q opens O's activities to Q.
    srv.consent(&o_tok, consent_input(&p, &["NARRATIVE"], &[&q], &[]))
        .await;
    let q_all = srv.gql(&q_tok, "query($p: ID!) { activities(personId: $p, first: 10) { edges { node { note agency { id } } } } }", json!({ "p": p })).await;
    let notes: Vec<&str> = q_all.ok()["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 4);
    assert!(notes.contains(&"不在。手紙を置いた。"));
}

async fn record_activity_rejects_invalid_input(srv: &Server) {
    let o = srv.agency("outreach-v", "OUTREACH").await;
    let (_, o_tok) = srv.account("v-cw", &o, &["caseworker"]).await;
    let (_, an_tok) = srv.account("v-analyst", &o, &["analyst"]).await;
    let p = srv
        .person(&o_tok, person_input("伊藤", "静", "イトウ", "シズカ"))
        .await;
    let ok = visit(&p, &day(0), "MET", "RELATIONSHIP", "面談");
    let patch = |changes: Value| {
        let mut i = ok.clone();
        for (k, v) in changes.as_object().unwrap() {
            i[k] = v.clone();
        }
        i
    };
    let cases = [
        (
            patch(json!({ "result": null })),
            "BAD_USER_INPUT",
            "input.result",
        ),
        (
            patch(json!({ "stage": null })),
            "BAD_USER_INPUT",
            "input.stage",
        ),
        (
            patch(json!({ "kind": "MONITORING", "result": null })),
            "BAD_USER_INPUT",
            "input.stage",
        ),
        (
            patch(json!({ "kind": "PARTICIPATION", "stage": null })),
            "BAD_USER_INPUT",
            "input.result",
        ),
        (
            patch(json!({ "occurredOn": day(2) })),
            "BAD_USER_INPUT",
            "input.occurredOn",
        ),
        (
            patch(json!({ "occurredOn": "2026/01/01" })),
            "BAD_USER_INPUT",
            "input.occurredOn",
        ),
        (
            patch(json!({ "nextPlannedOn": day(-1) })),
            "BAD_USER_INPUT",
            "input.nextPlannedOn",
        ),
        (
            patch(json!({ "note": "  " })),
            "BAD_USER_INPUT",
            "input.note",
        ),
        (
            patch(json!({ "personId": "x" })),
            "BAD_USER_INPUT",
            "input.personId",
        ),
        (
            patch(json!({ "personId": uuid::Uuid::new_v4().to_string() })),
            "NOT_FOUND",
            "input.personId",
        ),
        (
            patch(json!({ "caseId": uuid::Uuid::new_v4().to_string() })),
            "NOT_FOUND",
            "input.caseId",
        ),
        (
            patch(json!({ "placementId": uuid::Uuid::new_v4().to_string() })),
            "NOT_FOUND",
            "input.placementId",
        ),
    ];
    let before = srv.ledger().await.len();
    for (input, code, field) in cases {
        let r = record(srv, &o_tok, input).await;
        let e = r.only_error(code);
        assert_eq!(e["extensions"]["field"], field, "{}", r.body);
    }
    // An analyst may not record at all; noContact is refused too.
    record(srv, &an_tok, ok.clone())
        .await
        .only_error("FORBIDDEN");
    srv.gql(&an_tok, NO_CONTACT, json!({ "d": 30 }))
        .await
        .only_error("FORBIDDEN");
    assert!(
        srv.ledger().await[before..]
            .iter()
            .all(|r| r.action != "WRITE"),
        "a refused write writes nothing"
    );
    assert!(node_ids(&srv.gql(&o_tok, LIST, json!({ "p": p })).await).is_empty());
    record(srv, &o_tok, ok).await.ok();
    assert_eq!(
        node_ids(&srv.gql(&o_tok, LIST, json!({ "p": p })).await).len(),
        1
    );
}

/// A support case row, as the cases module records it (fixture only).
async fn support_case(srv: &Server, household: &str, agency: &str, status: &str) {
    let now = Utc::now();
    entity::support_case::ActiveModel::from(entity::support_case::Model {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: household.to_owned(),
        owner_agency_id: agency.to_owned(),
        lead_account_id: uuid::Uuid::now_v7().to_string(),
        status: status.to_owned(),
        status_before_suspension: None,
        opened_on: now.date_naive(),
        closed_on: None,
        version: 1,
        created_by: "fixture".to_owned(),
        created_at: now,
        updated_at: now,
    })
    .insert(&srv.db)
    .await
    .unwrap();
}

async fn household(srv: &Server, tok: &str, person: &str) -> String {
    let h = srv
        .gql(
            tok,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [{ "personId": person, "relationship": "本人", "isHead": true }] }),
        )
        .await;
    h.ok()["createHousehold"]["id"].as_str().unwrap().to_owned()
}

async fn no_contact_lists_stale_and_absent_contact(srv: &Server) {
    let o = srv.agency("outreach-n", "OUTREACH").await;
    let q = srv.agency("houkatsu-n", "COMPREHENSIVE_CARE").await;
    let (_, o_tok) = srv.account("n-cw", &o, &["caseworker"]).await;
    let (_, q_tok) = srv.account("nq-cw", &q, &["caseworker"]).await;
    let mk = |f: &'static str, k: &'static str| person_input(f, "太郎", k, "タロウ");
    let stale = srv.person(&o_tok, mk("古田", "フルタ")).await;
    let fresh = srv.person(&o_tok, mk("新井", "アライ")).await;
    let done = srv.person(&o_tok, mk("終田", "オワリダ")).await;
    let cased = srv.person(&o_tok, mk("案田", "アンダ")).await;
    let closed = srv.person(&o_tok, mk("閉田", "ヘイダ")).await;
    record(srv, &o_tok, visit(&stale, &day(-40), "MET", "CONTACT", "a"))
        .await
        .ok();
    record(
        srv,
        &o_tok,
        visit(&fresh, &day(-40), "NOT_MET", "PRE_CONTACT", "b"),
    )
    .await
    .ok();
    record(
        srv,
        &o_tok,
        json!({ "kind": "MONITORING", "personId": fresh, "occurredOn": day(-2), "note": "c" }),
    )
    .await
    .ok();
    record(
        srv,
        &o_tok,
        visit(&done, &day(-45), "MET", "RELATIONSHIP", "d"),
    )
    .await
    .ok();
    record(
        srv,
        &o_tok,
        visit(&done, &day(-40), "MET", "CONNECTED", "e"),
    )
    .await
    .ok();
    let h1 = household(srv, &o_tok, &cased).await;
    support_case(srv, &h1, &o, "ACTIVE").await;
    let h2 = household(srv, &o_tok, &closed).await;
    support_case(srv, &h2, &o, "CLOSED").await;

    let r = srv.gql(&o_tok, NO_CONTACT, json!({ "d": 30 })).await;
    assert_eq!(
        r.ok()["noContact"],
        json!([
            { "person": { "id": cased, "familyName": "案田" }, "lastContactOn": null, "reason": "CASE" },
            { "person": { "id": stale, "familyName": "古田" }, "lastContactOn": day(-40), "reason": "OUTREACH" },
        ])
    );
    let r = srv.gql(&o_tok, NO_CONTACT, json!({ "d": 1 })).await;
    let ids: Vec<&str> = r.ok()["noContact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["person"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![cased.as_str(), stale.as_str(), fresh.as_str()]);
    // Q follows nobody, and learns nothing of O's people.
    assert_eq!(
        srv.gql(&q_tok, NO_CONTACT, json!({ "d": 1 })).await.ok()["noContact"],
        json!([])
    );
    for d in [0, 3651, -5] {
        let e = srv
            .gql(&o_tok, NO_CONTACT, json!({ "d": d }))
            .await
            .only_error("BAD_USER_INPUT");
        assert_eq!(e["extensions"]["field"], "days");
    }
}
