//! The integrator's example client (`examples/sync_client.py`, README §14) against a real
//! `tsunagi serve --demo`: the initial load creates each local person once under the local
//! id; a second run (same records, same saved cursor) creates nothing — the upserts are
//! answered from the stored responses of their Idempotency-Keys — and reads no event twice;
//! every person is then found by its reference. Needs `python3` (standard library only).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{fresh_dir, tsunagi, workspace_root, ServerProcess};

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn run_client(py: &str, base: &str, token: &str, state: &std::path::Path) -> String {
    let root = workspace_root();
    let out = Command::new(py)
        .arg(root.join("examples/sync_client.py"))
        .args(["--url", base, "--token", token, "--system", "kaigo-v3"])
        .arg("--records")
        .arg(root.join("examples/records.json"))
        .arg("--state")
        .arg(state)
        .arg("--once")
        .output()
        .expect("run the example client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_client_loads_once_and_follows_the_feed() {
    let Some(py) = python() else {
        assert!(
            !common::in_ci(),
            "python3 is needed in CI for the example client"
        );
        eprintln!("SKIPPED: no python3 for examples/sync_client.py");
        return;
    };
    let dir = fresh_dir("tsunagi-example");
    let mut server = ServerProcess::spawn(&dir, &["serve", "--demo"], &[]);
    let client = reqwest::Client::new();
    assert!(
        server.wait_ready(&client, Duration::from_secs(20)).await,
        "server ready:\n{}",
        server.log_text()
    );
    let token = tsunagi(&dir, &["token", "--account", "nikokoro-cw"]);
    assert!(token.status.success());
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let base = server.base.clone();
    let state = dir.join("sync-state.json");

    let first = tokio::task::spawn_blocking({
        let (base, token, state) = (base.clone(), token.clone(), state.clone());
        move || run_client(py, &base, &token, &state)
    })
    .await
    .expect("client task");
    assert!(
        first.contains("initial load: 3 created, 0 updated, 0 unchanged"),
        "{first}"
    );
    for local in ["K-0001", "K-0002", "K-0003"] {
        assert!(
            first.contains(&format!("| local id {local}")),
            "the feed showed {local}'s creation: {first}"
        );
    }

    let second = tokio::task::spawn_blocking({
        let (base, token, state) = (base.clone(), token.clone(), state.clone());
        move || run_client(py, &base, &token, &state)
    })
    .await
    .expect("client task");
    assert!(
        second.contains("initial load: 0 created, 0 updated, 3 unchanged"),
        "{second}"
    );
    assert!(
        second.contains("feed: 0 events"),
        "nothing read twice: {second}"
    );

    // One person per local id, found by the reference.
    for local in ["K-0001", "K-0002", "K-0003"] {
        let body: serde_json::Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "query": "query($e: String!) { personByRef(system: \"kaigo-v3\", externalId: $e) { id version externalRefs { externalId } } }",
                "variables": { "e": local }
            }))
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        let p = &body["data"]["personByRef"];
        assert_eq!(p["version"], 1, "{body}");
        assert_eq!(p["externalRefs"][0]["externalId"], local, "{body}");
    }
    server.kill();
    let _ = std::fs::remove_dir_all(dir);
}
