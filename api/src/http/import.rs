//! `POST /import/{kind}`: a CSV file imported as the caller, into the caller's own agency
//! (the same import as `tsunagi import`, [`crate::import::run`]).
//!
//! The body is the file itself (`Content-Type: text/csv` or `application/octet-stream`), or
//! `multipart/form-data` with the file in a part named `file` and, optionally, a header
//! mapping in a part named `mapping`. Query parameters: `encoding` (auto, utf-8, cp932),
//! `system` (the agency system the ids belong to; `csv` when not given), `dryRun`,
//! `skipBadRows` (`true` / `false`).
//!
//! The answer is the import's report as JSON: 200 when it was written (or, in a dry run,
//! would be), 422 when a problem with the file stopped it (nothing written). With
//! `Accept: text/csv` the report's problems come as a CSV file instead (UTF-8 with BOM),
//! with the same status.

use axum::extract::{FromRequest, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{error_body, internal, unauthenticated, AppState};
use crate::auth;
use crate::error::{is_pool_timeout, ApiError, Code};
use crate::import::{self, Encoding, Kind, Mapping};
use crate::policy::Principal;
use crate::shed::Shed;

/// Largest file `POST /import` takes: 64 MiB (a city's 100,000 persons are about 15 MiB).
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Params {
    encoding: Option<String>,
    system: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    skip_bad_rows: bool,
}

fn bad(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        error_body(Code::BadUserInput, message, json!({ "field": field })),
    )
        .into_response()
}

/// The caller from the Authorization header, before the body is read; its rate limit.
pub(super) async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let principal = match auth::authenticate(&state.db, &state.config.jwt, authorization).await {
        Ok(Ok(p)) => p,
        Ok(Err(f)) => return Err(unauthenticated(f)),
        Err(e) if is_pool_timeout(&e) => {
            return Err(state.admission.refuse(Shed::DatabasePool, false))
        }
        Err(e) => {
            tracing::error!(error = %e, "authentication lookup failed");
            return Err(internal());
        }
    };
    if let Err(wait) = state.limiter.check(&principal.account_id) {
        crate::observe::rate_limited("account");
        let secs = wait.as_secs().max(1);
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            error_body(
                Code::RateLimited,
                "リクエストが多すぎます / too many requests",
                json!({ "retryAfter": secs }),
            ),
        )
            .into_response());
    }
    Ok(principal)
}

/// The file and the mapping from the body (raw, or multipart parts `file` and `mapping`).
async fn body(
    state: &AppState,
    headers: &HeaderMap,
    incoming: axum::extract::Request,
) -> Result<(Vec<u8>, Mapping), Response> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let unreadable = |e: String| {
        bad(
            "body",
            &format!("本文を読めません (上限 {IMPORT_BODY_LIMIT} バイト) / the body could not be read (at most {IMPORT_BODY_LIMIT} bytes): {e}"),
        )
    };
    if !multipart {
        let bytes = axum::body::Bytes::from_request(incoming, state)
            .await
            .map_err(|e| unreadable(e.body_text()))?;
        return Ok((bytes.to_vec(), Mapping::default()));
    }
    let mut form = Multipart::from_request(incoming, state)
        .await
        .map_err(|e| unreadable(e.body_text()))?;
    let (mut file, mut mapping) = (None, Mapping::default());
    let mut seen = std::collections::BTreeSet::new();
    while let Some(part) = form
        .next_field()
        .await
        .map_err(|e| unreadable(e.body_text()))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        // Two files (or two mappings) would leave which one was imported to the order of
        // the parts: refused, as an unknown part is.
        if !seen.insert(name.clone()) {
            return Err(bad(
                &name,
                "同じ名前の部分が2つあります / two parts of the same name",
            ));
        }
        let bytes = part.bytes().await.map_err(|e| unreadable(e.body_text()))?;
        match name.as_str() {
            "file" => file = Some(bytes.to_vec()),
            "mapping" => {
                let text = import::decode(&bytes, Encoding::Auto)
                    .map_err(|e| bad("mapping", &e.to_string()))?
                    .text;
                mapping = Mapping::parse(&text).map_err(|errors| {
                    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    bad("mapping", &lines.join("; "))
                })?;
            }
            other => {
                return Err(bad(
                    other,
                    "不明な部分です (file と mapping のみ) / unknown part: only file and mapping",
                ))
            }
        }
    }
    let file = file.ok_or_else(|| {
        bad(
            "file",
            "file という名前の部分がありません / no part named file",
        )
    })?;
    Ok((file, mapping))
}

pub(super) async fn handler(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    incoming: axum::extract::Request,
) -> Response {
    let headers = incoming.headers().clone();
    let principal = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let Some(kind) = Kind::parse(&kind) else {
        return bad(
            "kind",
            "種類は persons, households, memberships, consultations, consents のいずれかです / kind must be persons, households, memberships, consultations or consents",
        );
    };
    let Ok(Query(params)) = params else {
        return bad(
            "query",
            "使える引数は encoding, system, dryRun, skipBadRows です / the parameters are encoding, system, dryRun, skipBadRows",
        );
    };
    let encoding = match params.encoding.as_deref().map(Encoding::parse) {
        None => Encoding::Auto,
        Some(Some(e)) => e,
        Some(None) => {
            return bad(
                "encoding",
                "auto, utf-8, cp932 のいずれかです / auto, utf-8 or cp932",
            )
        }
    };
    let system = params.system.unwrap_or_else(|| "csv".to_owned());
    if let Err(e) = crate::graphql::external_ref::system("system", &system) {
        return bad("system", &e.message());
    }
    let _ticket = match state.admission.admit().await {
        Ok(ticket) => ticket,
        Err(why) => return state.admission.refuse(why, false),
    };
    let (bytes, mapping) = match body(&state, &headers, incoming).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let options = import::Options {
        kind,
        encoding,
        mapping,
        system,
        dry_run: params.dry_run,
        skip_bad_rows: params.skip_bad_rows,
    };
    let report = match import::run(
        &state.schema,
        &state.db,
        &principal,
        crate::audit::now_micros(),
        &bytes,
        &options,
    )
    .await
    {
        Ok(report) => report,
        Err(ApiError::Forbidden { message }) => {
            return (
                StatusCode::FORBIDDEN,
                error_body(
                    Code::Forbidden,
                    &format!("権限がありません / forbidden: {message}"),
                    json!({}),
                ),
            )
                .into_response()
        }
        Err(ApiError::Conflict { message }) => {
            return (
                StatusCode::CONFLICT,
                error_body(Code::Conflict, &message, json!({})),
            )
                .into_response()
        }
        Err(ApiError::Unavailable) => return state.admission.refuse(Shed::DatabasePool, false),
        Err(e) => {
            tracing::error!(error = ?e, "import failed; nothing written");
            return internal();
        }
    };
    let status = if report.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    if wants_csv {
        return (
            status,
            no_store,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.errors_csv(),
        )
            .into_response();
    }
    (status, no_store, Json(report)).into_response()
}
