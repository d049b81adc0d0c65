//! ベンチマーク専用スイッチ / benchmark-only switches (issue 5, item 3 b and c).
//!
//! The benchmark measures what consent enforcement and the ledger cost by running the same
//! load with each turned off. Turning them off exists ONLY in a binary built with the cargo
//! feature `bench-switches` (off by default; nothing in the workspace enables it: the
//! benchmark builds its own server into `target/bench`). In every other build the code paths
//! below are not compiled, and a server started with either variable set refuses to start
//! ([`check_startup`]), so a production deployment can never run without its policy or its
//! ledger, not even by a stray environment variable.
//!
//! - `TSUNAGI_BENCH_NO_POLICY=1`: [`crate::graphql::context::RequestCtx::decide`] returns
//!   `Ok(Basis::Own)` for every item without calling `policy::decide` (every field is
//!   revealed, every list entry admitted, every person "known"). Still done: role/action
//!   checks (`policy::may`), loading subjects' policy facts, queries' own SQL filters, and
//!   gathering the reads for the ledger.
//! - `TSUNAGI_BENCH_NO_LEDGER=1`: `audit::append` returns at once (no advisory lock, no
//!   chain read, no rows). Reads are still gathered in memory per request.
//! - `TSUNAGI_BENCH_SQL_LOG=<file>`: every SQL statement the server runs is appended to the
//!   file, with its values inlined, one per line (item 3 a: the benchmark replays exactly
//!   these statements with pgbench to get the raw-SQL bound). The file holds personal data
//!   from the database, which is one more reason this exists only in a benchmark build.

/// Turns consent enforcement off (only in a `bench-switches` build).
pub const NO_POLICY_VAR: &str = "TSUNAGI_BENCH_NO_POLICY";
/// Turns the ledger off (only in a `bench-switches` build).
pub const NO_LEDGER_VAR: &str = "TSUNAGI_BENCH_NO_LEDGER";
/// Logs every statement to a file (only in a `bench-switches` build).
pub const SQL_LOG_VAR: &str = "TSUNAGI_BENCH_SQL_LOG";

fn set(var: &str) -> bool {
    means_on(std::env::var_os(var).as_deref())
}

/// Unset, empty and `0` mean off; anything else means on.
fn means_on(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether this binary was built with the benchmark switches.
pub const COMPILED_IN: bool = cfg!(feature = "bench-switches");

/// At startup: without the feature, refuse to run when a switch variable is set (the
/// operator asked for something this build cannot do, and silently ignoring it would make a
/// benchmark lie). With the feature, say loudly which switches are on.
pub fn check_startup() -> Result<(), String> {
    let asked: Vec<&str> = [NO_POLICY_VAR, NO_LEDGER_VAR, SQL_LOG_VAR]
        .into_iter()
        .filter(|v| set(v))
        .collect();
    if asked.is_empty() {
        return Ok(());
    }
    if !COMPILED_IN {
        return Err(format!(
            "{} はベンチマーク専用ビルド (feature bench-switches) でのみ有効です。このビルドでは起動しません / {} only work in a benchmark build (feature bench-switches); refusing to start",
            asked.join(", "),
            asked.join(", ")
        ));
    }
    tracing::warn!(
        switches = %asked.join(","),
        "BENCHMARK BUILD: benchmark switches on (policy or ledger off, or every statement logged with its values); never use this binary with real data"
    );
    Ok(())
}

#[cfg(feature = "bench-switches")]
fn flags() -> (bool, bool) {
    static FLAGS: std::sync::OnceLock<(bool, bool)> = std::sync::OnceLock::new();
    *FLAGS.get_or_init(|| (set(NO_POLICY_VAR), set(NO_LEDGER_VAR)))
}

/// Benchmark build: with `TSUNAGI_BENCH_SQL_LOG` set, log every statement the connection
/// runs to that file (appending; one statement per line, newlines folded, ending in `;`).
#[cfg(feature = "bench-switches")]
pub fn instrument(db: &mut sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use std::io::Write as _;
    let Some(path) = std::env::var_os(SQL_LOG_VAR).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("{SQL_LOG_VAR} {}: {e}", path.to_string_lossy()))?;
    let file = std::sync::Mutex::new(file);
    db.set_metric_callback(move |info| {
        let line = sql_line(&info.statement.to_string());
        if let Ok(mut f) = file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    });
    Ok(())
}

/// Default build: nothing to instrument (the variable is refused by [`check_startup`]).
#[cfg(not(feature = "bench-switches"))]
pub fn instrument(_db: &mut sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    Ok(())
}

/// One statement as one script line: line breaks become spaces (sea-query's inlined string
/// values escape their own line breaks), ending in `;`.
#[cfg_attr(not(feature = "bench-switches"), allow(dead_code))]
fn sql_line(sql: &str) -> String {
    let mut line = sql.trim().replace(['\n', '\r'], " ");
    if !line.ends_with(';') {
        line.push(';');
    }
    line.push('\n');
    line
}

/// Consent enforcement off (benchmark build only).
#[cfg(feature = "bench-switches")]
pub fn no_policy() -> bool {
    flags().0
}

/// Ledger off (benchmark build only).
#[cfg(feature = "bench-switches")]
pub fn no_ledger() -> bool {
    flags().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_mean_off() {
        use std::ffi::OsStr;
        assert!(!means_on(None));
        assert!(!means_on(Some(OsStr::new(""))));
        assert!(!means_on(Some(OsStr::new("0"))));
        assert!(means_on(Some(OsStr::new("1"))));
        assert!(means_on(Some(OsStr::new("yes"))));
    }

    #[test]
    fn a_logged_statement_is_one_script_line() {
        assert_eq!(
            sql_line("SELECT \"id\"\n  FROM \"person\"\tWHERE \"id\" = 'a'"),
            "SELECT \"id\"   FROM \"person\"\tWHERE \"id\" = 'a';\n"
        );
        assert_eq!(sql_line("SELECT 1;"), "SELECT 1;\n");
    }

    // That a default build refuses the switches is tested with the real binary
    // (api/tests/cli.rs, benchmark_switches_are_refused_by_a_default_build).
}
