//! `GET /export/{kind}`: what the caller may see of a list as a CSV file
//! ([`crate::export`]), UTF-8 with a BOM by default, `?encoding=cp932` for Shift_JIS,
//! `?system=` for whose references fill 宛名番号 (`csv` when not given). The reads are
//! ledgered (per subject, as the API records them) before the file leaves; a file CP932
//! cannot hold is refused (422) with every cell that cannot be written in it (the reads
//! ledgered all the same).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{error_body, import::caller, internal, AppState};
use crate::error::{is_pool_timeout_text, ApiError, Code};
use crate::export::{self, Kind, Refused};
use crate::graphql::context::RequestCtx;
use crate::import::Encoding;
use crate::shed::Shed;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Params {
    encoding: Option<String>,
    system: Option<String>,
}

fn bad(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        error_body(Code::BadUserInput, message, json!({ "field": field })),
    )
        .into_response()
}

pub(super) async fn handler(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if Kind::parse(&kind).is_none() {
        return bad("kind", "種類は persons です / kind must be persons");
    }
    let Ok(Query(params)) = params else {
        return bad(
            "query",
            "使える引数は encoding, system です / the parameters are encoding and system",
        );
    };
    let encoding = match params.encoding.as_deref().map(Encoding::parse) {
        None => Encoding::Utf8,
        Some(Some(e @ (Encoding::Utf8 | Encoding::Cp932))) => e,
        Some(_) => return bad("encoding", "utf-8 か cp932 です / utf-8 or cp932"),
    };
    let system = params.system.unwrap_or_else(|| "csv".to_owned());
    if let Err(e) = crate::graphql::external_ref::system("system", &system) {
        return bad("system", &e.message());
    }
    let _ticket = match state.admission.admit().await {
        Ok(ticket) => ticket,
        Err(why) => return state.admission.refuse(why, false),
    };
    let ctx = Arc::new(
        RequestCtx::new(
            principal.clone(),
            crate::audit::now_micros(),
            state.config.emergency_hours,
        )
        .with_replica(state.replica.clone()),
    );
    let timeout = state.config.limits.request_timeout;
    let result = export::persons(&state.schema, ctx.clone(), &system, encoding, timeout).await;
    // Ledgered before the file leaves, and before a CP932 refusal (which names cells'
    // characters, read as the caller): no answer built from reads without its rows.
    if matches!(result, Ok(_) | Err(Refused::Unencodable(_))) {
        let Some(entries) = ctx.recorder.entries(&principal, "export") else {
            return internal();
        };
        if let Err(e) = state.ledger.append(entries).await {
            if is_pool_timeout_text(&e) {
                return state.admission.refuse(Shed::DatabasePool, false);
            }
            tracing::error!(error = %e, "ledger write failed; export withheld");
            return internal();
        }
    }
    let file = match result {
        Ok(export) => export,
        Err(Refused::Unencodable(cells)) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                error_body(
                    Code::BadUserInput,
                    "CP932 で表せない文字があります。encoding=utf-8 で書き出してください / some characters cannot be written in CP932: export with encoding=utf-8",
                    json!({ "field": "encoding", "unencodable": cells }),
                ),
            )
                .into_response();
        }
        Err(Refused::Api(ApiError::Unavailable)) => {
            return state.admission.refuse(Shed::DatabasePool, false)
        }
        Err(Refused::Api(ApiError::Forbidden { message })) => {
            return (
                StatusCode::FORBIDDEN,
                error_body(Code::Forbidden, &message, json!({})),
            )
                .into_response()
        }
        Err(Refused::Api(e)) => {
            tracing::error!(error = ?e, "export failed; nothing returned");
            return internal();
        }
    };
    let content_type = match encoding {
        Encoding::Cp932 => "text/csv; charset=Shift_JIS",
        _ => "text/csv; charset=utf-8",
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"persons.csv\"".to_owned(),
            ),
        ],
        file.bytes,
    )
        .into_response()
}
