//! The change-feed benchmark (issue 15): one consumer reads `changes` from the start of the
//! feed, page after page (`first: 1000`, `after: endCursor`), as an agency system catching
//! up would, until the end of the feed or the time is up. Reports events per second (the
//! events the consumer may see), ledger rows examined per second (every WRITE row of the
//! asked types, seen or not), and each page's latency. Every page is validated: HTTP 200, no
//! errors, cursors strictly increasing.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::scenario::Api;
use crate::stats::Stats;

const QUERY: &str = "query Feed($after: String) {
  changes(first: 1000, after: $after) {
    edges { cursor node { recordType recordId operation categories agencyId committedAt } }
    pageInfo { endCursor hasNextPage }
  }
}";

pub struct FeedRun {
    pub events: usize,
    pub pages: usize,
    pub elapsed: Duration,
    pub stats: Stats,
    pub reached_end: bool,
}

/// Read the feed from the start for at most `duration`.
pub async fn run(api: &Api, duration: Duration) -> anyhow::Result<FeedRun> {
    let mut after: Option<String> = None;
    let mut stats = Stats::default();
    let (mut events, mut pages) = (0usize, 0usize);
    let started = Instant::now();
    let mut last_cursor: Option<u64> = None;
    let reached_end = loop {
        if started.elapsed() >= duration {
            break false;
        }
        let t = Instant::now();
        let (status, body) = api
            .post(&json!({ "query": QUERY, "variables": { "after": after } }))
            .await?;
        let took = t.elapsed();
        let v: Value = serde_json::from_slice(&body).context("feed answer is not JSON")?;
        if status != 200 || v.get("errors").is_some() {
            bail!("feed page failed (HTTP {status}): {v}");
        }
        stats.micros.push(took.as_micros() as u64);
        pages += 1;
        let page = &v["data"]["changes"];
        let edges = page["edges"].as_array().map_or(&[][..], Vec::as_slice);
        events += edges.len();
        for e in edges {
            let c = position(e["cursor"].as_str().unwrap_or_default())?;
            if last_cursor.is_some_and(|l| c <= l) {
                bail!("feed cursors out of order: {c} after {last_cursor:?}");
            }
            last_cursor = Some(c);
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break true;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if after.is_none() {
            bail!("hasNextPage without an endCursor: {page}");
        }
    };
    Ok(FeedRun {
        events,
        pages,
        elapsed: started.elapsed(),
        stats,
        reached_end,
    })
}

/// A cursor's ledger position (the cursor is opaque to clients; the benchmark checks order).
pub fn position(cursor: &str) -> anyhow::Result<u64> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .with_context(|| format!("cursor {cursor:?} is not base64"))?;
    let text = String::from_utf8_lossy(&raw);
    text.parse()
        .with_context(|| format!("cursor {cursor:?} ({text}) holds no position"))
}

pub fn report(run: &FeedRun, account: &str) {
    let secs = run.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "\nchange feed as {account}: {} events in {} pages in {:.1} s = {:.0} events/s ({:.1} pages/s; page p50 {:.1} ms, p99 {:.1} ms){}",
        run.events,
        run.pages,
        secs,
        run.events as f64 / secs,
        run.pages as f64 / secs,
        run.stats.percentile_ms(0.5),
        run.stats.percentile_ms(0.99),
        if run.reached_end { "; reached the end of the feed" } else { "; time up before the end" }
    );
}
