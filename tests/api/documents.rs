//! Trusted (persisted) documents: with TSUNAGI_TRUSTED_DOCUMENTS=integration, service
//! clients may only run registered documents (by documentId or APQ hash); staff UIs may still
//! send free text; with `all` nobody may. Refusals are HTTP 400 BAD_USER_INPUT with a reason,
//! run nothing, write nothing and ledger nothing. Batches (a JSON array) are refused clearly.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};
use tsunagi_api::documents::{hash, manifest, Mode, TrustedDocuments};
use tsunagi_api::policy::Role;
use tsunagi_tests::{person_input, tests, Gql, Server};

tests!(
    integration_accounts_must_use_registered_documents,
    mode_all_holds_staff_to_registered_documents_too,
    batches_are_refused_clearly
);

const READ: &str = "query ReadPerson($id: ID!) { person(id: $id) { id familyName } }";
const CREATE: &str =
    "mutation CreatePerson($i: CreatePersonInput!) { createPerson(input: $i) { id } }";
// The harness's own set-up documents, so an admin can work in mode `all`.
const HARNESS: [&str; 2] = [
    "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
    "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
];
const FREE_READ: &str = "query { person(id: \"ID\") { id familyName } }";

fn id(text: &str) -> String {
    format!("sha256:{}", hash(text))
}

/// A registered document with 31 aliases (one over the limit) and one too deep.
fn hostile() -> (String, String) {
    let aliases: String = (0..31)
        .map(|i| format!("a{i}: viewer {{ effectiveRoles }} "))
        .collect();
    let mut deep = String::from("id");
    for _ in 0..7 {
        deep = format!("households {{ person {{ {deep} }} }}");
    }
    (
        format!("query Aliases {{ {aliases} }}"),
        format!("query Deep($id: ID!) {{ person(id: $id) {{ {deep} }} }}"),
    )
}

async fn server(srv: &Server, mode: Mode) -> Server {
    let (aliases, deep) = hostile();
    let texts = [READ, CREATE, HARNESS[0], HARNESS[1], &aliases, &deep];
    let trusted = TrustedDocuments::from_manifest(mode, &manifest(texts)).unwrap();
    Server::start_with(&srv.backend, |c| c.limits.documents = Arc::new(trusted)).await
}

async fn send(srv: &Server, token: &str, body: Value) -> Gql {
    srv.raw(Some(&format!("Bearer {token}")), body).await
}

/// Sends `body` and asserts a refusal that left no trace: HTTP 400, one BAD_USER_INPUT with
/// `reason`, no data, nothing written, not even a ledger row (so nothing was read).
async fn refused(srv: &Server, token: &str, body: Value, reason: &str) -> Gql {
    let r = srv.writes_nothing(send(srv, token, body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let e = r.only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["reason"], reason, "{}", r.body);
    assert_eq!(r.data(), &Value::Null);
    r
}

fn apq(hex_or_id: &str) -> Value {
    let hex = hex_or_id.trim_start_matches("sha256:");
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hex } })
}

async fn integration_accounts_must_use_registered_documents(srv: &Server) {
    let own = server(srv, Mode::Integration).await;
    let srv = &own;
    let a = srv.agency("td-a", "SELF_RELIANCE").await;
    let r = srv
        .gql(
            &srv.admin_token,
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            json!({ "i": { "login": "td-system", "displayName": "相談記録システム", "agencyId": a,
                "kind": "SERVICE", "roles": ["INTEGRATION"] } }),
        )
        .await;
    let service = srv.token(r.ok()["createAccount"]["id"].as_str().unwrap());
    let (_, staff) = srv.account("td-cw", &a, &["caseworker"]).await;
    // A staff account that holds `integration` too: a token narrowed to caseworker does
    // not escape the rule, which looks at the account as registered.
    let (both_id, _) = srv
        .account("td-both", &a, &["caseworker", "integration"])
        .await;
    let narrowed: BTreeSet<Role> = [Role::Caseworker].into();
    let narrowed = tsunagi_api::auth::mint(&srv.jwt, &both_id, 3600, Some(&narrowed)).unwrap();

    // Registered by documentId: the server runs the registered text.
    let input = person_input("紬", "文書", "ツムギ", "ブンショ");
    let r = send(
        srv,
        &service,
        json!({ "documentId": id(CREATE), "variables": { "i": input } }),
    )
    .await;
    let p = r.ok()["createPerson"]["id"].as_str().unwrap().to_owned();
    let rows = srv.ledger().await;
    assert_eq!(rows.last().unwrap().record_id.as_deref(), Some(p.as_str()));
    // Registered by Apollo APQ hash, and by documentId with its own text along.
    let r = send(
        srv,
        &service,
        json!({ "extensions": apq(&id(READ)), "variables": { "id": p } }),
    )
    .await;
    assert_eq!(r.ok()["person"]["familyName"], "紬");
    let r = send(
        srv,
        &service,
        json!({ "documentId": id(READ), "query": READ, "variables": { "id": p } }),
    )
    .await;
    assert_eq!(r.ok()["person"]["familyName"], "紬");
    // The exact text of a registered document is that document: accepted.
    let r = srv.gql(&service, READ, json!({ "id": p })).await;
    assert_eq!(r.ok()["person"]["familyName"], "紬");
    let rows = srv.ledger().await;
    assert_eq!(rows.last().unwrap().operation, "ReadPerson");
    assert_eq!(
        rows.last().unwrap().subject_person_id.as_deref(),
        Some(p.as_str())
    );

    // Free text from the service account: refused, nothing read, nothing ledgered.
    let free_read = FREE_READ.replace("ID", &p);
    let r = refused(
        srv,
        &service,
        json!({ "query": free_read }),
        "unregistered_document",
    )
    .await;
    assert_eq!(r.errors()[0]["extensions"]["field"], "query");
    assert!(!r.body.to_string().contains("紬"), "{}", r.body);
    // The same for the narrowed token of an account that holds `integration`.
    refused(
        srv,
        &narrowed,
        json!({ "query": free_read }),
        "unregistered_document",
    )
    .await;
    // A free-text mutation: refused, nothing written.
    let sneaky = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id familyName } }";
    let vars = json!({ "i": person_input("不正", "登録", "フセイ", "トウロク") });
    refused(
        srv,
        &service,
        json!({ "query": sneaky, "variables": vars }),
        "unregistered_document",
    )
    .await;
    // Unknown id (without text): PERSISTED_QUERY_NOT_FOUND, for documentId and APQ alike.
    let unknown = id("{ viewer { effectiveRoles } }");
    let not_found = "PERSISTED_QUERY_NOT_FOUND";
    refused(srv, &service, json!({ "documentId": unknown }), not_found).await;
    refused(
        srv,
        &service,
        json!({ "extensions": apq(&unknown) }),
        not_found,
    )
    .await;
    refused(srv, &staff, json!({ "documentId": unknown }), not_found).await;
    // A registered id with other text: refused, for everyone (staff too).
    for token in [&service, &staff] {
        let body = json!({ "documentId": id(READ), "query": free_read, "variables": { "id": p } });
        refused(srv, token, body, "document_mismatch").await;
        let body = json!({ "documentId": id(CREATE), "query": sneaky, "variables": vars });
        refused(srv, token, body, "document_mismatch").await;
    }
    // documentId and APQ hash naming different documents.
    let body =
        json!({ "documentId": id(READ), "extensions": apq(&id(CREATE)), "variables": { "id": p } });
    refused(srv, &service, body, "document_mismatch").await;
    // Malformed ids.
    for body in [
        json!({ "documentId": "sha256:abc" }),
        json!({ "documentId": 42 }),
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash(READ) } } }),
        json!({ "extensions": { "persistedQuery": { "version": 1 } } }),
    ] {
        refused(srv, &service, body, "malformed_document_id").await;
    }
    // An unknown id sent with its own text by an account allowed free text (an APQ cache
    // miss retried) runs as free text; the same from the service account is refused.
    let text = "{ viewer { effectiveRoles } }";
    let r = send(
        srv,
        &staff,
        json!({ "extensions": apq(&id(text)), "query": text }),
    )
    .await;
    assert_eq!(r.ok()["viewer"]["effectiveRoles"], json!(["CASEWORKER"]));
    let body = json!({ "extensions": apq(&id(text)), "query": text });
    refused(srv, &service, body, "unregistered_document").await;
    // Authentication comes first: an id without a token is 401.
    let r = srv
        .raw(
            None,
            json!({ "documentId": id(READ), "variables": { "id": p } }),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Staff software may still send free text in mode `integration`.
    let r = srv.gql(&staff, &free_read, json!({})).await;
    assert!(
        r.status == 200 && r.data()["person"].is_object(),
        "{}",
        r.body
    );

    // Registered documents still pass through every other limit.
    let (aliases, deep) = hostile();
    let r = send(srv, &service, json!({ "documentId": id(&aliases) })).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "query"
    );
    let r = srv
        .writes_nothing(send(
            srv,
            &service,
            json!({ "documentId": id(&deep), "variables": { "id": p } }),
        ))
        .await;
    assert_eq!(r.codes(), vec!["BAD_USER_INPUT"], "{}", r.body);
    assert!(r.body.to_string().contains("deep"), "{}", r.body);
    own.stop().await;
}

async fn mode_all_holds_staff_to_registered_documents_too(srv: &Server) {
    let own = server(srv, Mode::All).await;
    let srv = &own;
    // The harness's set-up documents are registered, so these run as their exact text.
    let a = srv.agency("tda-a", "SELF_RELIANCE").await;
    let (_, staff) = srv.account("tda-cw", &a, &["caseworker"]).await;
    let input = person_input("全件", "登録", "ゼンケン", "トウロク");
    let r = send(
        srv,
        &staff,
        json!({ "documentId": id(CREATE), "variables": { "i": input } }),
    )
    .await;
    let p = r.ok()["createPerson"]["id"].as_str().unwrap().to_owned();
    let free_read = json!({ "query": FREE_READ.replace("ID", &p) });
    refused(srv, &staff, free_read, "unregistered_document").await;
    // The admin too.
    let viewer = json!({ "query": "{ viewer { effectiveRoles } }" });
    refused(srv, &srv.admin_token, viewer, "unregistered_document").await;
    let before = srv.ledger().await.len();
    let r = send(
        srv,
        &staff,
        json!({ "documentId": id(READ), "variables": { "id": p } }),
    )
    .await;
    assert_eq!(r.ok()["person"]["familyName"], "全件");
    let rows = srv.ledger().await;
    assert_eq!(rows.len(), before + 1);
    assert_eq!(rows.last().unwrap().operation, "ReadPerson");
    own.stop().await;
}

async fn batches_are_refused_clearly(srv: &Server) {
    let a = srv.agency("batch-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("batch-cw", &a, &["caseworker"]).await;
    let create = json!({
        "query": "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
        "variables": { "i": person_input("一括", "送信", "イッカツ", "ソウシン") },
    });
    for body in [
        json!([create.clone(), create.clone()]),
        json!([create]),
        json!([]),
    ] {
        let r = refused(srv, &tok, body, "batch_not_supported").await;
        assert_eq!(r.errors()[0]["extensions"]["field"], "body");
        assert!(
            r.errors()[0]["message"].as_str().unwrap().contains("batch"),
            "{}",
            r.body
        );
    }
    // Nothing ran: each refusal wrote nothing, not even a ledger row (see `refused`).
}
