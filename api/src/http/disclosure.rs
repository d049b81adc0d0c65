//! `GET /disclosure/{personId}`: the person's disclosure report (開示請求,
//! [`crate::disclosure`]) for printing or filing, with the bearer token of POST /graphql.
//!
//! `?format=html`, or an `Accept` that names `text/html` (a browser), gives the printable
//! Japanese page (A4, `@page`, one inline `<style>`, no script, no external resource:
//! `Content-Security-Policy: default-src 'none'; style-src 'sha256-…'` of that style);
//! otherwise, or
//! with `?format=json`, the report as JSON (the fields of the GraphQL `DisclosureReport`).
//! Either way `Cache-Control: no-store`: the page holds a person's whole record.
//!
//! In order: 401 (the token, as on /graphql), 429 (the account's rate), 403 FORBIDDEN
//! (roles without `Action::Disclose`: everyone but admins), 400 (an id that is not one, a
//! format that is not html or json), 404 NOT_FOUND (no such person). The production's one
//! ledger row is committed before the answer leaves; if it cannot be, nothing leaves (500).

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{error_body, internal, unauthenticated, AppState};
use crate::auth;
use crate::disclosure;
use crate::error::{is_pool_timeout, is_pool_timeout_text, ApiError, Code};
use crate::policy::{self, Action};
use crate::shed::Shed;

/// The answer's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

pub(super) async fn handler(
    State(state): State<AppState>,
    Path(person_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut facts = crate::observe::RequestFacts::default();
    facts.set_operation(Some(disclosure::OPERATION));
    let response = match state.admission.admit().await {
        Ok(_ticket) => answer(&state, &person_id, query.as_deref(), &headers, &mut facts).await,
        Err(why) => state.admission.refuse(why, false),
    };
    (axum::Extension(facts), response).into_response()
}

async fn answer(
    state: &AppState,
    person_id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    facts: &mut crate::observe::RequestFacts,
) -> Response {
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
    if !policy::may(&principal, Action::Disclose) {
        return refusal(ApiError::forbidden(
            "開示報告書を作成できるのは管理者だけです / only admins produce disclosure reports",
        ));
    }
    let format = match format(query, headers) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    let person_id = match crate::graphql::validate::id("personId", person_id) {
        Ok(id) => id,
        Err(e) => return refusal(e),
    };
    let now = crate::audit::now_micros();
    let (report, entry) = match disclosure::produce(&state.db, &principal, &person_id, now).await {
        Ok(Some(produced)) => produced,
        Ok(None) => return refusal(ApiError::not_found("personId")),
        Err(ApiError::Unavailable) => return state.admission.refuse(Shed::DatabasePool, false),
        Err(e) => return refusal(e),
    };
    // Nothing leaves unledgered: the production's row is committed first.
    if let Err(e) = state.ledger.append(vec![entry]).await {
        if is_pool_timeout_text(&e) {
            return state.admission.refuse(Shed::DatabasePool, false);
        }
        tracing::error!(error = %e, "ledger write failed; disclosure report withheld");
        return internal();
    }
    let (content_type, body) = match format {
        Format::Html => (
            "text/html; charset=utf-8",
            disclosure::html::render(&report).into_bytes(),
        ),
        Format::Json => match serde_json::to_vec(&report) {
            Ok(bytes) => ("application/json", bytes),
            Err(e) => {
                tracing::error!(error = %e, "disclosure report did not serialise");
                return internal();
            }
        },
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Its one `<style>` by hash: nothing else may load or run.
    let csp = format!(
        "default-src 'none'; style-src {}",
        super::console::disclosure_style()
    );
    super::console::harden(h, &csp);
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// `?format=html|json` wins; else HTML when `Accept` names text/html, JSON otherwise.
fn format(query: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    let asked = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "format")
        .map(|(_, v)| v);
    match asked {
        Some("html") => Ok(Format::Html),
        Some("json") => Ok(Format::Json),
        Some(_) => Err(ApiError::bad_input(
            "format",
            "format は html か json です / format is html or json",
        )),
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Ok(if accept.contains("text/html") {
                Format::Html
            } else {
                Format::Json
            })
        }
    }
}

/// A refusal as a coded error body with its HTTP status.
fn refusal(e: ApiError) -> Response {
    let (status, extra) = match &e {
        ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, json!({})),
        ApiError::NotFound { field } => (StatusCode::NOT_FOUND, json!({ "field": field })),
        ApiError::BadInput { field, .. } => (StatusCode::BAD_REQUEST, json!({ "field": field })),
        _ => return internal(),
    };
    let mut response = (status, error_body(e.code(), &e.message(), extra)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
