//! The HTTP edge: POST /graphql (authenticated), GraphiQL on GET /graphql and the web
//! console on GET /admin ([`console`]), POST /oauth/token (service clients, see
//! [`crate::oauth`]), /healthz, /readyz.
//!
//! A request is authenticated from its headers before its body is read (so an anonymous
//! client never makes the hub buffer anything); a failure is HTTP 401 with a GraphQL error
//! (code UNAUTHENTICATED, reason). The body is then read within the size limit and the body
//! read timeout. Then: one JSON object per request (a batch is HTTP
//! 400), the rate limit, the trusted-document check ([`crate::documents`]: a registered id is
//! replaced by its text; free text refused where registration is required), the alias limit,
//! and execution (depth and complexity are checked by [`crate::graphql::prepare`]). After execution, every read the response contains
//! is written to the ledger; if that fails the response is withheld (HTTP 500, INTERNAL):
//! nothing leaves unledgered. A mutation sent with an `Idempotency-Key` runs in one
//! transaction with its ledger rows and its stored answer, and a retry gets that answer
//! again ([`idempotency`]). Under load a request is shed whole (HTTP 503 UNAVAILABLE with
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

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

mod console;
mod disclosure;
mod evaluation;
mod export;
pub mod fhir;
pub mod idempotency;
mod import;
mod media;
pub mod ws;
use media::{is_json_request, Media};

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
    /// The read replica (TSUNAGI_DATABASE_REPLICA_URL), handed to every request's context;
    /// what may be read from it is `graphql::context::replica_db`'s rule.
    pub replica: Option<DatabaseConnection>,
    /// Idempotency keys running in this process ([`idempotency`]).
    pub idempotency: Arc<idempotency::Keys>,
    /// The subscription sockets of this process ([`ws`]).
    pub sockets: Arc<ws::Hub>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let config = Arc::new(config);
        // The manifest's operations get metric labels of their own.
        crate::observe::register_operations(config.limits.documents.operation_names());
        let pool_size = crate::store::pool_stats(&db).map_or(1, |(_, _, max)| max);
        AppState {
            admission: Arc::new(Admission::new(&config.admission, pool_size)),
            schema: crate::graphql::schema(Some(db.clone()), &config.limits),
            limiter: Arc::new(RateLimiter::new(config.limits.rate_per_minute)),
            oauth: TokenService::new(db.clone(), config.clone()),
            ledger: Arc::new(audit::GroupCommit::start(db.clone())),
            idempotency: idempotency::Keys::start(&db),
            sockets: Arc::default(),
            db,
            config,
            replica: None,
        }
    }

    /// With a connection to a streaming replica of `db` (see [`Config::replica_url`]).
    pub fn with_replica(mut self, replica: Option<DatabaseConnection>) -> Self {
        self.replica = replica;
        self
    }
}

impl FromRef<AppState> for TokenService {
    fn from_ref(state: &AppState) -> Self {
        state.oauth.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let routes = Router::new()
        .route("/graphql", get(console::graphiql).post(graphql))
        .route("/admin", get(console::console))
        .route("/admin/", get(console::console))
        .route("/assets/{name}", get(console::asset))
        .route("/graphql/ws", get(ws::handler))
        .route("/disclosure/{person_id}", get(disclosure::handler))
        .route("/oauth/token", post(oauth::token))
        .route("/fhir/Consent", get(fhir::search).post(fhir::create))
        .route("/fhir/Consent/{id}", get(fhir::read))
        .route("/export/{kind}", get(export::handler))
        .route("/reports/evaluation/{year}", get(evaluation::handler))
        .route(
            "/import/{kind}",
            post(import::handler).layer(DefaultBodyLimit::max(import::IMPORT_BODY_LIMIT)),
        )
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
        ));
    // Answers hold personal data: no browser or proxy keeps them (console pages set it too).
    let routes = routes.layer(axum::middleware::map_response(console::no_store));
    // Outermost: the request id and the request line see every answer ([`crate::observe`]).
    crate::observe::request_layers(routes).with_state(state)
}

/// How long a request body may take to arrive.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        error_body(
            Code::NotFound,
            "そのパスはありません / no such path (POST /graphql, GET /admin, POST /oauth/token, /healthz, /readyz)",
            json!({ "field": "path" }),
        ),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        error_body(
            Code::BadUserInput,
            "このパスではそのメソッドは使えません / method not allowed on this path",
            json!({ "field": "method" }),
        ),
    )
        .into_response()
}

/// A refusal at the edge as a GraphQL response, keys in the usual order (`data`, `errors`;
/// `message`, `extensions`).
#[derive(serde::Serialize)]
pub(crate) struct EdgeRefusal {
    data: (),
    errors: [EdgeError; 1],
    /// For the request line ([`crate::observe::ErrorCode`]); not part of the body.
    #[serde(skip)]
    code: Code,
}

/// JSON, with the error code as a response extension for the request line.
impl IntoResponse for EdgeRefusal {
    fn into_response(self) -> Response {
        let code = crate::observe::ErrorCode(self.code.as_str());
        (axum::Extension(code), Json(self)).into_response()
    }
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
        code,
    }
}

fn unauthenticated(f: AuthFailure) -> Response {
    crate::observe::token_failure(f.reason());
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        error_body(
            Code::Unauthenticated,
            f.message(),
            json!({ "reason": f.reason() }),
        ),
    )
        .into_response()
}

fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        error_body(Code::Internal, "内部エラー / internal error", json!({})),
    )
        .into_response()
}

async fn graphql(State(state): State<AppState>, incoming: axum::extract::Request) -> Response {
    let media = Media::negotiate(incoming.headers());
    // What the request line may say about this request (crate::observe).
    let mut facts = crate::observe::RequestFacts::default();
    // The slot is held until the answer is built (the ledger append included).
    let response = match state.admission.admit().await {
        Ok(_ticket) => graphql_request(state, incoming, media, &mut facts).await,
        Err(why) => state.admission.refuse(why, false),
    };
    // A replay leaves exactly as stored (its media type included).
    let response = if response
        .headers()
        .contains_key(idempotency::REPLAYED_HEADER)
    {
        response
    } else {
        media.apply(response).await
    };
    (axum::Extension(facts), response).into_response()
}

async fn graphql_request(
    state: AppState,
    incoming: axum::extract::Request,
    media: Media,
    facts: &mut crate::observe::RequestFacts,
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
    facts.set_caller(&principal.account_id, &principal.agency_id);
    let key = match idempotency::key(headers) {
        Ok(key) => key,
        Err(refused) => return refused,
    };
    if !is_json_request(headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            error_body(
                Code::BadUserInput,
                "本文は application/json で送ってください (Content-Type) / send the body as application/json (Content-Type)",
                json!({ "field": "content-type", "reason": "unsupported_media_type" }),
            ),
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
                error_body(
                    Code::BadUserInput,
                    &format!("リクエスト本文を読めません (上限 {limit} バイト) / the request body could not be read (at most {limit} bytes)"),
                    json!({ "field": "body", "reason": reason }),
                ),
            )
                .into_response();
        }
    };
    let (document_id, mut request) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err(refused) => return refused,
    };
    facts.set_operation(request.operation_name.as_deref());
    if let Err(wait) = state.limiter.check(&principal.account_id) {
        crate::observe::rate_limited("account");
        let secs = wait.as_secs().max(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            error_body(
                Code::RateLimited,
                "リクエストが多すぎます / too many requests",
                json!({ "retryAfter": secs }),
            ),
        )
            .into_response();
    }
    if let Err(refused) = trusted_document(&state, &principal, document_id, &mut request).await {
        return refused;
    }
    let document = limits::inspect(&request.query, request.operation_name.as_deref());
    if document.aliases > state.config.limits.max_aliases {
        let max = state.config.limits.max_aliases;
        return (
            StatusCode::BAD_REQUEST,
            error_body(
                Code::BadUserInput,
                &format!("エイリアスが多すぎます (上限 {max}) / too many aliases (at most {max})"),
                json!({ "field": "query" }),
            ),
        )
            .into_response();
    }
    let operation = document.operation;
    facts.set_operation(Some(&operation));
    // A keyed mutation runs in one transaction (its handle is request data, before the
    // schema's pool), or is answered now: a replay, 409, 422.
    let keyed = match idempotency::start(&state, &principal, key, &body, document.mutation).await {
        idempotency::Start::Plain => None,
        idempotency::Start::Answer(answer) => return answer,
        idempotency::Start::Run(run) => {
            request = request.data(run.db());
            Some(run)
        }
    };
    let ctx = Arc::new(
        RequestCtx::new(
            principal.clone(),
            audit::now_micros(),
            state.config.emergency_hours,
        )
        .with_replica(state.replica.clone()),
    );
    let wrote = Arc::new(AtomicBool::new(false));
    let execution = crate::shed::track_writes(
        wrote.clone(),
        state.schema.execute(request.data(ctx.clone())),
    );
    // A keyed request that ends here rolls back: then nothing was written.
    let written = || keyed.is_none() && wrote.load(Ordering::SeqCst);
    let Ok(response) = tokio::time::timeout(state.config.limits.request_timeout, execution).await
    else {
        // Abandoned: nothing is returned, so nothing was read.
        // The operation name is in the request line (checked there); not repeated here.
        tracing::warn!("request timed out");
        return state.admission.refuse(Shed::Timeout, written());
    };
    // A field found no database connection in time: the answer is withheld whole (no data
    // leaves, so no read is ledgered). Should a write of this request have reached its
    // commit, the refusal says so (`written`): the caller must check before retrying.
    let starved = response
        .errors
        .iter()
        .any(|e| error_code(e) == Some(Code::Unavailable.as_str()));
    if starved {
        return state.admission.refuse(Shed::DatabasePool, written());
    }
    let Some(entries) = ctx.recorder.entries(&principal, &operation) else {
        return internal();
    };
    // Nothing executed (a parse, validation or variable failure): no data, and no error
    // belongs to a field. async-graphql's errors are coded by [`crate::graphql::prepare`].
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let Some(answer) = render(&response, request_error && media == Media::GraphqlResponse) else {
        return internal();
    };
    if let Some(run) = keyed {
        // All or nothing: an internal failure anywhere rolls the whole request back, and
        // the retry runs it again. Otherwise the answer is stored if the request ran.
        if response
            .errors
            .iter()
            .any(|e| error_code(e) == Some(Code::Internal.as_str()))
        {
            return internal();
        }
        return run
            .finish(entries, media.apply(answer).await, !request_error)
            .await;
    }
    // Waits until the rows are committed (together with other requests' rows).
    if let Err(e) = state.ledger.append(entries).await {
        if is_pool_timeout_text(&e) {
            // The group's transaction never began: no row of it was written.
            return state.admission.refuse(Shed::DatabasePool, written());
        }
        tracing::error!(error = %e, "ledger write failed; response withheld");
        return internal();
    }
    answer
}

/// The executed response as it leaves (before the media type is applied): serialised as
/// built, so objects keep their keys in selection order; `errors_only` (nothing ran, and the
/// client takes application/graphql-response+json) is HTTP 400 without `data`.
fn render(response: &async_graphql::Response, errors_only: bool) -> Option<Response> {
    let serialised = if errors_only {
        #[derive(serde::Serialize)]
        struct ErrorsOnly<'a> {
            errors: &'a [async_graphql::ServerError],
        }
        serde_json::to_vec(&ErrorsOnly {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(response)
    };
    let bytes = serialised.ok()?;
    let status = if errors_only {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut answer = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response();
    if let Some(first) = response.errors.first() {
        let code = crate::observe::closed_code(error_code(first).unwrap_or_default());
        answer
            .extensions_mut()
            .insert(crate::observe::ErrorCode(code));
    }
    Some(answer)
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
        error_body(Code::BadUserInput, message, extra),
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

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}
