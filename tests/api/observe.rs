//! Observability (issue 14 item 5) in process: every answer carries `x-request-id`, a safe id
//! the caller sent is echoed and any other replaced by a new UUID v7; the request metrics
//! move with bounded labels and carry no personal value. The log line and /metrics over
//! HTTP are checked on the real binary (api/tests/observe.rs).

use serde_json::json;
use tsunagi_tests::{person_input, tests, Server};

tests!(
    request_id_on_every_answer,
    request_id_safe_echoed_unsafe_replaced,
    request_metrics_move_with_bounded_labels
);

/// Send `request`, return (status, the answer's x-request-id values).
async fn send(request: reqwest::RequestBuilder) -> (u16, Vec<String>) {
    let resp = request.send().await.expect("HTTP request");
    let ids = resp
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|v| v.to_str().expect("an ASCII request id").to_owned())
        .collect();
    (resp.status().as_u16(), ids)
}

/// A request id the hub made: a UUID v7.
fn assert_made(id: &str, what: &str) {
    let uuid = uuid::Uuid::try_parse(id).unwrap_or_else(|_| panic!("{what}: not a UUID: {id:?}"));
    assert_eq!(uuid.get_version_num(), 7, "{what}: not v7: {id}");
}

async fn request_id_on_every_answer(srv: &Server) {
    let client = reqwest::Client::new();
    let query = json!({ "query": "{ viewer { account { login } } }" });
    let cases = [
        (
            "ok",
            client
                .post(srv.url("/graphql"))
                .bearer_auth(&srv.admin_token)
                .json(&query),
            200,
        ),
        (
            "401",
            client
                .post(srv.url("/graphql"))
                .bearer_auth("not-a-token")
                .json(&query),
            401,
        ),
        (
            "415",
            client
                .post(srv.url("/graphql"))
                .bearer_auth(&srv.admin_token)
                .body("{}"),
            415,
        ),
        ("404", client.get(srv.url("/no/such/path?name=x")), 404),
        ("405", client.put(srv.url("/graphql")), 405),
        ("healthz", client.get(srv.url("/healthz")), 200),
        ("readyz", client.get(srv.url("/readyz")), 200),
        ("graphiql", client.get(srv.url("/graphql")), 200),
        (
            "oauth",
            client
                .post(srv.url("/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
            401,
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (what, request, status) in cases {
        let (got, ids) = send(request).await;
        assert_eq!(got, status, "{what}");
        assert_eq!(ids.len(), 1, "{what}: one x-request-id: {ids:?}");
        assert_made(&ids[0], what);
        assert!(seen.insert(ids[0].clone()), "{what}: a new id per request");
    }
}

async fn request_id_safe_echoed_unsafe_replaced(srv: &Server) {
    let client = reqwest::Client::new();
    let post = |id: Option<&[u8]>| {
        let mut r = client
            .post(srv.url("/graphql"))
            .bearer_auth(&srv.admin_token)
            .json(&json!({ "query": "{ viewer { account { login } } }" }));
        if let Some(id) = id {
            r = r.header(
                "x-request-id",
                reqwest::header::HeaderValue::from_bytes(id).expect("a header value"),
            );
        }
        r
    };
    for safe in [
        "0190d7b2-5c3e-7abc-8def-0123456789ab",
        "0123456789abcdef0123456789abcdef",
        &"a".repeat(64),
    ] {
        let (status, ids) = send(post(Some(safe.as_bytes()))).await;
        assert_eq!(status, 200);
        assert_eq!(ids, [safe], "a safe id is echoed");
    }
    // An unauthenticated answer echoes it too.
    let (status, ids) = send(
        client
            .post(srv.url("/graphql"))
            .header("x-request-id", "4e6f2b1a9c3d4e5f8a7b6c5d4e3f2a1b")
            .json(&json!({ "query": "{ __typename }" })),
    )
    .await;
    assert_eq!(
        (status, ids.as_slice()),
        (
            401,
            ["4e6f2b1a9c3d4e5f8a7b6c5d4e3f2a1b".to_owned()].as_slice()
        )
    );
    let long = "a".repeat(65);
    let unsafe_ids: [&[u8]; 10] = [
        b"",
        b"lb.req_42-A",
        b"123456789012",
        b"yamada-hanako-19500101",
        long.as_bytes(),
        b"has space",
        b"a/b",
        b"yamada=taro;",
        "山田太郎".as_bytes(),
        b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln+/",
    ];
    for sent in unsafe_ids {
        let (status, ids) = send(post(Some(sent))).await;
        assert_eq!(status, 200);
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_ne!(ids[0].as_bytes(), sent, "an unsafe id is replaced");
        assert_made(&ids[0], "replaced");
    }
    // Sent twice (even if each is safe): replaced.
    let (_, ids) = send(
        post(Some(b"0123456789abcdef0123456789abcdef"))
            .header("x-request-id", "fedcba9876543210fedcba9876543210"),
    )
    .await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_made(&ids[0], "sent twice");
    // No id: a new one.
    let (_, ids) = send(post(None)).await;
    assert_made(&ids[0], "none sent");
}

/// The value of the series of `metric` whose labels include every one of `labels`
/// (`name="value"`), 0 when there is none.
fn series(text: &str, metric: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn request_metrics_move_with_bounded_labels(srv: &Server) {
    // Process-wide, like the server's: installing it here makes this process's servers
    // record (the other tests' too; their counts are not asserted).
    let handle = tsunagi_api::observe::install_metrics();
    // An operation name of this backend's own, labelled as a manifest's would be.
    let op = format!("ObserveProbe{}", srv.backend.name());
    tsunagi_api::observe::register_operations([op.clone()]);
    let a = srv.agency("obs-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("obs-cw", &a, &["caseworker"]).await;
    srv.person(&tok, person_input("観測", "花子", "カンソク", "ハナコ"))
        .await;
    let before = handle.render();
    let op_label = format!("operation=\"{op}\"");
    let count = |text: &str, code: &str| {
        series(
            text,
            "tsunagi_graphql_requests_total",
            &[&op_label, &format!("code=\"{code}\"")],
        )
    };
    let search = format!(
        "query {op}($kana: String!) {{ persons(kana: $kana, first: 5) {{ nodes {{ id familyName }} }} }}"
    );
    srv.gql(&tok, &search, json!({ "kana": "カンソク" }))
        .await
        .ok();
    // A refused one: a name where a page size belongs.
    let refused = srv
        .gql(
            &tok,
            &format!("query {op}($n: Int) {{ persons(first: $n) {{ nodes {{ id }} }} }}"),
            json!({ "n": "観測 花子" }),
        )
        .await;
    let code = refused.codes().first().cloned().expect("an error code");
    // An operation name that is not a GraphQL name (it would carry a name): `other`.
    let other = srv
        .raw(
            Some(&format!("Bearer {tok}")),
            json!({ "query": "query { __typename }", "operationName": "Kansoku Hanako" }),
        )
        .await;
    assert_eq!(other.status, 200);
    let others = |t: &str| {
        series(
            t,
            "tsunagi_graphql_requests_total",
            &["operation=\"other\"", "code=\"GRAPHQL_VALIDATION_FAILED\""],
        )
    };
    // A bad token.
    let bad = srv
        .raw(Some("Bearer a.b.c"), json!({ "query": "{ __typename }" }))
        .await;
    assert_eq!(bad.status, 401);
    let after = handle.render();
    assert_eq!(
        count(&after, "none") - count(&before, "none"),
        1.0,
        "{after}"
    );
    assert_eq!(
        count(&after, &code) - count(&before, &code),
        1.0,
        "{code}: {after}"
    );
    let failures = |t: &str| {
        series(
            t,
            "tsunagi_token_failures_total",
            &["reason=\"malformed_token\""],
        )
    };
    assert!(failures(&after) > failures(&before), "{after}");
    assert!(others(&after) > others(&before), "{after}");
    let http = |t: &str| {
        series(
            t,
            "tsunagi_http_requests_total",
            &["path=\"/graphql\"", "method=\"POST\"", "status=\"401\""],
        )
    };
    assert!(http(&after) > http(&before), "{after}");
    assert!(
        series(
            &after,
            "tsunagi_graphql_request_duration_seconds_count",
            &[&op_label]
        ) >= 2.0,
        "{after}"
    );
    assert!(
        series(&after, "tsunagi_ledger_group_requests_count", &[]) >= 1.0,
        "{after}"
    );
    for personal in ["観測", "花子", "カンソク", "ハナコ", "Kansoku", "Hanako"] {
        assert!(!after.contains(personal), "{personal} in /metrics");
    }
    assert!(!after.contains(&tok), "a token in /metrics");
    // Every operation label is a GraphQL name (or one of the fixed words).
    for line in after.lines().filter(|l| l.contains("operation=\"")) {
        let value = line
            .split("operation=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or_default();
        assert!(
            tsunagi_api::observe::graphql_name(value, 64).is_some(),
            "label {value:?}: {line}"
        );
    }
}
