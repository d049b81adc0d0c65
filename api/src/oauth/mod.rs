//! Service clients: OAuth 2.0 client credentials (RFC 6749 §4.4).
//!
//! Agency software authenticates at POST /oauth/token with a client id and secret an admin
//! issued (HTTP Basic, §2.3.1, or `client_id`/`client_secret` form fields, never both) and
//! receives a short-lived hub-signed JWT: `sub` = the client's SERVICE account, `roles` = the
//! granted scope (role names, a subset of the client's scopes), `cid` = the client id and
//! `cgen` = the generation of its secret. Every GraphQL request with such a token checks the
//! client again ([`crate::auth`]): a revoked client, or a secret rotated since the token was
//! issued, ends the token on its next use.
//!
//! Errors follow §5.2: JSON `{error, error_description}` (the description is ASCII, as the
//! RFC requires; `error_description_ja` carries the Japanese and `field` the parameter at
//! fault). Secrets are stored only as argon2id hashes ([`secret`]); an unknown client id is
//! verified against a dummy hash, so timing does not reveal which ids exist. Issued tokens
//! are rate limited per client, charged only after the secret verified: a client id is not a
//! secret (it travels in every token's `cid`), so failed attempts must not use up the real
//! client's allowance. Secrets are 256 random bits, so guessing is hopeless; what failed
//! attempts can cost is argon2 CPU, which a fixed number of concurrent verifications bounds
//! ([`HASH_SLOTS`]). Per-address limits belong to the reverse proxy in front.

pub mod secret;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::auth::mint_for_client;
use crate::config::Config;
use crate::limits::RateLimiter;
use crate::policy::Role;
use crate::store;

/// The only grant type served.
pub const GRANT_TYPE: &str = "client_credentials";
/// How many argon2 verifications may run at once (each takes ~19 MiB and a core for tens of
/// milliseconds); a request that cannot get a slot within [`HASH_WAIT`] is told to retry.
pub const HASH_SLOTS: usize = 2;
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What POST /oauth/token needs: the database, the token keys and lifetime (in the
/// configuration), the per-client limit on issued tokens and the argon2 slots. The HTTP
/// router hands it to [`token`] as its state.
#[derive(Clone)]
pub struct TokenService {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// Tokens issued per client.
    pub limiter: Arc<RateLimiter>,
    /// Concurrent argon2 verifications ([`HASH_SLOTS`]).
    pub hash_slots: Arc<tokio::sync::Semaphore>,
}

impl TokenService {
    pub fn new(db: DatabaseConnection, config: Arc<Config>) -> Self {
        TokenService {
            limiter: Arc::new(RateLimiter::new(config.oauth.requests_per_minute)),
            hash_slots: Arc::new(tokio::sync::Semaphore::new(HASH_SLOTS)),
            db,
            config,
        }
    }
}

/// The scopes a client may be given: roles other than admin (a machine credential never
/// administers the hub).
pub fn grantable(role: Role) -> bool {
    role != Role::Admin
}

/// A §5.2 error response.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    ja: &'static str,
    field: Option<String>,
    retry_after: Option<u64>,
}

fn err(
    status: StatusCode,
    error: &'static str,
    field: Option<&str>,
    description: &'static str,
    ja: &'static str,
) -> OAuthError {
    OAuthError {
        status,
        error,
        description,
        ja,
        field: field.map(str::to_owned),
        retry_after: None,
    }
}

fn invalid_request(field: &str, description: &'static str, ja: &'static str) -> OAuthError {
    err(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some(field),
        description,
        ja,
    )
}

fn invalid_client(description: &'static str, ja: &'static str) -> OAuthError {
    err(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        None,
        description,
        ja,
    )
}

fn server_error(context: &str, e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(%context, error = %e, "token endpoint failed");
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        None,
        "internal error",
        "内部エラー",
    )
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.error,
            "error_description": self.description,
            "error_description_ja": self.ja,
        });
        if let Some(f) = &self.field {
            body["field"] = json!(f);
        }
        crate::observe::oauth_refusal(self.error);
        if self.error == "slow_down" {
            crate::observe::rate_limited("oauth_client");
        }
        let mut resp = (self.status, Json(body)).into_response();
        // For the request line (crate::observe): the RFC 6749 code, a closed set.
        resp.extensions_mut()
            .insert(crate::observe::ErrorCode(self.error));
        let headers = resp.headers_mut();
        no_store(headers);
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tsunagi\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// POST /oauth/token.
pub async fn token(
    State(state): State<TokenService>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            return OAuthError {
                status,
                ..invalid_request(
                    "body",
                    "the request body could not be read (too large?)",
                    "リクエスト本文を読めません (大きすぎる可能性があります)",
                )
            }
            .into_response();
        }
    };
    match issue(&state, &headers, &body).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.status != StatusCode::INTERNAL_SERVER_ERROR {
                tracing::info!(error = e.error, field = ?e.field, "token request refused");
            }
            e.into_response()
        }
    }
}

/// Form parameters; a parameter without a value counts as omitted (§3.1), one sent twice is
/// an error (§3.2).
fn form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(invalid_request(
                &k,
                "a parameter is repeated",
                "パラメータが重複しています",
            ));
        }
    }
    Ok(params)
}

/// One form-urlencoded component (§2.3.1: id and secret are form-encoded inside Basic).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The client's credentials: HTTP Basic or the form fields, never both.
fn credentials(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(String, String), OAuthError> {
    let form_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return match (form_id, form_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            (None, None) => Err(invalid_client(
                "client authentication is required (HTTP Basic)",
                "クライアント認証が必要です (HTTP Basic)",
            )),
            (Some(_), None) => Err(invalid_request(
                "client_secret",
                "client_secret is required with client_id",
                "client_id には client_secret が必要です",
            )),
            (None, Some(_)) => Err(invalid_request(
                "client_id",
                "client_id is required with client_secret",
                "client_secret には client_id が必要です",
            )),
        };
    };
    if form_id.is_some() || form_secret.is_some() {
        return Err(invalid_request(
            "Authorization",
            "use one client authentication method, not both HTTP Basic and form fields",
            "クライアント認証は HTTP Basic かフォームのどちらか一方にしてください",
        ));
    }
    let malformed = || {
        invalid_request(
            "Authorization",
            "malformed Basic credentials",
            "Basic 認証情報の形式が不正です",
        )
    };
    let value = authorization.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            "unsupported client authentication method (use HTTP Basic)",
            "対応していないクライアント認証方式です (HTTP Basic を使ってください)",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    Ok((form_decode(id), form_decode(secret)))
}

fn bad_client() -> OAuthError {
    invalid_client(
        "client authentication failed",
        "クライアント認証に失敗しました",
    )
}

async fn issue(
    state: &TokenService,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(invalid_request(
            "Content-Type",
            "the body must be application/x-www-form-urlencoded",
            "本文は application/x-www-form-urlencoded にしてください",
        ));
    }
    let params = form(body)?;
    match params.get("grant_type").map(String::as_str) {
        None => {
            return Err(invalid_request(
                "grant_type",
                "grant_type is required",
                "grant_type は必須です",
            ))
        }
        Some(GRANT_TYPE) => {}
        Some(_) => {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                Some("grant_type"),
                "only grant_type=client_credentials is supported",
                "grant_type は client_credentials のみ対応しています",
            ))
        }
    }
    if !state.config.jwt.key.can_sign() {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            Some("grant_type"),
            "this hub issues no tokens: it has no signing key (TSUNAGI_JWT_SIGNING_KEY_FILE)",
            "このハブは署名鍵を持たないため、トークンを発行しません",
        ));
    }
    let (client_id, presented) = credentials(headers, &params)?;
    if presented.len() > secret::MAX_PRESENTED_LEN {
        return Err(bad_client());
    }
    let db = &state.db;
    let client = match uuid::Uuid::parse_str(&client_id) {
        Ok(id) => store::service_clients::by_id(db, &id.to_string())
            .await
            .map_err(|e| server_error("client lookup", e))?,
        Err(_) => None,
    };
    let Ok(_slot) = tokio::time::timeout(HASH_WAIT, state.hash_slots.acquire()).await else {
        return Err(OAuthError {
            retry_after: Some(1),
            ..err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
                "too many token requests at once; retry shortly",
                "トークン要求が混み合っています。少し待ってから再試行してください",
            )
        });
    };
    let stored = client.as_ref().map(|c| c.secret_hash.clone());
    let verified =
        tokio::task::spawn_blocking(move || secret::verify(stored.as_deref(), &presented))
            .await
            .map_err(|e| server_error("secret verification", e))?;
    let Some(client) = client.filter(|_| verified) else {
        // The id as the caller sent it may be anything (a swapped secret, control
        // characters): log only a canonical id.
        let shown = uuid::Uuid::parse_str(&client_id)
            .map_or_else(|_| "(not a client id)".to_owned(), |u| u.to_string());
        tracing::warn!(client = %shown, "client authentication failed");
        return Err(bad_client());
    };
    if client.revoked_at.is_some() {
        return Err(invalid_client(
            "the client has been revoked",
            "クライアントは失効しています",
        ));
    }
    if let Err(wait) = state.limiter.check(&client.id) {
        let secs = wait.as_secs().max(1);
        return Err(OAuthError {
            retry_after: Some(secs),
            ..err(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                None,
                "too many token requests for this client; retry later",
                "トークン要求が多すぎます。しばらくしてから再試行してください",
            )
        });
    }
    let account = store::registry::account(db, &client.account_id)
        .await
        .map_err(|e| server_error("client account", e))?;
    let agency = match &account {
        Some(a) => store::registry::agency(db, &a.agency_id)
            .await
            .map_err(|e| server_error("client agency", e))?,
        None => None,
    };
    let (Some(account), Some(_)) = (
        account.filter(|a| a.active && a.kind == "SERVICE"),
        agency.filter(|a| a.active),
    ) else {
        return Err(invalid_client(
            "the client's account is deactivated",
            "クライアントのアカウントは無効化されています",
        ));
    };
    // What the client may be given now: its scopes, within the account's current roles.
    let account_roles = Role::parse_set(&account.roles);
    let available: BTreeSet<Role> = Role::parse_set(&client.scopes)
        .into_iter()
        .filter(|r| account_roles.contains(r) && grantable(*r))
        .collect();
    let granted: BTreeSet<Role> = match params.get("scope") {
        None => available,
        Some(requested) => {
            let mut set = BTreeSet::new();
            for name in requested.split(' ').filter(|n| !n.is_empty()) {
                match Role::parse(name).filter(|r| available.contains(r)) {
                    Some(r) => set.insert(r),
                    None => {
                        return Err(err(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            Some("scope"),
                            "the requested scope exceeds the client's scopes",
                            "要求されたスコープはクライアントに許可されていません",
                        ))
                    }
                };
            }
            set
        }
    };
    if granted.is_empty() {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            Some("scope"),
            "no scope can be granted",
            "付与できるスコープがありません",
        ));
    }
    let ttl = state.config.oauth.token_ttl_secs;
    let token = mint_for_client(
        &state.config.jwt,
        &account.id,
        &client.id,
        client.secret_rotated_at.timestamp_micros(),
        &granted,
        ttl,
    )
    .map_err(|e| server_error("mint", e))?;
    tracing::info!(client = %client.id, account = %account.id, "client token issued");
    let scope: Vec<&str> = granted.iter().map(|r| r.as_str()).collect();
    let mut resp = Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope.join(" "),
    }))
    .into_response();
    no_store(resp.headers_mut());
    Ok(resp)
}
