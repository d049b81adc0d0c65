//! The source layout of `api/src`, checked in CI (issue 11): no source file over
//! [`MAX_LINES`] lines, and no write outside `store` from the GraphQL layer.
//!
//! These read the files as text; they need no database (`cargo test --test layout`).

use std::path::{Path, PathBuf};

/// The most lines a source file under `api/src` may have.
const MAX_LINES: usize = 600;

/// Every `.rs` file below `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn api_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("api")
        .join("src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Files allowed over the limit for a while, with the reason. An entry that is no longer
/// over the limit fails the test, so the list cannot outlive its reason.
const PENDING_SPLIT: &[&str] = &[];

#[test]
fn no_source_file_under_api_src_is_over_600_lines() {
    let mut over = Vec::new();
    let mut pending = Vec::new();
    for path in sources(&api_src()) {
        let lines = read(&path).lines().count();
        let name = shown(&path);
        match (lines > MAX_LINES, PENDING_SPLIT.contains(&name.as_str())) {
            (true, false) => over.push(format!("  {name} ({lines} lines)")),
            (true, true) => pending.push(format!("  {name} ({lines} lines)")),
            (false, true) => over.push(format!(
                "  {name} is {lines} lines now: remove it from PENDING_SPLIT"
            )),
            (false, false) => {}
        }
    }
    if !pending.is_empty() {
        eprintln!(
            "layout: over {MAX_LINES} lines, being split on the resolver branches:\n{}",
            pending.join("\n")
        );
    }
    assert!(
        over.is_empty(),
        "source files over {MAX_LINES} lines (split them along a real seam):\n{}",
        over.join("\n")
    );
}

/// What marks a write in code: sea-orm's active models and transactions, bulk updates, the
/// ledger's append. Comments are not code and are skipped.
const WRITE_MARKERS: &[&str] = &[
    "ActiveModel",
    "begin()",
    "TransactionTrait",
    "update_many",
    "insert_many",
    "audit::append",
    "::insert(",
];

/// `.insert(` / `.update(` on a connection (`.insert(&txn)`, `.update(db)`): a row written.
/// A collection's `insert` (a map, a set) is not a write.
fn writes_through_a_connection(line: &str) -> bool {
    [".insert(", ".update("].iter().any(|call| {
        line.match_indices(call).any(|(at, _)| {
            let args = line[at + call.len()..].trim_start().trim_start_matches('&');
            ["txn", "db", "conn", "self.db"].iter().any(|conn| {
                args.strip_prefix(conn)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|c| !(c.is_alphanumeric() || c == '_'))
            })
        })
    })
}

/// Where the GraphQL layer writes by itself rather than through a `store` function.
fn graphql_writes() -> Vec<String> {
    let mut found = Vec::new();
    for path in sources(&api_src().join("graphql")) {
        for (n, line) in read(&path).lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let marker = WRITE_MARKERS
                .iter()
                .find(|m| code.contains(*m))
                .copied()
                .or_else(|| writes_through_a_connection(code).then_some("insert/update"));
            if let Some(marker) = marker {
                found.push(format!("  {}:{}: {marker}: {code}", shown(&path), n + 1));
            }
        }
    }
    found
}

#[test]
fn the_graphql_layer_writes_only_through_store() {
    let found = graphql_writes();
    if found.is_empty() {
        return;
    }
    let report = format!(
        "writes under api/src/graphql (every insert, update, transaction and ledger append goes \
         through a store function):\n{}",
        found.join("\n")
    );
    panic!("{report}");
}

#[test]
fn the_write_markers_are_told_apart_from_collections() {
    assert!(writes_through_a_connection("x.insert(&txn).await?;"));
    assert!(writes_through_a_connection(".update(db)"));
    assert!(writes_through_a_connection("m.insert(&self.db).await"));
    assert!(!writes_through_a_connection("seen.insert(id.clone())"));
    assert!(!writes_through_a_connection("rows.insert(dbid, v)"));
    assert!(!writes_through_a_connection("map.insert(k, v)"));
}
