//! Object-level authorization: every record is reachable by id only for those with a basis
//! to know it exists. Agency A owns a person, a household, a consultation, a consent and a
//! referral to agency B; agency C, with no consent and no part in anything, probes them by
//! id and through lists and mutations and learns nothing — not even that they exist (its
//! answers are byte-identical to those for random ids). B, with a consent, sees what the
//! consent covers and may change nothing that is A's; only B moves the referral along.
//! (That C's every mutation on A's records is NOT_FOUND, byte-identical to a random id, and
//! writes nothing is a column of the table in `authz`.)
//! Consents by agency kind, expired consents, the role ceiling and the address of a person
//! under a support measure (支援措置) are checked end to end.

use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    other_agency_gets_not_found_for_every_record,
    only_the_owner_updates_a_person_or_its_consents,
    only_the_receiver_moves_a_referral,
    concurrent_referral_decisions_one_wins,
    household_shows_only_members_with_a_basis,
    life_support_coordinator_never_sees_health,
    confidential_address_needs_a_consent_naming_the_agency,
    district_filter_paging_reveals_no_hidden_district,
    issue_filter_paging_reveals_no_hidden_issue,
    consultation_person_filter_reveals_no_unknown_subject,
    withheld_summary_does_not_name_an_unknown_subject,
    withheld_referral_reason_does_not_name_an_unknown_person,
    consent_for_a_kind_opens_only_that_kind,
    expired_consent_opens_nothing,
    other_agencies_consents_are_not_listed,
    co_subjects_consent_does_not_reveal_a_persons_consultations
);

const PERSON: &str = "query($id: ID!) { person(id: $id) { id familyName } }";
const HOUSEHOLD: &str =
    "query($id: ID!) { household(id: $id) { id members { relationship person { id } } } }";
const CONSULTATION: &str = "query($id: ID!) { consultation(id: $id) { id summary } }";
const REFERRAL: &str = "query($id: ID!) { referral(id: $id) { id status version } }";
const CONSENTS: &str = "query($id: ID!) { consents(personId: $id) { id state } }";
const EXPLAIN: &str = "query($id: ID!) { explainAccess(personId: $id) { items { allowed } } }";
const LISTS: &str = "{ persons(first: 100) { edges { node { id } } } households(first: 100) { edges { node { id } } } consultations(first: 100) { edges { node { id } } } referrals(first: 100) { edges { node { id } } } }";
const PERSON_VIEW: &str = "query($id: ID!) { person(id: $id) { id version familyName phone address district careLevel disabilityCertificate } }";

/// A's records and the three agencies.
struct World {
    b: String,
    c: String,
    a_tok: String,
    b_tok: String,
    c_tok: String,
    person: String,
    household: String,
    consultation: String,
    consent: (String, i64),
    referral: String,
}

/// Agency A (owner), B (receives a referral under consent), C (a bystander with a person of
/// its own).
async fn world(srv: &Server) -> World {
    let a = srv.agency("bola-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("bola-b", "DISABILITY").await;
    let c = srv.agency("bola-c", "SELF_RELIANCE").await;
    let (_, a_tok) = srv.account("bola-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("bola-b-cw", &b, &["caseworker"]).await;
    let (_, c_tok) = srv.account("bola-c-cw", &c, &["caseworker"]).await;
    let person = srv
        .person(&a_tok, person_input("山田", "健一", "ヤマダ", "ケンイチ"))
        .await;
    let household = srv
        .gql(
            &a_tok,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [{ "personId": person, "relationship": "本人", "isHead": true }] }),
        )
        .await;
    let household = id_of(&household, "createHousehold");
    let consultation = srv
        .gql(
            &a_tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [person],
                "householdId": household, "issues": [{ "code": "HIKIKOMORI", "main": true }],
                "summary": "20年以上ひきこもり。", "urgency": "HIGH" } }),
        )
        .await;
    let consultation = id_of(&consultation, "recordConsultation");
    let consent = srv
        .consent(
            &a_tok,
            consent_input(&person, &["IDENTITY", "CONTACT"], &[&b], &[]),
        )
        .await;
    let referral = srv
        .gql(
            &a_tok,
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id status } }",
            json!({ "i": { "personId": person, "toAgencyId": b, "consultationId": consultation, "reason": "障害福祉サービスの検討を依頼" } }),
        )
        .await;
    assert_eq!(referral.ok()["proposeReferral"]["status"], "PROPOSED");
    let referral = id_of(&referral, "proposeReferral");
    World {
        b,
        c,
        a_tok,
        b_tok,
        c_tok,
        person,
        household,
        consultation,
        consent,
        referral,
    }
}

fn id_of(r: &Gql, field: &str) -> String {
    r.ok()[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} id in {}", r.body))
        .to_owned()
}

fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The raw HTTP answer, status and bytes, for a byte-for-byte comparison.
pub(crate) async fn raw(srv: &Server, token: &str, query: &str, variables: Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(srv.url("/graphql"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("HTTP request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// `query` about `hidden` answers exactly as about an id that does not exist: NOT_FOUND,
/// data null, the same bytes (message, extensions, path, everything).
pub(crate) async fn assert_indistinguishable(
    srv: &Server,
    token: &str,
    query: &str,
    vars: impl Fn(&str) -> Value,
    hidden: &str,
    code: &str,
) {
    let missing = random_id();
    let h = srv.gql(token, query, vars(hidden)).await;
    let m = srv.gql(token, query, vars(&missing)).await;
    let he = h.only_error(code);
    let me = m.only_error(code);
    assert_eq!(h.data(), &Value::Null, "{query}: {}", h.body);
    assert_eq!(m.data(), &Value::Null, "{query}: {}", m.body);
    assert_eq!(
        he["message"].to_string(),
        me["message"].to_string(),
        "{query}"
    );
    assert_eq!(
        he["extensions"].to_string(),
        me["extensions"].to_string(),
        "{query}"
    );
    let (hs, hb) = raw(srv, token, query, vars(hidden)).await;
    let (ms, mb) = raw(srv, token, query, vars(&missing)).await;
    assert_eq!(hs, ms, "{query}");
    assert_eq!(
        hb, mb,
        "{query}: the answer for a hidden record must be byte-identical to a missing one"
    );
    assert!(!hb.contains(hidden), "{query}: {hb}");
    assert!(
        !hb.contains("山田") && !hb.contains("ヤマダ"),
        "{query}: {hb}"
    );
}

fn by_id(id: &str) -> Value {
    json!({ "id": id })
}

/// All ids in the caller's four lists, by list.
async fn list_ids(srv: &Server, token: &str) -> Value {
    let r = srv.gql(token, LISTS, json!({})).await;
    let d = r.ok();
    let mut out = serde_json::Map::new();
    for k in ["persons", "households", "consultations", "referrals"] {
        let ids: Vec<Value> = d[k]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{k} edges: {}", r.body))
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect();
        out.insert(k.to_owned(), Value::Array(ids));
    }
    Value::Object(out)
}

fn contains(list: &Value, id: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v.as_str() == Some(id)))
}

async fn person_row(srv: &Server, id: &str) -> entity::person::Model {
    entity::person::Entity::find_by_id(id.to_owned())
        .one(&srv.db)
        .await
        .expect("person row")
        .expect("person exists")
}

async fn consent_row(srv: &Server, id: &str) -> entity::consent::Model {
    entity::consent::Entity::find_by_id(id.to_owned())
        .one(&srv.db)
        .await
        .expect("consent row")
        .expect("consent exists")
}

async fn referral_row(srv: &Server, id: &str) -> entity::referral::Model {
    entity::referral::Entity::find_by_id(id.to_owned())
        .one(&srv.db)
        .await
        .expect("referral row")
        .expect("referral exists")
}

/// The single CONSENT_REQUIRED error at `field`: (category, reason).
fn withheld(r: &Gql, field: &str) -> (String, String) {
    let errs = r.errors_at(field);
    assert_eq!(errs.len(), 1, "one error at {field}: {}", r.body);
    let ext = &errs[0]["extensions"];
    assert_eq!(ext["code"], "CONSENT_REQUIRED", "{}", r.body);
    (
        ext["category"].as_str().unwrap_or("").to_owned(),
        ext["reason"].as_str().unwrap_or("").to_owned(),
    )
}

async fn other_agency_gets_not_found_for_every_record(srv: &Server) {
    let w = world(srv).await;
    let own = srv
        .person(&w.c_tok, person_input("佐藤", "花子", "サトウ", "ハナコ"))
        .await;

    // The owner sees each record.
    let a = srv.gql(&w.a_tok, PERSON, by_id(&w.person)).await;
    assert_eq!(a.ok()["person"]["familyName"], "山田");
    let a = srv.gql(&w.a_tok, HOUSEHOLD, by_id(&w.household)).await;
    assert_eq!(a.ok()["household"]["members"][0]["person"]["id"], w.person);
    let a = srv
        .gql(&w.a_tok, CONSULTATION, by_id(&w.consultation))
        .await;
    assert_eq!(a.ok()["consultation"]["summary"], "20年以上ひきこもり。");
    let a = srv.gql(&w.a_tok, REFERRAL, by_id(&w.referral)).await;
    assert_eq!(a.ok()["referral"]["status"], "PROPOSED");
    let lists = list_ids(srv, &w.a_tok).await;
    assert!(contains(&lists["persons"], &w.person), "{lists}");
    assert!(contains(&lists["households"], &w.household), "{lists}");
    assert!(
        contains(&lists["consultations"], &w.consultation),
        "{lists}"
    );
    assert!(contains(&lists["referrals"], &w.referral), "{lists}");
    assert!(
        !contains(&lists["persons"], &own),
        "A does not see C's person"
    );

    // C: each fetch by id is NOT_FOUND, byte-identical to a random id.
    for (query, hidden) in [
        (PERSON, &w.person),
        (HOUSEHOLD, &w.household),
        (CONSULTATION, &w.consultation),
        (REFERRAL, &w.referral),
        (CONSENTS, &w.person),
        (EXPLAIN, &w.person),
    ] {
        assert_indistinguishable(srv, &w.c_tok, query, by_id, hidden, "NOT_FOUND").await;
    }
    let nf = srv.gql(&w.c_tok, PERSON, by_id(&w.person)).await;
    assert_eq!(nf.only_error("NOT_FOUND")["extensions"]["field"], "id");

    // C's lists hold its own person and nothing of A's.
    let lists = list_ids(srv, &w.c_tok).await;
    assert_eq!(lists["persons"], json!([own]), "{lists}");
    for (k, id) in [
        ("persons", &w.person),
        ("households", &w.household),
        ("consultations", &w.consultation),
        ("referrals", &w.referral),
    ] {
        assert!(
            !contains(&lists[k], id),
            "C's {k} must not list A's record: {lists}"
        );
    }
    // Not through a filter either.
    let f = srv
        .gql(
            &w.c_tok,
            "query($p: ID!) { persons(kana: \"ヤマダ\", district: \"中央圏域\") { edges { node { id } } } consultations(personId: $p, issue: \"HIKIKOMORI\") { edges { node { id } } } }",
            json!({ "p": w.person }),
        )
        .await;
    assert_eq!(f.ok()["persons"]["edges"], json!([]), "{}", f.body);
    assert_eq!(f.ok()["consultations"]["edges"], json!([]), "{}", f.body);

    // B, party to the referral with an IDENTITY consent, sees the referral and the person,
    // but neither A's household nor A's consultation.
    let b = srv.gql(&w.b_tok, REFERRAL, by_id(&w.referral)).await;
    assert_eq!(b.ok()["referral"]["status"], "PROPOSED");
    let b = srv.gql(&w.b_tok, PERSON, by_id(&w.person)).await;
    assert_eq!(b.ok()["person"]["familyName"], "山田");
    assert_indistinguishable(srv, &w.b_tok, HOUSEHOLD, by_id, &w.household, "NOT_FOUND").await;
    assert_indistinguishable(
        srv,
        &w.b_tok,
        CONSULTATION,
        by_id,
        &w.consultation,
        "NOT_FOUND",
    )
    .await;
    let lists = list_ids(srv, &w.b_tok).await;
    assert!(contains(&lists["persons"], &w.person), "{lists}");
    assert!(contains(&lists["referrals"], &w.referral), "{lists}");
    assert!(!contains(&lists["households"], &w.household), "{lists}");
    assert!(
        !contains(&lists["consultations"], &w.consultation),
        "{lists}"
    );
}

async fn only_the_owner_updates_a_person_or_its_consents(srv: &Server) {
    let w = world(srv).await;
    let update = "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id version familyName } }";
    let before = person_row(srv, &w.person).await;
    let rows_before = srv.snapshot().await;

    // C: NOT_FOUND, nothing changed.
    let r = srv
        .gql(
            &w.c_tok,
            update,
            json!({ "id": w.person, "v": 1, "i": { "familyName": "改竄", "careLevel": "要介護5" } }),
        )
        .await;
    assert_eq!(r.only_error("NOT_FOUND")["extensions"]["field"], "id");
    assert_eq!(r.data(), &Value::Null);
    assert_eq!(person_row(srv, &w.person).await, before);

    // B may know the person (IDENTITY consent) but does not own the record: FORBIDDEN.
    let r = srv
        .gql(
            &w.b_tok,
            update,
            json!({ "id": w.person, "v": 1, "i": { "familyName": "改竄", "phone": "090-0000-0000" } }),
        )
        .await;
    r.only_error("FORBIDDEN");
    assert_eq!(r.data(), &Value::Null);
    assert_eq!(person_row(srv, &w.person).await, before);
    let seen = srv.gql(&w.a_tok, PERSON_VIEW, by_id(&w.person)).await;
    assert_eq!(seen.ok()["person"]["version"], 1);
    assert_eq!(seen.ok()["person"]["familyName"], "山田");

    // B may not record a consent for A's person (it would grant itself HEALTH).
    let r = srv
        .gql(
            &w.b_tok,
            "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id } }",
            json!({ "i": consent_input(&w.person, &["HEALTH", "LIVELIHOOD"], &[&w.b], &[]) }),
        )
        .await;
    r.only_error("FORBIDDEN");
    let b_view = srv.gql(&w.b_tok, PERSON_VIEW, by_id(&w.person)).await;
    assert_eq!(b_view.data()["person"]["careLevel"], Value::Null);
    assert_eq!(withheld(&b_view, "careLevel").0, "HEALTH");

    // B may not withdraw A's consent; C may not even find it.
    let withdraw = "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id state } }";
    let consent_before = consent_row(srv, &w.consent.0).await;
    let r = srv
        .gql(
            &w.b_tok,
            withdraw,
            json!({ "id": w.consent.0, "v": w.consent.1 }),
        )
        .await;
    r.only_error("FORBIDDEN");
    let r = srv
        .gql(
            &w.c_tok,
            withdraw,
            json!({ "id": w.consent.0, "v": w.consent.1 }),
        )
        .await;
    assert_eq!(r.only_error("NOT_FOUND")["extensions"]["field"], "id");
    assert_eq!(consent_row(srv, &w.consent.0).await, consent_before);
    let states = srv.gql(&w.a_tok, CONSENTS, by_id(&w.person)).await;
    assert_eq!(
        states.ok()["consents"],
        json!([{ "id": w.consent.0, "state": "ACTIVE" }])
    );

    // (B's and A's reads above are ledgered; no refused write left a row anywhere.)
    srv.assert_only_reads(&rows_before, "no refused write left a row")
        .await;
    let writes_by_others = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| {
            r.action == "WRITE"
                && (r.agency_id.as_deref() == Some(w.b.as_str())
                    || r.agency_id.as_deref() == Some(w.c.as_str()))
        })
        .count();
    assert_eq!(writes_by_others, 0);

    // The owner may update (and B then sees the new name).
    let r = srv
        .gql(
            &w.a_tok,
            update,
            json!({ "id": w.person, "v": 1, "i": { "familyName": "山本" } }),
        )
        .await;
    assert_eq!(r.ok()["updatePerson"]["version"], 2);
    let b = srv.gql(&w.b_tok, PERSON, by_id(&w.person)).await;
    assert_eq!(b.ok()["person"]["familyName"], "山本");
}

async fn only_the_receiver_moves_a_referral(srv: &Server) {
    let w = world(srv).await;
    let accept = "mutation($id: ID!, $v: Int!) { acceptReferral(id: $id, version: $v) { status version decidedAt } }";
    let complete = "mutation($id: ID!, $v: Int!) { completeReferral(id: $id, version: $v) { status version completedAt } }";
    let decline = "mutation($id: ID!, $v: Int!) { declineReferral(id: $id, version: $v, reason: \"対象外\") { status version } }";
    let vars = |v: i64| json!({ "id": w.referral, "v": v });

    // The sender may not decide for the receiver; a bystander does not find it.
    for q in [accept, decline, complete] {
        let r = srv.gql(&w.a_tok, q, vars(1)).await;
        r.only_error("FORBIDDEN");
        let r = srv.gql(&w.c_tok, q, vars(1)).await;
        r.only_error("NOT_FOUND");
    }
    let row = referral_row(srv, &w.referral).await;
    assert_eq!((row.status.as_str(), row.version), ("PROPOSED", 1));

    // Completing before accepting is not a legal move.
    let r = srv.gql(&w.b_tok, complete, vars(1)).await;
    r.only_error("BAD_USER_INPUT");

    // B accepts.
    let r = srv.gql(&w.b_tok, accept, vars(1)).await;
    let d = &r.ok()["acceptReferral"];
    assert_eq!(d["status"], "ACCEPTED");
    assert_eq!(d["version"], 2);
    assert!(!d["decidedAt"].is_null());

    // A decision on the version B read before: CONFLICT, nothing changes.
    let r = srv.gql(&w.b_tok, accept, vars(1)).await;
    r.only_error("CONFLICT");
    let r = srv.gql(&w.b_tok, complete, vars(1)).await;
    r.only_error("CONFLICT");
    let row = referral_row(srv, &w.referral).await;
    assert_eq!((row.status.as_str(), row.version), ("ACCEPTED", 2));

    // B completes; A still may not.
    let r = srv.gql(&w.a_tok, complete, vars(2)).await;
    r.only_error("FORBIDDEN");
    let r = srv.gql(&w.b_tok, complete, vars(2)).await;
    let d = &r.ok()["completeReferral"];
    assert_eq!(d["status"], "COMPLETED");
    assert_eq!(d["version"], 3);
    assert!(!d["completedAt"].is_null());

    // A completed referral cannot be declined (nor accepted again).
    let before = srv.snapshot().await;
    let r = srv.gql(&w.b_tok, decline, vars(3)).await;
    let e = r.only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "id");
    let r = srv.gql(&w.b_tok, accept, vars(3)).await;
    r.only_error("BAD_USER_INPUT");
    srv.assert_unchanged(&before, "a completed referral declined or accepted")
        .await;
    let row = referral_row(srv, &w.referral).await;
    assert_eq!((row.status.as_str(), row.version), ("COMPLETED", 3));
    assert_eq!(row.decline_reason, None);

    // Both parties see the final state.
    for tok in [&w.a_tok, &w.b_tok] {
        let r = srv.gql(tok, REFERRAL, by_id(&w.referral)).await;
        assert_eq!(r.ok()["referral"]["status"], "COMPLETED");
    }
    // The transitions are ledgered as B's writes, in order.
    let ops: Vec<String> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.action == "WRITE" && r.record_id.as_deref() == Some(w.referral.as_str()))
        .map(|r| r.operation)
        .collect();
    assert_eq!(
        ops,
        vec!["proposeReferral", "acceptReferral", "completeReferral"]
    );
}

async fn concurrent_referral_decisions_one_wins(srv: &Server) {
    let w = world(srv).await;
    let accept = "mutation($id: ID!) { acceptReferral(id: $id, version: 1) { status version } }";
    let decline = "mutation($id: ID!) { declineReferral(id: $id, version: 1, reason: \"定員超過\") { status version } }";
    let (x, y) = tokio::join!(
        srv.gql(&w.b_tok, accept, by_id(&w.referral)),
        srv.gql(&w.b_tok, decline, by_id(&w.referral)),
    );
    let outcomes = [x.codes(), y.codes()];
    let wins = outcomes.iter().filter(|c| c.is_empty()).count();
    assert_eq!(
        wins, 1,
        "exactly one decision wins: {} / {}",
        x.body, y.body
    );
    assert!(
        outcomes.contains(&vec!["CONFLICT".to_owned()]),
        "the other is CONFLICT: {} / {}",
        x.body,
        y.body
    );
    let row = referral_row(srv, &w.referral).await;
    assert_eq!(row.version, 2);
    let expected = if x.codes().is_empty() {
        "ACCEPTED"
    } else {
        "DECLINED"
    };
    assert_eq!(row.status, expected);
    let decisions = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.action == "WRITE" && r.record_id.as_deref() == Some(w.referral.as_str()))
        .count();
    assert_eq!(decisions, 2, "the proposal and one decision");
}

async fn life_support_coordinator_never_sees_health(srv: &Server) {
    let a = srv.agency("lsc-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("lsc-b", "COMMUNITY_BUILDING").await;
    let (_, a_tok) = srv.account("lsc-a-cw", &a, &["caseworker"]).await;
    let (_, lsc_tok) = srv
        .account("lsc-b-lsc", &b, &["life_support_coordinator"])
        .await;
    let (_, cw_tok) = srv.account("lsc-b-cw", &b, &["caseworker"]).await;
    let mut input = person_input("高橋", "和子", "タカハシ", "カズコ");
    input["disabilityCertificate"] = json!("身体障害者手帳 2級");
    let p = srv.person(&a_tok, input).await;
    let (consent, _) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["HEALTH", "IDENTITY"], &[&b], &[]),
        )
        .await;

    let r = srv.gql(&lsc_tok, PERSON_VIEW, by_id(&p)).await;
    assert_eq!(r.status, 200);
    let d = &r.data()["person"];
    assert_eq!(d["familyName"], "高橋");
    assert_eq!(d["careLevel"], Value::Null);
    assert_eq!(d["disabilityCertificate"], Value::Null);
    assert_eq!(
        withheld(&r, "careLevel"),
        ("HEALTH".to_owned(), "ROLE_CEILING".to_owned())
    );
    assert_eq!(
        withheld(&r, "disabilityCertificate"),
        ("HEALTH".to_owned(), "ROLE_CEILING".to_owned())
    );
    // CONTACT was not consented to: NO_BASIS, not the ceiling.
    assert_eq!(
        withheld(&r, "phone"),
        ("CONTACT".to_owned(), "NO_BASIS".to_owned())
    );
    for e in r.errors() {
        assert_eq!(e["extensions"]["subjectId"], p.as_str());
    }
    assert!(!r.body.to_string().contains("要介護2"), "{}", r.body);
    assert!(!r.body.to_string().contains("身体障害者手帳"), "{}", r.body);

    // A caseworker of the same agency under the same consent does see health.
    let r = srv.gql(&cw_tok, PERSON_VIEW, by_id(&p)).await;
    assert_eq!(r.data()["person"]["careLevel"], "要介護2");
    assert!(r.errors_at("careLevel").is_empty(), "{}", r.body);

    // The ledger records the coordinator's health as withheld.
    let rows: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.action == "READ" && r.subject_person_id.as_deref() == Some(p.as_str()))
        .collect();
    assert!(
        rows[0].roles.contains("life_support_coordinator"),
        "{rows:?}"
    );
    assert!(rows[0].withheld.contains("HEALTH"), "{rows:?}");
    assert!(!rows[0].shown.contains("HEALTH"), "{rows:?}");
    assert!(rows[1].shown.contains("HEALTH"), "{rows:?}");
    assert!(rows[1].bases.contains(&consent), "{rows:?}");
}

async fn confidential_address_needs_a_consent_naming_the_agency(srv: &Server) {
    let a = srv.agency("dv-a", "SELF_RELIANCE").await;
    let b = srv.agency("dv-b", "CHILD_FAMILY").await;
    let d = srv.agency("dv-d", "CHILD_FAMILY").await;
    let (_, a_tok) = srv.account("dv-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("dv-b-cw", &b, &["caseworker"]).await;
    let (_, d_tok) = srv.account("dv-d-cw", &d, &["caseworker"]).await;
    let mut input = person_input("中村", "美咲", "ナカムラ", "ミサキ");
    input["addressConfidential"] = json!(true);
    input["address"] = json!("鶴岡市秘匿町 9-9");
    input["district"] = json!("西部圏域");
    let p = srv.person(&a_tok, input).await;
    // A neighbour in the same district, not confidential, consented to B by kind too.
    let n = srv
        .person(&a_tok, {
            let mut i = person_input("小林", "進", "コバヤシ", "ススム");
            i["district"] = json!("西部圏域");
            i
        })
        .await;
    srv.consent(
        &a_tok,
        consent_input(&p, &["IDENTITY", "CONTACT"], &[], &["CHILD_FAMILY"]),
    )
    .await;
    srv.consent(
        &a_tok,
        consent_input(&n, &["IDENTITY", "CONTACT"], &[], &["CHILD_FAMILY"]),
    )
    .await;
    let district = "query($d: String) { persons(district: $d) { edges { node { id district } } } }";
    let ids = |r: &Gql| -> Vec<String> {
        assert_eq!(r.status, 200, "{}", r.body);
        r.data()["persons"]["edges"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|x| x["node"]["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };

    // The owner sees the address.
    let r = srv.gql(&a_tok, PERSON_VIEW, by_id(&p)).await;
    assert_eq!(r.ok()["person"]["address"], "鶴岡市秘匿町 9-9");

    // B (consent by kind): name and phone, but neither address nor district.
    for tok in [&b_tok, &d_tok] {
        let r = srv.gql(tok, PERSON_VIEW, by_id(&p)).await;
        assert_eq!(r.status, 200);
        let v = &r.data()["person"];
        assert_eq!(v["familyName"], "中村");
        assert_eq!(v["phone"], "0235-00-0000");
        assert_eq!(v["address"], Value::Null);
        assert_eq!(v["district"], Value::Null);
        for f in ["address", "district"] {
            assert_eq!(
                withheld(&r, f),
                ("CONTACT".to_owned(), "NO_BASIS".to_owned()),
                "{f}"
            );
        }
        assert!(r.errors_at("phone").is_empty(), "{}", r.body);
        let text = r.body.to_string();
        assert!(
            !text.contains("秘匿町") && !text.contains("西部圏域"),
            "{text}"
        );
    }
    // …and the district filter does not give the district away.
    let r = srv.gql(&b_tok, district, json!({ "d": "西部圏域" })).await;
    assert_eq!(ids(&r), vec![n.clone()], "{}", r.body);
    let r = srv.gql(&b_tok, district, json!({ "d": null })).await;
    let mut all = ids(&r);
    all.sort();
    let mut expected = vec![p.clone(), n.clone()];
    expected.sort();
    assert_eq!(all, expected, "the person is listed, without a district");
    let edges = r.data()["persons"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let node = edges
        .iter()
        .map(|e| &e["node"])
        .find(|x| x["id"] == p.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(node["district"], Value::Null, "{}", r.body);
    assert_eq!(withheld(&r, "district").1, "NO_BASIS");

    // A consent naming B itself for CONTACT opens the address for B only.
    srv.consent(&a_tok, consent_input(&p, &["CONTACT"], &[&b], &[]))
        .await;
    let r = srv.gql(&b_tok, PERSON_VIEW, by_id(&p)).await;
    let v = &r.data()["person"];
    assert_eq!(v["address"], "鶴岡市秘匿町 9-9");
    assert_eq!(v["district"], "西部圏域");
    assert!(r.errors_at("address").is_empty() && r.errors_at("district").is_empty());
    let r = srv.gql(&b_tok, district, json!({ "d": "西部圏域" })).await;
    let mut got = ids(&r);
    got.sort();
    assert_eq!(got, expected);
    // D, of the same kind, still does not.
    let r = srv.gql(&d_tok, PERSON_VIEW, by_id(&p)).await;
    assert_eq!(r.data()["person"]["address"], Value::Null);
    assert_eq!(withheld(&r, "address").1, "NO_BASIS");
    let r = srv.gql(&d_tok, district, json!({ "d": "西部圏域" })).await;
    assert_eq!(ids(&r), vec![n.clone()], "{}", r.body);
}

async fn consent_for_a_kind_opens_only_that_kind(srv: &Server) {
    let a = srv.agency("kind-a", "COMPREHENSIVE_CARE").await;
    let k = srv.agency("kind-k", "CHILD_FAMILY").await;
    let o = srv.agency("kind-o", "DISABILITY").await;
    let (_, a_tok) = srv.account("kind-a-cw", &a, &["caseworker"]).await;
    let (_, k_tok) = srv.account("kind-k-cw", &k, &["caseworker"]).await;
    let (_, o_tok) = srv.account("kind-o-cw", &o, &["caseworker"]).await;
    let p = srv
        .person(&a_tok, person_input("加藤", "翔", "カトウ", "ショウ"))
        .await;
    srv.consent(
        &a_tok,
        consent_input(&p, &["IDENTITY"], &[], &["CHILD_FAMILY"]),
    )
    .await;

    let r = srv.gql(&k_tok, PERSON_VIEW, by_id(&p)).await;
    assert_eq!(r.data()["person"]["familyName"], "加藤");
    assert_eq!(
        withheld(&r, "phone"),
        ("CONTACT".to_owned(), "NO_BASIS".to_owned())
    );
    assert!(contains(&list_ids(srv, &k_tok).await["persons"], &p));

    assert_indistinguishable(srv, &o_tok, PERSON, by_id, &p, "NOT_FOUND").await;
    assert!(!contains(&list_ids(srv, &o_tok).await["persons"], &p));
}

async fn expired_consent_opens_nothing(srv: &Server) {
    let a = srv.agency("exp-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("exp-b", "DISABILITY").await;
    let (_, a_tok) = srv.account("exp-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("exp-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&a_tok, person_input("吉田", "誠", "ヨシダ", "マコト"))
        .await;
    let now = chrono::Utc::now();
    let mut input = consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]);
    input["validFrom"] = json!((now - chrono::Duration::hours(3)).to_rfc3339());
    input["validUntil"] = json!((now - chrono::Duration::hours(1)).to_rfc3339());
    let (id, _) = srv.consent(&a_tok, input).await;
    let states = srv.gql(&a_tok, CONSENTS, by_id(&p)).await;
    assert_eq!(
        states.ok()["consents"],
        json!([{ "id": id, "state": "EXPIRED" }])
    );

    assert_indistinguishable(srv, &b_tok, PERSON, by_id, &p, "NOT_FOUND").await;
    assert!(!contains(&list_ids(srv, &b_tok).await["persons"], &p));
    // Nor does it carry a referral.
    let r = srv
        .writes_nothing(srv.gql(
            &a_tok,
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
            json!({ "i": { "personId": p, "toAgencyId": b, "reason": "相談" } }),
        ))
        .await;
    let e = r.only_error("CONSENT_REQUIRED");
    assert_eq!(e["extensions"]["category"], "IDENTITY");
}

/// The district of a person under a support measure must not leak through a filtered
/// list's paging: B's page of `persons(district:, first: 1)` is the same whether or not the
/// hidden person lives in that district.
async fn district_filter_paging_reveals_no_hidden_district(srv: &Server) {
    let a = srv.agency("page-a", "SELF_RELIANCE").await;
    let b = srv.agency("page-b", "CHILD_FAMILY").await;
    let (_, a_tok) = srv.account("page-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("page-b-cw", &b, &["caseworker"]).await;
    let mut hidden = person_input("中村", "美咲", "ナカムラ", "ミサキ");
    hidden["addressConfidential"] = json!(true);
    hidden["district"] = json!("西部圏域");
    let p = srv.person(&a_tok, hidden).await;
    let mut shown = person_input("小林", "進", "コバヤシ", "ススム");
    shown["district"] = json!("西部圏域");
    let n = srv.person(&a_tok, shown).await;
    assert!(p < n, "ids sort by creation time");
    for q in [&p, &n] {
        srv.consent(
            &a_tok,
            consent_input(q, &["IDENTITY", "CONTACT"], &[], &["CHILD_FAMILY"]),
        )
        .await;
    }
    let page = "{ persons(district: \"西部圏域\", first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let expected = |r: &Gql| {
        let d = r.ok();
        assert_eq!(
            d["persons"]["edges"],
            json!([{ "node": { "id": n } }]),
            "the first page holds the one person B may see in the district: {}",
            r.body
        );
        assert_eq!(
            d["persons"]["pageInfo"]["hasNextPage"], false,
            "no further page: {}",
            r.body
        );
    };
    let inside = srv.gql(&b_tok, page, json!({})).await;
    // The same question once the hidden person has moved out of the district.
    let moved = srv
        .gql(
            &a_tok,
            "mutation($id: ID!) { updatePerson(id: $id, version: 1, input: { district: \"東部圏域\" }) { version } }",
            by_id(&p),
        )
        .await;
    assert_eq!(moved.ok()["updatePerson"]["version"], 2);
    let outside = srv.gql(&b_tok, page, json!({})).await;
    expected(&outside);
    assert_eq!(
        inside.body, outside.body,
        "B's answer must not depend on the hidden district"
    );
    expected(&inside);
}

/// A consultation issue B may not see (HEALTH without a HEALTH consent) must not leak
/// through the paging of `consultations(issue:, first: 1)`.
async fn issue_filter_paging_reveals_no_hidden_issue(srv: &Server) {
    let a = srv.agency("issue-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("issue-b", "DISABILITY").await;
    let (_, a_tok) = srv.account("issue-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("issue-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&a_tok, person_input("森", "大輔", "モリ", "ダイスケ"))
        .await;
    let q = srv
        .person(&a_tok, person_input("池田", "由美", "イケダ", "ユミ"))
        .await;
    srv.consent(
        &a_tok,
        consent_input(&p, &["IDENTITY", "NARRATIVE"], &[&b], &[]),
    )
    .await;
    srv.consent(
        &a_tok,
        consent_input(&q, &["IDENTITY", "NARRATIVE", "HEALTH"], &[&b], &[]),
    )
    .await;
    let record = |person: &str, at: &str| {
        json!({ "i": { "receivedAt": at, "channel": "VISIT", "subjectPersonIds": [person],
            "issues": [{ "code": "MENTAL_HEALTH", "main": true }], "summary": "不眠と抑うつ", "urgency": "NORMAL" } })
    };
    let rec = "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";
    let older = srv
        .gql(&a_tok, rec, record(&q, "2026-09-01T09:00:00Z"))
        .await;
    let older = id_of(&older, "recordConsultation");
    let newer = srv
        .gql(&a_tok, rec, record(&p, "2026-10-01T09:00:00Z"))
        .await;
    let newer = id_of(&newer, "recordConsultation");

    // B sees both consultations, but the issue of p's only under a HEALTH consent.
    let all = srv
        .gql(
            &b_tok,
            "{ consultations { edges { node { id issues { category { code } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all.ok()["consultations"]["edges"],
        json!([
            { "node": { "id": newer, "issues": [] } },
            { "node": { "id": older, "issues": [{ "category": { "code": "MENTAL_HEALTH" } }] } },
        ])
    );
    // B may read p's consultation but not change it.
    let r = srv
        .gql(
            &b_tok,
            "mutation($id: ID!) { setConsultationStatus(id: $id, version: 1, status: CLOSED) { status } }",
            by_id(&newer),
        )
        .await;
    r.only_error("FORBIDDEN");
    let row = entity::consultation::Entity::find_by_id(newer.clone())
        .one(&srv.db)
        .await
        .expect("consultation row")
        .expect("consultation exists");
    assert_eq!((row.status.as_str(), row.version), ("OPEN", 1));
    let full = srv
        .gql(
            &b_tok,
            "{ consultations(issue: \"MENTAL_HEALTH\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        full.ok()["consultations"]["edges"],
        json!([{ "node": { "id": older } }])
    );
    let page = srv
        .gql(
            &b_tok,
            "{ consultations(issue: \"MENTAL_HEALTH\", first: 1) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page.ok()["consultations"],
        json!({ "edges": [{ "node": { "id": older } }], "pageInfo": { "hasNextPage": false } }),
        "a page of one must hold the one match B may see, and not hint at p's hidden issue"
    );
}

/// A household is known to B through one member's HOUSEHOLD consent; the other member,
/// without one, is neither listed nor named.
async fn household_shows_only_members_with_a_basis(srv: &Server) {
    let a = srv.agency("hh-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("hh-b", "DISABILITY").await;
    let (_, a_tok) = srv.account("hh-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("hh-b-cw", &b, &["caseworker"]).await;
    let son = srv
        .person(&a_tok, person_input("山田", "健一", "ヤマダ", "ケンイチ"))
        .await;
    let mother = srv
        .person(&a_tok, person_input("山田", "トメ", "ヤマダ", "トメ"))
        .await;
    let h = srv
        .gql(
            &a_tok,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [
                { "personId": mother, "relationship": "世帯主", "isHead": true },
                { "personId": son, "relationship": "長男" },
            ] }),
        )
        .await;
    let h = id_of(&h, "createHousehold");
    // Before any consent B does not know the household.
    assert_indistinguishable(srv, &b_tok, HOUSEHOLD, by_id, &h, "NOT_FOUND").await;
    srv.consent(
        &a_tok,
        consent_input(&son, &["IDENTITY", "HOUSEHOLD"], &[&b], &[]),
    )
    .await;

    let r = srv.gql(&b_tok, HOUSEHOLD, by_id(&h)).await;
    assert_eq!(
        r.ok()["household"]["members"],
        json!([{ "relationship": "長男", "person": { "id": son } }]),
        "only the consenting member"
    );
    assert!(!r.body.to_string().contains(&mother), "{}", r.body);
    let r = srv
        .gql(
            &b_tok,
            "query($id: ID!) { person(id: $id) { households { householdId relationship } } }",
            by_id(&son),
        )
        .await;
    assert_eq!(
        r.ok()["person"]["households"],
        json!([{ "householdId": h, "relationship": "長男" }])
    );
    let lists = list_ids(srv, &b_tok).await;
    assert_eq!(lists["households"], json!([h]));
    assert_eq!(lists["persons"], json!([son]));
    assert_indistinguishable(srv, &b_tok, PERSON, by_id, &mother, "NOT_FOUND").await;
    // B may not add to A's household.
    let r = srv
        .gql(
            &b_tok,
            "mutation($h: ID!, $p: ID!) { addHouseholdMember(householdId: $h, member: { personId: $p, relationship: \"同居人\" }) { id } }",
            json!({ "h": h, "p": son }),
        )
        .await;
    r.only_error("FORBIDDEN");
    // The ledger holds the mother's membership as withheld from B.
    let withheld_rows = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| {
            r.action == "READ"
                && r.agency_id.as_deref() == Some(b.as_str())
                && r.subject_person_id.as_deref() == Some(mother.as_str())
        })
        .collect::<Vec<_>>();
    assert!(!withheld_rows.is_empty());
    assert!(
        withheld_rows
            .iter()
            .all(|r| r.shown == "[]" && r.withheld.contains("HOUSEHOLD")),
        "{withheld_rows:?}"
    );
}

/// A consultation about a mother and her son; B has the son's consent (IDENTITY and
/// NARRATIVE) and none of the mother's. Returns (B's token, son, mother, consultation).
async fn shared_consultation(srv: &Server) -> (String, String, String, String) {
    let a = srv.agency("shared-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("shared-b", "DISABILITY").await;
    let (_, a_tok) = srv.account("shared-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("shared-b-cw", &b, &["caseworker"]).await;
    let son = srv
        .person(&a_tok, person_input("森", "大輔", "モリ", "ダイスケ"))
        .await;
    let mother = srv
        .person(&a_tok, person_input("森", "花", "モリ", "ハナ"))
        .await;
    srv.consent(
        &a_tok,
        consent_input(&son, &["IDENTITY", "NARRATIVE"], &[&b], &[]),
    )
    .await;
    let c = srv
        .gql(
            &a_tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [son, mother],
                "issues": [], "summary": "8050 世帯の相談", "urgency": "NORMAL" } }),
        )
        .await;
    let c = id_of(&c, "recordConsultation");
    // The mother is unknown to B.
    assert_indistinguishable(srv, &b_tok, PERSON, by_id, &mother, "NOT_FOUND").await;
    (b_tok, son, mother, c)
}

/// Filtering consultations by the id of a person B may not know exists answers as for an
/// id that does not exist: it must not confirm that the person is a co-subject of a
/// consultation B can see.
async fn consultation_person_filter_reveals_no_unknown_subject(srv: &Server) {
    let (b_tok, son, mother, c) = shared_consultation(srv).await;
    let q = "query($id: ID!) { consultations(personId: $id) { edges { node { id } } } }";
    let r = srv.gql(&b_tok, q, by_id(&son)).await;
    assert_eq!(
        r.ok()["consultations"]["edges"],
        json!([{ "node": { "id": c } }])
    );
    let (hs, hidden) = raw(srv, &b_tok, q, by_id(&mother)).await;
    let (ms, missing) = raw(srv, &b_tok, q, by_id(&random_id())).await;
    assert_eq!(hs, ms);
    assert_eq!(
        hidden, missing,
        "consultations(personId:) for a person B may not know must answer as for a random id"
    );
}

/// The withheld summary of the shared consultation must not hand B the id of the mother,
/// whom B may not know exists (the subjects list leaves her out; the error must too).
async fn withheld_summary_does_not_name_an_unknown_subject(srv: &Server) {
    let (b_tok, son, mother, c) = shared_consultation(srv).await;
    let r = srv
        .gql(
            &b_tok,
            "query($id: ID!) { consultation(id: $id) { id summary subjects { id } } }",
            by_id(&c),
        )
        .await;
    let d = &r.data()["consultation"];
    assert_eq!(d["summary"], Value::Null, "{}", r.body);
    assert_eq!(d["subjects"], json!([{ "id": son }]));
    assert_eq!(r.codes(), vec!["CONSENT_REQUIRED"], "{}", r.body);
    assert!(
        !r.body.to_string().contains(&mother),
        "the answer names a person B may not know exists: {}",
        r.body
    );
}

/// Found by the no-leak property test: once B's consent is withdrawn, B still sees the
/// referral it received, but the error beside the withheld reason must not carry the
/// person's id (B may no longer know the person exists; `person` is null).
async fn withheld_referral_reason_does_not_name_an_unknown_person(srv: &Server) {
    let w = world(srv).await;
    const Q: &str = "query($id: ID!) { referral(id: $id) { id reason person { id } } }";
    // With the consent, B knows the person: the error names it so B can ask for consent.
    let before = srv.gql(&w.b_tok, Q, by_id(&w.referral)).await;
    before.assert_withheld(&[json!("referral"), json!("reason")], "NARRATIVE");
    assert_eq!(before.data()["referral"]["person"]["id"], json!(w.person));
    assert_eq!(
        before.errors_at("reason")[0]["extensions"]["subjectId"],
        json!(w.person)
    );
    srv.gql(
        &w.a_tok,
        "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v) { id } }",
        json!({ "id": w.consent.0, "v": w.consent.1 }),
    )
    .await
    .ok();
    let after = srv.gql(&w.b_tok, Q, by_id(&w.referral)).await;
    after.assert_withheld(&[json!("referral"), json!("reason")], "NARRATIVE");
    assert_eq!(
        after.data()["referral"]["person"],
        Value::Null,
        "{}",
        after.body
    );
    assert!(
        !after.body.to_string().contains(&w.person),
        "the answer names a person B may no longer know exists: {}",
        after.body
    );
}

/// Which other agencies a person consented to is itself sensitive: B sees only the consents
/// naming B (or B's kind); the registering agency and overseers see them all.
async fn other_agencies_consents_are_not_listed(srv: &Server) {
    let a = srv.agency("cl-a", "SELF_RELIANCE").await;
    let b = srv.agency("cl-b", "DISABILITY").await;
    let k = srv.agency("cl-k", "CHILD_FAMILY").await;
    let (_, a_tok) = srv.account("cl-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("cl-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&a_tok, person_input("相馬", "結衣", "ソウマ", "ユイ"))
        .await;
    let (for_b, _) = srv
        .consent(&a_tok, consent_input(&p, &["IDENTITY"], &[&b], &[]))
        .await;
    let (for_k, _) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["IDENTITY", "CHILD_PROTECTION"], &[&k], &[]),
        )
        .await;
    let (for_kind, _) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["IDENTITY"], &[], &["DISABILITY"]),
        )
        .await;
    let ids = |r: &Gql| -> Vec<String> {
        let mut v: Vec<String> = r.ok()["consents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let mut b_expected = vec![for_b.clone(), for_kind.clone()];
    b_expected.sort();
    assert_eq!(
        ids(&srv.gql(&b_tok, CONSENTS, json!({ "id": p })).await),
        b_expected
    );
    let mut all = vec![for_b, for_k.clone(), for_kind];
    all.sort();
    assert_eq!(
        ids(&srv.gql(&a_tok, CONSENTS, json!({ "id": p })).await),
        all
    );
    assert_eq!(
        ids(&srv
            .gql(&srv.admin_token, CONSENTS, json!({ "id": p }))
            .await),
        all
    );
    // explainAccess does not point B at the consent for the child-family centre either.
    let why = srv
        .gql(&b_tok, "query($id: ID!) { explainAccess(personId: $id) { items { category otherRecipientConsentIds } } }", json!({ "id": p }))
        .await;
    assert!(!why.body.to_string().contains(&for_k), "{}", why.body);
    let own = srv
        .gql(&a_tok, "query($id: ID!) { explainAccess(personId: $id) { items { category otherRecipientConsentIds } } }", json!({ "id": p }))
        .await;
    assert!(
        own.body.to_string().contains(&for_k),
        "the registering agency is told: {}",
        own.body
    );
    // Of those, B sees itself among the recipients, never the other agencies named (here a
    // consent naming both B and the child-family centre K).
    srv.consent(&a_tok, consent_input(&p, &["IDENTITY"], &[&b, &k], &[]))
        .await;
    let rec = srv
        .gql(
            &b_tok,
            "query($id: ID!) { consents(personId: $id) { recipientAgencies { id } recipientAgencyKinds } }",
            json!({ "id": p }),
        )
        .await;
    assert!(!rec.body.to_string().contains(&k), "{}", rec.body);
    assert!(rec.body.to_string().contains(&b), "{}", rec.body);
}

/// A consultation about P1 and P2, opened for B by P1's NARRATIVE consent: B knows P2 (by an
/// IDENTITY consent) but may not learn that P2 was a subject of it.
async fn co_subjects_consent_does_not_reveal_a_persons_consultations(srv: &Server) {
    let a = srv.agency("co-a", "CHILD_FAMILY").await;
    let b = srv.agency("co-b", "SELF_RELIANCE").await;
    let (_, a_tok) = srv.account("co-a-cw", &a, &["caseworker"]).await;
    let (_, b_tok) = srv.account("co-b-cw", &b, &["caseworker"]).await;
    let p1 = srv
        .person(&a_tok, person_input("母", "一", "ハハ", "ハジメ"))
        .await;
    let p2 = srv
        .person(&a_tok, person_input("子", "二", "コ", "ツギ"))
        .await;
    srv.consent(
        &a_tok,
        consent_input(&p1, &["IDENTITY", "NARRATIVE"], &[&b], &[]),
    )
    .await;
    srv.consent(&a_tok, consent_input(&p2, &["IDENTITY"], &[&b], &[]))
        .await;
    let c = srv
        .gql(
            &a_tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [p1, p2],
                "issues": [], "summary": "親子の相談", "urgency": "NORMAL" } }),
        )
        .await;
    let cid = c.ok()["recordConsultation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // B sees the consultation through P1 …
    let seen = srv
        .gql(
            &b_tok,
            "query($id: ID!) { consultation(id: $id) { subjects { id } } }",
            json!({ "id": cid }),
        )
        .await;
    assert_eq!(
        seen.ok()["consultation"]["subjects"],
        json!([{ "id": p1 }]),
        "P2's part is hidden"
    );
    // … but nothing ties P2 to it.
    let p2_view = srv
        .gql(
            &b_tok,
            "query($id: ID!) { person(id: $id) { consultations { id } } }",
            json!({ "id": p2 }),
        )
        .await;
    assert_eq!(p2_view.ok()["person"]["consultations"], json!([]));
    let filtered = srv.gql(&b_tok, "query($id: ID!) { consultations(personId: $id) { edges { node { id } } pageInfo { hasNextPage } } }", json!({ "id": p2 })).await;
    assert_eq!(filtered.ok()["consultations"]["edges"], json!([]));
    assert_eq!(
        filtered.ok()["consultations"]["pageInfo"]["hasNextPage"],
        false
    );
    let p1_filtered = srv
        .gql(
            &b_tok,
            "query($id: ID!) { consultations(personId: $id) { edges { node { id } } } }",
            json!({ "id": p1 }),
        )
        .await;
    assert_eq!(
        p1_filtered.ok()["consultations"]["edges"][0]["node"]["id"],
        cid.as_str()
    );
}
