//! Subscriptions across hub processes (issue 15, items 4 and 8): two real `tsunagi serve`
//! processes over one PostgreSQL database (TEST_DATABASE_URL). A subscriber on B receives
//! what is written through A (PostgreSQL LISTEN/NOTIFY, docs/design.md §4.15), and a
//! subscriber that reconnects to the other process with its last cursor misses nothing.
//!
//! It also measures the latency from commit to delivery across the two processes: 200
//! writes through A, one after another, each timed from its ledger row's commit time
//! (`committedAt`) to the arrival of its event on B's socket (the same machine's clock), and
//! prints p50 / p99 / max (the goal is p99 ≤ 250 ms). Nothing asserts a timing.

mod common;

#[path = "../../tests/support/ws.rs"]
mod ws;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use common::{fresh_dir, scratch_postgres, tsunagi_with, ServerProcess};

const BOUND: Duration = Duration::from_secs(90);
const WRITES: usize = 200;

const SUB: &str = "subscription Watch($after: String) { changes(types: [PERSON], after: $after) { cursor recordType recordId operation committedAt } }";

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { version } }";

struct Hub {
    client: reqwest::Client,
    base: String,
}

impl Hub {
    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }
}

/// Every event of subscription `s1` on `socket`, stamped with the moment it arrived.
fn read_events(mut socket: ws::Socket) -> mpsc::UnboundedReceiver<(Value, DateTime<Utc>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match socket.recv(Duration::from_secs(3600)).await {
                ws::Incoming::Message(m) if m["type"] == "next" => {
                    let at = Utc::now();
                    assert!(m["payload"]["errors"].is_null(), "{m}");
                    if tx
                        .send((m["payload"]["data"]["changes"].clone(), at))
                        .is_err()
                    {
                        return;
                    }
                }
                ws::Incoming::Message(m) => panic!("unexpected message: {m}"),
                _ => return,
            }
        }
    });
    rx
}

async fn next_event(
    events: &mut mpsc::UnboundedReceiver<(Value, DateTime<Utc>)>,
    log: &dyn Fn() -> String,
) -> (Value, DateTime<Utc>) {
    match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
        Ok(Some(e)) => e,
        _ => panic!("no event within 30 s; logs:\n{}", log()),
    }
}

fn millis(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_written_through_one_process_reaches_a_subscriber_on_another() {
    let Some((url, scratch)) = scratch_postgres("subscriptions across processes").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-subscriptions");
    let secret = format!("subscriptions-{}", uuid::Uuid::new_v4().simple());
    let env = vec![
        ("DATABASE_URL".to_owned(), url.clone()),
        ("TSUNAGI_JWT_SECRET".to_owned(), secret),
        ("TSUNAGI_RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned()),
    ];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let a = ServerProcess::spawn(&dir, &["serve", "--demo"], &env);
    assert!(a.wait_ready(&client, BOUND).await, "A: {}", a.log_text());
    let b = ServerProcess::spawn(&dir, &["serve"], &env);
    assert!(b.wait_ready(&client, BOUND).await, "B: {}", b.log_text());
    let logs = || format!("A:\n{}\nB:\n{}", a.log_text(), b.log_text());
    let out = tsunagi_with(&dir, &["token", "--account", "nikokoro-cw"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let through_a = Hub {
        client: client.clone(),
        base: a.base.clone(),
    };

    // Subscribed on B (from the feed's end), and on A for comparison.
    let mut on_b = ws::connect(&b.base).await;
    on_b.init_token(&token).await;
    on_b.subscribe("s1", SUB, json!({})).await;
    let mut on_a = ws::connect(&a.base).await;
    on_a.init_token(&token).await;
    on_a.subscribe("s1", SUB, json!({})).await;
    let (mut from_b, mut from_a) = (read_events(on_b), read_events(on_a));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let created = through_a
        .ok(
            &token,
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id version } }",
            json!({ "i": { "familyName": "購読", "givenName": "花子", "familyNameKana": "こうどく",
                "givenNameKana": "はなこ", "birthDate": "1970-05-05", "sex": "FEMALE",
                "address": "鶴岡市本町二丁目 2-2", "phone": "0235-22-2222", "district": "中央圏域" } }),
        )
        .await;
    let p = created["createPerson"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (e, _) = next_event(&mut from_b, &logs).await;
    assert_eq!(
        (&e["recordId"], &e["operation"]),
        (&json!(p), &json!("CREATE")),
        "{e}"
    );
    let (e, _) = next_event(&mut from_a, &logs).await;
    assert_eq!(e["recordId"], p.as_str());

    // Commit → delivery on B, write after write.
    let mut version = 1;
    let mut on_b_ms = Vec::with_capacity(WRITES);
    let mut last_cursor = String::new();
    for i in 0..WRITES {
        let phone = format!("0235-{:02}-{:04}", i / 10000, i);
        version = through_a
            .ok(
                &token,
                UPDATE,
                json!({ "id": p, "v": version, "i": { "phone": phone } }),
            )
            .await["updatePerson"]["version"]
            .as_i64()
            .expect("version");
        let (e, arrived) = next_event(&mut from_b, &logs).await;
        assert_eq!(
            (&e["recordId"], &e["operation"]),
            (&json!(p), &json!("UPDATE")),
            "{e}"
        );
        let committed: DateTime<Utc> = e["committedAt"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .expect("committedAt")
            .into();
        on_b_ms.push((arrived - committed).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        last_cursor = e["cursor"].as_str().expect("cursor").to_owned();
    }
    let mut on_a_ms = Vec::with_capacity(WRITES);
    for _ in 0..WRITES {
        let (e, arrived) = next_event(&mut from_a, &logs).await;
        let committed: DateTime<Utc> =
            DateTime::parse_from_rfc3339(e["committedAt"].as_str().expect("t"))
                .expect("committedAt")
                .into();
        on_a_ms.push((arrived - committed).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    for (label, ms) in [
        ("B (the other process)", &mut on_b_ms),
        ("A (the writing process)", &mut on_a_ms),
    ] {
        ms.sort_by(f64::total_cmp);
        println!(
            "commit → delivery on {label}, {WRITES} writes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            millis(ms, 0.5),
            millis(ms, 0.99),
            millis(ms, 1.0)
        );
    }

    // Away from B; written through A meanwhile; back on A with the last cursor from B.
    drop(from_b);
    let mut missed = Vec::new();
    for i in 0..5 {
        version = through_a
            .ok(
                &token,
                UPDATE,
                json!({ "id": p, "v": version, "i": { "phone": format!("0235-77-000{i}") } }),
            )
            .await["updatePerson"]["version"]
            .as_i64()
            .expect("version");
        missed.push(version);
    }
    let mut back = ws::connect(&a.base).await;
    back.init_token(&token).await;
    back.subscribe("s2", SUB, json!({ "after": last_cursor }))
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let e = back.event("s2", Duration::from_secs(30)).await;
        assert_eq!(
            (&e["recordId"], &e["operation"]),
            (&json!(p), &json!("UPDATE")),
            "{e}"
        );
        seen.push(e["cursor"].as_str().expect("cursor").to_owned());
    }
    let seqs: Vec<i64> = std::iter::once(&last_cursor)
        .chain(&seen)
        .map(|c| {
            let key = tsunagi_api::store::decode_cursor(c).expect("cursor");
            key.parse().expect("seq")
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(
        matches!(
            back.recv(Duration::from_millis(500)).await,
            ws::Incoming::Timeout
        ),
        "nothing more than the five"
    );
    back.close().await;

    drop(from_a);
    drop(a);
    drop(b);
    scratch.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
}
