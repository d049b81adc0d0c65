//! The subscription-latency benchmark (issue 15): two hub processes on one PostgreSQL
//! database. One account subscribes to `changes(types: [PERSON])` on B over
//! graphql-transport-ws (`/graphql/ws`) and writes through A, one write after another
//! (`updatePerson` on a person its own agency registers at the start), a little apart so
//! that the latency is not a queue. Each write's latency is the time its event arrives on
//! B's socket minus the event's `committedAt` (both this machine's clock), as
//! `api/tests/subscriptions.rs` measures it. Events are matched to writes by the person's
//! id and cursor order; an event that does not arrive within [`DEADLINE`] fails the run.

#[path = "../../tests/support/ws.rs"]
mod ws;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::scenario::Api;
use crate::stats::Stats;

/// Each write's event must arrive within this (from its commit, and at the latest this long
/// after the last write was answered).
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The pause after each answered write.
pub const SPACING: Duration = Duration::from_millis(20);

const SUB: &str = "subscription SubscriptionLatency {
  changes(types: [PERSON]) { cursor recordType recordId operation committedAt } }";

const CREATE: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id version } }";

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) {
  updatePerson(id: $id, version: $v, input: $i) { version } }";

/// What B's socket delivered.
enum Arrival {
    /// A `next`'s `payload.data.changes`, stamped with the moment it arrived.
    Event(Value, DateTime<Utc>),
    /// Anything that ends the run: an `error`, a `complete`, a close.
    End(String),
}

pub struct SubRun {
    pub writes: usize,
    /// Commit → delivery of each write whose event arrived.
    pub latency: Stats,
    /// The writes' round trips through A (request sent → answer read).
    pub write_round_trip: Stats,
    /// Events of the written person that arrived (at most one per write is expected).
    pub received: usize,
    /// Of those: later than [`DEADLINE`] after their commit.
    pub late: usize,
    /// Events for other records (other writers on the same database), ignored.
    pub others: usize,
    /// Matched events whose cursor did not follow the previous one's.
    pub out_of_order: usize,
    /// Matched events whose `committedAt` falls outside their write's request window (a sign
    /// that the matching is wrong; reported, not failed).
    pub outside_window: usize,
    pub elapsed: Duration,
}

impl SubRun {
    /// Why the run failed, if it did.
    pub fn failure(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.received < self.writes {
            why.push(format!(
                "{} of {} writes' events did not arrive within {} s",
                self.writes - self.received,
                self.writes,
                DEADLINE.as_secs()
            ));
        }
        if self.received > self.writes {
            why.push(format!(
                "{} events for {} writes",
                self.received, self.writes
            ));
        }
        if self.late > 0 {
            why.push(format!(
                "{} events arrived more than {} s after their commit",
                self.late,
                DEADLINE.as_secs()
            ));
        }
        if self.out_of_order > 0 {
            why.push(format!("{} events out of cursor order", self.out_of_order));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// Subscribe on `b_base` (`http://host:port`) with `a`'s token, then write `writes` times
/// through `a`.
pub async fn run(a: &Api, b_base: &str, writes: usize) -> anyhow::Result<SubRun> {
    let mut socket = ws::connect(b_base).await;
    socket.init_token(&a.token).await;
    socket.subscribe("latency", SUB, json!({})).await;
    let (mut events, reader) = read_events(socket);
    let result = measure(a, &mut events, writes).await;
    reader.abort();
    result
}

async fn measure(
    a: &Api,
    events: &mut mpsc::UnboundedReceiver<Arrival>,
    writes: usize,
) -> anyhow::Result<SubRun> {
    // Without `after` the subscription starts at the feed's end once it has started: give it
    // a moment, then register the person through A; its CREATE on B shows it is live.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let created = data(
        a,
        CREATE,
        json!({"i": {"familyName": "購読", "givenName": "遅延", "familyNameKana": "コウドク",
            "givenNameKana": "チエン", "birthDate": "1950-04-01", "sex": "FEMALE",
            "district": "中央圏域"}}),
    )
    .await
    .context("registering the person to write about (through A)")?;
    let id = created["createPerson"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("createPerson gave no id: {created}"))?
        .to_owned();
    let mut version = created["createPerson"]["version"]
        .as_i64()
        .ok_or_else(|| anyhow!("createPerson gave no version: {created}"))?;
    let mut others = 0usize;
    let live_by = tokio::time::Instant::now() + DEADLINE;
    let mut last_cursor = loop {
        match tokio::time::timeout_at(live_by, events.recv()).await {
            Ok(Some(Arrival::Event(e, _))) if e["recordId"] == id.as_str() => {
                break crate::feed::position(e["cursor"].as_str().unwrap_or_default())?;
            }
            Ok(Some(Arrival::Event(..))) => others += 1,
            Ok(Some(Arrival::End(why))) => bail!("subscription on B: {why}"),
            Ok(None) => bail!("subscription on B: the socket reader stopped"),
            Err(_) => bail!(
                "the subscriber on B saw no event for the person registered through A ({id}) within {} s",
                DEADLINE.as_secs()
            ),
        }
    };

    // The writes, one after another, SPACING apart.
    let mut windows = Vec::with_capacity(writes);
    let mut write_round_trip = Stats::default();
    let started = Instant::now();
    for i in 0..writes {
        let sent = Utc::now();
        let t = Instant::now();
        let d = data(
            a,
            UPDATE,
            json!({"id": id, "v": version, "i": {"phone": format!("0235-99-{i:04}")}}),
        )
        .await
        .with_context(|| format!("write {} of {writes} (through A)", i + 1))?;
        write_round_trip.micros.push(t.elapsed().as_micros() as u64);
        windows.push((sent, Utc::now()));
        version = d["updatePerson"]["version"]
            .as_i64()
            .ok_or_else(|| anyhow!("updatePerson gave no version: {d}"))?;
        tokio::time::sleep(SPACING).await;
    }
    write_round_trip.elapsed = started.elapsed();

    // Their events (most arrived meanwhile, stamped on arrival by the reader).
    let mut matched: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(writes);
    let (mut out_of_order, mut extra) = (0usize, 0usize);
    let mut ended = None;
    let until = tokio::time::Instant::now() + DEADLINE;
    while matched.len() < writes {
        let (e, at) = match tokio::time::timeout_at(until, events.recv()).await {
            Ok(Some(Arrival::Event(e, at))) => (e, at),
            Ok(Some(Arrival::End(why))) => {
                ended = Some(why);
                break;
            }
            Ok(None) => {
                ended = Some("the socket reader stopped".to_owned());
                break;
            }
            Err(_) => break,
        };
        if e["recordId"] != id.as_str() {
            others += 1;
            continue;
        }
        if e["operation"] != "UPDATE" {
            bail!("unexpected event for the written person: {e}");
        }
        let c = crate::feed::position(e["cursor"].as_str().unwrap_or_default())?;
        if c <= last_cursor {
            out_of_order += 1;
        }
        last_cursor = c;
        let committed: DateTime<Utc> = e["committedAt"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| anyhow!("event without a readable committedAt: {e}"))?
            .into();
        matched.push((committed, at));
    }
    if let Some(why) = ended {
        eprintln!("subscription on B ended early: {why}");
    } else {
        // Anything more for the person within a moment is a duplicate.
        while let Ok(Some(Arrival::Event(e, _))) =
            tokio::time::timeout(Duration::from_millis(300), events.recv()).await
        {
            if e["recordId"] == id.as_str() {
                extra += 1;
            } else {
                others += 1;
            }
        }
    }

    let mut latency = Stats::default();
    let (mut late, mut outside_window) = (0usize, 0usize);
    let slack = chrono::TimeDelta::milliseconds(1);
    for ((committed, at), (sent, answered)) in matched.iter().zip(&windows) {
        let micros = (*at - *committed).num_microseconds().unwrap_or(i64::MAX);
        if micros > DEADLINE.as_micros() as i64 {
            late += 1;
        }
        latency.micros.push(micros.max(0) as u64);
        if *committed < *sent - slack || *committed > *answered + slack {
            outside_window += 1;
        }
    }
    latency.elapsed = started.elapsed();
    Ok(SubRun {
        writes,
        latency,
        write_round_trip,
        received: matched.len() + extra,
        late,
        others,
        out_of_order,
        outside_window,
        elapsed: started.elapsed(),
    })
}

/// Every message of B's socket, events stamped with the moment they arrived.
fn read_events(
    mut socket: ws::Socket,
) -> (
    mpsc::UnboundedReceiver<Arrival>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let arrival = match socket.recv(Duration::from_secs(3600)).await {
                ws::Incoming::Message(m) if m["type"] == "next" => {
                    let at = Utc::now();
                    if m["payload"]["errors"].is_null() {
                        Arrival::Event(m["payload"]["data"]["changes"].clone(), at)
                    } else {
                        Arrival::End(format!("an event with errors: {m}"))
                    }
                }
                ws::Incoming::Message(m) => Arrival::End(format!("unexpected message: {m}")),
                ws::Incoming::Closed(code, reason) => {
                    Arrival::End(format!("B closed the socket: {code} {reason}"))
                }
                ws::Incoming::Timeout => continue,
            };
            let end = matches!(arrival, Arrival::End(_));
            if tx.send(arrival).is_err() || end {
                return;
            }
        }
    });
    (rx, reader)
}

/// A request that must succeed without errors; its `data`.
async fn data(api: &Api, query: &str, variables: Value) -> anyhow::Result<Value> {
    let (status, body) = api
        .post(&json!({"query": query, "variables": variables}))
        .await?;
    let v: Value = serde_json::from_slice(&body).context("answer is not JSON")?;
    if status != 200 || v.get("errors").is_some() {
        bail!("HTTP {status}: {v}");
    }
    Ok(v["data"].clone())
}

pub fn report(run: &SubRun, account: &str) {
    let l = &run.latency;
    println!(
        "\nsubscription latency as {account} (subscribed on B, {} writes through A, {} ms apart, in {:.1} s): commit → delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} of {} events received{}; write round trip through A p50 {:.1} ms, p99 {:.1} ms",
        run.writes,
        SPACING.as_millis(),
        run.elapsed.as_secs_f64(),
        l.percentile_ms(0.5),
        l.percentile_ms(0.99),
        l.percentile_ms(1.0),
        run.received,
        run.writes,
        if run.late > 0 {
            format!(" ({} later than {} s)", run.late, DEADLINE.as_secs())
        } else {
            String::new()
        },
        run.write_round_trip.percentile_ms(0.5),
        run.write_round_trip.percentile_ms(0.99),
    );
    if run.others > 0 {
        println!(
            "    {} events for other persons (other writers on the database) ignored",
            run.others
        );
    }
    if run.outside_window > 0 {
        println!(
            "    {} events' committedAt outside their write's request window (matching suspect)",
            run.outside_window
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(writes: usize, received: usize, late: usize, out_of_order: usize) -> SubRun {
        SubRun {
            writes,
            latency: Stats::default(),
            write_round_trip: Stats::default(),
            received,
            late,
            others: 3,
            out_of_order,
            outside_window: 1,
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_run_fails_on_a_missing_late_extra_or_unordered_event_only() {
        assert_eq!(run(200, 200, 0, 0).failure(), None);
        let missing = run(200, 197, 0, 0).failure().unwrap();
        assert!(missing.contains("3 of 200"), "{missing}");
        assert!(run(200, 201, 0, 0).failure().is_some());
        assert!(run(200, 200, 1, 0).failure().is_some());
        assert!(run(200, 200, 0, 1).failure().is_some());
    }
}
