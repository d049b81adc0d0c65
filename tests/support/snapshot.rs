//! The whole database as text, table by table: what "nothing written" is checked against.
//! Every column of every row is cast to text in SQL, so a change to any value (a version,
//! a `closed_at`, a status) shows, not only new rows. Tables are found in the catalogue, so
//! a new table is covered without touching this file.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::Server;

/// Table → its rows, each row its columns joined, sorted.
pub type Snapshot = BTreeMap<String, Vec<String>>;

/// The migrations' own bookkeeping is not data a request could write.
const SKIP: &[&str] = &["seaql_migrations"];

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

/// The one query that reads every table (found in the catalogue once, when this is made).
pub struct Snapshotter {
    sql: String,
}

/// The ledger is append-only and hash-chained: its length and last row stand for it (the
/// chain itself is verified elsewhere), which keeps a snapshot cheap however long it grows.
const LEDGER: &str = "audit_event";

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
                    "SELECT '{LEDGER}' || '\t' || CAST(COUNT(*) AS TEXT) || '|' || COALESCE(CAST(MAX(seq) AS TEXT), '') FROM \"{LEDGER}\""
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

/// Every table's rows, as text (for a single use; keep a [`Snapshotter`] for many).
pub async fn snapshot(srv: &Server) -> Snapshot {
    Snapshotter::new(srv).await.take(srv).await
}

/// The tables whose rows differ between two snapshots (for a failure message).
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
