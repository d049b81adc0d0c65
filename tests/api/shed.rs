//! Load shedding (issue 12 item 3): under load the hub answers HTTP 503 with `Retry-After`
//! and the code UNAVAILABLE, never INTERNAL and never a 200 with `data: null`; a shed
//! request writes nothing, not even a ledger row; /readyz reports saturation. No timing is
//! asserted: the load is made by holding the server's only database connection (a
//! transaction the test keeps open) and, for admission, a request that waits for it.

use std::time::Duration;

use serde_json::{json, Value};
use tsunagi_tests::{person_input, tests, Gql, Server};

tests!(
    a_full_admission_sheds_with_503_and_writes_nothing,
    no_connection_in_time_is_503_for_reads_and_writes
);

const SEARCH: &str =
    "query Search($kana: String!) { persons(kana: $kana, first: 20) { nodes { id familyName } } }";
const CREATE: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }";

/// GET /readyz: (status, body).
async fn readyz(srv: &Server) -> (u16, Value) {
    let r = reqwest::get(srv.url("/readyz")).await.expect("readyz");
    let status = r.status().as_u16();
    (status, r.json().await.expect("readyz JSON"))
}

/// POST /graphql keeping the headers (the harness's `gql` drops them).
async fn post(srv: &Server, token: &str, query: &str, variables: Value) -> (Gql, Option<String>) {
    let resp = reqwest::Client::new()
        .post(srv.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("HTTP request");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let status = resp.status().as_u16();
    let body = resp.json().await.expect("a JSON body");
    (Gql { status, body }, retry_after)
}

/// A shed answer: 503, `Retry-After`, one coded bilingual UNAVAILABLE error with `reason`,
/// no data, and never INTERNAL.
fn assert_shed(r: &(Gql, Option<String>), reason: &str, what: &str) {
    let (r, retry_after) = r;
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    assert_eq!(retry_after.as_deref(), Some("1"), "{what}: Retry-After");
    let e = r.only_error("UNAVAILABLE");
    assert_eq!(e["extensions"]["reason"], reason, "{what}: {}", r.body);
    assert_eq!(e["extensions"]["retryAfter"], 1, "{what}");
    assert!(
        e["extensions"].get("written").is_none(),
        "{what}: {}",
        r.body
    );
    assert!(r.data().is_null(), "{what}: no data: {}", r.body);
    r.assert_coded_bilingual();
}

/// A caseworker with one registered person (found by the search); returns the token.
async fn caseworker(srv: &Server) -> String {
    let a = srv.agency("shed-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("shed-cw", &a, &["caseworker"]).await;
    srv.person(&tok, person_input("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    tok
}

/// Admission limit 1, no queue: while one request is in flight (waiting for the connection
/// the test holds), /readyz reports saturation and a mutation is shed before it runs; when
/// the connection is free again the held request is answered and nothing was written.
async fn a_full_admission_sheds_with_503_and_writes_nothing(srv: &Server) {
    let load = Server::start_with(&srv.backend, |c| {
        c.pool.size = Some(1);
        // Long enough that the held request waits for the connection instead of failing.
        c.pool.acquire_timeout = Duration::from_secs(120);
        c.admission.limit = Some(1);
        c.admission.queue = Some(0);
        c.admission.wait = Duration::ZERO;
    })
    .await;
    full_admission(&load).await;
    load.stop().await;
}

async fn full_admission(srv: &Server) {
    let tok = caseworker(srv).await;
    let (status, ready) = readyz(srv).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["pool"]["size"], 1, "{ready}");
    assert_eq!(ready["admission"]["limit"], 1, "{ready}");
    assert_eq!(ready["admission"]["shed"]["total"], 0, "{ready}");
    let before = srv.snapshot().await;

    // The only connection, held: the next request is admitted and waits for it.
    let held = sea_orm::TransactionTrait::begin(&srv.db)
        .await
        .expect("hold");
    let waiting = tokio::spawn({
        let (url, tok) = (srv.url("/graphql"), tok.clone());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(tok)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                .expect("HTTP");
            (r.status().as_u16(), r.json::<Value>().await.expect("JSON"))
        }
    });
    let ready = loop {
        let (status, ready) = readyz(srv).await;
        if ready["admission"]["inFlight"] == 1 {
            assert_eq!(status, 503, "saturated is 503: {ready}");
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(ready["status"], "saturated", "{ready}");
    assert_eq!(ready["pool"]["inUse"], 1, "{ready}");
    assert_eq!(ready["pool"]["idle"], 0, "{ready}");

    let shed = post(
        srv,
        &tok,
        CREATE,
        json!({ "i": person_input("佐藤", "花子", "サトウ", "ハナコ") }),
    )
    .await;
    assert_shed(
        &shed,
        "admission",
        "createPerson beyond the admission limit",
    );
    let read = post(srv, &tok, SEARCH, json!({ "kana": "ヤ" })).await;
    assert_shed(&read, "admission", "a search beyond the admission limit");
    let (_, ready) = readyz(srv).await;
    assert_eq!(ready["admission"]["shed"]["admission"], 2, "{ready}");
    assert_eq!(ready["admission"]["shed"]["total"], 2, "{ready}");

    held.rollback().await.expect("release");
    let (status, body) = waiting.await.expect("the held request");
    assert_eq!(status, 200, "the admitted request is served: {body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    srv.assert_unchanged(&before, "shed requests").await;
    let (status, ready) = readyz(srv).await;
    assert_eq!(
        (status, &ready["status"]),
        (200, &json!("ready")),
        "{ready}"
    );
    assert_eq!(ready["admission"]["inFlight"], 0, "{ready}");
    // The search is served again, with its data, once the load is gone.
    let (r, _) = post(srv, &tok, SEARCH, json!({ "kana": "ヤ" })).await;
    assert_eq!(r.ok()["persons"]["nodes"][0]["familyName"], "山田");
}

/// Pool size 1 with a short wait for a connection, admission wide open: while the test
/// holds the connection, a search and a mutation get no connection in time and are shed
/// (503 UNAVAILABLE, `database_pool`, never INTERNAL, never 200 with data: null); nothing
/// is written; /readyz says saturated (the pool busy) and counts them.
async fn no_connection_in_time_is_503_for_reads_and_writes(srv: &Server) {
    let load = Server::start_with(&srv.backend, |c| {
        c.pool.size = Some(1);
        c.pool.acquire_timeout = Duration::from_millis(200);
    })
    .await;
    no_connection(&load).await;
    load.stop().await;
}

async fn no_connection(srv: &Server) {
    let tok = caseworker(srv).await;
    let before = srv.snapshot().await;
    let held = sea_orm::TransactionTrait::begin(&srv.db)
        .await
        .expect("hold");
    let read = post(srv, &tok, SEARCH, json!({ "kana": "ヤ" })).await;
    assert_shed(&read, "database_pool", "a search without a connection");
    let write = post(
        srv,
        &tok,
        CREATE,
        json!({ "i": person_input("佐藤", "花子", "サトウ", "ハナコ") }),
    )
    .await;
    assert_shed(&write, "database_pool", "createPerson without a connection");
    let (status, ready) = readyz(srv).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(
        ready["status"], "saturated",
        "the pool is busy, not down: {ready}"
    );
    assert_eq!(ready["admission"]["shed"]["databasePool"], 2, "{ready}");
    held.rollback().await.expect("release");
    srv.assert_unchanged(&before, "requests without a connection")
        .await;
    let (r, _) = post(srv, &tok, SEARCH, json!({ "kana": "ヤ" })).await;
    assert_eq!(r.ok()["persons"]["nodes"][0]["familyName"], "山田");
    let (status, ready) = readyz(srv).await;
    assert_eq!(
        (status, &ready["status"]),
        (200, &json!("ready")),
        "{ready}"
    );
}
