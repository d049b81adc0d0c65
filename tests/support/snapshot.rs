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

/// Every table's rows, as text.
pub async fn snapshot(srv: &Server) -> Snapshot {
    let backend = srv.db.get_database_backend();
    let tables = match backend {
        DatabaseBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    };
    let mut out = Snapshot::new();
    for table in strings(srv, tables.to_owned()).await {
        if SKIP.contains(&table.as_str()) {
            continue;
        }
        let columns = match backend {
            DatabaseBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            _ => format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        let columns = strings(srv, columns).await;
        let row = columns
            .iter()
            .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '∅')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut rows = strings(srv, format!("SELECT {row} FROM \"{table}\"")).await;
        rows.sort();
        out.insert(table, rows);
    }
    out
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
