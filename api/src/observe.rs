//! Observability (issue 14 item 5): one structured log line per HTTP request, the logging
//! set-up, and Prometheus metrics.
//!
//! **Nothing personal, nothing secret.** What is logged or labelled about a request is
//! closed or opaque by construction: the request id (a short safe token the caller sent, or a
//! new UUID v7), the method (a standard one, else `OTHER`), the route as the router matched
//! it (`/graphql`, never the query string; `unmatched` for any other path), the GraphQL
//! operation name only when it is a valid GraphQL name (ASCII letters, digits and `_`, so
//! never kana or kanji) of at most [`MAX_LOGGED_OPERATION`] characters, the HTTP status, the
//! error code from the closed set ([`crate::error::Code`], or an RFC 6749 error code on
//! /oauth/token), the latency, and the caller's account and agency ids (opaque UUIDs) once
//! authenticated. Never a token, never the query text, never variables, never a response.
//!
//! * The line: [`request_layers`] (added by [`crate::http::router`]). A caller's
//!   `x-request-id` is kept only when it is a UUID or 16 to [`MAX_REQUEST_ID`] hex digits
//!   ([`is_safe_request_id`]); otherwise (absent, longer, anything else, or sent twice) the hub makes
//!   a UUID v7 (tower-http's `SetRequestId`). Either way the response carries it
//!   (`PropagateRequestId`). The line is the event `request` of target `tsunagi::request`,
//!   emitted when the response head is ready; other log lines of the request carry its id in
//!   their span (`request{request_id=…}`).
//! * What only the handler knows travels to the line as response extensions: the error code
//!   ([`ErrorCode`], set by every refusal the edge builds and by the GraphQL handler from the
//!   first error of an executed response) and, on POST /graphql, [`RequestFacts`] (operation,
//!   account, agency).
//! * Logging: [`init_logging`] (text or JSON lines on stderr, `RUST_LOG`).
//! * Metrics: [`install_metrics`] once at start, then [`serve_metrics`] (or
//!   [`metrics_router`]) on a listener of its own, never the public API's. Until
//!   `install_metrics` is called every recording here is skipped.
//!
//! **Operation labels.** An operation name is the caller's choice, so as a metric label it is
//! bounded twice: a valid GraphQL name of at most [`MAX_LABELLED_OPERATION`] characters
//! (else `other`), and a closed set of values: the operations named in the trusted-document
//! manifest ([`register_operations`], always labelled) plus the first
//! [`MAX_LEARNED_OPERATIONS`] other names sent by authenticated callers since start; any
//! later new name is `other`. A request whose body was not read (401, 415, shed before
//! reading) is `unknown`; an unnamed operation is `anonymous` (a learned name like any
//! other). So there are at most the manifest's names + 102 values, whatever callers send,
//! and a client without a token cannot use up the learned slots.

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Instrument;

use crate::error::Code;

#[cfg(feature = "otlp")]
mod otlp;
mod prometheus;
pub use prometheus::{
    install_metrics, ledger_group, metrics_router, oauth_refusal, operation_label, rate_limited,
    register_operations, serve_metrics, shed, token_failure,
};

// ---------------------------------------------------------------------------------------
// Logging

/// The filter when `RUST_LOG` is unset or does not parse.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=error,sea_orm=warn";

/// How log lines are written to stderr (TSUNAGI_LOG_FORMAT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colour only when stderr is a terminal (and `NO_COLOR` is
    /// unset).
    #[default]
    Text,
    /// One JSON object per line (the event's fields at the top level, the request span as
    /// `span`), never coloured.
    Json,
}

impl LogFormat {
    /// `text` or `json` (any case, surrounding spaces ignored).
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogFormat::parse(s).ok_or_else(|| format!("{s:?} is not a log format: text or json"))
    }
}

/// Install the process's log subscriber: lines on stderr in `format`, filtered by `RUST_LOG`
/// ([`DEFAULT_LOG_FILTER`] when unset). Call once, first thing; a second call changes
/// nothing. Built with the `otlp` feature and given `OTEL_EXPORTER_OTLP_ENDPOINT`, the same
/// spans and events also go to that OpenTelemetry collector ([`shutdown_tracing`] flushes).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            install(builder.with_env_filter(filter()).with_ansi(colour).finish());
        }
        LogFormat::Json => install(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_ansi(false)
                .with_env_filter(filter())
                .finish(),
        ),
    }
}

/// Make `subscriber` (with the OTLP layer, when built in and configured) the global one.
fn install<S>(subscriber: S)
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    use tracing_subscriber::util::SubscriberInitExt as _;
    #[cfg(feature = "otlp")]
    let subscriber = {
        use tracing_subscriber::layer::SubscriberExt as _;
        subscriber.with(otlp::layer())
    };
    let _ = subscriber.try_init();
}

/// Flush and stop the OTLP exporter (spans still buffered are sent); call before the process
/// exits. Without the `otlp` feature, or without a collector configured, nothing to do.
pub fn shutdown_tracing() {
    #[cfg(feature = "otlp")]
    otlp::shutdown();
}

// ---------------------------------------------------------------------------------------
// The request line

/// The request id header, read and answered.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-sent request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// The longest operation name logged.
pub const MAX_LOGGED_OPERATION: usize = 100;

/// The longest operation name used as a metric label.
pub const MAX_LABELLED_OPERATION: usize = 64;

/// How many operation names outside the manifest get a label of their own.
pub const MAX_LEARNED_OPERATIONS: usize = 100;

/// The route of a request no route matched (its path is the caller's and is never logged).
pub const UNMATCHED: &str = "unmatched";

/// The error code of an answer (`extensions.code` of its first error, or the OAuth `error`),
/// as a response extension for the request line and the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// What the GraphQL handler learned about a request, as a response extension. Set on every
/// answer of POST /graphql, so its metrics count every such request.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    /// The operation name, only when valid and at most [`MAX_LOGGED_OPERATION`] long.
    pub operation: Option<String>,
    /// A name was sent that is not one (or too long): labelled `other`, not logged.
    pub operation_unfit: bool,
    /// The authenticated account (a UUID).
    pub account_id: Option<String>,
    /// The authenticated account's agency (a UUID).
    pub agency_id: Option<String>,
}

impl RequestFacts {
    /// Note the operation name, if it may be logged.
    pub fn set_operation(&mut self, name: Option<&str>) {
        self.operation = name
            .and_then(|n| graphql_name(n, MAX_LOGGED_OPERATION))
            .map(str::to_owned);
        self.operation_unfit = name.is_some() && self.operation.is_none();
    }

    /// Note the authenticated caller; ids that are not UUIDs are left out.
    pub fn set_caller(&mut self, account_id: &str, agency_id: &str) {
        let uuid = |id: &str| uuid::Uuid::try_parse(id).is_ok().then(|| id.to_owned());
        self.account_id = uuid(account_id);
        self.agency_id = uuid(agency_id);
    }
}

/// `name` if it is a GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`) of at most `max` characters.
pub fn graphql_name(name: &str, max: usize) -> Option<&str> {
    let b = name.as_bytes();
    let valid = !b.is_empty()
        && b.len() <= max
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    valid.then_some(name)
}

/// The code of the closed set equal to `code`, else `OTHER`.
pub fn closed_code(code: &str) -> &'static str {
    [
        Code::Unauthenticated,
        Code::Forbidden,
        Code::ConsentRequired,
        Code::BadUserInput,
        Code::GraphqlParseFailed,
        Code::GraphqlValidationFailed,
        Code::NotFound,
        Code::Conflict,
        Code::RateLimited,
        Code::Unavailable,
        Code::Internal,
    ]
    .into_iter()
    .map(Code::as_str)
    .find(|c| *c == code)
    .unwrap_or("OTHER")
}

/// A request id the caller may choose: a hyphenated UUID, or 16 to [`MAX_REQUEST_ID`] hex
/// digits (nginx's `$request_id` is 32). Nothing shaped like words or a short number: a
/// caller's id must not be able to carry a name, a birth date or an individual number
/// (マイナンバー, 12 digits) into the log.
pub fn is_safe_request_id(id: &[u8]) -> bool {
    let hex = |b: &[u8]| b.iter().all(u8::is_ascii_hexdigit);
    let uuid = id.len() == 36
        && id
            .split(|b| *b == b'-')
            .map(<[u8]>::len)
            .eq([8, 4, 4, 4, 12])
        && hex(&id
            .iter()
            .copied()
            .filter(|b| *b != b'-')
            .collect::<Vec<_>>());
    uuid || ((16..=MAX_REQUEST_ID).contains(&id.len()) && hex(id))
}

/// Makes a UUID v7 request id (time-ordered, like the hub's record ids).
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// Wrap `router` in the request-id and request-line layers. Add them last, so they are the
/// outermost: the line then sees every answer, a caught panic's and a refusal's included.
pub fn request_layers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // Router::layer: the last one added runs first.
    router
        .layer(axum::middleware::from_fn(log_request))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuidV7))
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
}

/// Forget a caller's `x-request-id` unless it is one safe token (sent once).
async fn drop_unsafe_request_id(mut request: Request) -> Request {
    let keep = {
        let mut sent = request.headers().get_all(REQUEST_ID).iter();
        matches!((sent.next(), sent.next()), (Some(id), None) if is_safe_request_id(id.as_bytes()))
    };
    if !keep {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// A standard method's name, else `OTHER` (an extension method is the caller's string).
fn method_name(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

/// The request line and the request metrics, around the whole request.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_name(request.method());
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    // Set by SetRequestId (a safe caller id or a new one); empty only if that layer is missing.
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The same closed facts as the line, as span attributes for traces (the `otlp` feature).
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method,
        path = %path,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
        operation = tracing::field::Empty,
        account_id = tracing::field::Empty,
        agency_id = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let latency = started.elapsed();
    let facts = response.extensions().get::<RequestFacts>();
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let status = response.status().as_u16();
    let latency_ms = (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    tracing::info!(
        target: "tsunagi::request",
        request_id = %request_id,
        method,
        path = %path,
        operation = facts.and_then(|f| f.operation.as_deref()),
        status,
        code,
        latency_ms,
        account_id = facts.and_then(|f| f.account_id.as_deref()),
        agency_id = facts.and_then(|f| f.agency_id.as_deref()),
        "request"
    );
    span.record("status", status);
    span.record("code", code);
    span.record("operation", facts.and_then(|f| f.operation.as_deref()));
    span.record("account_id", facts.and_then(|f| f.account_id.as_deref()));
    span.record("agency_id", facts.and_then(|f| f.agency_id.as_deref()));
    prometheus::record_request(path, method, status, code, facts, latency);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_the_caller_may_choose() {
        for ok in [
            "0190d7b2-5c3e-7abc-8def-0123456789ab",
            "0123456789abcdef0123456789ABCDEF",
            &"f".repeat(64),
        ] {
            assert!(is_safe_request_id(ok.as_bytes()), "{ok:?}");
        }
        for bad in [
            "",
            "a",
            "req_1.2-3",
            "123456789012",
            "yamada-hanako-19500101",
            &"f".repeat(65),
            "0190d7b2-5c3e-7abc-8def-0123456789ag",
            "0190d7b25c3e-7abc-8def-0123456789abc",
            "has space",
            "山田太郎",
            "eyJhbGciOi.eyJzdWIi.sig+/",
        ] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn codes_are_from_the_closed_set() {
        assert_eq!(closed_code("FORBIDDEN"), "FORBIDDEN");
        assert_eq!(closed_code("山田"), "OTHER");
        assert_eq!(closed_code("forbidden"), "OTHER");
    }

    #[test]
    fn log_formats() {
        assert_eq!(LogFormat::parse(" JSON "), Some(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::default().to_string(), "text");
    }

    #[test]
    fn only_standard_methods_are_named() {
        assert_eq!(method_name(&Method::POST), "POST");
        let odd = Method::from_bytes(b"YAMADA").expect("a method token");
        assert_eq!(method_name(&odd), "OTHER");
    }
}
