//! Idempotent retries (issue 15 item 2) through the real HTTP API: a mutation sent with an
//! `Idempotency-Key` runs once; a retry with the same key and body gets the first answer
//! byte for byte (`Idempotent-Replayed: true`) and does nothing again (no row, no WRITE
//! ledger row; one READ row for the replay); another body is 422; a retry while the first
//! still runs is 409 (in this process, and on PostgreSQL in another one); an invalid key is
//! 400; keys are the caller's own (account, service client); answers with field errors are
//! stored, request errors are not; a key on a query is ignored; expired keys run again and
//! are purged at start-up.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tsunagi_tests::{person_input, tests, Backend, Server};

tests!(
    a_replay_is_the_first_answer_byte_for_byte_and_does_nothing_again,
    the_same_key_with_another_body_is_422,
    a_retry_while_the_first_runs_is_409,
    a_retry_in_another_process_while_the_first_runs_is_409,
    an_invalid_key_is_400_naming_the_header,
    keys_are_scoped_to_the_account_and_the_service_client,
    answers_with_field_errors_are_stored_and_request_errors_are_not,
    a_key_on_a_query_is_ignored,
    a_keyed_request_reads_its_own_writes,
    an_expired_key_runs_again_and_expired_keys_are_purged_at_start,
);

const CREATE: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id familyName givenName address phone version } }";

/// An answer as it came over the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    replayed: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The one error's extensions, asserting status and code.
    fn refusal(&self, status: u16, code: &str) -> Value {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        body["errors"][0]["extensions"].clone()
    }
}

/// POST /graphql with exactly these body bytes, an optional key and Accept.
async fn post(
    base: &str,
    token: &str,
    key: Option<&str>,
    body: &str,
    accept: Option<&str>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, content_type, replayed) = (
        resp.status().as_u16(),
        header("content-type").unwrap_or_default(),
        header("idempotent-replayed"),
    );
    Answer {
        status,
        content_type,
        replayed,
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

/// A createPerson request body for a person named `given`.
fn create_body(given: &str) -> String {
    json!({ "query": CREATE, "variables": { "i": person_input("冪等", given, "ベキトウ", "テスト") } })
        .to_string()
}

async fn persons_named(srv: &Server, given: &str) -> u64 {
    entity::person::Entity::find()
        .filter(entity::person::Column::GivenName.eq(given))
        .count(&srv.db)
        .await
        .unwrap()
}

/// (WRITE rows, READ rows) of the ledger.
async fn ledger_counts(srv: &Server) -> (usize, usize) {
    let rows = srv.ledger().await;
    let writes = rows.iter().filter(|r| r.action == "WRITE").count();
    (writes, rows.len() - writes)
}

/// An agency and a caseworker of it; returns the caseworker's token.
async fn caseworker(srv: &Server, code: &str) -> String {
    let agency = srv.agency(code, "COMPREHENSIVE_CARE").await;
    srv.account(&format!("{code}-cw"), &agency, &["caseworker"])
        .await
        .1
}

async fn a_replay_is_the_first_answer_byte_for_byte_and_does_nothing_again(srv: &Server) {
    let token = caseworker(srv, "idem-replay").await;
    let body = create_body("再送");
    let first = post(&srv.base, &token, Some("order-0001"), &body, None).await;
    assert_eq!(first.status, 200, "{}", first.json());
    assert!(first.json().get("errors").is_none(), "{}", first.json());
    assert_eq!(first.replayed, None);
    let id = first.json()["data"]["createPerson"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (writes, reads) = ledger_counts(srv).await;
    // The first request's READ rows name the key (the replay's row names it too).
    let keyed_reads = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.action == "READ" && r.detail.contains("\"idempotencyKey\":\"order-0001\""))
        .filter(|r| r.subject_person_id.as_deref() == Some(id.as_str()))
        .count();
    assert_eq!(
        keyed_reads, 1,
        "the first answer's read of the person names the key"
    );

    for retry in [
        body.clone(),
        // The same JSON request: key order and whitespace do not matter.
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap(),
    ] {
        let again = post(&srv.base, &token, Some("order-0001"), &retry, None).await;
        assert_eq!(again.status, first.status);
        assert_eq!(again.content_type, first.content_type);
        assert_eq!(again.body, first.body, "byte for byte");
        assert_eq!(again.replayed.as_deref(), Some("true"));
    }
    assert_eq!(persons_named(srv, "再送").await, 1, "one person");
    let (writes_after, reads_after) = ledger_counts(srv).await;
    assert_eq!(writes_after, writes, "no WRITE row for a replay");
    assert_eq!(reads_after, reads + 2, "one READ row per replay");
    let replays: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.operation == "idempotentReplay")
        .collect();
    assert_eq!(replays.len(), 2);
    for r in &replays {
        assert_eq!(
            (
                r.action.as_str(),
                r.record_type.as_str(),
                r.record_id.as_deref()
            ),
            ("READ", "idempotency_key", Some("order-0001"))
        );
    }

    // The answer is stored as it left, media type included: a replay asked for another
    // media type still gets the first one's bytes and Content-Type.
    let body = create_body("媒体");
    let accept = "application/graphql-response+json";
    let first = post(&srv.base, &token, Some("order-0002"), &body, Some(accept)).await;
    assert_eq!((first.status, first.content_type.as_str()), (200, accept));
    let again = post(&srv.base, &token, Some("order-0002"), &body, None).await;
    assert_eq!(
        (again.status, again.content_type.as_str(), &again.body),
        (200, accept, &first.body)
    );
    assert_eq!(persons_named(srv, "媒体").await, 1);
}

async fn the_same_key_with_another_body_is_422(srv: &Server) {
    let token = caseworker(srv, "idem-reuse").await;
    let first = post(
        &srv.base,
        &token,
        Some("k-reuse"),
        &create_body("一回目"),
        None,
    )
    .await;
    assert_eq!(first.status, 200);
    let (writes, reads) = ledger_counts(srv).await;
    let other = post(
        &srv.base,
        &token,
        Some("k-reuse"),
        &create_body("二回目"),
        None,
    )
    .await;
    let e = other.refusal(422, "BAD_USER_INPUT");
    assert_eq!(e["reason"], "idempotency_key_reused");
    assert_eq!(e["field"], "Idempotency-Key");
    assert_eq!(other.replayed, None);
    assert_eq!(persons_named(srv, "二回目").await, 0);
    assert_eq!(
        ledger_counts(srv).await,
        (writes, reads),
        "nothing ledgered"
    );
    // The first body still replays.
    let again = post(
        &srv.base,
        &token,
        Some("k-reuse"),
        &create_body("一回目"),
        None,
    )
    .await;
    assert_eq!(
        (again.body, again.replayed.as_deref()),
        (first.body, Some("true"))
    );
}

// ---------------------------------------------------------------------------------------
// In flight: held deterministically by a database lock the test holds

/// A lock that keeps a keyed mutation from finishing while the test holds it: on SQLite the
/// write lock (the request's BEGIN IMMEDIATE waits for it, its busy timeout being 5 s), on
/// PostgreSQL the ledger's advisory lock (the request's ledger append waits for it, after its
/// write). Released by [`Hold::release`].
enum Hold {
    Sqlite(sea_orm::sqlx::SqliteConnection),
    Postgres(sea_orm::sqlx::PgConnection),
}

/// The ledger's PostgreSQL advisory lock key (`audit::PG_LEDGER_LOCK`, "tsunagi").
const PG_LEDGER_LOCK: i64 = 0x0074_7375_6e61_6769;

impl Hold {
    async fn take(srv: &Server) -> Hold {
        use sea_orm::sqlx::ConnectOptions;
        match srv.backend {
            Backend::Sqlite => {
                let options = srv.db.get_sqlite_connection_pool().connect_options();
                let mut conn = (*options).clone().connect().await.unwrap();
                sea_orm::sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Hold::Sqlite(conn)
            }
            Backend::Postgres { .. } => {
                let options = srv.db.get_postgres_connection_pool().connect_options();
                let mut conn = (*options).clone().connect().await.unwrap();
                sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(PG_LEDGER_LOCK)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Hold::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        use sea_orm::sqlx::Connection;
        match self {
            Hold::Sqlite(mut conn) => {
                sea_orm::sqlx::query("ROLLBACK")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            }
            Hold::Postgres(conn) => conn.close().await.unwrap(),
        }
    }
}

/// A request sent by hand, so that its body is sent only when the test says: the head goes
/// with `Expect: 100-continue`, and the server's `100 Continue` says it has authenticated
/// the request (before the body is read), so it needs no database connection any more
/// until its body arrives.
struct Announced(tokio::net::TcpStream);

impl Announced {
    async fn new(base: &str, token: &str, key: &str, body: &str) -> Announced {
        let addr = base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nIdempotency-Key: {key}\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "connection closed"
            );
            got.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&got);
        assert!(
            line.starts_with("HTTP/1.1 100"),
            "expected 100 Continue: {line}"
        );
        Announced(stream)
    }

    async fn send(&mut self, body: &str) {
        self.0.write_all(body.as_bytes()).await.unwrap();
    }

    /// The answer (the connection closes after it).
    async fn answer(mut self) -> Answer {
        let mut raw = Vec::new();
        self.0.read_to_end(&mut raw).await.unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            body = dechunk(&body);
        }
        Answer {
            status,
            content_type: header("content-type").unwrap_or_default(),
            replayed: header("idempotent-replayed"),
            body,
        }
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 4 + size..];
    }
}

/// Two requests with one key, to `bases[0]` and `bases[1]`, while the test holds a lock that
/// keeps a keyed mutation from finishing: whichever claims the key first waits for the lock,
/// so the first answer must be the other's 409, at once. Then the lock is released: the
/// first finishes (200), and a retry is its replay. One person.
async fn in_flight(srv: &Server, bases: [&str; 2], given: &str) {
    let token = caseworker(srv, "idem-flight").await;
    let body = create_body(given);
    let key = format!("in-flight-{}", given.len());
    let hold = Hold::take(srv).await;
    let mut a = Announced::new(bases[0], &token, &key, &body).await;
    let mut b = Announced::new(bases[1], &token, &key, &body).await;
    a.send(&body).await;
    b.send(&body).await;
    let (a, b) = (a.answer(), b.answer());
    tokio::pin!(a, b);
    let (first, rest) = tokio::time::timeout(Duration::from_secs(4), async {
        tokio::select! {
            first = &mut a => (first, 1),
            first = &mut b => (first, 0),
        }
    })
    .await
    .expect("one of the two is answered at once (409) while the other waits for the lock");
    let e = first.refusal(409, "CONFLICT");
    assert_eq!(e["reason"], "idempotency_key_in_flight");
    assert_eq!(e["field"], "Idempotency-Key");
    hold.release().await;
    let done = if rest == 0 { a.await } else { b.await };
    assert_eq!(done.status, 200, "{}", done.json());
    assert!(done.json().get("errors").is_none(), "{}", done.json());
    assert_eq!(done.replayed, None);
    let again = post(srv.base.as_str(), &token, Some(&key), &body, None).await;
    assert_eq!(
        (again.status, again.replayed.as_deref(), &again.body),
        (200, Some("true"), &done.body)
    );
    assert_eq!(persons_named(srv, given).await, 1);
}

async fn a_retry_while_the_first_runs_is_409(srv: &Server) {
    in_flight(srv, [&srv.base, &srv.base], "実行中").await;
}

/// A second hub process on the same database (its own set of running keys): PostgreSQL only
/// (SQLite is one process).
async fn a_retry_in_another_process_while_the_first_runs_is_409(srv: &Server) {
    if !matches!(srv.backend, Backend::Postgres { .. }) {
        return;
    }
    let (other, task) = another_process(srv).await;
    in_flight(srv, [&srv.base, &other], "別プロセス").await;
    task.abort();
}

/// Another hub on the same database, as a second process would be (its own state: running
/// keys, group commit, admission); returns its base URL.
async fn another_process(srv: &Server) -> (String, tokio::task::JoinHandle<()>) {
    let config = tsunagi_api::config::Config {
        database_url: String::new(),
        listen: "127.0.0.1:0".to_owned(),
        jwt: srv.jwt.clone(),
        body_limit: 256 * 1024,
        emergency_hours: 4,
        limits: tsunagi_api::config::Limits::default(),
        oauth: tsunagi_api::config::OAuthConfig::default(),
        pool: tsunagi_api::config::PoolSettings::default(),
        admission: tsunagi_api::config::AdmissionSettings::default(),
        database_replica_url: None,
        operations: Default::default(),
    };
    let state = tsunagi_api::http::AppState::new(srv.db.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, tsunagi_api::http::router(state)).await;
    });
    (base, task)
}

async fn an_invalid_key_is_400_naming_the_header(srv: &Server) {
    let token = caseworker(srv, "idem-invalid").await;
    let body = create_body("不正");
    let send = |value: reqwest::header::HeaderValue, twice: bool| {
        let mut req = reqwest::Client::new()
            .post(srv.url("/graphql"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("idempotency-key", value.clone())
            .body(body.clone());
        if twice {
            req = req.header("idempotency-key", value);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    use reqwest::header::HeaderValue;
    let invalid = [
        (HeaderValue::from_static(""), false),
        (HeaderValue::from_str(&"k".repeat(256)).unwrap(), false),
        (HeaderValue::from_static("two words"), false),
        (HeaderValue::from_static("tab\there"), false),
        (HeaderValue::from_bytes("鍵".as_bytes()).unwrap(), false),
        (HeaderValue::from_static("same"), true),
    ];
    for (value, twice) in invalid {
        let (status, body) = send(value.clone(), twice).await;
        assert_eq!(status, 400, "{value:?}: {body}");
        let e = &body["errors"][0]["extensions"];
        assert_eq!(e["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(e["field"], "Idempotency-Key", "{body}");
        assert_eq!(e["reason"], "idempotency_key_invalid", "{body}");
    }
    // Refused whatever the operation, and nothing ran.
    let (status, _) = {
        let resp = reqwest::Client::new()
            .post(srv.url("/graphql"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("idempotency-key", "a b")
            .body(json!({ "query": "{ viewer { account { id } } }" }).to_string())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), ())
    };
    assert_eq!(status, 400);
    assert_eq!(persons_named(srv, "不正").await, 0);
    // The longest key and every visible ASCII character are fine.
    let longest = "k".repeat(255);
    let visible: String = (0x21u8..=0x7e).map(char::from).collect();
    for key in [longest.as_str(), visible.as_str()] {
        let r = post(&srv.base, &token, Some(key), &create_body(&key[..3]), None).await;
        assert_eq!(r.status, 200, "{}", r.json());
    }
}

async fn keys_are_scoped_to_the_account_and_the_service_client(srv: &Server) {
    let agency = srv.agency("idem-scope", "COMPREHENSIVE_CARE").await;
    let (_, one) = srv.account("idem-scope-1", &agency, &["caseworker"]).await;
    let (_, two) = srv.account("idem-scope-2", &agency, &["caseworker"]).await;
    let body = create_body("範囲");
    let a = post(&srv.base, &one, Some("shared-key"), &body, None).await;
    let b = post(&srv.base, &two, Some("shared-key"), &body, None).await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!((a.replayed.as_deref(), b.replayed.as_deref()), (None, None));
    assert_ne!(a.body, b.body, "two persons");
    assert_eq!(persons_named(srv, "範囲").await, 2);

    // A service client's keys are apart from its account's own (staff-style) token.
    let service = srv
        .gql(
            &srv.admin_token,
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            json!({ "i": { "login": "idem-svc", "displayName": "idem-svc", "agencyId": agency, "kind": "SERVICE", "roles": ["INTEGRATION"] } }),
        )
        .await;
    let service = service.ok()["createAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let issued = srv
        .gql(
            &srv.admin_token,
            "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { clientSecret client { id } } }",
            json!({ "i": { "accountId": service, "name": "連携", "scopes": ["INTEGRATION"] } }),
        )
        .await;
    let issued = &issued.ok()["createServiceClient"];
    let (id, secret) = (
        issued["client"]["id"].as_str().unwrap(),
        issued["clientSecret"].as_str().unwrap(),
    );
    let token: Value = reqwest::Client::new()
        .post(srv.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_token = token["access_token"].as_str().unwrap();
    let account_token = srv.token(&service);
    let body = create_body("連携");
    let c = post(&srv.base, client_token, Some("shared-key"), &body, None).await;
    let d = post(&srv.base, &account_token, Some("shared-key"), &body, None).await;
    assert_eq!(
        (c.status, d.status),
        (200, 200),
        "{} {}",
        c.json(),
        d.json()
    );
    assert_eq!((c.replayed.as_deref(), d.replayed.as_deref()), (None, None));
    assert_eq!(persons_named(srv, "連携").await, 2);
    let again = post(&srv.base, client_token, Some("shared-key"), &body, None).await;
    assert_eq!(
        (again.replayed.as_deref(), &again.body),
        (Some("true"), &c.body)
    );
}

async fn answers_with_field_errors_are_stored_and_request_errors_are_not(srv: &Server) {
    let token = caseworker(srv, "idem-errors").await;
    // A field error (the resolver's input validation): the mutation ran and decided; the
    // answer is stored and replayed, and nothing was written.
    let mut input = person_input("冪等", "誤り", "ベキトウ", "テスト");
    input["birthDate"] = json!("2999-01-01");
    let bad = json!({ "query": CREATE, "variables": { "i": input } }).to_string();
    let first = post(&srv.base, &token, Some("bad-input"), &bad, None).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json()["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT",
        "{}",
        first.json()
    );
    let again = post(&srv.base, &token, Some("bad-input"), &bad, None).await;
    assert_eq!(
        (again.replayed.as_deref(), &again.body),
        (Some("true"), &first.body)
    );
    assert_eq!(persons_named(srv, "誤り").await, 0);

    // Two fields: the first writes, the second is CONFLICT (a stale version). The effect of
    // the first and the whole answer are stored together; a retry repeats neither.
    let pid = srv
        .person(&token, person_input("冪等", "既存", "ベキトウ", "キソン"))
        .await;
    let two = json!({
        "query": "mutation($i: CreatePersonInput!, $id: ID!) { a: createPerson(input: $i) { id } b: updatePerson(id: $id, version: 99, input: { phone: \"0235-11-1111\" }) { id } }",
        "variables": { "i": person_input("冪等", "二つ目", "ベキトウ", "フタツメ"), "id": pid },
    })
    .to_string();
    let first = post(&srv.base, &token, Some("two-fields"), &two, None).await;
    assert_eq!(first.status, 200);
    let codes: Vec<Value> = first.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extensions"]["code"].clone())
        .collect();
    assert_eq!(codes, [json!("CONFLICT")], "{}", first.json());
    assert_eq!(persons_named(srv, "二つ目").await, 1);
    let (writes, _) = ledger_counts(srv).await;
    let again = post(&srv.base, &token, Some("two-fields"), &two, None).await;
    assert_eq!(
        (again.replayed.as_deref(), &again.body),
        (Some("true"), &first.body)
    );
    assert_eq!(persons_named(srv, "二つ目").await, 1);
    assert_eq!(ledger_counts(srv).await.0, writes);

    // A request error (nothing ran: an unknown field) is not stored: the corrected request
    // with the same key runs.
    let broken = json!({ "query": "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id noSuchField } }", "variables": { "i": person_input("冪等", "訂正", "ベキトウ", "テイセイ") } }).to_string();
    let failed = post(&srv.base, &token, Some("corrected"), &broken, None).await;
    assert_eq!(
        failed.json()["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let fixed = json!({ "query": CREATE, "variables": { "i": person_input("冪等", "訂正", "ベキトウ", "テイセイ") } }).to_string();
    let ran = post(&srv.base, &token, Some("corrected"), &fixed, None).await;
    assert_eq!(
        (ran.status, ran.replayed.as_deref()),
        (200, None),
        "{}",
        ran.json()
    );
    assert_eq!(persons_named(srv, "訂正").await, 1);
}

async fn a_key_on_a_query_is_ignored(srv: &Server) {
    let token = caseworker(srv, "idem-query").await;
    let q = json!({ "query": "{ viewer { account { login } } }" }).to_string();
    let first = post(&srv.base, &token, Some("q-key"), &q, None).await;
    let second = post(&srv.base, &token, Some("q-key"), &q, None).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!((first.replayed, second.replayed), (None, None));
    let stored = entity::idempotency_key::Entity::find()
        .filter(entity::idempotency_key::Column::Key.eq("q-key"))
        .count(&srv.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored for a query");
    // The same key then still works for a mutation.
    let m = post(
        &srv.base,
        &token,
        Some("q-key"),
        &create_body("問合せ"),
        None,
    )
    .await;
    assert_eq!((m.status, m.replayed), (200, None));
}

async fn a_keyed_request_reads_its_own_writes(srv: &Server) {
    let token = caseworker(srv, "idem-own").await;
    // Write, then read the new person back in the same request and transaction (on SQLite
    // its one connection: no second one is needed, so nothing waits for itself); then a
    // second write to it, which reads the row the first wrote.
    let body = json!({
        "query": "mutation($i: CreatePersonInput!) { a: createPerson(input: $i) { id familyName givenName familyNameKana address phone district careLevel version } }",
        "variables": { "i": person_input("冪等", "自分", "ベキトウ", "ジブン") },
    })
    .to_string();
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        post(&srv.base, &token, Some("own-writes"), &body, None),
    )
    .await
    .expect("no deadlock");
    let data = &r.json()["data"]["a"];
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(data["givenName"], "自分", "{}", r.json());
    assert_eq!(data["address"], "鶴岡市本町一丁目 1-1");
    assert_eq!(data["version"], 1);
    let id = data["id"].as_str().unwrap().to_owned();
    let update = json!({
        "query": "mutation($id: ID!, $i: CreatePersonInput!) { u: updatePerson(id: $id, version: 1, input: { phone: \"0235-22-2222\" }) { phone version } c: createPerson(input: $i) { id givenName } }",
        "variables": { "id": id, "i": person_input("冪等", "続き", "ベキトウ", "ツヅキ") },
    })
    .to_string();
    let u = post(&srv.base, &token, Some("own-writes-2"), &update, None).await;
    assert_eq!(u.status, 200, "{}", u.json());
    assert_eq!(
        u.json()["data"]["u"],
        json!({ "phone": "0235-22-2222", "version": 2 })
    );
    assert_eq!(u.json()["data"]["c"]["givenName"], "続き");
    // And reads after it, in another request, see it committed.
    let p = srv
        .gql(
            &token,
            "query($id: ID!) { person(id: $id) { phone version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        p.ok()["person"],
        json!({ "phone": "0235-22-2222", "version": 2 })
    );
}

async fn an_expired_key_runs_again_and_expired_keys_are_purged_at_start(srv: &Server) {
    let token = caseworker(srv, "idem-expiry").await;
    let body = create_body("期限");
    let first = post(&srv.base, &token, Some("expiring"), &body, None).await;
    assert_eq!(first.status, 200);
    let stored = entity::idempotency_key::Entity::find()
        .filter(entity::idempotency_key::Column::Key.eq("expiring"))
        .one(&srv.db)
        .await
        .unwrap()
        .expect("the answer is stored");
    assert_eq!(stored.body, first.body);
    assert_eq!(stored.status_code, 200);
    assert_eq!(
        (stored.expires_at - stored.created_at).num_hours(),
        24,
        "kept 24 hours"
    );
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let mut expired: entity::idempotency_key::ActiveModel = stored.into();
    expired.expires_at = Set(past);
    expired.update(&srv.db).await.unwrap();
    // Expired: it runs again (a second person), and is stored anew.
    let again = post(&srv.base, &token, Some("expiring"), &body, None).await;
    assert_eq!((again.status, again.replayed.as_deref()), (200, None));
    assert_ne!(again.body, first.body);
    assert_eq!(persons_named(srv, "期限").await, 2);
    let replay = post(&srv.base, &token, Some("expiring"), &body, None).await;
    assert_eq!(
        (replay.replayed.as_deref(), &replay.body),
        (Some("true"), &again.body)
    );

    // Expired answers are purged when a hub starts.
    let all = entity::idempotency_key::Entity::find()
        .all(&srv.db)
        .await
        .unwrap();
    for row in all {
        let mut row: entity::idempotency_key::ActiveModel = row.into();
        row.expires_at = Set(past);
        row.update(&srv.db).await.unwrap();
    }
    let (_, task) = another_process(srv).await;
    let started = std::time::Instant::now();
    loop {
        let left = entity::idempotency_key::Entity::find()
            .count(&srv.db)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{left} expired keys left after start-up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
}
