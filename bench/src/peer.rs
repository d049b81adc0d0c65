//! Peer mode (issue 12, item 6): the same household overview and person search against
//! PostGraphile 4 on the same database (bench/peer: `npm install --prefix bench/peer` on
//! request, never in CI), as one process and as a `cluster` of workers, interleaved with the
//! hub round by round. PostGraphile enforces no consent and writes no ledger; its answers are
//! validated like the hub's (HTTP 200, no errors, the expected id).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::scenario::Req;
use crate::validate::ErrorSet;

/// The scenarios the peer runs.
pub fn supports(scenario: &str) -> bool {
    matches!(scenario, "household-overview" | "person-search")
}

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// The peer's version of each of a scenario's requests (from the hub's GraphQL variables).
pub fn requests(scenario: &str, variables: &[Value]) -> anyhow::Result<Vec<Req>> {
    let dir = peer_dir().join("queries");
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).with_context(|| format!("bench/peer/queries/{f}"))
    };
    let mut out = Vec::new();
    match scenario {
        "household-overview" => {
            let q = read("household_overview.graphql")?;
            for v in variables {
                let id = v["id"].as_str().context("overview without id")?;
                out.push(Req {
                    body: json!({"query": q, "variables": {"id": id}}),
                    expected: ErrorSet::new(),
                    pointer: "/householdById/id".into(),
                    equals: Some(json!(id)),
                });
            }
        }
        "person-search" => {
            let q = read("person_search.graphql")?;
            for v in variables {
                let kana = v["kana"].as_str().context("search without kana")?;
                out.push(Req {
                    body: json!({"query": q,
                        "variables": {"kana": crate::onestmt::match_key_prefix(kana)}}),
                    expected: ErrorSet::new(),
                    pointer: "/allPeople/nodes/0/id".into(),
                    equals: None,
                });
            }
        }
        other => bail!("the peer does not run {other}"),
    }
    Ok(out)
}

/// A running PostGraphile (`node bench/peer/server.js`).
pub struct Peer {
    child: tokio::process::Child,
    pub port: u16,
    pub pid: u32,
}

impl Peer {
    pub async fn start(kind: &str, db: &str, workers: usize) -> anyhow::Result<Peer> {
        if kind != "postgraphile" {
            bail!("unknown peer {kind:?} (postgraphile)");
        }
        let dir = peer_dir();
        if !dir.join("node_modules").join("postgraphile").exists() {
            bail!(
                "the PostGraphile peer is not installed: run `npm install --prefix {}` (needs the npm registry; never in CI)",
                dir.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join("server.js"))
            .current_dir(&dir)
            .env("DATABASE_URL", db)
            // node-postgres reads PGOPTIONS like libpq: the hub's session settings.
            .env("PGOPTIONS", crate::rawsql::SESSION_OPTIONS)
            .env("PORT", port.to_string())
            .env("PEER_WORKERS", workers.to_string())
            .env("NODE_ENV", "production")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting node (the peer needs Node.js)")?;
        let pid = child.id().context("peer pid")?;
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/graphql");
        for _ in 0..300 {
            if let Some(status) = child.try_wait()? {
                bail!("PostGraphile exited during startup: {status}");
            }
            let ok = client
                .post(&url)
                .json(&json!({"query": "{ __typename }"}))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                // Every worker must be up, not just the first to answer.
                tokio::time::sleep(Duration::from_millis(500 * workers as u64)).await;
                return Ok(Peer { child, port, pid });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("PostGraphile not ready after 60 s")
    }

    pub async fn stop(mut self) {
        // SIGTERM: the cluster's primary stops its workers before it exits (server.js); a
        // SIGKILL would leave them running.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_requests_carry_the_hubs_inputs() {
        let r = requests("household-overview", &[json!({"id": "h1"})]).unwrap();
        assert_eq!(r[0].body["variables"]["id"], "h1");
        assert_eq!(r[0].equals, Some(json!("h1")));
        let r = requests("person-search", &[json!({"kana": "ぢ"})]).unwrap();
        assert_eq!(r[0].body["variables"]["kana"], "ジ");
        assert!(requests("grant-consent", &[]).is_err());
        assert!(supports("person-search") && !supports("consultation-list"));
    }
}
