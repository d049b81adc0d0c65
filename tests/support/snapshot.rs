//! The whole database as text, table by table: what "nothing written" is checked against.
//! Every column of every row is cast to text in SQL, so a change to any value (a version,
//! a `closed_at`, a status) shows, not only new rows. Tables are found in the catalogue, so
//! a new table is covered without touching this file.
//!
//! Every "nothing written" check of the end-to-end tests and of the no-leak runner goes
//! through [`Server::assert_unchanged`] (not a byte changed, ledger included; or
//! [`Server::writes_nothing`] around one request),
//! [`Server::assert_only_reads`] (at most READ rows added to the ledger) or, where a test
//! collects problems instead of panicking, [`writes`].

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::{Gql, Server};

/// Table → its rows, each row its columns joined, sorted.
pub type Snapshot = BTreeMap<String, Vec<String>>;

/// The migrations' own bookkeeping is not data a request could write.
const SKIP: &[&str] = &["seaql_migrations"];

/// The ledger is append-only and hash-chained: per action, its length and last row stand
/// for it (the chain itself is verified elsewhere), which keeps a snapshot cheap however
/// long it grows. Its READ rows are their own entry, [`LEDGER_READS`]; its WRITE rows
/// `audit_event WRITE`.
const LEDGER: &str = "audit_event";

/// The snapshot entry of the ledger's READ rows: what a read (or a refusal that looked at
/// records) may add without writing anything.
pub const LEDGER_READS: &str = "audit_event READ";

async fn strings(srv: &Server, sql: String) -> Vec<String> {
    let backend = srv.db.get_database_backend();
    srv.db
        .query_all_raw(Statement::from_string(backend, sql.clone()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            row.try_get_by_index::<String>(0)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
        .collect()
}

/// The one query that reads every table (found in the catalogue once, when this is made;
/// a [`Server`] keeps one, see [`Server::snapshot`]).
pub struct Snapshotter {
    sql: String,
}

impl Snapshotter {
    pub async fn new(srv: &Server) -> Snapshotter {
        let backend = srv.db.get_database_backend();
        let tables = match backend {
            DatabaseBackend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            _ => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        };
        let mut selects = Vec::new();
        for table in strings(srv, tables.to_owned()).await {
            if SKIP.contains(&table.as_str()) {
                continue;
            }
            if table == LEDGER {
                selects.push(format!(
                    "SELECT '{LEDGER} ' || action || '\t' || CAST(COUNT(*) AS TEXT) || '|' || CAST(MAX(seq) AS TEXT) FROM \"{LEDGER}\" GROUP BY action"
                ));
                continue;
            }
            let columns = match backend {
                DatabaseBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
                _ => format!(
                    "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
                ),
            };
            let row = strings(srv, columns)
                .await
                .iter()
                .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '∅')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            selects.push(format!(
                "SELECT '{table}' || '\t' || {row} FROM \"{table}\""
            ));
        }
        Snapshotter {
            sql: selects.join(" UNION ALL "),
        }
    }

    /// Every table's rows, as text.
    pub async fn take(&self, srv: &Server) -> Snapshot {
        let mut out = Snapshot::new();
        for line in strings(srv, self.sql.clone()).await {
            let (table, row) = line.split_once('\t').expect("table\trow");
            out.entry(table.to_owned())
                .or_default()
                .push(row.to_owned());
        }
        for rows in out.values_mut() {
            rows.sort();
        }
        out
    }
}

/// The tables whose rows differ between two snapshots (the ledger as `audit_event READ`
/// and `audit_event WRITE`).
pub fn changed(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .cloned()
        .collect()
}

/// What changed between two snapshots, one line per table with the rows gone and the rows
/// new (a few of each), for a failure message.
pub fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    const SHOWN: usize = 4;
    let empty = Vec::new();
    changed(before, after)
        .into_iter()
        .map(|t| {
            let (b, a) = (
                before.get(&t).unwrap_or(&empty),
                after.get(&t).unwrap_or(&empty),
            );
            let gone: Vec<&String> = b.iter().filter(|r| !a.contains(r)).collect();
            let new: Vec<&String> = a.iter().filter(|r| !b.contains(r)).collect();
            let few = |rows: &[&String]| {
                let mut s: Vec<String> = rows.iter().take(SHOWN).map(|r| r.to_string()).collect();
                if rows.len() > SHOWN {
                    s.push(format!("… {} more", rows.len() - SHOWN));
                }
                s.join("; ")
            };
            format!("{t}: gone [{}] new [{}]", few(&gone), few(&new))
        })
        .collect()
}

/// What was written between two snapshots, READ rows of the ledger aside (one line per
/// table, see [`changes`]); empty when nothing was.
pub fn writes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let strip = |s: &Snapshot| {
        let mut s = s.clone();
        s.remove(LEDGER_READS);
        s
    };
    changes(&strip(before), &strip(after))
}

impl Server {
    /// The whole database now: every table, every column (the ledger by action, its length
    /// and last row).
    pub async fn snapshot(&self) -> Snapshot {
        self.snapshotter
            .get_or_init(|| Snapshotter::new(self))
            .await
            .take(self)
            .await
    }

    /// Panics (naming `context` and what changed) unless the database is exactly as it was
    /// at `before`: no table written, not even the ledger.
    pub async fn assert_unchanged(&self, before: &Snapshot, context: impl Display) {
        let diff = changes(before, &self.snapshot().await);
        assert!(diff.is_empty(), "{context}: written: {diff:#?}");
    }

    /// Panics (naming `context` and what changed) unless nothing but READ rows of the
    /// ledger was added since `before`: no table written, no WRITE row ledgered.
    pub async fn assert_only_reads(&self, before: &Snapshot, context: impl Display) {
        let diff = writes(before, &self.snapshot().await);
        assert!(diff.is_empty(), "{context}: written: {diff:#?}");
    }

    /// Runs `request` and panics unless it wrote nothing at all, not even the ledger;
    /// returns its answer.
    pub async fn writes_nothing(&self, request: impl Future<Output = Gql>) -> Gql {
        let before = self.snapshot().await;
        let r = request.await;
        self.assert_unchanged(&before, format!("nothing written: {}", r.body))
            .await;
        r
    }
}
