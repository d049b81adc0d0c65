//! Prometheus metrics: the recorder ([`install_metrics`]), what is recorded, the bounded
//! operation labels, and `GET /metrics` on a listener of its own ([`serve_metrics`]). See
//! [`super`] for what may be labelled.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{graphql_name, RequestFacts, MAX_LABELLED_OPERATION, MAX_LEARNED_OPERATIONS};
use crate::http::AppState;

// ---------------------------------------------------------------------------------------
// Operation labels

#[derive(Default)]
struct OperationNames {
    /// Named in the trusted-document manifest.
    registered: HashSet<String>,
    /// The first others seen from authenticated callers.
    learned: HashSet<String>,
}

static OPERATIONS: LazyLock<Mutex<OperationNames>> = LazyLock::new(Default::default);

/// Give these operation names (the trusted-document manifest's) labels of their own, beside
/// the learned ones. Invalid or over-long names stay `other`.
pub fn register_operations(names: impl IntoIterator<Item = String>) {
    let Ok(mut ops) = OPERATIONS.lock() else {
        return;
    };
    for name in names {
        if graphql_name(&name, MAX_LABELLED_OPERATION).is_some() {
            ops.registered.insert(name);
        }
    }
}

/// The metric label of an operation name (see the module documentation). `learn`: the
/// caller is authenticated, so a new name may take one of the learned slots.
pub fn operation_label(name: Option<&str>, learn: bool) -> String {
    let Some(name) = name else {
        return "unknown".to_owned();
    };
    let Some(name) = graphql_name(name, MAX_LABELLED_OPERATION) else {
        return "other".to_owned();
    };
    let Ok(mut ops) = OPERATIONS.lock() else {
        return "other".to_owned();
    };
    if ops.registered.contains(name) || ops.learned.contains(name) {
        return name.to_owned();
    }
    if learn && ops.learned.len() < MAX_LEARNED_OPERATIONS {
        ops.learned.insert(name.to_owned());
        return name.to_owned();
    }
    "other".to_owned()
}

// ---------------------------------------------------------------------------------------
// Metrics

const HTTP_REQUESTS: &str = "tsunagi_http_requests_total";
const HTTP_DURATION: &str = "tsunagi_http_request_duration_seconds";
const GRAPHQL_REQUESTS: &str = "tsunagi_graphql_requests_total";
const GRAPHQL_DURATION: &str = "tsunagi_graphql_request_duration_seconds";
const LEDGER_GROUP_REQUESTS: &str = "tsunagi_ledger_group_requests";
const LEDGER_GROUP_ROWS: &str = "tsunagi_ledger_group_rows";
const LEDGER_COMMIT_DURATION: &str = "tsunagi_ledger_commit_duration_seconds";
const LEDGER_COMMIT_FAILURES: &str = "tsunagi_ledger_commit_failures_total";
const POOL_CONNECTIONS: &str = "tsunagi_db_pool_connections";
const POOL_MAX: &str = "tsunagi_db_pool_max_connections";
const ADMISSION_IN_FLIGHT: &str = "tsunagi_admission_in_flight";
const ADMISSION_QUEUED: &str = "tsunagi_admission_queued";
const ADMISSION_LIMIT: &str = "tsunagi_admission_limit";
const SHED: &str = "tsunagi_shed_total";
const RATE_LIMITED: &str = "tsunagi_rate_limited_total";
const TOKEN_FAILURES: &str = "tsunagi_token_failures_total";
const OAUTH_REFUSALS: &str = "tsunagi_oauth_token_refusals_total";

/// Latency buckets, in seconds (the request timeout is 15 s by default).
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0,
];
/// Requests per ledger group (at most 256, `audit::group`).
const GROUP_REQUESTS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// Ledger rows per group.
const GROUP_ROWS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0,
];

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

fn metrics_on() -> bool {
    METRICS.get().is_some()
}

/// Install the Prometheus recorder (process-wide) and return the handle that renders it.
/// Call once at start; later calls return the same handle. Inside a tokio runtime it also
/// starts the exporter's upkeep (draining histogram samples every 5 s).
pub fn install_metrics() -> PrometheusHandle {
    METRICS
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first; /metrics stays empty"
                );
            }
            describe();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                runtime.spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}

/// The recorder's histogram buckets.
fn builder() -> PrometheusBuilder {
    let configured = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(LEDGER_GROUP_REQUESTS.to_owned()),
                GROUP_REQUESTS,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(LEDGER_GROUP_ROWS.to_owned()), GROUP_ROWS)
        });
    // Only an empty bucket list is refused, and these are constants.
    configured.unwrap_or_else(|_| PrometheusBuilder::new())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route (path), method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route (path), to the response head"
    );
    describe_counter!(GRAPHQL_REQUESTS, "POST /graphql requests by operation name (bounded: manifest names, the first 100 others, else other; unknown when the body was not read) and error code (first error; none when there was none)");
    describe_histogram!(
        GRAPHQL_DURATION,
        Unit::Seconds,
        "POST /graphql latency by operation name (bounded as above)"
    );
    describe_histogram!(
        LEDGER_GROUP_REQUESTS,
        "Requests whose read rows one ledger group commit took"
    );
    describe_histogram!(LEDGER_GROUP_ROWS, "Ledger rows one group commit appended");
    describe_histogram!(
        LEDGER_COMMIT_DURATION,
        Unit::Seconds,
        "Time of one ledger group commit (its transaction or statement, retries included)"
    );
    describe_counter!(
        LEDGER_COMMIT_FAILURES,
        "Ledger group commits that failed (every request of the group was withheld)"
    );
    describe_gauge!(POOL_CONNECTIONS, "Database pool connections by pool (primary, replica) and state (in_use, idle), read at scrape");
    describe_gauge!(POOL_MAX, "Most connections of the database pool");
    describe_gauge!(
        ADMISSION_IN_FLIGHT,
        "POST /graphql requests running (holding an admission slot), read at scrape"
    );
    describe_gauge!(ADMISSION_QUEUED, "POST /graphql requests waiting for an admission slot (and so for a database connection), read at scrape");
    describe_gauge!(ADMISSION_LIMIT, "Admission slots (requests run at once)");
    describe_counter!(
        SHED,
        "Requests shed with 503 UNAVAILABLE, by reason (admission, database_pool, timeout)"
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit (account: 429 RATE_LIMITED on /graphql; oauth_client: slow_down on /oauth/token)");
    describe_counter!(
        TOKEN_FAILURES,
        "Bearer tokens refused on /graphql (401), by reason (extensions.reason)"
    );
    describe_counter!(
        OAUTH_REFUSALS,
        "POST /oauth/token refusals by RFC 6749 error code"
    );
}

/// One ledger group commit: how many requests and rows, how long, and whether it committed.
pub fn ledger_group(requests: usize, rows: usize, took: Duration, committed: bool) {
    if !metrics_on() {
        return;
    }
    metrics::histogram!(LEDGER_GROUP_REQUESTS).record(requests as f64);
    metrics::histogram!(LEDGER_GROUP_ROWS).record(rows as f64);
    metrics::histogram!(LEDGER_COMMIT_DURATION).record(took.as_secs_f64());
    if !committed {
        metrics::counter!(LEDGER_COMMIT_FAILURES).increment(1);
    }
}

/// A request shed with 503 (`reason`: [`crate::shed::Shed::reason`]).
pub fn shed(reason: &'static str) {
    if metrics_on() {
        metrics::counter!(SHED, "reason" => reason).increment(1);
    }
}

/// A request refused by a rate limit: `account` (/graphql) or `oauth_client`.
pub fn rate_limited(limit: &'static str) {
    if metrics_on() {
        metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
    }
}

/// A bearer token refused (`reason`: [`crate::auth::AuthFailure::reason`]).
pub fn token_failure(reason: &'static str) {
    if metrics_on() {
        metrics::counter!(TOKEN_FAILURES, "reason" => reason).increment(1);
    }
}

/// A refusal of POST /oauth/token (`error`: its RFC 6749 code).
pub fn oauth_refusal(error: &'static str) {
    if metrics_on() {
        metrics::counter!(OAUTH_REFUSALS, "error" => error).increment(1);
    }
}

/// The gauges read at scrape time: the pools and admission.
fn sample(state: &AppState) {
    let pool = |name: &'static str, db: &sea_orm::DatabaseConnection| {
        if let Some((open, idle, max)) = crate::store::pool_stats(db) {
            let in_use = (open as usize).saturating_sub(idle);
            metrics::gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
                .set(in_use as f64);
            metrics::gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(idle as f64);
            metrics::gauge!(POOL_MAX, "pool" => name).set(f64::from(max));
        }
    };
    pool("primary", &state.db);
    if let Some(replica) = &state.replica {
        pool("replica", replica);
    }
    metrics::gauge!(ADMISSION_IN_FLIGHT).set(state.admission.in_flight() as f64);
    metrics::gauge!(ADMISSION_QUEUED).set(state.admission.queued() as f64);
    metrics::gauge!(ADMISSION_LIMIT).set(state.admission.limit() as f64);
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    state: AppState,
}

/// `GET /metrics` (Prometheus text format) for `handle`, with the gauges of `state` (the
/// state the public router serves). Serve it on a listener of its own
/// (TSUNAGI_METRICS_LISTEN), never on the public API's.
pub fn metrics_router(handle: PrometheusHandle, state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { handle, state })
}

async fn scrape(State(s): State<Scrape>) -> Response {
    sample(&s.state);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.handle.render(),
    )
        .into_response()
}

/// Serve [`metrics_router`] on `listener` until the process ends (or the listener fails).
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    state: AppState,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(handle, state)).await
}

/// The request metrics of one answer (from the request line, [`super::log_request`]).
pub(super) fn record_request(
    path: String,
    method: &'static str,
    status: u16,
    code: Option<&'static str>,
    facts: Option<&RequestFacts>,
    latency: Duration,
) {
    if !metrics_on() {
        return;
    }
    let seconds = latency.as_secs_f64();
    let status = status.to_string();
    metrics::counter!(HTTP_REQUESTS, "path" => path.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "path" => path).record(seconds);
    let Some(f) = facts else {
        return;
    };
    // A name was sent that may not be logged: not a label either.
    let operation = if f.operation_unfit {
        "other".to_owned()
    } else {
        operation_label(f.operation.as_deref(), f.account_id.is_some())
    };
    let code = code.unwrap_or("none");
    metrics::counter!(GRAPHQL_REQUESTS, "operation" => operation.clone(), "code" => code)
        .increment(1);
    metrics::histogram!(GRAPHQL_DURATION, "operation" => operation).record(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_logged_and_labelled() {
        assert_eq!(graphql_name("PersonCard", 100), Some("PersonCard"));
        assert_eq!(graphql_name("_x1", 100), Some("_x1"));
        for bad in ["", "1x", "a-b", "ヤマダ", "a b", "a\nb"] {
            assert_eq!(graphql_name(bad, 100), None, "{bad:?}");
        }
        let long = "a".repeat(65);
        assert_eq!(graphql_name(&long, 100), Some(long.as_str()));
        assert_eq!(operation_label(Some(&long), true), "other");
        assert_eq!(operation_label(None, true), "unknown");
        assert_eq!(operation_label(Some("ヤマダ"), true), "other");
        // An anonymous caller does not take a learned slot; an authenticated one does.
        assert_eq!(operation_label(Some("ObserveUnitTestOp"), false), "other");
        assert_eq!(
            operation_label(Some("ObserveUnitTestOp"), true),
            "ObserveUnitTestOp"
        );
        assert_eq!(
            operation_label(Some("ObserveUnitTestOp"), false),
            "ObserveUnitTestOp"
        );
        register_operations(["ObserveRegistered".to_owned(), "not valid".to_owned()]);
        assert_eq!(
            operation_label(Some("ObserveRegistered"), false),
            "ObserveRegistered"
        );
        assert_eq!(operation_label(Some("not valid"), false), "other");
        // The learned names are capped (one test: the set is process-wide).
        for i in 0..(MAX_LEARNED_OPERATIONS + 50) {
            let _ = operation_label(Some(&format!("CapTest{i}")), true);
        }
        let learned = OPERATIONS.lock().map(|o| o.learned.len()).unwrap_or(0);
        assert_eq!(learned, MAX_LEARNED_OPERATIONS);
        assert_eq!(operation_label(Some("CapTestBeyond"), true), "other");
        assert_eq!(
            operation_label(Some("ObserveUnitTestOp"), true),
            "ObserveUnitTestOp"
        );
        assert_eq!(
            operation_label(Some("ObserveRegistered"), true),
            "ObserveRegistered"
        );
    }
}
