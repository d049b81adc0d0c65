//! FHIR R5 `Consent` over HTTP (application/fhir+json):
//!
//! - `GET /fhir/Consent?patient={personId}`: a searchset `Bundle` of the person's consents
//!   the caller may see;
//! - `GET /fhir/Consent/{id}`: one of them;
//! - `POST /fhir/Consent`: import one (`identifier`, when present, is the caller's agency's
//!   external reference: a re-post of the same resource writes nothing new).
//!
//! Each runs one fixed GraphQL operation on the schema with the caller's principal, exactly
//! as `POST /graphql` would: `consents(personId:)` for reads, `upsertConsent` (or
//! `recordConsent` without an identifier) for the import. So who may see or record what, the
//! validation and the ledger are the GraphQL layer's own code; this file only authenticates,
//! maps ([`crate::fhir`]) and answers errors as an `OperationOutcome`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::AppState;
use crate::audit;
use crate::auth;
use crate::error::{is_pool_timeout, is_pool_timeout_text};
use crate::fhir::consent::{to_fhir, ConsentView, SELECTION};
use crate::fhir::consent_import::{from_fhir, Imported};
use crate::fhir::{self, outcome, searchset};
use crate::graphql::consent_mutation::PresetWithdrawal;
use crate::graphql::context::RequestCtx;
use crate::policy::Principal;
use crate::shed::Shed;

/// A FHIR JSON answer.
fn answer(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json; charset=utf-8"),
    );
    r
}

/// An `OperationOutcome` answer with one issue.
fn failure(status: StatusCode, code: &str, ours: &str, text: &str, path: Option<&str>) -> Response {
    answer(status, &outcome(code, ours, text, path))
}

/// An error from GraphQL execution: its code, message and field.
struct Failed {
    code: String,
    message: String,
    field: Option<String>,
}

/// The errors of an operation as one `OperationOutcome`; `path` turns a GraphQL field into
/// the element of the resource it came from.
fn failed(errors: &[Failed], path: impl Fn(&str) -> Option<String>) -> Response {
    let status = match errors.first().map(|e| e.code.as_str()) {
        Some("NOT_FOUND") => StatusCode::NOT_FOUND,
        Some("FORBIDDEN" | "CONSENT_REQUIRED") => StatusCode::FORBIDDEN,
        Some("BAD_USER_INPUT") => StatusCode::UNPROCESSABLE_ENTITY,
        Some("CONFLICT") => StatusCode::CONFLICT,
        Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let issues: Vec<Value> = errors
        .iter()
        .flat_map(|e| {
            let kind = match e.code.as_str() {
                "NOT_FOUND" => "not-found",
                "FORBIDDEN" | "CONSENT_REQUIRED" => "forbidden",
                "BAD_USER_INPUT" => "invalid",
                "CONFLICT" => "conflict",
                _ => "exception",
            };
            let p = e.field.as_deref().and_then(&path);
            outcome(kind, &e.code, &e.message, p.as_deref())["issue"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    answer(
        status,
        &json!({ "resourceType": "OperationOutcome", "issue": issues }),
    )
}

fn internal() -> Response {
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "INTERNAL",
        "内部エラー / internal error",
        None,
    )
}

/// The caller, from the Authorization header (before any body is read).
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    match auth::authenticate(&state.db, &state.config.jwt, authorization).await {
        Ok(Ok(p)) => {
            if let Err(wait) = state.limiter.check(&p.account_id) {
                crate::observe::rate_limited("account");
                let mut r = failure(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    "RATE_LIMITED",
                    "リクエストが多すぎます / too many requests",
                    None,
                );
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Err(r);
            }
            Ok(p)
        }
        Ok(Err(f)) => {
            crate::observe::token_failure(f.reason());
            let mut r = failure(
                StatusCode::UNAUTHORIZED,
                "login",
                "UNAUTHENTICATED",
                f.message(),
                None,
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(r)
        }
        Err(e) if is_pool_timeout(&e) => Err(state.admission.refuse(Shed::DatabasePool, false)),
        Err(e) => {
            tracing::error!(error = %e, "authentication lookup failed");
            Err(internal())
        }
    }
}

/// Run one fixed GraphQL operation as `principal` (admitted, timed, ledgered as `POST
/// /graphql` does): its data, or its errors.
async fn run(
    state: &AppState,
    principal: &Principal,
    operation: &str,
    query: &str,
    variables: Value,
    withdrawal: Option<PresetWithdrawal>,
) -> Result<Result<Value, Vec<Failed>>, Response> {
    let _ticket = match state.admission.admit().await {
        Ok(t) => t,
        Err(why) => return Err(state.admission.refuse(why, false)),
    };
    let ctx = Arc::new(
        RequestCtx::new(
            principal.clone(),
            audit::now_micros(),
            state.config.emergency_hours,
        )
        .with_replica(state.replica.clone()),
    );
    let mut request = async_graphql::Request::new(query)
        .operation_name(operation)
        .variables(async_graphql::Variables::from_json(variables))
        .data(ctx.clone());
    if let Some(w) = withdrawal {
        request = request.data(w);
    }
    let execution = state.schema.execute(request);
    let Ok(response) = tokio::time::timeout(state.config.limits.request_timeout, execution).await
    else {
        return Err(state.admission.refuse(Shed::Timeout, false));
    };
    let errors: Vec<Failed> = response
        .errors
        .iter()
        .map(|e| {
            let ext = e.extensions.as_ref();
            let text = |k: &str| match ext.and_then(|x| x.get(k)) {
                Some(async_graphql::Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            Failed {
                code: text("code").unwrap_or_else(|| "INTERNAL".to_owned()),
                message: e.message.clone(),
                field: text("field"),
            }
        })
        .collect();
    if errors.iter().any(|e| e.code == "UNAVAILABLE") {
        return Err(state.admission.refuse(Shed::DatabasePool, false));
    }
    let Some(entries) = ctx.recorder.entries(principal, operation) else {
        return Err(internal());
    };
    if let Err(e) = state.ledger.append(entries).await {
        if is_pool_timeout_text(&e) {
            return Err(state.admission.refuse(Shed::DatabasePool, false));
        }
        tracing::error!(error = %e, "ledger write failed; response withheld");
        return Err(internal());
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    response.data.into_json().map(Ok).map_err(|_| internal())
}

/// The consents of a person as `consents(personId:)` answers them, as views.
async fn consents_of(
    state: &AppState,
    principal: &Principal,
    operation: &str,
    person: &str,
) -> Result<Vec<ConsentView>, Response> {
    let query =
        format!("query {operation}($p: ID!) {{ consents(personId: $p) {{ {SELECTION} }} }}");
    let data = match run(
        state,
        principal,
        operation,
        &query,
        json!({ "p": person }),
        None,
    )
    .await?
    {
        Ok(d) => d,
        Err(errors) => {
            return Err(failed(&errors, |f| {
                (f == "personId").then(|| "patient".to_owned())
            }))
        }
    };
    serde_json::from_value(data["consents"].clone()).map_err(|e| {
        tracing::error!(error = %e, "consent view");
        internal()
    })
}

/// GET /fhir/Consent?patient={personId} (or `Patient/{personId}`).
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // `_format` (json is all we answer) is the one other parameter accepted.
    if let Some(other) = params
        .keys()
        .find(|k| !["patient", "_format"].contains(&k.as_str()))
    {
        return failure(
            StatusCode::BAD_REQUEST,
            "not-supported",
            "BAD_USER_INPUT",
            &format!("検索条件 {other} は扱えません (patient のみ) / search parameter {other} is not supported (patient only)"),
            Some(other),
        );
    }
    let Some(patient) = params.get("patient") else {
        return failure(
            StatusCode::BAD_REQUEST,
            "required",
            "BAD_USER_INPUT",
            "patient (本人の ID) を指定してください / give patient (the person's id)",
            Some("patient"),
        );
    };
    let person = patient.strip_prefix("Patient/").unwrap_or(patient);
    match consents_of(&state, &principal, "FhirConsentSearch", person).await {
        Ok(list) => answer(
            StatusCode::OK,
            &searchset(list.iter().map(to_fhir).collect()),
        ),
        Err(r) => r,
    }
}

fn not_found() -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "not-found",
        "NOT_FOUND",
        "見つかりません / not found: id",
        Some("id"),
    )
}

/// GET /fhir/Consent/{id}: the consent if `consents(personId:)` shows it to the caller.
pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = crate::graphql::validate::id("id", &id) else {
        return not_found();
    };
    // Only the subject's id is taken from the row; what leaves is what the read shows.
    let subject = match crate::store::consents::get(&state.db, &id).await {
        Ok(Some(c)) => c.subject_person_id,
        Ok(None) => return not_found(),
        Err(e) if is_pool_timeout(&e) => return state.admission.refuse(Shed::DatabasePool, false),
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            return internal();
        }
    };
    match consents_of(&state, &principal, "FhirConsentRead", &subject).await {
        Ok(list) => match list.iter().find(|c| c.id == id) {
            Some(c) => answer(StatusCode::OK, &to_fhir(c)),
            None => not_found(),
        },
        Err(r) if r.status() == StatusCode::NOT_FOUND => not_found(),
        Err(r) => r,
    }
}

/// POST /fhir/Consent: record the resource through `upsertConsent` (with an `identifier`)
/// or `recordConsent`; 201 with the stored resource, 200 when the identifier already named
/// it, 422 with the element at fault when our model cannot hold the resource.
pub async fn create(State(state): State<AppState>, incoming: axum::extract::Request) -> Response {
    let (parts, body) = incoming.into_parts();
    let principal = match caller(&state, &parts.headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let json_body = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|m| m == fhir::MEDIA_TYPE || m == "application/json");
    if !json_body {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "BAD_USER_INPUT",
            "本文は application/fhir+json で送ってください / send the body as application/fhir+json",
            None,
        );
    }
    let body =
        match Bytes::from_request(axum::extract::Request::from_parts(parts, body), &state).await {
            Ok(b) => b,
            Err(rejection) => {
                return failure(
                    rejection.status(),
                    "too-costly",
                    "BAD_USER_INPUT",
                    "リクエスト本文を読めません / the request body could not be read",
                    None,
                )
            }
        };
    let resource: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "structure",
                "BAD_USER_INPUT",
                &format!(
                    "JSON ではありません / not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
                None,
            )
        }
    };
    let imported = match from_fhir(&resource, &principal.agency_id) {
        Ok(i) => i,
        Err(refusal) => {
            return failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-supported",
                "BAD_USER_INPUT",
                &format!("{}: {}", refusal.path, refusal.reason),
                Some(&refusal.path),
            )
        }
    };
    import(&state, &principal, imported).await
}

async fn import(state: &AppState, principal: &Principal, imported: Imported) -> Response {
    let op = "FhirConsentImport";
    let withdrawal = imported.withdrawal.clone().map(PresetWithdrawal);
    let (query, variables) = match &imported.reference {
        Some((system, value)) => (
            format!("mutation {op}($r: ExternalRefInput!, $i: RecordConsentInput!) {{ upsertConsent(ref: $r, input: $i) {{ created consent {{ {SELECTION} }} }} }}"),
            json!({ "r": { "system": system, "externalId": value }, "i": imported.input }),
        ),
        None => (
            format!("mutation {op}($i: RecordConsentInput!) {{ recordConsent(input: $i) {{ {SELECTION} }} }}"),
            json!({ "i": imported.input }),
        ),
    };
    let data = match run(state, principal, op, &query, variables, withdrawal).await {
        Err(r) => return r,
        Ok(Err(errors)) => {
            let mut r = failed(&errors, |f| Some(imported.path_for(f)));
            // The resource was read; what it names is missing or refused: not the URL.
            if r.status() == StatusCode::NOT_FOUND {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            return r;
        }
        Ok(Ok(d)) => d,
    };
    let (created, consent) = match data.get("upsertConsent") {
        Some(u) => (u["created"] == json!(true), u["consent"].clone()),
        None => (true, data["recordConsent"].clone()),
    };
    let Ok(view) = serde_json::from_value::<ConsentView>(consent) else {
        return internal();
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = answer(status, &to_fhir(&view));
    if let Ok(v) = HeaderValue::from_str(&format!("/fhir/Consent/{}", view.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", view.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}
