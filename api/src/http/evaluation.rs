//! `GET /reports/evaluation/{fiscalYear}`: the yearly 事業評価 ([`crate::statistics::evaluation`])
//! as a file, with the bearer token of POST /graphql: `?format=csv` (the default; UTF-8
//! with a BOM and CRLF, what Excel opens) or `?format=json` (the fields of the GraphQL
//! `EvaluationReport`). Analysts and admins (`Action::Evaluate`); the report's one ledger
//! row is committed before the file leaves. `Cache-Control: no-store`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{error_body, import::caller, internal, AppState};
use crate::error::{is_pool_timeout_text, ApiError, Code};
use crate::policy::{self, Action};
use crate::shed::Shed;
use crate::statistics::evaluation;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Params {
    format: Option<String>,
}

fn refusal(status: StatusCode, code: Code, message: &str, field: Option<&str>) -> Response {
    let extra = field.map_or(json!({}), |f| json!({ "field": f }));
    (status, error_body(code, message, extra)).into_response()
}

pub(super) async fn handler(
    State(state): State<AppState>,
    Path(year): Path<String>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if !policy::may(&principal, Action::Evaluate) {
        return refusal(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "事業評価を読めるのは分析担当と管理者だけです / only analysts and admins read the evaluation report",
            None,
        );
    }
    let Ok(Query(params)) = params else {
        return refusal(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "使える引数は format です / the parameter is format",
            Some("query"),
        );
    };
    let csv = match params.format.as_deref() {
        None | Some("csv") => true,
        Some("json") => false,
        Some(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "format は csv か json です / format must be csv or json",
                Some("format"),
            )
        }
    };
    let Some(year) = year.parse::<i32>().ok().and_then(evaluation::fiscal_year) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            evaluation::YEAR_RANGE,
            Some("fiscalYear"),
        );
    };
    let _ticket = match state.admission.admit().await {
        Ok(ticket) => ticket,
        Err(why) => return state.admission.refuse(why, false),
    };
    let db = state.replica.as_ref().unwrap_or(&state.db);
    let report = match evaluation::report(db, year, state.config.limits.statistics_threshold).await
    {
        Ok(r) => r,
        Err(ApiError::Unavailable) => return state.admission.refuse(Shed::DatabasePool, false),
        Err(e) => {
            tracing::error!(error = ?e, "evaluation report failed; nothing returned");
            return internal();
        }
    };
    let body = if csv {
        evaluation::csv(&report)
    } else {
        serde_json::to_vec(&report).map_err(|e| ApiError::internal("evaluation json", e))
    };
    let Ok(body) = body else {
        return internal();
    };
    if let Err(e) = state
        .ledger
        .append(vec![evaluation::entry(&principal, year)])
        .await
    {
        if is_pool_timeout_text(&e) {
            return state.admission.refuse(Shed::DatabasePool, false);
        }
        tracing::error!(error = %e, "ledger write failed; evaluation report withheld");
        return internal();
    }
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", format!("evaluation-{year}.csv"))
    } else {
        ("application/json", format!("evaluation-{year}.json"))
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
