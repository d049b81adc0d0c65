//! The HTTP edge: POST /graphql (authenticated), GraphiQL on GET /graphql, POST /oauth/token
//! (service clients, see [`crate::oauth`]), /healthz, /readyz.
//!
//! A request is authenticated from its headers before its body is read (so an anonymous
//! client never makes the hub buffer anything); a failure is HTTP 401 with a GraphQL error
//! (code UNAUTHENTICATED, reason). The body is then read within the size limit and the body
//! read timeout. Then: one JSON object per request (a batch is HTTP
//! 400), the rate limit, the trusted-document check ([`crate::documents`]: a registered id is
//! replaced by its text; free text refused where registration is required), the alias limit,
//! and execution (depth and complexity are checked by [`crate::graphql::prepare`]). After execution, every read the response contains
//! is written to the ledger; if that fails the response is withheld (HTTP 500, INTERNAL):
//! nothing leaves unledgered. Under load a request is shed whole (HTTP 503 UNAVAILABLE with
//! `Retry-After`, see [`crate::shed`]): before it runs when every admission slot is taken,
//! or, with its answer withheld, when it gets no database connection in time.
//!
//! GraphQL over HTTP: the request body must be `application/json` (else HTTP 415). The answer
//! is `application/json` unless the client's Accept prefers
//! `application/graphql-response+json`; then a request that fails before execution (parse,
//! validation, variable values, a refusal at the edge) answers 4xx and has no `data` entry,
//! while `application/json` keeps HTTP 200 and `"data": null` for those ([`Media`]). Response
//! objects keep their keys in selection order: [`crate::graphql::prepare`] puts them in it,
//! and the response is serialised as built, never through a sorted map.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{json, Value};

use crate::audit;
use crate::auth::{self, AuthFailure};
use crate::config::Config;
use crate::documents::{self, Resolved};
use crate::error::{is_pool_timeout, is_pool_timeout_text, Code};
use crate::graphql::{context::RequestCtx, TsunagiSchema};
use crate::limits::{self, RateLimiter};
use crate::oauth::{self, TokenService};
use crate::policy::{Principal, Role};
use crate::shed::{Admission, Shed};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: TsunagiSchema,
    pub config: Arc<Config>,
    pub limiter: Arc<RateLimiter>,
    /// POST /oauth/token's own state (its per-client limit and argon2 slots).
    pub oauth: TokenService,
    /// The ledger's group commit for reads (see [`audit::GroupCommit`]).
    pub ledger: Arc<audit::GroupCommit>,
    /// Admission to POST /graphql and the shed counts ([`crate::shed`]).
    pub admission: Arc<Admission>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let config = Arc::new(config);
        let pool_size = crate::store::pool_stats(&db).map_or(1, |(_, _, max)| max);
        AppState {
            admission: Arc::new(Admission::new(&config.admission, pool_size)),
            schema: crate::graphql::schema(Some(db.clone()), &config.limits),
            limiter: Arc::new(RateLimiter::new(config.limits.rate_per_minute)),
            oauth: TokenService::new(db.clone(), config.clone()),
            ledger: Arc::new(audit::GroupCommit::start(db.clone())),
            db,
            config,
        }
    }
}

impl FromRef<AppState> for TokenService {
    fn from_ref(state: &AppState) -> Self {
        state.oauth.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/oauth/token", post(oauth::token))
        .route("/healthz", get(healthz))
        .route("/readyz", get(crate::shed::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        // A body must arrive in time: a client trickling bytes does not hold a connection
        // (and its buffer) open indefinitely. Execution has its own timeout.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_READ_TIMEOUT,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked; answered INTERNAL, nothing returned");
                internal()
            },
        ))
        .with_state(state)
}

/// How long a request body may take to arrive.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(error_body(
            Code::NotFound,
            "そのパスはありません / no such path (POST /graphql, POST /oauth/token, /healthz, /readyz)",
            json!({ "field": "path" }),
        )),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(error_body(
            Code::BadUserInput,
            "このパスではそのメソッドは使えません / method not allowed on this path",
            json!({ "field": "method" }),
        )),
    )
        .into_response()
}

/// A refusal at the edge as a GraphQL response, keys in the usual order (`data`, `errors`;
/// `message`, `extensions`).
#[derive(serde::Serialize)]
pub(crate) struct EdgeRefusal {
    data: (),
    errors: [EdgeError; 1],
}

#[derive(serde::Serialize)]
pub(crate) struct EdgeError {
    message: String,
    extensions: Value,
}

pub(crate) fn error_body(code: Code, message: &str, extra: Value) -> EdgeRefusal {
    let mut ext = json!({ "code": code.as_str() });
    if let (Some(e), Value::Object(more)) = (ext.as_object_mut(), extra) {
        e.extend(more);
    }
    EdgeRefusal {
        data: (),
        errors: [EdgeError {
            message: message.to_owned(),
            extensions: ext,
        }],
    }
}

fn unauthenticated(f: AuthFailure) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(error_body(
            Code::Unauthenticated,
            f.message(),
            json!({ "reason": f.reason() }),
        )),
    )
        .into_response()
}

fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(error_body(
            Code::Internal,
            "内部エラー / internal error",
            json!({}),
        )),
    )
        .into_response()
}

/// The media type of an answer on POST /graphql (GraphQL over HTTP, "Accept").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Media {
    /// `application/json`: also for `*/*`, no Accept, or nothing we offer.
    Json,
    /// `application/graphql-response+json`: HTTP status says whether anything ran.
    GraphqlResponse,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl Media {
    /// The better of the two by the client's q-values; a tie goes to
    /// `application/graphql-response+json`, the spec's media type.
    fn negotiate(headers: &HeaderMap) -> Media {
        let (mut json, mut graphql) = (0.0_f32, 0.0_f32);
        for value in headers.get_all(header::ACCEPT) {
            for range in value.to_str().unwrap_or_default().split(',') {
                let mut parts = range.split(';');
                let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                match kind.as_str() {
                    GRAPHQL_RESPONSE_JSON => graphql = graphql.max(q),
                    "application/json" | "application/*" | "*/*" => json = json.max(q),
                    _ => {}
                }
            }
        }
        if graphql > 0.0 && graphql >= json {
            Media::GraphqlResponse
        } else {
            Media::Json
        }
    }

    /// Put an answer of the edge in this media type: its Content-Type, and for
    /// `application/graphql-response+json` no `data` entry on a refusal (a 4xx or 5xx answer
    /// is a request that did not execute).
    async fn apply(self, response: Response) -> Response {
        if self == Media::Json {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if !is_json {
            return Response::from_parts(parts, body);
        }
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
        );
        if parts.status.is_success() {
            return Response::from_parts(parts, body);
        }
        // Refusals are small bodies built by the edge.
        let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
            return internal();
        };
        // async-graphql's Value keeps the keys in their order.
        let body = match serde_json::from_slice::<async_graphql::Value>(&bytes) {
            Ok(async_graphql::Value::Object(mut map)) => {
                map.shift_remove("data");
                serde_json::to_vec(&map).unwrap_or_default()
            }
            _ => bytes.to_vec(),
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, axum::body::Body::from(body))
    }
}

/// A request body must be JSON (GraphQL over HTTP; a POST without a Content-Type is refused).
fn is_json_request(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql(State(state): State<AppState>, incoming: axum::extract::Request) -> Response {
    let media = Media::negotiate(incoming.headers());
    // The slot is held until the answer is built (the ledger append included).
    let response = match state.admission.admit().await {
        Ok(_ticket) => graphql_request(state, incoming, media).await,
        Err(why) => state.admission.refuse(why, false),
    };
    media.apply(response).await
}

async fn graphql_request(
    state: AppState,
    incoming: axum::extract::Request,
    media: Media,
) -> Response {
    // Authenticate from the headers before reading the body: an unauthenticated client never
    // makes the hub buffer a body.
    let (parts, body) = incoming.into_parts();
    let headers = &parts.headers;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let principal = match auth::authenticate(&state.db, &state.config.jwt, authorization).await {
        Ok(Ok(p)) => p,
        Ok(Err(f)) => return unauthenticated(f),
        Err(e) if is_pool_timeout(&e) => return state.admission.refuse(Shed::DatabasePool, false),
        Err(e) => {
            tracing::error!(error = %e, "authentication lookup failed");
            return internal();
        }
    };
    if !is_json_request(headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(error_body(
                Code::BadUserInput,
                "本文は application/json で送ってください (Content-Type) / send the body as application/json (Content-Type)",
                json!({ "field": "content-type", "reason": "unsupported_media_type" }),
            )),
        )
            .into_response();
    }
    // Over the size limit (HTTP 413) or cut off: still a coded GraphQL error.
    let body = match Bytes::from_request(axum::extract::Request::from_parts(parts, body), &state)
        .await
    {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "body_unreadable"
            };
            let limit = state.config.body_limit;
            return (
                status,
                Json(error_body(
                    Code::BadUserInput,
                    &format!("リクエスト本文を読めません (上限 {limit} バイト) / the request body could not be read (at most {limit} bytes)"),
                    json!({ "field": "body", "reason": reason }),
                )),
            )
                .into_response();
        }
    };
    let (document_id, mut request) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    if let Err(wait) = state.limiter.check(&principal.account_id) {
        let secs = wait.as_secs().max(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            Json(error_body(
                Code::RateLimited,
                "リクエストが多すぎます / too many requests",
                json!({ "retryAfter": secs }),
            )),
        )
            .into_response();
    }
    if let Err(refused) = trusted_document(&state, &principal, document_id, &mut request).await {
        return refused;
    }
    let facts = limits::inspect(&request.query, request.operation_name.as_deref());
    if facts.aliases > state.config.limits.max_aliases {
        let max = state.config.limits.max_aliases;
        return (
            StatusCode::BAD_REQUEST,
            Json(error_body(
                Code::BadUserInput,
                &format!("エイリアスが多すぎます (上限 {max}) / too many aliases (at most {max})"),
                json!({ "field": "query" }),
            )),
        )
            .into_response();
    }
    let operation = facts.operation;
    let ctx = Arc::new(RequestCtx::new(
        principal.clone(),
        audit::now_micros(),
        state.config.emergency_hours,
    ));
    let wrote = Arc::new(AtomicBool::new(false));
    let execution = crate::shed::track_writes(
        wrote.clone(),
        state.schema.execute(request.data(ctx.clone())),
    );
    let written = || wrote.load(Ordering::SeqCst);
    let Ok(response) = tokio::time::timeout(state.config.limits.request_timeout, execution).await
    else {
        // Abandoned: nothing is returned, so nothing was read.
        tracing::warn!(operation = %operation, "request timed out");
        return state.admission.refuse(Shed::Timeout, written());
    };
    // A field found no database connection in time: the answer is withheld whole (no data
    // leaves, so no read is ledgered), unless a write of this request already committed;
    // then the caller gets what was done, the failed fields coded UNAVAILABLE.
    let starved = response
        .errors
        .iter()
        .any(|e| error_code(e) == Some(Code::Unavailable.as_str()));
    if starved && !written() {
        return state.admission.refuse(Shed::DatabasePool, false);
    }
    let Some(entries) = ctx.recorder.entries(&principal, &operation) else {
        return internal();
    };
    // Waits until the rows are committed (together with other requests' rows).
    if let Err(e) = state.ledger.append(entries).await {
        if is_pool_timeout_text(&e) {
            // The group's transaction never began: no row of it was written.
            return state.admission.refuse(Shed::DatabasePool, written());
        }
        tracing::error!(error = %e, "ledger write failed; response withheld");
        return internal();
    }
    // Nothing executed (a parse, validation or variable failure): no data, and no error
    // belongs to a field. async-graphql's errors are coded by [`crate::graphql::prepare`].
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    // Serialised as built: objects keep their keys in selection order.
    let serialised = if request_error && media == Media::GraphqlResponse {
        #[derive(serde::Serialize)]
        struct ErrorsOnly<'a> {
            errors: &'a [async_graphql::ServerError],
        }
        serde_json::to_vec(&ErrorsOnly {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let Ok(bytes) = serialised else {
        return internal();
    };
    let status = if request_error && media == Media::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// The code of an error from execution (`extensions.code`).
fn error_code(e: &async_graphql::ServerError) -> Option<&str> {
    match e.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code),
        _ => None,
    }
}

fn bad_request(message: &str, extra: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(error_body(Code::BadUserInput, message, extra)),
    )
        .into_response()
}

/// The body as one GraphQL request (a JSON object), and the registered document it names,
/// if any. Batches (a JSON array) are not accepted: one operation per request, so every
/// limit and every ledger row applies to exactly one operation.
#[allow(clippy::result_large_err)]
fn parse_request(body: &[u8]) -> Result<(DocumentId, async_graphql::Request), Response> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad_request(
            &format!("リクエストが GraphQL の JSON ではありません / the body is not a GraphQL JSON request (line {}, column {})", e.line(), e.column()),
            json!({ "field": "body" }),
        )
    })?;
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(bad_request(
                "一括 (バッチ) リクエストは受け付けません。1 リクエストに 1 操作を送ってください / batched requests (a JSON array) are not accepted: send one operation per request",
                json!({ "field": "body", "reason": "batch_not_supported" }),
            ))
        }
        _ => {
            return Err(bad_request(
                "リクエストは JSON オブジェクトでなければなりません / the body must be a JSON object",
                json!({ "field": "body" }),
            ))
        }
    };
    let document_id = documents::requested_id(&map);
    if matches!(document_id, Ok(None)) && !map.get("query").is_some_and(Value::is_string) {
        return Err(bad_request(
            "query (GraphQL の文書) がありません / the request has no query (the GraphQL document)",
            json!({ "field": "query" }),
        ));
    }
    let request = serde_json::from_value(Value::Object(map)).map_err(|e| {
        bad_request(
            &format!("リクエストの形式が不正です / the GraphQL request is malformed: {e}"),
            json!({ "field": "body" }),
        )
    })?;
    Ok((document_id, request))
}

type DocumentId = Result<Option<String>, documents::Refusal>;

/// Substitute a registered document for its id, and refuse free text from a caller who must
/// send registered documents ([`documents::Mode::requires`], decided on the account as
/// registered, not as its token narrows it). After authentication, before execution; a
/// registered document still passes every other limit.
#[allow(clippy::result_large_err)]
async fn trusted_document(
    state: &AppState,
    principal: &Principal,
    document_id: DocumentId,
    request: &mut async_graphql::Request,
) -> Result<(), Response> {
    let trusted = &state.config.limits.documents;
    let resolved =
        document_id.and_then(|id| documents::resolve(trusted, id.as_deref(), &request.query));
    let refusal = match resolved {
        Ok(Resolved::Registered(text)) => {
            request.query = text;
            return Ok(());
        }
        Ok(Resolved::FreeText) if trusted.mode == documents::Mode::Off => return Ok(()),
        Ok(Resolved::FreeText) => {
            let account = entity::account::Entity::find_by_id(principal.account_id.clone())
                .one(&state.db)
                .await
                .map_err(|e| {
                    if is_pool_timeout(&e) {
                        return state.admission.refuse(Shed::DatabasePool, false);
                    }
                    tracing::error!(error = %e, "account lookup failed");
                    internal()
                })?;
            // An account gone since authentication: fail closed.
            let required =
                account.is_none_or(|a| trusted.mode.requires(&a.kind, &Role::parse_set(&a.roles)));
            if !required {
                return Ok(());
            }
            documents::Refusal::Unregistered
        }
        Err(refusal) => refusal,
    };
    tracing::warn!(account = %principal.account_id, reason = refusal.reason(), "document refused");
    Err(bad_request(
        refusal.message(),
        json!({ "field": refusal.field(), "reason": refusal.reason() }),
    ))
}

async fn graphiql(State(state): State<AppState>) -> Response {
    if !state.config.limits.graphiql {
        return not_found().await;
    }
    Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}
