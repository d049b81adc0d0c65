//! External references and upserts (issue 15, item 1): an agency syncs its own records by its
//! own ids. The same input twice is one record and no new version; concurrent upserts of one
//! reference are one record; another agency never sees, nor finds by, the caller's references;
//! upserts are ledgered as the writes they become.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    upserting_a_person_twice_is_one_record_and_one_version,
    another_agency_never_sees_nor_finds_by_a_reference,
    concurrent_upserts_of_one_reference_are_one_record,
    upserts_that_only_create_refuse_another_input_under_a_reference,
    bad_references_are_refused_with_their_field_and_nothing_is_written,
);

const UPSERT_PERSON: &str = "mutation($r: ExternalRefInput!, $i: CreatePersonInput!) {
  upsertPerson(ref: $r, input: $i) { created changed person { id version phone externalRefs { system externalId } } } }";

fn reference(system: &str, id: &str) -> Value {
    json!({ "system": system, "externalId": id })
}

async fn upsert_person(srv: &Server, token: &str, r: Value, input: Value) -> Gql {
    srv.gql(token, UPSERT_PERSON, json!({ "r": r, "i": input }))
        .await
}

/// The ledger's WRITE rows of this record.
async fn writes_of(srv: &Server, record: &str) -> Vec<entity::audit_event::Model> {
    srv.ledger()
        .await
        .into_iter()
        .filter(|e| e.action == "WRITE" && e.record_id.as_deref() == Some(record))
        .collect()
}

async fn count_refs(srv: &Server) -> usize {
    use sea_orm::EntityTrait;
    entity::external_ref::Entity::find()
        .all(&srv.db)
        .await
        .expect("refs")
        .len()
}

async fn upserting_a_person_twice_is_one_record_and_one_version(srv: &Server) {
    let own = srv.agency("ups-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("ups-cw", &own, &["caseworker"]).await;
    let input = person_input("山田", "花子", "ヤマダ", "ハナコ");
    let r = upsert_person(srv, &cw, reference("kaigo-v3", "P-0001"), input.clone()).await;
    let first = &r.ok()["upsertPerson"];
    assert_eq!(first["created"], true);
    assert_eq!(first["changed"], true);
    let id = first["person"]["id"].as_str().expect("id").to_owned();
    assert_eq!(first["person"]["version"], 1);
    assert_eq!(
        first["person"]["externalRefs"],
        json!([{ "system": "kaigo-v3", "externalId": "P-0001" }])
    );
    let w = writes_of(srv, &id).await;
    assert_eq!(w.len(), 1, "one WRITE row");
    assert_eq!(w[0].operation, "upsertPerson");
    assert!(w[0].detail.contains("\"created\":true"), "{}", w[0].detail);

    // The same input again: the same record, no new version, nothing written.
    let r = upsert_person(srv, &cw, reference("kaigo-v3", "P-0001"), input.clone()).await;
    let again = &r.ok()["upsertPerson"];
    assert_eq!(again["created"], false);
    assert_eq!(again["changed"], false);
    assert_eq!(again["person"]["id"], id.as_str());
    assert_eq!(again["person"]["version"], 1);
    assert_eq!(writes_of(srv, &id).await.len(), 1, "no second WRITE row");

    // A changed field: an update of the same record, ledgered with the field's name only.
    let mut changed = input.clone();
    changed["phone"] = json!("0235-11-2222");
    let r = upsert_person(srv, &cw, reference("kaigo-v3", "P-0001"), changed).await;
    let upd = &r.ok()["upsertPerson"];
    assert_eq!(
        (upd["created"].clone(), upd["changed"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(upd["person"]["version"], 2);
    assert_eq!(upd["person"]["phone"], "0235-11-2222");
    let w = writes_of(srv, &id).await;
    assert_eq!(w.len(), 2);
    assert!(
        w[1].detail.contains("\"fields\":[\"phone\"]"),
        "{}",
        w[1].detail
    );
    assert!(!w[1].detail.contains("0235"), "no value in the ledger");

    // The lookup by reference answers like person(id:).
    let r = srv
        .gql(
            &cw,
            "{ personByRef(system: \"kaigo-v3\", externalId: \"P-0001\") { id version } }",
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["personByRef"]["id"], id.as_str());
    assert_eq!(count_refs(srv).await, 1);
}

async fn another_agency_never_sees_nor_finds_by_a_reference(srv: &Server) {
    let own = srv.agency("ups2-own", "COMPREHENSIVE_CARE").await;
    let other = srv.agency("ups2-oth", "DISABILITY").await;
    let (_, cw) = srv.account("ups2-cw", &own, &["caseworker"]).await;
    let (_, ocw) = srv.account("ups2-ocw", &other, &["caseworker"]).await;
    let r = upsert_person(
        srv,
        &cw,
        reference("kaigo-v3", "P-7"),
        person_input("佐藤", "一郎", "サトウ", "イチロウ"),
    )
    .await;
    let id = r.ok()["upsertPerson"]["person"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The other agency may know the person by consent, yet sees none of the caller's refs.
    srv.consent(&cw, consent_input(&id, &["IDENTITY"], &[&other], &[]))
        .await;
    let r = srv
        .gql(
            &ocw,
            "query($id: ID!) { person(id: $id) { id externalRefs { system externalId } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.ok()["person"]["id"], id.as_str());
    assert_eq!(r.ok()["person"]["externalRefs"], json!([]));
    // Nor finds the person by the caller's reference: NOT_FOUND, byte-identical to a
    // reference nobody holds.
    let by_ref = |e: &'static str| {
        format!("{{ personByRef(system: \"kaigo-v3\", externalId: \"{e}\") {{ id }} }}")
    };
    let held = srv.gql(&ocw, &by_ref("P-7"), json!({})).await;
    let none = srv.gql(&ocw, &by_ref("P-nobody"), json!({})).await;
    held.only_error("NOT_FOUND");
    assert_eq!(held.body, none.body, "indistinguishable");
    // Its own upsert of the same reference is its own record.
    let r = upsert_person(
        srv,
        &ocw,
        reference("kaigo-v3", "P-7"),
        person_input("佐藤", "一郎", "サトウ", "イチロウ"),
    )
    .await;
    let theirs = &r.ok()["upsertPerson"];
    assert_eq!(theirs["created"], true);
    assert_ne!(theirs["person"]["id"], id.as_str());
}

async fn concurrent_upserts_of_one_reference_are_one_record(srv: &Server) {
    let own = srv.agency("ups3-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("ups3-cw", &own, &["caseworker"]).await;
    let input = person_input("鈴木", "次郎", "スズキ", "ジロウ");
    let calls =
        (0..8).map(|_| upsert_person(srv, &cw, reference("kaigo-v3", "P-race"), input.clone()));
    let results = futures::future::join_all(calls).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for r in &results {
        let u = &r.ok()["upsertPerson"];
        ids.insert(u["person"]["id"].as_str().expect("id").to_owned());
        if u["created"] == true {
            created += 1;
        }
        assert_eq!(u["person"]["version"], 1, "no upsert changed anything: {u}");
    }
    assert_eq!(ids.len(), 1, "one record: {ids:?}");
    assert_eq!(created, 1, "created once");
    let id = ids.into_iter().next().expect("id");
    assert_eq!(writes_of(srv, &id).await.len(), 1, "one WRITE row");
    assert_eq!(count_refs(srv).await, 1);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let persons = entity::person::Entity::find()
        .filter(entity::person::Column::OwnerAgencyId.eq(own.as_str()))
        .all(&srv.db)
        .await
        .expect("persons");
    assert_eq!(persons.len(), 1, "no orphan person from a losing upsert");
}

async fn upserts_that_only_create_refuse_another_input_under_a_reference(srv: &Server) {
    let own = srv.agency("ups4-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("ups4-cw", &own, &["caseworker"]).await;
    let p = srv
        .person(&cw, person_input("高橋", "三郎", "タカハシ", "サブロウ"))
        .await;
    let q = srv
        .person(&cw, person_input("高橋", "四郎", "タカハシ", "シロウ"))
        .await;

    // Consultation.
    let consultation = |summary: &str| {
        json!({ "subjectPersonIds": [p], "receivedAt": "2026-11-01T10:00:00+09:00",
                "channel": "PHONE", "summary": summary, "urgency": "NORMAL",
                "issues": [{ "code": "NURSING_CARE", "main": true }] })
    };
    let q_cons = "mutation($r: ExternalRefInput!, $i: RecordConsultationInput!) {
      upsertConsultation(ref: $r, input: $i) { created consultation { id externalRefs { externalId } } } }";
    let a = srv
        .gql(
            &cw,
            q_cons,
            json!({ "r": reference("soudan", "C-1"), "i": consultation("介護の相談") }),
        )
        .await;
    let a = a.ok()["upsertConsultation"].clone();
    assert_eq!(a["created"], true);
    let b = srv
        .gql(
            &cw,
            q_cons,
            json!({ "r": reference("soudan", "C-1"), "i": consultation("介護の相談") }),
        )
        .await;
    let b = &b.ok()["upsertConsultation"];
    assert_eq!(b["created"], false);
    assert_eq!(b["consultation"]["id"], a["consultation"]["id"]);
    let cid = a["consultation"]["id"].as_str().expect("id");
    assert_eq!(
        writes_of(srv, cid).await.len(),
        1,
        "one WRITE row per subject"
    );
    let c = srv
        .gql(
            &cw,
            q_cons,
            json!({ "r": reference("soudan", "C-1"), "i": consultation("別の相談") }),
        )
        .await;
    c.only_error("CONFLICT");
    assert_eq!(writes_of(srv, cid).await.len(), 1, "nothing written");

    // Consent.
    let q_consent = "mutation($r: ExternalRefInput!, $i: RecordConsentInput!) {
      upsertConsent(ref: $r, input: $i) { created consent { id externalRefs { externalId } } } }";
    let input = consent_input(&p, &["IDENTITY", "CONTACT"], &[], &["DISABILITY"]);
    let a = srv
        .gql(
            &cw,
            q_consent,
            json!({ "r": reference("doui", "D-1"), "i": input }),
        )
        .await;
    let a = a.ok()["upsertConsent"].clone();
    assert_eq!(a["created"], true);
    assert_eq!(
        a["consent"]["externalRefs"],
        json!([{ "externalId": "D-1" }])
    );
    let b = srv
        .gql(
            &cw,
            q_consent,
            json!({ "r": reference("doui", "D-1"), "i": input }),
        )
        .await;
    assert_eq!(b.ok()["upsertConsent"]["created"], false);
    assert_eq!(b.ok()["upsertConsent"]["consent"]["id"], a["consent"]["id"]);
    let r = srv
        .gql(
            &cw,
            "{ consentByRef(system: \"doui\", externalId: \"D-1\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["consentByRef"]["id"], a["consent"]["id"]);

    // Household.
    let q_h = "mutation($r: ExternalRefInput!, $m: [MemberInput!]!) {
      upsertHousehold(ref: $r, members: $m) { created household { id } } }";
    let members = json!([{ "personId": p, "relationship": "本人", "isHead": true }]);
    let a = srv
        .gql(
            &cw,
            q_h,
            json!({ "r": reference("setai", "H-1"), "m": members }),
        )
        .await;
    let a = a.ok()["upsertHousehold"].clone();
    assert_eq!(a["created"], true);
    let b = srv
        .gql(
            &cw,
            q_h,
            json!({ "r": reference("setai", "H-1"), "m": members }),
        )
        .await;
    assert_eq!(
        b.ok()["upsertHousehold"]["household"]["id"],
        a["household"]["id"]
    );
    let other = json!([{ "personId": q, "relationship": "本人", "isHead": true }]);
    let c = srv
        .gql(
            &cw,
            q_h,
            json!({ "r": reference("setai", "H-1"), "m": other }),
        )
        .await;
    c.only_error("CONFLICT");
    let r = srv
        .gql(
            &cw,
            "{ householdByRef(system: \"setai\", externalId: \"H-1\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["householdByRef"]["id"], a["household"]["id"]);
}

async fn bad_references_are_refused_with_their_field_and_nothing_is_written(srv: &Server) {
    let own = srv.agency("ups5-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("ups5-cw", &own, &["caseworker"]).await;
    let (_, auditor) = srv.account("ups5-aud", &own, &["auditor"]).await;
    let before = srv.ledger().await.len();
    let r = upsert_person(
        srv,
        &cw,
        reference("has space", "x\u{7}y"),
        person_input("", "花子", "ヤマダ", "ハナコ"),
    )
    .await;
    let fields: Vec<String> = r
        .errors()
        .iter()
        .map(|e| {
            e["extensions"]["field"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        fields,
        ["ref.system", "ref.externalId", "input.familyName"],
        "every invalid field at once: {:?}",
        r.body
    );
    assert!(r.codes().iter().all(|c| c == "BAD_USER_INPUT"));
    r.assert_coded_bilingual();
    let long = "x".repeat(256);
    let r = upsert_person(
        srv,
        &cw,
        reference("kaigo", &long),
        person_input("山田", "花子", "ヤマダ", "ハナコ"),
    )
    .await;
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "ref.externalId"
    );
    // A role that may not record persons: FORBIDDEN before anything is looked at.
    let r = upsert_person(
        srv,
        &auditor,
        reference("kaigo", "P-1"),
        person_input("山田", "花子", "ヤマダ", "ハナコ"),
    )
    .await;
    r.only_error("FORBIDDEN");
    assert_eq!(count_refs(srv).await, 0);
    let after = srv.ledger().await;
    assert!(
        after[before..].iter().all(|e| e.action != "WRITE"),
        "nothing written"
    );
}
