//! External references on referrals and activities: `proposeReferral(input:, ref:)` and
//! `recordActivity(input:, ref:)` store the caller's agency's own id with the record, in
//! its write; `referralByRef` and `activityByRef` find the record by it exactly as reading it
//! by id (or, for activities, as `activities(personId:)` lists it) does. Only the caller's
//! agency's references are ever shown: the receiver of a referral never sees the sender's.
//! The same reference already naming another of the agency's records of the type is CONFLICT
//! and nothing is written; a bad reference is BAD_USER_INPUT at `ref.system` /
//! `ref.externalId`, with the input's other errors, and nothing is written.

use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

use crate::activities::day;

tests!(
    a_referral_carries_its_senders_reference_for_the_sender_alone,
    an_activity_carries_its_agencys_reference_for_that_agency_alone,
    bad_references_on_referrals_and_activities_write_nothing,
);

const PROPOSE: &str = "mutation($i: ProposeReferralInput!, $r: ExternalRefInput) {
  proposeReferral(input: $i, ref: $r) { id externalRefs { system externalId } } }";

const RECORD: &str = "mutation($i: RecordActivityInput!, $r: ExternalRefInput) {
  recordActivity(input: $i, ref: $r) { id note externalRefs { system externalId } } }";

fn reference(system: &str, id: &str) -> Value {
    json!({ "system": system, "externalId": id })
}

fn by_ref(root: &str, system: &str, external_id: &str, sel: &str) -> String {
    format!("{{ {root}(system: \"{system}\", externalId: \"{external_id}\") {{ {sel} }} }}")
}

/// Rows of `E` in the database.
async fn rows<E: EntityTrait>(srv: &Server) -> usize {
    E::find().all(&srv.db).await.expect("rows").len()
}

/// WRITE rows of the ledger.
async fn writes(srv: &Server) -> usize {
    srv.ledger()
        .await
        .iter()
        .filter(|e| e.action == "WRITE")
        .count()
}

/// `root` looked up by the reference and by one nobody holds: both NOT_FOUND, byte for byte
/// the same answer.
async fn not_found_as_no_reference(srv: &Server, tok: &str, root: &str, system: &str, id: &str) {
    let held = srv
        .gql(tok, &by_ref(root, system, id, "id"), json!({}))
        .await;
    let none = srv
        .gql(tok, &by_ref(root, system, "nobody-holds", "id"), json!({}))
        .await;
    assert_eq!(
        held.only_error("NOT_FOUND")["extensions"]["field"],
        "externalId"
    );
    assert_eq!(held.body, none.body, "{root}: indistinguishable");
}

async fn a_referral_carries_its_senders_reference_for_the_sender_alone(srv: &Server) {
    let a = srv.agency("xr-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("xr-b", "DISABILITY").await;
    let (_, a_cw) = srv.account("xr-a-cw", &a, &["caseworker"]).await;
    let (_, a_analyst) = srv.account("xr-a-an", &a, &["analyst"]).await;
    let (_, b_cw) = srv.account("xr-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&a_cw, person_input("山田", "健一", "ヤマダ", "ケンイチ"))
        .await;
    srv.consent(
        &a_cw,
        consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]),
    )
    .await;
    let input = json!({ "personId": p, "toAgencyId": b, "reason": "障害福祉サービスの検討を依頼" });
    let r = srv
        .gql(
            &a_cw,
            PROPOSE,
            json!({ "i": input, "r": reference("kaigo-v3", "R-0001") }),
        )
        .await;
    let proposed = &r.ok()["proposeReferral"];
    let id = proposed["id"].as_str().expect("id").to_owned();
    assert_eq!(
        proposed["externalRefs"],
        json!([{ "system": "kaigo-v3", "externalId": "R-0001" }])
    );
    // Stored under the record type REFERRAL, with the referral's one WRITE row.
    let stored = entity::external_ref::Entity::find()
        .all(&srv.db)
        .await
        .expect("refs");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record_type, "REFERRAL");
    assert_eq!(stored[0].record_id, id);
    assert_eq!(stored[0].agency_id, a);
    let ledgered: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.action == "WRITE" && e.record_id.as_deref() == Some(id.as_str()))
        .collect();
    assert_eq!(ledgered.len(), 1);
    assert_eq!(ledgered[0].operation, "proposeReferral");

    // The sender finds it by its reference, exactly as referral(id:) answers.
    let sel = "id status reason person { id } externalRefs { system externalId }";
    let found = srv
        .gql(
            &a_cw,
            &by_ref("referralByRef", "kaigo-v3", "R-0001", sel),
            json!({}),
        )
        .await;
    let by_id = srv
        .gql(
            &a_cw,
            &format!("query($id: ID!) {{ referral(id: $id) {{ {sel} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(found.ok()["referralByRef"], by_id.ok()["referral"]);
    assert_eq!(found.ok()["referralByRef"]["id"], id.as_str());
    let list = srv
        .gql(
            &a_cw,
            "{ referrals(incoming: false) { nodes { id externalRefs { externalId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list.ok()["referrals"]["nodes"],
        json!([{ "id": id, "externalRefs": [{ "externalId": "R-0001" }] }])
    );

    // The receiver reads the referral, never the sender's reference, nor finds it by it.
    let r = srv
        .gql(
            &b_cw,
            "query($id: ID!) { referral(id: $id) { id externalRefs { system externalId } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.ok()["referral"]["id"], id.as_str());
    assert_eq!(r.ok()["referral"]["externalRefs"], json!([]));
    let r = srv
        .gql(
            &b_cw,
            "{ referrals(incoming: true) { nodes { id externalRefs { externalId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.ok()["referrals"]["nodes"],
        json!([{ "id": id, "externalRefs": [] }])
    );
    assert!(!r.body.to_string().contains("R-0001"));
    not_found_as_no_reference(srv, &b_cw, "referralByRef", "kaigo-v3", "R-0001").await;
    // A role of the sender that may not read referrals: as for an id it may not know.
    not_found_as_no_reference(srv, &a_analyst, "referralByRef", "kaigo-v3", "R-0001").await;

    // The same reference for a second referral: CONFLICT, and nothing written.
    let (referrals, refs, written) = (
        rows::<entity::referral::Entity>(srv).await,
        rows::<entity::external_ref::Entity>(srv).await,
        writes(srv).await,
    );
    let input = json!({ "personId": p, "toAgencyId": b, "reason": "二度目の依頼" });
    let r = srv
        .gql(
            &a_cw,
            PROPOSE,
            json!({ "i": input, "r": reference("kaigo-v3", "R-0001") }),
        )
        .await;
    r.only_error("CONFLICT");
    r.assert_coded_bilingual();
    assert_eq!(rows::<entity::referral::Entity>(srv).await, referrals);
    assert_eq!(rows::<entity::external_ref::Entity>(srv).await, refs);
    assert_eq!(writes(srv).await, written, "no new WRITE row");
    // Without a reference, or under another one, it is proposed as usual.
    let r = srv
        .gql(&a_cw, PROPOSE, json!({ "i": input, "r": null }))
        .await;
    assert_eq!(r.ok()["proposeReferral"]["externalRefs"], json!([]));
    let r = srv
        .gql(
            &a_cw,
            PROPOSE,
            json!({ "i": input, "r": reference("kaigo-v3", "R-0002") }),
        )
        .await;
    assert_eq!(
        r.ok()["proposeReferral"]["externalRefs"],
        json!([{ "system": "kaigo-v3", "externalId": "R-0002" }])
    );
    // The same (system, id) names records of other types independently.
    let r = srv
        .gql(
            &a_cw,
            "mutation($r: ExternalRefInput!, $i: CreatePersonInput!) { upsertPerson(ref: $r, input: $i) { created } }",
            json!({ "r": reference("kaigo-v3", "R-0001"),
                "i": person_input("佐藤", "一郎", "サトウ", "イチロウ") }),
        )
        .await;
    assert_eq!(r.ok()["upsertPerson"]["created"], true);
}

async fn an_activity_carries_its_agencys_reference_for_that_agency_alone(srv: &Server) {
    let o = srv.agency("xa-o", "OUTREACH").await;
    let q = srv.agency("xa-q", "COMPREHENSIVE_CARE").await;
    let (_, o_cw) = srv.account("xa-o-cw", &o, &["caseworker"]).await;
    let (_, o_analyst) = srv.account("xa-o-an", &o, &["analyst"]).await;
    let (_, q_cw) = srv.account("xa-q-cw", &q, &["caseworker"]).await;
    let p = srv
        .person(&o_cw, person_input("高橋", "誠", "タカハシ", "マコト"))
        .await;
    let visit = |note: &str| {
        json!({ "kind": "OUTREACH_VISIT", "personId": p, "occurredOn": day(-2),
            "result": "MET", "stage": "CONTACT", "note": note })
    };
    let r = srv
        .gql(
            &o_cw,
            RECORD,
            json!({ "i": visit("玄関先で話せた。"), "r": reference("outreach-db", "A-1") }),
        )
        .await;
    let recorded = &r.ok()["recordActivity"];
    let id = recorded["id"].as_str().expect("id").to_owned();
    assert_eq!(
        recorded["externalRefs"],
        json!([{ "system": "outreach-db", "externalId": "A-1" }])
    );
    let stored = entity::external_ref::Entity::find()
        .all(&srv.db)
        .await
        .expect("refs");
    assert_eq!(
        (
            stored.len(),
            stored[0].record_type.as_str(),
            &stored[0].record_id
        ),
        (1, "ACTIVITY", &id)
    );

    // Found by reference exactly as activities(personId:) lists it.
    let sel = "id kind note stage agency { id } person { id } externalRefs { system externalId }";
    let found = srv
        .gql(
            &o_cw,
            &by_ref("activityByRef", "outreach-db", "A-1", sel),
            json!({}),
        )
        .await;
    let listed = srv
        .gql(
            &o_cw,
            &format!("query($p: ID!) {{ activities(personId: $p) {{ nodes {{ {sel} }} }} }}"),
            json!({ "p": p }),
        )
        .await;
    assert_eq!(
        found.ok()["activityByRef"],
        listed.ok()["activities"]["nodes"][0]
    );
    assert_eq!(found.ok()["activityByRef"]["note"], "玄関先で話せた。");
    // A role of the agency that may not read activities, and another agency that may not
    // know the person: as for a reference nobody holds.
    not_found_as_no_reference(srv, &o_analyst, "activityByRef", "outreach-db", "A-1").await;
    not_found_as_no_reference(srv, &q_cw, "activityByRef", "outreach-db", "A-1").await;

    // With the person's consent the other agency sees the activity, never the reference.
    srv.consent(
        &o_cw,
        consent_input(&p, &["IDENTITY", "NARRATIVE"], &[&q], &[]),
    )
    .await;
    let r = srv
        .gql(
            &q_cw,
            "query($p: ID!) { activities(personId: $p) { nodes { id note externalRefs { externalId } } } }",
            json!({ "p": p }),
        )
        .await;
    assert_eq!(
        r.ok()["activities"]["nodes"],
        json!([{ "id": id, "note": "玄関先で話せた。", "externalRefs": [] }])
    );
    not_found_as_no_reference(srv, &q_cw, "activityByRef", "outreach-db", "A-1").await;
    // Its own activity under the same (system, id) is its own, and each sees only its own.
    let r = srv
        .gql(
            &q_cw,
            RECORD,
            json!({ "i": { "kind": "MONITORING", "personId": p, "occurredOn": day(-1),
                "note": "電話で様子を確認。" }, "r": reference("outreach-db", "A-1") }),
        )
        .await;
    let theirs = r.ok()["recordActivity"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = srv
        .gql(
            &q_cw,
            &by_ref("activityByRef", "outreach-db", "A-1", "id"),
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["activityByRef"]["id"], theirs.as_str());
    let r = srv
        .gql(
            &o_cw,
            &by_ref("activityByRef", "outreach-db", "A-1", "id"),
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["activityByRef"]["id"], id.as_str());

    // The same reference for a second activity of the agency: CONFLICT, nothing written.
    let (activities, refs, written) = (
        rows::<entity::activity::Entity>(srv).await,
        rows::<entity::external_ref::Entity>(srv).await,
        writes(srv).await,
    );
    let r = srv
        .gql(
            &o_cw,
            RECORD,
            json!({ "i": visit("二度目の訪問。"), "r": reference("outreach-db", "A-1") }),
        )
        .await;
    r.only_error("CONFLICT");
    assert_eq!(rows::<entity::activity::Entity>(srv).await, activities);
    assert_eq!(rows::<entity::external_ref::Entity>(srv).await, refs);
    assert_eq!(writes(srv).await, written, "no new WRITE row");
}

/// The `extensions.field` of each error, in order.
fn fields(r: &Gql) -> Vec<String> {
    r.errors()
        .iter()
        .map(|e| {
            e["extensions"]["field"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn bad_references_on_referrals_and_activities_write_nothing(srv: &Server) {
    let a = srv.agency("xb-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("xb-b", "DISABILITY").await;
    let (_, a_cw) = srv.account("xb-a-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&a_cw, person_input("鈴木", "次郎", "スズキ", "ジロウ"))
        .await;
    srv.consent(
        &a_cw,
        consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]),
    )
    .await;
    let (written, refs) = (
        writes(srv).await,
        rows::<entity::external_ref::Entity>(srv).await,
    );
    // Every invalid field at once, the reference's after the input's.
    let r = srv
        .gql(
            &a_cw,
            PROPOSE,
            json!({ "i": { "personId": p, "toAgencyId": b, "reason": "" },
                "r": reference("has space", "x\u{7}y") }),
        )
        .await;
    assert_eq!(
        fields(&r),
        ["input.reason", "ref.system", "ref.externalId"],
        "{}",
        r.body
    );
    assert!(r.codes().iter().all(|c| c == "BAD_USER_INPUT"));
    r.assert_coded_bilingual();
    let r = srv
        .gql(
            &a_cw,
            PROPOSE,
            json!({ "i": { "personId": p, "toAgencyId": b, "reason": "依頼" },
                "r": reference("kaigo", &"x".repeat(256)) }),
        )
        .await;
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "ref.externalId"
    );
    let r = srv
        .gql(
            &a_cw,
            RECORD,
            json!({ "i": { "kind": "MONITORING", "personId": p, "occurredOn": day(0),
                "note": "電話" }, "r": reference("", " ") }),
        )
        .await;
    assert_eq!(fields(&r), ["ref.system", "ref.externalId"], "{}", r.body);
    assert!(r.codes().iter().all(|c| c == "BAD_USER_INPUT"));
    assert_eq!(writes(srv).await, written, "nothing written");
    assert_eq!(rows::<entity::external_ref::Entity>(srv).await, refs);
    assert_eq!(rows::<entity::referral::Entity>(srv).await, 0);
    assert_eq!(rows::<entity::activity::Entity>(srv).await, 0);
}
