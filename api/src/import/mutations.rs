//! Rows written by the mutation they are: each row of a consultations or consents file is
//! executed as `upsertConsultation` / `upsertConsent` through the schema, as the importing
//! account, in the import's one request transaction (`store::RequestTxn`: every row a
//! savepoint, the ledger rows appended at the commit). So a row is checked, written and
//! ledgered by exactly the code the API runs, and:
//!
//! - a row the mutation refuses is an error of its line (its savepoint rolled back);
//! - with any refused row and no `skip_bad_rows`, or in a dry run, the whole transaction
//!   rolls back: nothing is written, yet every row was tried against the database as it is;
//! - a re-run writes nothing: the upsert finds each row's reference with the same input.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

use super::columns::Kind;
use super::records::RowToRun;
use super::RowError;
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::RequestCtx;
use crate::graphql::TsunagiSchema;
use crate::policy::Principal;
use crate::store::{Db, RequestTxn};

/// What executing the rows did.
pub struct Applied {
    pub created: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// Committed (not a dry run, and no refused row unless skipped).
    pub written: bool,
}

fn document(kind: Kind) -> ApiResult<(&'static str, &'static str)> {
    match kind {
        Kind::Consultations => Ok((
            "upsertConsultation",
            "mutation importRow($r: ExternalRefInput!, $i: RecordConsultationInput!) { upsertConsultation(ref: $r, input: $i) { created } }",
        )),
        Kind::Consents => Ok((
            "upsertConsent",
            "mutation importRow($r: ExternalRefInput!, $i: RecordConsentInput!) { upsertConsent(ref: $r, input: $i) { created } }",
        )),
        Kind::Households | Kind::Memberships => Ok((
            "upsertHousehold",
            "mutation importRow($r: ExternalRefInput!, $m: [MemberInput!]!) { upsertHousehold(ref: $r, members: $m) { created } }",
        )),
        Kind::Persons => Err(ApiError::internal("import", "persons are written in batches")),
    }
}

/// The error of a row from the mutation's answer: the API's field path and message, at the
/// line of the row (or of the household member) it is about.
fn row_error(row: &RowToRun, e: &async_graphql::ServerError) -> RowError {
    let field = e.extensions.as_ref().and_then(|x| match x.get("field") {
        Some(async_graphql::Value::String(s)) => Some(s.clone()),
        _ => None,
    });
    RowError::new(row.line_of(field.as_deref()), field, e.message.clone())
}

fn code(e: &async_graphql::ServerError) -> Option<String> {
    match e.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Execute every row as `principal`; commit only if the errors allow it (see the module's
/// documentation). `summary` (created, unchanged, the rows' errors) is the import's own
/// ledger row, appended with the rows'.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    schema: &TsunagiSchema,
    db: &DatabaseConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    kind: Kind,
    system: &str,
    rows: Vec<RowToRun>,
    dry_run: bool,
    skip_bad_rows: bool,
    summary: impl FnOnce(usize, usize, &[RowError]) -> Entry,
) -> ApiResult<Applied> {
    let (field, query) = document(kind)?;
    let request = RequestTxn::begin(db).await?;
    let ctx = Arc::new(RequestCtx::new(principal.clone(), now, 4));
    let mut applied = Applied {
        created: 0,
        unchanged: 0,
        errors: Vec::new(),
        written: false,
    };
    for mut row in rows {
        let mut variables = std::mem::take(&mut row.variables);
        variables["r"] = json!({ "system": system, "externalId": row.reference });
        let gql = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(ctx.clone())
            .data(Db::Txn(request.clone()));
        let response = schema.execute(gql).await;
        if let Some(e) = response
            .errors
            .iter()
            .find(|e| matches!(code(e).as_deref(), Some("INTERNAL" | "UNAVAILABLE") | None))
        {
            // The database or the hub failed, not the row: nothing of the import stays.
            return Err(match code(e).as_deref() {
                Some("UNAVAILABLE") => ApiError::Unavailable,
                _ => ApiError::internal("import", e.message.clone()),
            });
        }
        if !response.errors.is_empty() {
            applied
                .errors
                .extend(response.errors.iter().map(|e| row_error(&row, e)));
            continue;
        }
        let data = response.data.into_json().unwrap_or(Value::Null);
        if data[field]["created"] == true {
            applied.created += 1;
        } else {
            applied.unchanged += 1;
        }
    }
    let keep = !dry_run && (applied.errors.is_empty() || skip_bad_rows) && applied.created > 0;
    let (txn, mut entries) = RequestTxn::finish(request)
        .ok_or_else(|| ApiError::internal("import", "the import's transaction is still in use"))?;
    if !keep {
        // Dropped: rolled back, nothing of any row stays.
        drop(txn);
        return Ok(applied);
    }
    let reads = ctx
        .recorder
        .entries(principal, field)
        .ok_or_else(|| ApiError::internal("import", "the rows' reads could not be collected"))?;
    entries.extend(reads);
    entries.push(summary(applied.created, applied.unchanged, &applied.errors));
    audit::append(&txn, entries).await?;
    txn.commit().await?;
    applied.written = true;
    Ok(applied)
}
