//! Load shedding for POST /graphql: the hub degrades deliberately instead of failing
//! (issue 12 item 3). Under load a request is either served or refused whole with HTTP 503,
//! `Retry-After` and the coded error UNAVAILABLE; never INTERNAL, never a 200 with
//! `data: null` for this reason, and a refused request has written nothing.
//!
//! Three ways a request is shed:
//!
//! 1. Admission ([`Admission`]): at most `limit` requests run at once (sized from the
//!    database pool, [`crate::config::AdmissionSettings`]); at most `queue` more wait for a
//!    slot, each at most `wait`. A request beyond that, or one that waited its time, is
//!    refused before anything ran (`reason: admission`).
//! 2. The pool: a statement that gets no pooled connection within the acquire timeout
//!    (sqlx `PoolTimedOut`, [`crate::error::ApiError::Unavailable`]) during authentication,
//!    execution, or the ledger append of the request's reads. The whole answer is withheld:
//!    no data leaves, so no read is ledgered, and no ledger row is half made (the group
//!    commit never began) (`reason: database_pool`).
//! 3. The request timeout (`reason: timeout`): the execution is abandoned, nothing returned.
//!
//! A mutation is shed the same way as long as none of its writes reached its commit (a
//! write holds its connection from `BEGIN` to `COMMIT`, so the pool cannot time out inside
//! one): [`track_writes`] records, per request, whether `store::write` reached a commit.
//! Should one have (a later field of the same request found no connection, or the request
//! timed out after it), the 503 says so (`extensions.written: true`, "a change may have
//! been saved, check before retrying") instead of claiming that nothing was done. Every
//! UNAVAILABLE answer is a 503 with `Retry-After`; none is a 200.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{AdmissionSettings, RETRY_AFTER_SECS};
use crate::error::{is_pool_timeout, Code};
use crate::http::AppState;

/// Why a request was shed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shed {
    /// Every admission slot taken and the queue full, or the wait in it over.
    Admission,
    /// No pooled database connection within the acquire timeout.
    DatabasePool,
    /// The request ran longer than the request timeout and was abandoned.
    Timeout,
}

impl Shed {
    pub fn reason(self) -> &'static str {
        match self {
            Shed::Admission => "admission",
            Shed::DatabasePool => "database_pool",
            Shed::Timeout => "timeout",
        }
    }

    fn message(self, written: bool) -> String {
        let why = match self {
            Shed::Admission => "混雑しています / the hub is busy",
            Shed::DatabasePool => {
                "混雑のためデータベースに接続できませんでした / no database connection was free in time"
            }
            Shed::Timeout => "時間切れ / the request took too long",
        };
        let (ja, en) = why.split_once(" / ").unwrap_or((why, why));
        if written {
            format!("{ja}。変更は保存された可能性があります。再試行の前に確認してください / {en}: a change may have been saved, check before retrying")
        } else {
            format!("{ja}。何も実行していません。しばらくしてから再試行してください / {en}: nothing was done, retry shortly")
        }
    }
}

/// Admission to POST /graphql, and the counts /readyz reports.
pub struct Admission {
    limit: usize,
    queue: usize,
    wait: Duration,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    shed: [AtomicU64; 3],
}

/// An admission slot, held until the answer is built.
pub struct Ticket {
    _slot: OwnedSemaphorePermit,
}

/// Leaves the queue count when the waiting request is admitted, shed or dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    /// Sized for a pool of `pool_size` connections.
    pub fn new(settings: &AdmissionSettings, pool_size: u32) -> Self {
        let (limit, queue) = settings.sized(pool_size);
        Admission {
            limit,
            queue,
            wait: settings.wait,
            slots: Arc::new(Semaphore::new(limit)),
            waiting: AtomicUsize::new(0),
            shed: Default::default(),
        }
    }

    /// A slot now, or after queueing at most `wait` behind at most `queue` others.
    pub async fn admit(&self) -> Result<Ticket, Shed> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(Ticket { _slot: slot });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Shed::Admission);
        }
        let _queued = Waiting(&self.waiting);
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(Ticket { _slot: slot }),
            _ => Err(Shed::Admission),
        }
    }

    /// Requests running now (holding a slot).
    pub fn in_flight(&self) -> usize {
        self.limit - self.slots.available_permits().min(self.limit)
    }

    /// Every slot taken: a new request would queue, and may be shed.
    pub fn saturated(&self) -> bool {
        self.in_flight() >= self.limit
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Requests run at once, at most.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Count one shed request.
    pub fn count(&self, why: Shed) {
        self.shed[why as usize].fetch_add(1, Ordering::Relaxed);
        crate::observe::shed(why.reason());
    }

    /// The admission half of /readyz.
    pub fn report(&self) -> serde_json::Value {
        let shed = |w: Shed| self.shed[w as usize].load(Ordering::Relaxed);
        let (a, p, t) = (
            shed(Shed::Admission),
            shed(Shed::DatabasePool),
            shed(Shed::Timeout),
        );
        json!({
            "limit": self.limit,
            "inFlight": self.in_flight(),
            "queued": self.waiting.load(Ordering::SeqCst),
            "queueLimit": self.queue,
            "queueWaitMs": self.wait.as_millis() as u64,
            "shed": { "total": a + p + t, "admission": a, "databasePool": p, "timeout": t },
        })
    }

    /// The 503 for a shed request (counted): UNAVAILABLE with `Retry-After`.
    pub fn refuse(&self, why: Shed, written: bool) -> Response {
        self.count(why);
        tracing::warn!(reason = why.reason(), written, "request shed (503)");
        let mut extra = json!({ "reason": why.reason(), "retryAfter": RETRY_AFTER_SECS });
        if written {
            extra["written"] = json!(true);
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
            crate::http::error_body(Code::Unavailable, &why.message(written), extra),
        )
            .into_response()
    }
}

/// How long /readyz waits for the database before answering 503: shorter than a load
/// balancer's health-check timeout, so "down" is an answer rather than a hang.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// 200 when the hub can take requests: admission has a free slot and a pooled connection
/// answers a ping within [`READY_TIMEOUT`]. 503 when saturated (every admission slot taken,
/// or no pooled connection free for the ping: a new request would queue and may be shed)
/// or the database is unreachable. Either way the body reports the pool (size, open, in use,
/// idle) and admission (limit, in flight, queued, shed counts since start). Nothing to
/// reset after a database restart: the pool replaces dead connections by itself, so this
/// turns 200 again as soon as the database accepts connections.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let stats = || crate::store::pool_stats(&state.db);
    // Every connection open and busy: a ping that finds none is saturation, not an outage.
    let pool_busy = || stats().is_some_and(|(open, idle, size)| open >= size && idle == 0);
    let pool = || {
        stats().map(|(open, idle, size)| {
            json!({ "size": size, "open": open, "inUse": (open as usize).saturating_sub(idle), "idle": idle })
        })
    };
    let answer = |ready: bool, status: &str| {
        let code = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body =
            json!({ "status": status, "pool": pool(), "admission": state.admission.report() });
        (code, Json(body)).into_response()
    };
    if state.admission.saturated() {
        return answer(false, "saturated");
    }
    match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => answer(true, "ready"),
        Ok(Err(e)) if is_pool_timeout(&e) && pool_busy() => answer(false, "saturated"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "database not reachable");
            answer(false, "database unreachable")
        }
        Err(_) if pool_busy() => answer(false, "saturated"),
        Err(_) => {
            tracing::warn!("database not reachable: no answer within the readiness timeout");
            answer(false, "database unreachable")
        }
    }
}

tokio::task_local! {
    /// Set when a write of the current request reaches its commit.
    static WROTE: Arc<AtomicBool>;
}

/// Run a request's execution noting whether any of its writes reached a commit; the flag
/// stays readable after the future is dropped (the request timeout).
pub fn track_writes<F: Future>(
    flag: Arc<AtomicBool>,
    execution: F,
) -> impl Future<Output = F::Output> {
    WROTE.scope(flag, execution)
}

/// Called by `store::write` just before COMMIT: from here on, the request may have written.
/// Outside a tracked request (commands, the seed), nothing to note.
pub fn note_commit() {
    let _ = WROTE.try_with(|w| w.store(true, Ordering::SeqCst));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(limit: usize, queue: usize) -> AdmissionSettings {
        AdmissionSettings {
            limit: Some(limit),
            queue: Some(queue),
            wait: Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn beyond_the_limit_and_the_queue_a_request_is_shed() {
        let a = Admission::new(&settings(1, 0), 1);
        let held = a.admit().await.expect("a free slot");
        assert!(a.saturated());
        assert_eq!(a.admit().await.err(), Some(Shed::Admission));
        drop(held);
        assert!(!a.saturated());
        assert!(a.admit().await.is_ok());
        assert_eq!(a.report()["queued"], 0);
    }

    #[test]
    fn sized_from_the_pool() {
        let d = AdmissionSettings::default();
        assert_eq!(d.sized(16), (32, 256));
        assert_eq!(d.sized(1), (8, 64));
        assert_eq!(settings(3, 0).sized(16), (3, 0));
    }

    #[tokio::test]
    async fn a_commit_is_noted_only_inside_its_request() {
        note_commit();
        let flag = Arc::new(AtomicBool::new(false));
        track_writes(flag.clone(), async { note_commit() }).await;
        assert!(flag.load(Ordering::SeqCst));
        let other = Arc::new(AtomicBool::new(false));
        track_writes(other.clone(), async {}).await;
        assert!(!other.load(Ordering::SeqCst));
    }
}
