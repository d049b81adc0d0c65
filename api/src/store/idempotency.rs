//! The stored answers of mutations sent with an `Idempotency-Key` (table `idempotency_key`;
//! the rules are `http::idempotency`'s). Every statement but [`purge`] runs in the request's
//! own transaction, so a stored answer commits with the effect it describes, or neither does.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Statement,
};
use sha2::{Digest, Sha256};

use entity::idempotency_key;

/// Take the key for this transaction, without waiting: false when another transaction (of
/// any hub process) holds it. PostgreSQL: `pg_try_advisory_xact_lock` on 64 bits of a hash
/// of scope and key, in the two-`int4` key space (apart from the hub's own `bigint` locks:
/// the ledger's, start-up's, the admin rule's), released by COMMIT or ROLLBACK, and by
/// PostgreSQL when the session dies. SQLite: always true (one process, one connection; the
/// process's own set of running keys decides).
pub async fn try_lock(txn: &DatabaseTransaction, scope: &str, key: &str) -> Result<bool, DbErr> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(true);
    }
    let digest = Sha256::new()
        .chain_update(b"idempotency_key\0")
        .chain_update(scope.as_bytes())
        .chain_update(b"\0")
        .chain_update(key.as_bytes())
        .finalize();
    let half = |at: usize| {
        let mut four = [0u8; 4];
        four.copy_from_slice(&digest[at..at + 4]);
        i32::from_be_bytes(four)
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1, $2) AS locked",
            [half(0).into(), half(4).into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get::<bool>("", "locked"),
        None => Ok(false),
    }
}

/// The stored answer under `(scope, key)`, expired or not.
pub async fn find(
    txn: &DatabaseTransaction,
    scope: &str,
    key: &str,
) -> Result<Option<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned()))
        .one(txn)
        .await
}

/// Remove an expired answer, so that the key can be used again.
pub async fn forget(txn: &DatabaseTransaction, scope: &str, key: &str) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Scope.eq(scope))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(txn)
        .await?;
    Ok(())
}

/// Store an answer (in the request's transaction, before its COMMIT).
pub async fn store(txn: &DatabaseTransaction, answer: idempotency_key::Model) -> Result<(), DbErr> {
    idempotency_key::ActiveModel::from(answer)
        .insert(txn)
        .await?;
    Ok(())
}

/// Delete every answer that expired before `now` (one statement on the `expires_at` index);
/// returns how many.
pub async fn purge(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}
