//! Waking the change feed's subscribers (`subscription { changes }`, docs/design.md §4.15)
//! when a write commits. Only a wake-up: what a subscriber receives is always read again
//! from the feed (`Query.changes`), so a spurious wake-up costs one empty read and a lost one
//! only a delay until the next poll.
//!
//! - **PostgreSQL**: [`announce`] sends `pg_notify('tsunagi_changes', '')` inside the
//!   write's transaction; PostgreSQL delivers it at commit (never for a rolled-back one) to
//!   every session listening on the channel, in every hub process on the database. Each
//!   process listens on one connection of its own (`http::ws`'s listener) and [`bump`]s.
//! - **SQLite** (one process): [`committed`] bumps in-process after the commit.
//! - Either way each process also polls [`head`] about once a second and bumps when it
//!   moved, so a notification lost (a listener reconnecting) only delays.
//!
//! The bump is one process-wide counter ([`subscribe`] to it): a process serving several
//! databases (the test harness) wakes every subscriber for a write in any of them, which is
//! harmless.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use tokio::sync::watch;

use super::Handle;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "tsunagi_changes";

static BUS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Wake every subscriber of this process.
pub fn bump() {
    BUS.send_modify(|n| *n = n.wrapping_add(1));
}

/// A receiver that sees every [`bump`] from now on (several coalesce into one).
pub fn subscribe() -> watch::Receiver<u64> {
    BUS.subscribe()
}

/// Inside a write's transaction, before its commit: on PostgreSQL, notify the listeners of
/// every hub process (delivered when the transaction commits; inside a request transaction
/// the write's SAVEPOINT carries it to the request's commit).
pub async fn announce(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_notify('{CHANNEL}', '')"),
        ))
        .await?;
    }
    Ok(())
}

/// After a write's commit: on SQLite, wake this process's subscribers. A write inside a
/// request transaction has not committed yet (its SAVEPOINT has); the poll finds it.
pub fn committed(db: &impl Handle) {
    if db.get_database_backend() == DbBackend::Sqlite && db.request().is_none() {
        bump();
    }
}

/// The feed's current end: the last ledger row that is a write (0 for none). What one
/// statement sees is a prefix of the ledger (`store::changes`), so every write that commits
/// later has a higher `seq`: starting after the head misses none of them.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    // A literal predicate, so that the partial index `idx_audit_event_writes` applies.
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT MAX(seq) AS head FROM audit_event WHERE action = 'WRITE'",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<Option<i64>>("", "head")?.unwrap_or(0),
        None => 0,
    })
}
