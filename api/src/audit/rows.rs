//! How chained ledger rows are written: on PostgreSQL one prepared statement whatever the
//! number of rows (the rows as one JSON parameter), on SQLite multi-row INSERTs.

use chrono::SecondsFormat;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Statement};

use entity::audit_event;

/// Ledger rows per INSERT statement on SQLite (19 columns × 500 rows stays under its bind
/// parameter limit).
const APPEND_CHUNK: usize = 500;

/// PostgreSQL: all the rows in ONE statement whose text never changes, so the connection
/// prepares and plans it once and reuses it: the rows travel as one JSON parameter that
/// `json_to_recordset` unpacks. (A multi-row `INSERT ... VALUES` with 19 binds per row is a
/// new statement for every row count, parsed and planned each time; sea-query builds it
/// value by value first.) The stored values are the very strings that were hashed.
pub(super) const PG_INSERT: &str =
    "INSERT INTO \"audit_event\" (seq, id, at, account_id, agency_id, roles, \
    action, operation, record_type, record_id, subject_person_id, shown, withheld, bases, \
    detail, policy_version, prev_hash, hash, client_id) \
    SELECT seq, id, at, account_id, agency_id, roles, action, operation, record_type, \
    record_id, subject_person_id, shown, withheld, bases, detail, policy_version, prev_hash, \
    hash, client_id FROM json_to_recordset($1::json) AS r(seq bigint, id text, at timestamptz, \
    account_id text, agency_id text, roles text, action text, operation text, \
    record_type text, record_id text, subject_person_id text, shown text, withheld text, \
    bases text, detail text, policy_version integer, prev_hash text, hash text, \
    client_id text)";

/// [`PG_INSERT`] as a statement of its own (autocommit) that first takes the chain lock,
/// for the group commit (group.rs): one round trip and one commit instead of BEGIN, lock,
/// tail, INSERT, COMMIT. The lock is a transaction lock of the statement's implicit
/// transaction, held until its commit; every row to insert comes out of a join with the
/// subquery that takes it, so no row is inserted before the lock is held (a volatile
/// subquery is never flattened away). Keep the column lists in step with PG_INSERT.
pub(super) const PG_INSERT_LOCKED: &str = "INSERT INTO \"audit_event\" (seq, id, at, \
    account_id, agency_id, roles, \
    action, operation, record_type, record_id, subject_person_id, shown, withheld, bases, \
    detail, policy_version, prev_hash, hash, client_id) \
    SELECT seq, id, at, account_id, agency_id, roles, action, operation, record_type, \
    record_id, subject_person_id, shown, withheld, bases, detail, policy_version, prev_hash, \
    hash, client_id FROM (SELECT pg_advisory_xact_lock(32778045498681193)) AS chain_lock, \
    json_to_recordset($1::json) AS r(seq bigint, id text, at timestamptz, \
    account_id text, agency_id text, roles text, action text, operation text, \
    record_type text, record_id text, subject_person_id text, shown text, withheld text, \
    bases text, detail text, policy_version integer, prev_hash text, hash text, \
    client_id text)";

/// One row as `json_to_recordset` reads it (`at` as RFC 3339 with microseconds, which
/// PostgreSQL parses back to the same instant).
#[derive(serde::Serialize)]
struct PgRow<'a> {
    seq: i64,
    id: &'a str,
    at: String,
    account_id: Option<&'a str>,
    agency_id: Option<&'a str>,
    roles: &'a str,
    action: &'a str,
    operation: &'a str,
    record_type: &'a str,
    record_id: Option<&'a str>,
    subject_person_id: Option<&'a str>,
    shown: &'a str,
    withheld: &'a str,
    bases: &'a str,
    detail: &'a str,
    policy_version: i32,
    prev_hash: &'a str,
    hash: &'a str,
    client_id: Option<&'a str>,
}

impl<'a> PgRow<'a> {
    fn of(r: &'a audit_event::Model) -> Self {
        PgRow {
            seq: r.seq,
            id: &r.id,
            at: r.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            account_id: r.account_id.as_deref(),
            agency_id: r.agency_id.as_deref(),
            roles: &r.roles,
            action: &r.action,
            operation: &r.operation,
            record_type: &r.record_type,
            record_id: r.record_id.as_deref(),
            subject_person_id: r.subject_person_id.as_deref(),
            shown: &r.shown,
            withheld: &r.withheld,
            bases: &r.bases,
            detail: &r.detail,
            policy_version: r.policy_version,
            prev_hash: &r.prev_hash,
            hash: &r.hash,
            client_id: r.client_id.as_deref(),
        }
    }
}

/// The rows as the JSON parameter of [`PG_INSERT`] / [`PG_INSERT_LOCKED`].
pub(super) fn json_rows(rows: &[audit_event::Model]) -> Result<String, DbErr> {
    serde_json::to_string(&rows.iter().map(PgRow::of).collect::<Vec<_>>())
        .map_err(|e| DbErr::Custom(format!("ledger rows: {e}")))
}

/// Run one of the PostgreSQL inserts and check that every row went in.
pub(super) async fn pg_insert<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    rows: &[audit_event::Model],
) -> Result<(), DbErr> {
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            [json_rows(rows)?.into()],
        ))
        .await?;
    if done.rows_affected() != rows.len() as u64 {
        return Err(DbErr::Custom(format!(
            "ledger: {} of {} rows inserted",
            done.rows_affected(),
            rows.len()
        )));
    }
    Ok(())
}

/// Insert chained rows inside `txn` (which holds the chain lock).
pub(super) async fn insert_rows<C: ConnectionTrait>(
    txn: &C,
    rows: Vec<audit_event::Model>,
) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        return pg_insert(txn, PG_INSERT, &rows).await;
    }
    // SQLite (embedded, no planning round trip): multi-row INSERTs, chunked to stay under
    // its bind parameter limit (19 columns × 500 rows).
    let mut rows: Vec<audit_event::ActiveModel> = rows.into_iter().map(Into::into).collect();
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(APPEND_CHUNK));
        audit_event::Entity::insert_many(std::mem::replace(&mut rows, rest))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_insert_takes_the_chain_lock_and_matches_the_plain_one() {
        let lock = format!("pg_advisory_xact_lock({})", super::super::PG_LEDGER_LOCK);
        assert!(PG_INSERT_LOCKED.contains(&lock), "{PG_INSERT_LOCKED}");
        let cols =
            |s: &str| s[s.find("INSERT INTO").unwrap()..s.find("SELECT seq").unwrap()].to_owned();
        assert_eq!(cols(PG_INSERT), cols(PG_INSERT_LOCKED));
        let tail = |s: &str| s[s.find("json_to_recordset").unwrap()..].replace("  ", " ");
        assert_eq!(tail(PG_INSERT), tail(PG_INSERT_LOCKED));
    }
}
