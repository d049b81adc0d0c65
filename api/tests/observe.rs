//! Observability on the real binary (issue 14 item 5): `tsunagi serve --demo` with
//! `TSUNAGI_LOG_FORMAT=json` and `TSUNAGI_METRICS_LISTEN` writes exactly one JSON request
//! line per request with the documented fields, no ANSI escape, no token and no personal
//! value on stderr or /metrics; /metrics is served on its own listener only, and its
//! counters move.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{free_port, fresh_dir, pairs, tsunagi, ServerProcess};
use serde_json::{json, Value};

/// The demo's persons (`api/src/demo/records.rs`) and the name this test sends.
const PERSONAL: &[&str] = &[
    "山田",
    "トメ",
    "健一",
    "佐藤",
    "美咲",
    "陽向",
    "鈴木",
    "大輔",
    "ヤマダ",
    "ケンイチ",
    "サトウ",
    "ミサキ",
    "ヒナタ",
    "スズキ",
    "ダイスケ",
    "花子",
    "ハナコ",
    "Hanako",
];

/// The operation of the successful request (a valid GraphQL name: logged and labelled).
const OK_OPERATION: &str = "ObserveCaseload";

#[tokio::test(flavor = "multi_thread")]
async fn json_request_lines_and_metrics_without_personal_values() {
    let dir = fresh_dir("tsunagi-observe");
    let metrics_listen = format!("127.0.0.1:{}", free_port());
    let mut server = ServerProcess::spawn(
        &dir,
        &["serve", "--demo"],
        &pairs(&[
            ("TSUNAGI_LOG_FORMAT", "json"),
            ("TSUNAGI_METRICS_LISTEN", &metrics_listen),
        ]),
    );
    let client = reqwest::Client::new();
    assert!(
        server.wait_ready(&client, Duration::from_secs(30)).await,
        "server not ready: {}",
        server.log_text()
    );
    let token = |account: &str| {
        let out = tsunagi(&dir, &["token", "--account", account]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let caseworker = token("nikokoro-cw");
    let auditor = token("auditor");
    // A token with a broken signature: refused, and must not be logged either.
    let forged = format!("{}AAAA", &caseworker[..caseworker.len() - 4]);
    let post = |id: &str, bearer: &str, body: Value| {
        client
            .post(server.url("/graphql"))
            .header("x-request-id", id)
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let answer = |r: reqwest::Response| async move {
        let id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        (status, id, body)
    };

    // 1. Success.
    let ok = answer(
        post(
            "00000000000000000000000000000a01",
            &caseworker,
            json!({
                "query": format!("query {OK_OPERATION} {{ viewer {{ account {{ login }} }} persons {{ edges {{ node {{ familyName givenName }} }} }} }}"),
                "operationName": OK_OPERATION,
            }),
        )
        .await
        .expect("ok request"),
    )
    .await;
    assert_eq!(
        (ok.0, ok.1.as_str()),
        (200, "00000000000000000000000000000a01"),
        "{}",
        ok.2
    );
    assert!(
        ok.2.to_string().contains("健一"),
        "the demo answers: {}",
        ok.2
    );

    // 2. A bad token (401).
    let denied = answer(
        post(
            "00000000000000000000000000000401",
            &forged,
            json!({ "query": "{ __typename }" }),
        )
        .await
        .expect("401 request"),
    )
    .await;
    assert_eq!(
        (denied.0, denied.1.as_str()),
        (401, "00000000000000000000000000000401")
    );

    // 3. Refused: an auditor may not register a person; the name is in the variables.
    let refused = answer(
        post(
            "000000000000000000000000000000f0",
            &auditor,
            json!({
                "query": "mutation ObserveRegister($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
                "variables": { "i": {
                    "familyName": "山田", "givenName": "花子",
                    "familyNameKana": "ヤマダ", "givenNameKana": "ハナコ",
                } },
            }),
        )
        .await
        .expect("refused request"),
    )
    .await;
    assert_eq!(refused.1, "000000000000000000000000000000f0");
    let refused_code = refused.2["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!refused_code.is_empty(), "{}", refused.2);

    // 4. Erroring: a name where a page size belongs (nothing runs).
    let erroring = answer(
        post(
            "000000000000000000000000000000e0",
            &caseworker,
            json!({
                "query": "query ObserveBadPage($n: Int) { persons(first: $n) { edges { node { id } } } }",
                "variables": { "n": "山田 花子 Hanako" },
            }),
        )
        .await
        .expect("erroring request"),
    )
    .await;
    assert_eq!(erroring.1, "000000000000000000000000000000e0");
    let erroring_code = erroring.2["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!erroring_code.is_empty(), "{}", erroring.2);

    // 5. An unsafe request id is replaced, and not logged.
    let replaced = answer(
        post(
            "yamada hanako",
            &caseworker,
            json!({ "query": "{ __typename }" }),
        )
        .await
        .expect("request"),
    )
    .await;
    assert_ne!(replaced.1, "yamada hanako");
    assert!(uuid::Uuid::try_parse(&replaced.1).is_ok(), "{}", replaced.1);

    // /metrics: on its own listener, not on the API's.
    let public = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics on the API listener");
    assert_eq!(public.status().as_u16(), 404, "/metrics is not public");
    let scrape = client
        .get(format!("http://{metrics_listen}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(scrape.status().as_u16(), 200);
    let metrics = scrape.text().await.expect("metrics text");

    server.kill();
    let log = server.log_text();
    let _ = std::fs::remove_dir_all(&dir);

    // Nothing personal, no token, no colour.
    assert!(!log.contains('\u{1b}'), "ANSI escape on stderr:\n{log}");
    for text in [&log, &metrics] {
        for personal in PERSONAL {
            assert!(!text.contains(personal), "{personal} leaked:\n{text}");
        }
        for secret in [&caseworker, &auditor, &forged] {
            assert!(!text.contains(secret.as_str()), "a token leaked");
            // Nor any of its three segments (a header or payload alone identifies it).
            for part in secret.split('.').filter(|p| p.len() > 16) {
                assert!(!text.contains(part), "part of a token leaked");
            }
        }
        assert!(
            !text.contains("yamada hanako"),
            "the unsafe request id was kept"
        );
        assert!(!text.contains("CreatePersonInput"), "query text leaked");
    }

    // Exactly one request line per request, with the documented fields.
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "no JSON lines:\n{log}");
    let mut by_id: HashMap<String, Vec<&Value>> = HashMap::new();
    for line in lines
        .iter()
        .filter(|l| l["target"] == "tsunagi::request" && l["message"] == "request")
    {
        let id = line["request_id"].as_str().expect("request_id").to_owned();
        by_id.entry(id).or_default().push(line);
    }
    let one = |id: &str| -> &Value {
        let found = by_id.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(found.len(), 1, "{id}: one request line, got {found:?}");
        found[0]
    };
    let is_uuid = |v: &Value| v.as_str().is_some_and(|s| uuid::Uuid::try_parse(s).is_ok());
    for (id, status, code, operation, authenticated) in [
        (
            "00000000000000000000000000000a01",
            200,
            None,
            Some(OK_OPERATION),
            true,
        ),
        (
            "00000000000000000000000000000401",
            401,
            Some("UNAUTHENTICATED"),
            None,
            false,
        ),
        (
            "000000000000000000000000000000f0",
            refused.0,
            Some(refused_code.as_str()),
            Some("ObserveRegister"),
            true,
        ),
        (
            "000000000000000000000000000000e0",
            erroring.0,
            Some(erroring_code.as_str()),
            Some("ObserveBadPage"),
            true,
        ),
    ] {
        let line = one(id);
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["method"], "POST", "{line}");
        assert_eq!(line["path"], "/graphql", "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert!(line["latency_ms"].as_f64().is_some(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
        match code {
            Some(code) => assert_eq!(line["code"], code, "{line}"),
            None => assert!(line.get("code").is_none(), "{line}"),
        }
        match operation {
            Some(op) => assert_eq!(line["operation"], op, "{line}"),
            None => assert!(line.get("operation").is_none(), "{line}"),
        }
        if authenticated {
            assert!(is_uuid(&line["account_id"]), "{line}");
            assert!(is_uuid(&line["agency_id"]), "{line}");
        } else {
            assert!(line.get("account_id").is_none(), "{line}");
            assert!(line.get("agency_id").is_none(), "{line}");
        }
        let keys: Vec<&str> = line
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in &keys {
            assert!(
                [
                    "timestamp",
                    "level",
                    "message",
                    "target",
                    "request_id",
                    "method",
                    "path",
                    "operation",
                    "status",
                    "code",
                    "latency_ms",
                    "account_id",
                    "agency_id",
                ]
                .contains(key),
                "unexpected field {key}: {line}"
            );
        }
    }
    one(&replaced.1);
    // The /readyz polls and the 404 on /metrics have their lines too.
    assert!(
        by_id.values().flatten().any(|l| l["path"] == "/readyz"),
        "{log}"
    );
    assert!(
        by_id
            .values()
            .flatten()
            .any(|l| l["path"] == "unmatched" && l["status"] == 404),
        "{log}"
    );

    // The counters moved.
    let value = |metric: &str, labels: &[&str]| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} "))
            })
            .filter(|l| labels.iter().all(|want| l.contains(want)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let op = format!("operation=\"{OK_OPERATION}\"");
    assert_eq!(
        value("tsunagi_graphql_requests_total", &[&op, "code=\"none\""]),
        1.0,
        "{metrics}"
    );
    assert!(
        value(
            "tsunagi_graphql_requests_total",
            &["operation=\"unknown\"", "code=\"UNAUTHENTICATED\""]
        ) >= 1.0,
        "{metrics}"
    );
    assert!(
        value(
            "tsunagi_graphql_requests_total",
            &[&format!("code=\"{refused_code}\"")]
        ) >= 1.0,
        "{metrics}"
    );
    assert!(
        value(
            "tsunagi_token_failures_total",
            &["reason=\"bad_signature\""]
        ) >= 1.0,
        "{metrics}"
    );
    assert!(
        value(
            "tsunagi_http_requests_total",
            &["path=\"/graphql\"", "status=\"401\""]
        ) >= 1.0,
        "{metrics}"
    );
    assert!(
        value("tsunagi_graphql_request_duration_seconds_count", &[&op]) >= 1.0,
        "{metrics}"
    );
    assert!(
        value("tsunagi_ledger_group_requests_count", &[]) >= 1.0,
        "{metrics}"
    );
    assert!(
        value("tsunagi_ledger_commit_duration_seconds_count", &[]) >= 1.0,
        "{metrics}"
    );
    for gauge in [
        "tsunagi_db_pool_connections",
        "tsunagi_db_pool_max_connections",
        "tsunagi_admission_in_flight",
        "tsunagi_admission_queued",
        "tsunagi_admission_limit",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(gauge)),
            "{gauge}: {metrics}"
        );
    }
}
