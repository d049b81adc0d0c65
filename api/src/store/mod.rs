//! Data access: sea-orm queries, no GraphQL. Lists are scoped here, in SQL, to the records
//! the caller may know exist (the caller's agency's own records, or subjects the visibility
//! index lets it know: [`visibility`]), from a `policy::ListScope` the policy hands out.

pub mod activities;
pub mod batch;
pub mod cases;
pub mod changes;
pub mod consents;
pub mod consultations;
pub mod disclosure;
pub mod emergency;
pub mod external_refs;
pub mod facts;
mod handle;
pub mod households;
pub mod idempotency;
pub mod ledger;
pub mod links;
pub mod matches;
pub mod meetings;
pub mod persons;
pub mod referrals;
pub mod registry;
pub mod resources;
pub mod service_clients;
pub mod statistics;
pub mod visibility;
pub mod wake;
pub mod write;

pub use handle::{Db, Handle, RequestTxn};
pub use write::{next_version, write, Versioned};

use base64::Engine;
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::PoolSettings;

/// A pooled connection idle this long is pinged before it is handed out.
const POOL_PING_IF_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Connect with the pool `settings` (TSUNAGI_DATABASE_POOL_SIZE,
/// TSUNAGI_DATABASE_ACQUIRE_TIMEOUT_MS). A request waits at most `acquire_timeout` for a
/// connection; then the pool times out and the request is shed (503 UNAVAILABLE, see
/// [`crate::shed`]), never INTERNAL. While the database is down, opening a connection is
/// retried until then (sqlx treats a refused connection as a database starting up), so this
/// also bounds how long a request hangs. A PostgreSQL restart is survived because a pooled
/// connection that has been idle for a second or more is pinged before use and a dead one
/// replaced (a connection in use when the server went away fails its statement and is
/// closed). Busy connections are not pinged: a ping on every checkout doubled the round
/// trips of every statement, and under load each round trip waits for the scheduler; the
/// ledger's group commit, which waits on one statement per group, paid most (README §12).
///
/// SQLite gets one connection (it has one writer; a second connection inside a transaction
/// would deadlock or fail with SQLITE_BUSY: any other size is refused), WAL and
/// `synchronous=FULL` on every connection the pool opens: a commit is fsynced to the WAL
/// before it returns, so an acknowledged write survives a process kill and a power loss
/// (NORMAL would survive only the kill). PostgreSQL keeps its own durability settings
/// (`synchronous_commit`, `fsync`).
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let size = settings.size_for(url).map_err(DbErr::Custom)?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire_if_idle_for(POOL_PING_IF_IDLE)
        .max_connections(size)
        .min_connections(1);
    if url.starts_with("postgres") {
        // The hub's statements are short reads by key. Two planner features made them slow
        // at city scale, so the hub's own sessions turn them off (other clients of the
        // database keep the server's settings; README §12):
        // - parallel query: the policy facts statement got a two-worker plan, whose start-up
        //   halved the person search's throughput on two cores;
        // - JIT: the consultation list's estimate (an OR with a subquery) crossed
        //   `jit_above_cost`, and compiling took 56 ms of a query that runs in 1 ms.
        opts.map_sqlx_postgres_opts(|o| {
            o.options([("max_parallel_workers_per_gather", "0"), ("jit", "off")])
        });
    }
    if url.starts_with("sqlite:") && !url.contains(":memory:") {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
        });
    }
    // sea-orm's connection errors repeat the whole URL, password included.
    Database::connect(opts)
        .await
        .map_err(|e| DbErr::Custom(e.to_string().replace(url, &crate::config::redact(url))))
}

/// The pool's connections now: (open, idle, most). None for a connection without a pool.
pub fn pool_stats(db: &DatabaseConnection) -> Option<(u32, usize, u32)> {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            Some((p.size(), p.num_idle(), p.options().get_max_connections()))
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            Some((p.size(), p.num_idle(), p.options().get_max_connections()))
        }
        _ => None,
    }
}

/// Apply pending migrations, then fill the visibility index if a database from before it has
/// persons and no entries (so an upgrade needs no step of its own). Under the start lock:
/// replicas started together on an empty PostgreSQL take turns, and the second finds
/// nothing to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let lock = StartLock::take(db).await?;
    let done = async {
        migration::Migrator::up(db, None).await?;
        if let Some(n) = visibility::fill_if_empty(db).await? {
            tracing::info!(entries = n, "visibility index built");
        }
        Ok(())
    }
    .await;
    lock.release().await;
    done
}

/// The PostgreSQL advisory lock key of start-up work (migrations, the visibility index's first
/// fill, loading the demo); the ledger has a key of its own (`audit::PG_LEDGER_LOCK`).
pub const PG_START_LOCK: i64 = 32_778_045_498_681_194;

/// Held while one process does start-up work that another must not do at the same time. On
/// PostgreSQL a transaction-scoped advisory lock held by an open transaction on a connection
/// of its own, outside the pool (so a pool of one connection still works, the work itself may
/// use the pool, and behind PgBouncer in transaction mode the lock ends with the
/// transaction); released by [`StartLock::release`], by PostgreSQL when the process dies, and
/// within about half a minute when its host does (TCP keepalives on that session). On SQLite
/// nothing: the file's own locking serialises writers.
pub struct StartLock(Option<sea_orm::sqlx::postgres::PgConnection>);

impl StartLock {
    /// Wait for the lock, saying so every ten seconds.
    pub async fn take(db: &DatabaseConnection) -> Result<StartLock, DbErr> {
        use sea_orm::sqlx::ConnectOptions as _;
        if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(StartLock(None));
        }
        let failed = |e: sea_orm::sqlx::Error| {
            DbErr::Custom(format!(
                "起動時のロックを取得できません / cannot take the start-up lock: {e}"
            ))
        };
        let options = db.get_postgres_connection_pool().connect_options();
        let mut conn = options.connect().await.map_err(failed)?;
        for setting in [
            "SET tcp_keepalives_idle = 10",
            "SET tcp_keepalives_interval = 5",
            "SET tcp_keepalives_count = 3",
            // This transaction waits, idle, while migrations run on other connections.
            "SET idle_in_transaction_session_timeout = 0",
            "BEGIN",
        ] {
            sea_orm::sqlx::query(setting)
                .execute(&mut conn)
                .await
                .map_err(failed)?;
        }
        let since = std::time::Instant::now();
        let mut said = std::time::Duration::ZERO;
        loop {
            let taken: bool = sea_orm::sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(PG_START_LOCK)
                .fetch_one(&mut conn)
                .await
                .map_err(failed)?;
            if taken {
                return Ok(StartLock(Some(conn)));
            }
            if since.elapsed() >= said {
                tracing::info!(
                    waited_secs = since.elapsed().as_secs(),
                    "waiting for the start-up lock: another process is migrating or loading the demo"
                );
                said += std::time::Duration::from_secs(10);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Let the next process in.
    pub async fn release(self) {
        use sea_orm::sqlx::Connection as _;
        if let Some(mut conn) = self.0 {
            // The lock ends with the transaction; closing the session would end it too.
            if let Err(e) = sea_orm::sqlx::query("COMMIT").execute(&mut conn).await {
                tracing::warn!(error = %e, "ending the start-up lock's transaction");
            }
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the start-up lock's connection");
            }
        }
    }
}

/// A new record id: UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Page size and opaque cursor.
#[derive(Clone, Debug)]
pub struct Page {
    pub first: u64,
    pub after: Option<String>,
}

pub const MAX_PAGE: i32 = 100;

/// What a list's cursor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorKind {
    /// A record id (UUID).
    Id,
    /// `<micros>|<uuid>`: a timestamp and an id, for newest-first lists.
    TimeAndId,
    /// A ledger sequence number.
    Seq,
}

impl CursorKind {
    /// Whether `key` (a decoded cursor) is of this kind.
    pub fn accepts(self, key: &str) -> bool {
        let uuid = |s: &str| uuid::Uuid::parse_str(s).is_ok();
        match self {
            CursorKind::Id => uuid(key),
            CursorKind::TimeAndId => key
                .split_once('|')
                .is_some_and(|(t, id)| t.parse::<i64>().is_ok() && uuid(id)),
            CursorKind::Seq => key.parse::<i64>().is_ok_and(|n| n > 0),
        }
    }
}

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// The key a cursor holds (None: not a cursor this hub made).
pub fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use sea_orm::sqlx;

    /// Durability is decided per connection: not only the first connection but every one the
    /// pool opens later (after a dead one is dropped) is WAL with synchronous=FULL.
    #[tokio::test]
    async fn every_sqlite_connection_is_wal_and_synchronous_full() {
        let dir =
            std::env::temp_dir().join(format!("tsunagi-store-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let db = super::connect(&url, &Default::default()).await.unwrap();
        let pool = db.get_sqlite_connection_pool();
        for _ in 0..3 {
            let mut conn = pool.acquire().await.unwrap();
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!((synchronous, journal.as_str()), (2, "wal"), "2 is FULL");
            // Out of the pool and closed: the next acquire opens a new connection.
            drop(conn.detach());
        }
        db.close().await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
