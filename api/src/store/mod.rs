//! Data access: sea-orm queries, no GraphQL. Lists are scoped here, in SQL, to the records
//! the caller may know exist (the caller's agency's own records, or subjects whose consent
//! names the caller's agency or kind), from a [`ListScope`] the policy hands out.

pub mod activities;
pub mod cases;
pub mod consents;
pub mod consultations;
pub mod emergency;
pub mod facts;
pub mod households;
pub mod ledger;
pub mod meetings;
pub mod persons;
pub mod referrals;
pub mod registry;
pub mod resources;
pub mod service_clients;
pub mod write;

pub use write::{next_version, write, Versioned};

use std::time::Duration;

use base64::Engine;
use migration::MigratorTrait;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query, SelectStatement, UnionType};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::policy::{ListScope, Purpose};

/// How long a request waits for a database connection before it fails (INTERNAL). While the
/// database is down, opening a connection is retried until then (sqlx treats a refused
/// connection as a database starting up), so this bounds how long a request hangs. A
/// PostgreSQL restart is survived because every pooled connection is pinged before use
/// (`test_before_acquire`) and a dead one replaced by a new connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connect. SQLite gets one connection (it has one writer; a second connection inside a
/// transaction would deadlock or fail with SQLITE_BUSY), WAL and `synchronous=FULL` on every
/// connection the pool opens: a commit is fsynced to the WAL before it returns, so an
/// acknowledged write survives a process kill and a power loss (NORMAL would survive only
/// the kill). PostgreSQL keeps its own durability settings (`synchronous_commit`, `fsync`).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(true);
    if url.starts_with("sqlite:") {
        opts.max_connections(1).min_connections(1);
        if !url.contains(":memory:") {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
            });
        }
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// A new record id: UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The persons for whom the scope has a basis other than OWN for its category, now: an
/// active consent naming the agency or its kind, a 支援会議 the agency is a member of that
/// covers the person's household and declared the category, or an open emergency grant to
/// the account. The SQL twin of `policy::decide` for lists; rows are re-checked by it.
pub fn basis_subjects(scope: &ListScope) -> SelectStatement {
    let mut q = consenting(scope, true);
    q.union(UnionType::Distinct, meeting_subjects(scope))
        .union(UnionType::Distinct, emergency_subjects(scope));
    q
}

fn meeting_subjects(scope: &ListScope) -> SelectStatement {
    let mut q = Query::select();
    if scope.purpose != Purpose::Support {
        // Like the policy: a 支援会議 is a basis for the SUPPORT purpose only.
        q.and_where(Expr::val(1).eq(0));
    }
    q.column(("hm", "person_id"))
        .from_as("household_member", "hm")
        .join_as(
            JoinType::InnerJoin,
            "meeting",
            "m",
            Expr::col(("m", "household_id")).equals(("hm", "household_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "meeting_member",
            "mm",
            Expr::col(("mm", "meeting_id")).equals(("m", "id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "meeting_category",
            "mc",
            Expr::col(("mc", "meeting_id")).equals(("m", "id")),
        )
        // A current member only: `joined_on <= today < left_on` (policy::membership_current).
        .and_where(
            Expr::col(("hm", "joined_on"))
                .is_null()
                .or(Expr::col(("hm", "joined_on")).lte(scope.today())),
        )
        .and_where(
            Expr::col(("hm", "left_on"))
                .is_null()
                .or(Expr::col(("hm", "left_on")).gt(scope.today())),
        )
        .and_where(Expr::col(("m", "kind")).eq(facts::SUPPORT_MEETING_KIND))
        .and_where(Expr::col(("mm", "agency_id")).eq(scope.agency_id.as_str()))
        .and_where(Expr::col(("mc", "category")).eq(scope.category.as_str()))
        .and_where(Expr::col(("m", "period_from")).lte(scope.now))
        .and_where(Expr::col(("m", "period_until")).gt(scope.now))
        .to_owned()
}

fn emergency_subjects(scope: &ListScope) -> SelectStatement {
    Query::select()
        .column(("g", "person_id"))
        .from_as("emergency_grant", "g")
        .and_where(Expr::col(("g", "account_id")).eq(scope.account_id.as_str()))
        .and_where(Expr::col(("g", "closed_at")).is_null())
        .and_where(Expr::col(("g", "granted_at")).lte(scope.now))
        .and_where(Expr::col(("g", "expires_at")).gt(scope.now))
        .to_owned()
}

/// Like [`consenting_subjects`], but only consents that name the agency itself (what an
/// address_confidential address needs).
pub fn consenting_subjects_naming_agency(scope: &ListScope) -> SelectStatement {
    consenting(scope, false)
}

fn consenting(scope: &ListScope, by_kind: bool) -> SelectStatement {
    let named = Expr::col(("consent_recipient", "recipient_type"))
        .eq("AGENCY")
        .and(Expr::col(("consent_recipient", "recipient_value")).eq(scope.agency_id.as_str()));
    let recipient = if by_kind {
        named.or(Expr::col(("consent_recipient", "recipient_type"))
            .eq("AGENCY_KIND")
            .and(
                Expr::col(("consent_recipient", "recipient_value")).eq(scope.agency_kind.as_str()),
            ))
    } else {
        named
    };
    Query::select()
        .column(("c", "subject_person_id"))
        .from_as("consent", "c")
        .inner_join(
            "consent_category",
            Expr::col(("consent_category", "consent_id")).equals(("c", "id")),
        )
        .inner_join(
            "consent_recipient",
            Expr::col(("consent_recipient", "consent_id")).equals(("c", "id")),
        )
        .and_where(Expr::col(("consent_category", "category")).eq(scope.category.as_str()))
        .and_where(recipient)
        .and_where(Expr::col(("c", "purpose")).eq(scope.purpose.as_str()))
        .and_where(Expr::col(("c", "withdrawn_at")).is_null())
        .and_where(Expr::col(("c", "valid_from")).lte(scope.now))
        .and_where(
            Expr::col(("c", "valid_until"))
                .is_null()
                .or(Expr::col(("c", "valid_until")).gt(scope.now)),
        )
        .to_owned()
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
        let db = super::connect(&url).await.unwrap();
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
