//! A real `tsunagi serve` shutting down (SIGTERM) with subscription sockets open: each is
//! closed with 1001 (going away) and a reason, not cut, so that its client reconnects to
//! another replica with its last cursor; and the process exits within a few seconds, a
//! client that never answers the close included. On SQLite always, on PostgreSQL when
//! TEST_DATABASE_URL (or CI) provides one.

mod common;

#[path = "../../tests/support/ws.rs"]
mod ws;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{fresh_dir, scratch_postgres, tsunagi_with, ServerProcess};

const READY: Duration = Duration::from_secs(90);
/// How soon after SIGTERM the process must be gone.
const EXIT: Duration = Duration::from_secs(6);

const SUB: &str = "subscription Watch { changes { cursor recordType recordId } }";

#[cfg(unix)]
async fn sigterm_round(label: &str, dir: &Path, url: String) {
    let env = vec![
        ("DATABASE_URL".to_owned(), url),
        (
            "TSUNAGI_JWT_SECRET".to_owned(),
            format!("ws-shutdown-{}", uuid::Uuid::new_v4().simple()),
        ),
    ];
    let client = reqwest::Client::new();
    let mut server = ServerProcess::spawn(dir, &["serve", "--demo"], &env);
    assert!(
        server.wait_ready(&client, READY).await,
        "{label}: not ready; log:\n{}",
        server.log_text()
    );
    let out = tsunagi_with(dir, &["token", "--account", "nikokoro-cw"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    // One socket that reads (and so answers the close), one that never reads again.
    let mut reading = ws::connect(&server.base).await;
    reading.init_token(&token).await;
    reading.subscribe("s1", SUB, json!({})).await;
    let mut deaf = ws::connect(&server.base).await;
    deaf.init_token(&token).await;
    deaf.subscribe("s1", SUB, json!({})).await;
    // Both subscriptions running (their first round done): nothing comes.
    assert_eq!(
        reading.recv(Duration::from_millis(1500)).await,
        ws::Incoming::Timeout
    );
    let closed = tokio::spawn(async move { reading.closed(Duration::from_secs(30)).await });

    let signalled = Instant::now();
    let status = tokio::task::block_in_place(|| server.terminate(EXIT));
    let took = signalled.elapsed();
    let log = server.log_text();
    let status = status
        .unwrap_or_else(|| panic!("{label}: still running {EXIT:?} after SIGTERM; log:\n{log}"));
    assert!(status.success(), "{label}: exit {status}; log:\n{log}");
    let (code, reason) = closed.await.expect("reader");
    assert_eq!(
        code, 1001,
        "{label}: closed with {code} {reason:?}; log:\n{log}"
    );
    assert!(!reason.is_empty(), "{label}: a reason is given");
    // The socket that never read finds the same close frame waiting for it.
    assert_eq!(deaf.closed(Duration::from_secs(5)).await.0, 1001, "{label}");
    println!("{label}: sockets closed with 1001 ({reason}); exited {took:?} after SIGTERM");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_closes_subscription_sockets_with_1001_and_exits() {
    let dir = fresh_dir("tsunagi-ws-shutdown");
    let url = format!("sqlite://{}?mode=rwc", dir.join("ws.db").display());
    sigterm_round("SQLite", &dir, url).await;
    let _ = std::fs::remove_dir_all(&dir);
    let Some((url, db)) = scratch_postgres("subscription sockets at SIGTERM").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-ws-shutdown");
    let round_dir = dir.clone();
    let outcome =
        tokio::spawn(async move { sigterm_round("PostgreSQL", &round_dir, url).await }).await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
