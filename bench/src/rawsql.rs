//! The raw-SQL bound (issue 5, item 3 a): the exact statements the hub ran for each request
//! of a read scenario, captured from the server (`TSUNAGI_BENCH_SQL_LOG`, benchmark build
//! only) and replayed by pgbench against the same database at the same concurrency. The
//! hub's throughput divided by pgbench's is the share of the database's own speed that the
//! hub keeps after HTTP, GraphQL, policy, serialisation and its ledger discipline.
//!
//! pgbench sends them with the simple query protocol (values inline, parsed and planned each
//! time): its prepared mode reads every `:name` in a statement as a pgbench variable, and
//! the ledger's JSON and timestamps are full of them. The hub's driver prepares and caches
//! its statements, so the bound carries parse and plan costs the hub does not: it is a
//! bound on the same SQL, not a ceiling the hub cannot pass.
//!
//! Each captured request becomes one pgbench script (one "transaction"), statements in the
//! order the hub ran them, each on its own (autocommit). The ledger's statements are replayed
//! too, but as plain statements: the chain lock is taken and released at once, and the
//! INSERT goes to a scratch copy of the ledger table (`bench_replay_audit_event`, no
//! constraints, dropped afterwards), because replaying a chained row twice would break the
//! chain's unique sequence. So the bound pays for the same reads and the same row writes
//! and WAL flushes, but not for the hub's serialisation of the chain: that is part of what
//! the ratio measures.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

/// The scratch table the replayed ledger INSERTs go to.
pub const SCRATCH: &str = "bench_replay_audit_event";
const LEDGER_INSERT: &str = "INSERT INTO \"audit_event\"";

/// One request's statements (lines of the SQL log) → a pgbench script.
pub fn script(statements: &[&str]) -> String {
    let mut out = String::new();
    for s in statements {
        match s.strip_prefix(LEDGER_INSERT) {
            Some(rest) => out.push_str(&format!("INSERT INTO \"{SCRATCH}\"{rest}\n")),
            None => {
                out.push_str(s);
                out.push('\n');
            }
        }
    }
    out
}

/// Split the SQL log's bytes at the offsets taken between requests.
pub fn split_requests(log: &str, offsets: &[usize]) -> Vec<Vec<String>> {
    offsets
        .windows(2)
        .map(|w| {
            log[w[0]..w[1]]
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// The session settings the hub gives its own PostgreSQL connections (`store::connect`:
/// no parallel workers, no JIT), given to every other system the benchmark measures on the
/// same database (pgbench for both bounds, the peer) through `PGOPTIONS`, so that no system
/// is slowed, or sped up, by planner settings the others do not have.
pub const SESSION_OPTIONS: &str = "-c max_parallel_workers_per_gather=0 -c jit=off";

/// pgbench's "tps = N (without initial connection time)", and its failed transactions.
pub fn parse_pgbench(out: &str) -> Option<(f64, u64)> {
    let tps = out
        .lines()
        .find(|l| l.starts_with("tps = "))?
        .strip_prefix("tps = ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let failed = out
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Some((tps, failed))
}

fn psql(db: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", db, "-c", sql])
        .output()
        .context("running psql (the raw-SQL bound needs PostgreSQL's client tools)")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

pub struct Bound {
    pub tps: f64,
    pub failed: u64,
    pub statements_per_request: f64,
}

/// Write the scripts and run pgbench at `concurrency` for `duration`.
pub fn run_pgbench(
    db: &str,
    work: &Path,
    name: &str,
    requests: &[Vec<String>],
    concurrency: usize,
    duration: std::time::Duration,
) -> anyhow::Result<Bound> {
    if requests.is_empty() {
        bail!("{name}: no statements were captured");
    }
    // pgbench takes at most 128 scripts.
    let requests = &requests[..requests.len().min(100)];
    let dir = work.join(format!("pgbench-{name}"));
    std::fs::create_dir_all(&dir)?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let lines: Vec<&str> = r.iter().map(String::as_str).collect();
        let f = dir.join(format!("{i:03}.sql"));
        std::fs::write(&f, script(&lines))?;
        files.push(f);
    }
    psql(
        db,
        &format!(
            "DROP TABLE IF EXISTS {SCRATCH}; CREATE TABLE {SCRATCH} (LIKE audit_event INCLUDING DEFAULTS)"
        ),
    )?;
    let mut cmd = std::process::Command::new("pgbench");
    cmd.env("PGOPTIONS", SESSION_OPTIONS)
        .args(["-n", "-c", &concurrency.to_string()])
        .args(["-j", &concurrency.min(4).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()]);
    for f in &files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg(db);
    let out = cmd.output().context("running pgbench")?;
    let _ = psql(db, &format!("DROP TABLE IF EXISTS {SCRATCH}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("pgbench failed: {text}");
    }
    let (tps, failed) =
        parse_pgbench(&text).with_context(|| format!("no tps in pgbench output: {text}"))?;
    let statements_per_request =
        requests.iter().map(Vec::len).sum::<usize>() as f64 / requests.len() as f64;
    Ok(Bound {
        tps,
        failed,
        statements_per_request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_insert_is_replayed_into_the_scratch_table() {
        let s = script(&[
            "SELECT \"id\" FROM \"household\" WHERE \"id\" = 'h';",
            "SELECT pg_advisory_xact_lock(7);",
            "SELECT \"seq\" FROM \"audit_event\" ORDER BY \"seq\" DESC LIMIT 1;",
            "INSERT INTO \"audit_event\" (\"seq\") VALUES (1);",
        ]);
        assert_eq!(
            s,
            "SELECT \"id\" FROM \"household\" WHERE \"id\" = 'h';\nSELECT pg_advisory_xact_lock(7);\nSELECT \"seq\" FROM \"audit_event\" ORDER BY \"seq\" DESC LIMIT 1;\nINSERT INTO \"bench_replay_audit_event\" (\"seq\") VALUES (1);\n"
        );
        assert_eq!(script(&["SELECT 1;"]), "SELECT 1;\n");
    }

    #[test]
    fn the_log_is_split_per_request() {
        let log = "A;\nB;\nC;\n";
        assert_eq!(
            split_requests(log, &[0, 6, 9]),
            vec![
                vec!["A;".to_owned(), "B;".to_owned()],
                vec!["C;".to_owned()]
            ]
        );
    }

    #[test]
    fn pgbench_output_is_read() {
        let out = "number of transactions actually processed: 11992\nnumber of failed transactions: 3 (0.025%)\nlatency average = 0.159 ms\ntps = 12578.471221 (without initial connection time)\n";
        assert_eq!(parse_pgbench(out), Some((12578.471221, 3)));
        assert_eq!(parse_pgbench("nothing"), None);
    }
}
