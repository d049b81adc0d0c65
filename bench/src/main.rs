//! `tsunagi-bench`: run the real `tsunagi` server against a database and drive it at a fixed
//! concurrency, validating every answer (HTTP 200, exactly the expected refusals, the
//! expected shape). Runs each mode (normal, policy off, ledger off) on a fresh server
//! process over the same database and prints throughput, p50/p95/p99, failures, the
//! server's RSS idle and under load, and the cost ratios.
//!
//! With `--subscription-latency ACCOUNT` (PostgreSQL only) it instead starts two server
//! processes on the same database and work dir, subscribes as ACCOUNT to `changes` on one
//! over graphql-transport-ws, writes `--writes` times through the other, and reports the
//! commit → delivery latency (p50/p99/max) and the events received.
//!
//! The server is built with the benchmark-only feature `bench-switches` into `target/bench`
//! (never the normal target dir), unless --server-bin names one.
//!
//! With `--import-persons N` it instead times `tsunagi import` of a generated CP932 persons
//! file of N rows (see `import.rs`).
//!
//! With `--statistics ACCOUNT` it instead times the analysts' tables and the 事業評価 as
//! ACCOUNT, one request at a time, and checks published cells against the truth (see
//! `statistics.rs`).
//!
//! ```text
//! cargo run -p tsunagi-bench --release -- --scenario all --concurrency 32 --duration 20s
//! ```

mod feed;
mod import;
mod onestmt;
mod peer;
mod rawsql;
mod scenario;
mod statistics;
mod stats;
mod subscribe;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;

use scenario::{Api, Prepared};
use stats::Stats;

#[derive(Parser, Debug)]
#[command(name = "tsunagi-bench", about = "Tsunagi load benchmark (issue 5)")]
struct Args {
    /// Scenario(s), comma-separated, or `all`: household-overview, person-search,
    /// consultation-list, record-consultation, grant-consent
    #[arg(long, default_value = "all", value_delimiter = ',')]
    scenario: Vec<String>,
    /// Concurrent connections (each a worker sending one request at a time)
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured time per scenario and mode (e.g. 20s, 500ms, 1m)
    #[arg(long, default_value = "20s", value_parser = stats::parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before each measurement
    #[arg(long, default_value = "2s", value_parser = stats::parse_duration)]
    warmup: Duration,
    /// Modes, comma-separated: normal, no-policy, no-ledger
    #[arg(
        long,
        default_value = "normal,no-policy,no-ledger",
        value_delimiter = ','
    )]
    modes: Vec<String>,
    /// Database (default: a fresh SQLite file in the work dir). PostgreSQL works too.
    #[arg(long)]
    database_url: Option<String>,
    /// Do not load the demo data set (the database already holds data, e.g. from `seed`)
    #[arg(long)]
    no_demo: bool,
    /// Account the read scenarios run as (mixed access wanted)
    #[arg(long, default_value = scenario::DEFAULT_READER)]
    reader: String,
    /// Account the write scenarios and the consultation list (its own agency's) run as
    #[arg(long, default_value = scenario::DEFAULT_WRITER)]
    writer: String,
    /// A server binary built with `--features bench-switches` (skips the build)
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Build the server in debug instead of release (faster build, slower server)
    #[arg(long)]
    debug_server: bool,
    /// Where the dev signing key and default SQLite file live (default: a temp dir)
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Rounds: each round runs every mode once, alternating, and the report pools the
    /// rounds (on a small machine one run's throughput varies by ±15 %; alternating modes
    /// over several rounds keeps that noise out of the cost ratios)
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Skip the raw-SQL bound (pgbench replay of the hub's own statements; PostgreSQL only)
    #[arg(long)]
    no_raw_sql: bool,
    /// Skip the one-statement bound (bench/sql/<scenario>.sql with `pgbench -M prepared`)
    #[arg(long)]
    no_one_statement: bool,
    /// Account the household overview runs as (default: --reader)
    #[arg(long)]
    overview_reader: Option<String>,
    /// Account the person search runs as (default: --reader; at city scale issue 12 asks for
    /// s-houkatsu-01-cw1, the agency most consents name)
    #[arg(long)]
    search_reader: Option<String>,
    /// Account the consultation list runs as (default: --writer)
    #[arg(long)]
    list_reader: Option<String>,
    /// Keep TLS on the loopback database connections (the hub's, pgbench's, psql's and the
    /// peer's). Default: `sslmode=disable` is added to a PostgreSQL URL without an sslmode,
    /// so that no system pays for encryption the others do not.
    #[arg(long)]
    tls: bool,
    /// Also run the household overview and the person search against a peer on the same
    /// database, interleaved with the hub round by round: `postgraphile` (PostGraphile 4;
    /// install first with `npm install --prefix bench/peer`)
    #[arg(long)]
    peer: Option<String>,
    /// The peer's process counts, comma-separated (1 = one Node process; 2 = a cluster of two)
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    peer_workers: Vec<usize>,
    /// Instead of the scenarios: read the change feed (`changes`) from its start as this
    /// account, page after page, for --duration (or to the end), and report events/s
    #[arg(long)]
    feed: Option<String>,
    /// Instead of the scenarios: start two server processes on the (PostgreSQL) database,
    /// subscribe to `changes` as this account on one, write --writes times through the
    /// other, and report commit → delivery latency
    #[arg(long, conflicts_with = "feed")]
    subscription_latency: Option<String>,
    /// The writes of --subscription-latency
    #[arg(long, default_value_t = 200)]
    writes: usize,
    /// Instead of the scenarios: time `tsunagi import` of a generated CP932 persons file of
    /// this many rows (first import, the same file again, a tenth changed)
    #[arg(long, conflicts_with_all = ["feed", "subscription_latency"])]
    import_persons: Option<usize>,
    /// The agency code and account of --import-persons
    #[arg(long, default_value = "nikokoro")]
    import_agency: String,
    #[arg(long, default_value = "nikokoro-cw")]
    import_account: String,
    /// Instead of the scenarios: time three `statistics` tables and `evaluationReport` as
    /// this account (an analyst, or the admin), sequentially, and check the published cells
    /// against the truth (PostgreSQL)
    #[arg(long, conflicts_with_all = ["feed", "subscription_latency", "import_persons"])]
    statistics: Option<String>,
    /// Measured requests per query of --statistics (after two unmeasured ones)
    #[arg(long, default_value_t = 20)]
    repetitions: usize,
    /// The fiscal year of --statistics (default: the one before the latest the data has)
    #[arg(long)]
    fiscal_year: Option<i32>,
}

/// One peer run, beside the hub's normal-mode run of the same round.
struct PeerRun {
    round: usize,
    workers: usize,
    scenario: String,
    hub: f64,
    stats: Stats,
}

/// The account a scenario runs as.
fn account_for<'a>(args: &'a Args, scenario: &str) -> &'a str {
    let pick = |o: &'a Option<String>, default: &'a String| o.as_deref().unwrap_or(default);
    match scenario {
        "household-overview" => pick(&args.overview_reader, &args.reader),
        "person-search" => pick(&args.search_reader, &args.reader),
        "consultation-list" => pick(&args.list_reader, &args.writer),
        _ => &args.writer,
    }
}

/// A PostgreSQL URL with `sslmode=disable` unless it names an sslmode or TLS is asked for.
fn loopback_url(db: &str, tls: bool) -> String {
    if tls || !db.starts_with("postgres") || db.contains("sslmode=") {
        return db.to_owned();
    }
    let sep = if db.contains('?') { '&' } else { '?' };
    format!("{db}{sep}sslmode=disable")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("FAILED: some responses did not validate (see above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The environment that selects a mode (the server refuses these unless built for benching).
fn mode_env(mode: &str) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    Ok(match mode {
        "normal" => vec![],
        "no-policy" => vec![("TSUNAGI_BENCH_NO_POLICY", "1")],
        "no-ledger" => vec![("TSUNAGI_BENCH_NO_LEDGER", "1")],
        other => bail!("unknown mode {other:?} (normal, no-policy, no-ledger)"),
    })
}

struct Row {
    mode: String,
    scenario: String,
    stats: Stats,
    rss_idle_kb: u64,
    rss_peak_kb: u64,
    refusals: usize,
    /// Each round's throughput (one entry until pooled).
    rounds: Vec<f64>,
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let names: Vec<String> = if args.scenario.iter().any(|s| s == "all") {
        scenario::ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenario.clone()
    };
    for m in &args.modes {
        mode_env(m)?;
    }
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => build_server(!args.debug_server)?,
    };
    // The server runs in the work dir: a relative path must not change meaning.
    let bin =
        std::fs::canonicalize(&bin).with_context(|| format!("server binary {}", bin.display()))?;
    let work = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("tsunagi-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let db = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", work.join("bench.db").display()));
    let db = loopback_url(&db, args.tls);
    println!(
        "server {} | database {} | concurrency {} | {}s per run (+{}s warm-up) | load average {}",
        bin.display(),
        redact(&db),
        args.concurrency,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        load_average()
    );
    if let Some(account) = &args.feed {
        let server = Server::start(&bin, &work, &db, !args.no_demo, &mode_env("normal")?).await?;
        let api = Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            url: format!("http://127.0.0.1:{}/graphql", server.port),
            token: mint_token(&bin, &work, &db, account)?,
        };
        let result = feed::run(&api, args.duration).await;
        server.stop().await;
        feed::report(&result?, account);
        println!("load average at the end: {}", load_average());
        return Ok(true);
    }
    if let Some(n) = args.import_persons {
        // The demo's agencies and accounts (once), then the imports, each its own process.
        let server = Server::start(&bin, &work, &db, !args.no_demo, &mode_env("normal")?).await?;
        server.stop().await;
        let ok = import::run(
            || server_command(&bin, &work, &db),
            &work,
            n,
            &args.import_agency,
            &args.import_account,
        )?;
        println!("load average at the end: {}", load_average());
        return Ok(ok);
    }
    if let Some(account) = &args.statistics {
        let server = Server::start(&bin, &work, &db, !args.no_demo, &mode_env("normal")?).await?;
        let result = async {
            let api = Api {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()?,
                url: format!("http://127.0.0.1:{}/graphql", server.port),
                token: mint_token(&bin, &work, &db, account)?,
            };
            statistics::run(&api, &db, account, args.repetitions, args.fiscal_year).await
        }
        .await;
        server.stop().await;
        println!("load average at the end: {}", load_average());
        return result;
    }
    if let Some(account) = &args.subscription_latency {
        return subscription_latency(&args, account, &bin, &work, &db).await;
    }
    let mut rows = Vec::new();
    // Reads in every mode first, then writes in every mode: the writes add consultations
    // and consents, and reads in later modes must see the same data to be comparable.
    let (reads, writes): (Vec<String>, Vec<String>) =
        names.iter().cloned().partition(|n| !scenario::writes(n));
    let mut first = true;
    let mut bounds = Vec::new();
    let mut one_bounds = Vec::new();
    let mut peer_runs: Vec<PeerRun> = Vec::new();
    for (i, phase) in [reads, writes].into_iter().enumerate() {
        if phase.is_empty() {
            continue;
        }
        for round in 1..=args.rounds.max(1) {
            if args.rounds > 1 {
                println!("round {round} of {}", args.rounds);
            }
            for mode in &args.modes {
                let demo = !args.no_demo && first;
                first = false;
                let server = Server::start(&bin, &work, &db, demo, &mode_env(mode)?).await?;
                let result = bench_mode(&args, &phase, mode, &server, &bin, &work, &db).await;
                server.stop().await;
                let (these, inputs) = result?;
                if let (Some(kind), "normal") = (&args.peer, mode.as_str()) {
                    for workers in &args.peer_workers {
                        for (name, variables) in inputs.iter().filter(|(n, _)| peer::supports(n)) {
                            let hub = these
                                .iter()
                                .find(|r| &r.scenario == name)
                                .map_or(0.0, |r| r.stats.throughput());
                            let stats =
                                run_peer(&args, kind, &db, *workers, name, variables).await?;
                            println!(
                                "round {round}: {name:<20} Tsunagi / PostGraphile ({workers} process{}) = {hub:.1} / {:.1} = {:.2}  load {}",
                                if *workers == 1 { "" } else { "es" },
                                stats.throughput(),
                                hub / stats.throughput().max(f64::MIN_POSITIVE),
                                load_average()
                            );
                            peer_runs.push(PeerRun {
                                round,
                                workers: *workers,
                                scenario: name.clone(),
                                hub,
                                stats,
                            });
                        }
                    }
                }
                rows.extend(these);
            }
        }
        // The raw-SQL bound for the reads, on the same data (before the writes add to it).
        if i == 0 && !(args.no_raw_sql && args.no_one_statement) {
            if db.starts_with("postgres") {
                if !args.modes.iter().any(|m| m == "normal") {
                    bail!("the SQL bounds compare with the normal mode: add it to --modes or pass --no-raw-sql --no-one-statement");
                }
                (bounds, one_bounds) = sql_bounds(&args, &phase, &bin, &work, &db).await?;
            } else {
                println!("raw-SQL bound skipped: it replays the statements with pgbench, which needs PostgreSQL (--database-url postgres://...)");
            }
        }
    }
    let rows = pool_rounds(rows);
    print_report(&rows, &bounds, &one_bounds);
    if !peer_runs.is_empty() {
        println!("\npeer: Tsunagi (normal: consent enforced, every read ledgered) / PostGraphile 4 (neither), per round");
        for p in &peer_runs {
            println!(
                "round {} {:<20} {} process{}: {:.1} / {:.1} = {:.2}  (PostGraphile p50 {:.1} ms, p99 {:.1} ms, {} failures)",
                p.round,
                p.scenario,
                p.workers,
                if p.workers == 1 { " " } else { "es" },
                p.hub,
                p.stats.throughput(),
                p.hub / p.stats.throughput().max(f64::MIN_POSITIVE),
                p.stats.percentile_ms(0.5),
                p.stats.percentile_ms(0.99),
                p.stats.failures
            );
            for e in &p.stats.examples {
                println!("    failure: {e}");
            }
        }
    }
    println!("load average at the end: {}", load_average());
    Ok(rows.iter().all(|r| r.stats.failures == 0)
        && peer_runs.iter().all(|p| p.stats.failures == 0)
        && bounds.iter().chain(&one_bounds).all(|b| b.1.failed == 0))
}

/// Two servers on one database and work dir (one dev signing key, so one token works on
/// both): subscribed on B, written through A.
async fn subscription_latency(
    args: &Args,
    account: &str,
    bin: &Path,
    work: &Path,
    db: &str,
) -> anyhow::Result<bool> {
    if !db.starts_with("postgres") {
        bail!("--subscription-latency needs PostgreSQL (--database-url postgres://...): it runs two server processes on one database, and SQLite is one process");
    }
    if args.writes == 0 {
        bail!("--writes must be at least 1");
    }
    // A first: it creates the dev signing key in the work dir if there is none yet.
    let a = Server::start(bin, work, db, !args.no_demo, &mode_env("normal")?).await?;
    let b = match Server::start(bin, work, db, false, &mode_env("normal")?).await {
        Ok(b) => b,
        Err(e) => {
            a.stop().await;
            return Err(e.context("starting the second server (B)"));
        }
    };
    let result = async {
        let api = Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            url: format!("http://127.0.0.1:{}/graphql", a.port),
            token: mint_token(bin, work, db, account)?,
        };
        subscribe::run(&api, &format!("http://127.0.0.1:{}", b.port), args.writes).await
    }
    .await;
    a.stop().await;
    b.stop().await;
    let result = result?;
    subscribe::report(&result, account);
    println!("load average at the end: {}", load_average());
    match result.failure() {
        Some(why) => bail!("subscription latency: {why}"),
        None => Ok(true),
    }
}

/// /proc/loadavg's first three fields (other work on the machine skews every number).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}

type Bounds = Vec<(String, rawsql::Bound)>;

/// Start the peer with `workers` processes, warm it up and measure one scenario.
async fn run_peer(
    args: &Args,
    kind: &str,
    db: &str,
    workers: usize,
    name: &str,
    variables: &[serde_json::Value],
) -> anyhow::Result<Stats> {
    let requests = peer::requests(name, variables)?;
    let p = peer::Peer::start(kind, db, workers).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = Arc::new(Api {
        client,
        url: format!("http://127.0.0.1:{}/graphql", p.port),
        token: String::new(),
    });
    // Each request once before timing: a peer that answers wrongly measures nothing.
    for r in &requests {
        let (status, body) = api.post(&r.body).await?;
        if let Err(e) = r.validate(status, &body) {
            p.stop().await;
            bail!("{kind} {name}: {e}");
        }
    }
    let prepared = Arc::new(Prepared {
        name: name.to_owned(),
        requests,
        refusals: 0,
    });
    drive(&api, &prepared, args.concurrency, args.warmup, None).await;
    let stats = drive(&api, &prepared, args.concurrency, args.duration, None).await;
    p.stop().await;
    Ok(stats)
}

/// Capture the statements of each read request from a server with the SQL log on (normal
/// mode otherwise), then replay them with pgbench (the statement-replay bound), and run each
/// scenario's one-statement SQL over the same requests (the one-statement bound).
async fn sql_bounds(
    args: &Args,
    names: &[String],
    bin: &Path,
    work: &Path,
    db: &str,
) -> anyhow::Result<(Bounds, Bounds)> {
    let log = work.join("captured-sql.log");
    let _ = std::fs::remove_file(&log);
    let log_str = log.to_string_lossy().into_owned();
    let server = Server::start(
        bin,
        work,
        db,
        false,
        &[("TSUNAGI_BENCH_SQL_LOG", log_str.as_str())],
    )
    .await?;
    let captured = capture(args, names, &server, bin, work, db, &log).await;
    server.stop().await;
    let captured = captured?;
    let _ = std::fs::remove_file(&log);
    let mut bounds = Vec::new();
    let mut one = Vec::new();
    for c in captured {
        if !args.no_raw_sql {
            let b = rawsql::run_pgbench(
                db,
                work,
                &c.name,
                &c.statements,
                args.concurrency,
                args.duration,
            )?;
            println!(
                "raw-sql    {:<20} {:>8.1} tx/s  ({:.1} statements per request, {} failed)  load {}",
                c.name,
                b.tps,
                b.statements_per_request,
                b.failed,
                load_average()
            );
            bounds.push((c.name.clone(), b));
        }
        if !args.no_one_statement && onestmt::sql_for(&c.name).is_some() {
            // Once by hand first: a file that fails or answers nothing measures nothing.
            let first = c.params.first().context("no requests")?;
            let answer = onestmt::run_once(db, &c.name, first)?;
            if !onestmt::answers_something(&c.name, &answer) {
                bail!("one-statement {}: empty answer {answer}", c.name);
            }
            let b = onestmt::run_pgbench(
                db,
                work,
                &c.name,
                &c.params,
                args.concurrency,
                args.duration,
            )?;
            println!(
                "one-stmt   {:<20} {:>8.1} tx/s  ({} failed)  load {}",
                c.name,
                b.tps,
                b.failed,
                load_average()
            );
            one.push((c.name, b));
        }
    }
    Ok((bounds, one))
}

/// What one read scenario's requests were: the hub's statements per request, and the
/// one-statement SQL's parameters per request.
struct Captured {
    name: String,
    statements: Vec<Vec<String>>,
    params: Vec<Vec<(String, String)>>,
}

async fn capture(
    args: &Args,
    names: &[String],
    server: &Server,
    bin: &Path,
    work: &Path,
    db: &str,
    log: &Path,
) -> anyhow::Result<Vec<Captured>> {
    let size = || {
        std::fs::metadata(log)
            .map(|m| m.len() as usize)
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for name in names {
        let account = account_for(args, name);
        let api = Api {
            client: reqwest::Client::new(),
            url: format!("http://127.0.0.1:{}/graphql", server.port),
            token: mint_token(bin, work, db, account)?,
        };
        let p = scenario::prepare(&api, std::slice::from_ref(name))
            .await?
            .pop()
            .context("nothing prepared")?;
        let mut offsets = vec![size()];
        let mut params = Vec::new();
        for req in &p.requests {
            if onestmt::sql_for(&p.name).is_some() {
                params.push(onestmt::params(&p.name, &req.body["variables"], account)?);
            }
            let (status, body) = api.post(&req.body).await?;
            if let Err(e) = req.validate(status, &body) {
                bail!("{} (capturing its SQL): {e}", p.name);
            }
            offsets.push(size());
        }
        let text = std::fs::read_to_string(log)?;
        out.push(Captured {
            name: p.name.clone(),
            statements: rawsql::split_requests(&text, &offsets),
            params,
        });
    }
    Ok(out)
}

async fn bench_mode(
    args: &Args,
    names: &[String],
    mode: &str,
    server: &Server,
    bin: &Path,
    work: &Path,
    db: &str,
) -> anyhow::Result<(Vec<Row>, Vec<(String, Vec<serde_json::Value>)>)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let rss_idle_kb = rss_kb(server.pid).unwrap_or(0);
    let mut prepared = Vec::new();
    let mut accounts: Vec<&str> = names.iter().map(|n| account_for(args, n)).collect();
    accounts.dedup();
    let mut seen = std::collections::BTreeSet::new();
    accounts.retain(|a| seen.insert(*a));
    for account in accounts {
        let these: Vec<String> = names
            .iter()
            .filter(|n| account_for(args, n) == account)
            .cloned()
            .collect();
        let api = Arc::new(Api {
            client: client.clone(),
            url: url.clone(),
            token: mint_token(bin, work, db, account)?,
        });
        for p in scenario::prepare(&api, &these)
            .await
            .with_context(|| format!("preparing scenarios as {account} ({mode})"))?
        {
            prepared.push((api.clone(), p));
        }
    }
    let mut rows = Vec::new();
    let inputs = prepared
        .iter()
        .map(|(_, p)| {
            let vars = p
                .requests
                .iter()
                .map(|r| r.body["variables"].clone())
                .collect();
            (p.name.clone(), vars)
        })
        .collect();
    for (api, p) in prepared {
        let p = Arc::new(p);
        drive(&api, &p, args.concurrency, args.warmup, None).await;
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stats = drive(
            &api,
            &p,
            args.concurrency,
            args.duration,
            Some((server.pid, peak.clone())),
        )
        .await;
        let row = Row {
            mode: mode.to_owned(),
            scenario: p.name.clone(),
            stats,
            rss_idle_kb,
            rss_peak_kb: peak.load(std::sync::atomic::Ordering::Relaxed),
            refusals: p.refusals,
            rounds: Vec::new(),
        };
        print_row(&row);
        rows.push(row);
    }
    Ok((rows, inputs))
}

/// `concurrency` workers, each sending one request at a time for `duration`.
async fn drive(
    api: &Arc<Api>,
    p: &Arc<Prepared>,
    concurrency: usize,
    duration: Duration,
    rss: Option<(u32, Arc<std::sync::atomic::AtomicU64>)>,
) -> Stats {
    let start = Instant::now();
    let deadline = start + duration;
    let sampler = rss.map(|(pid, peak)| {
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Some(kb) = rss_kb(pid) {
                    peak.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (api, p) = (api.clone(), p.clone());
        workers.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut i = w;
            while Instant::now() < deadline {
                let req = &p.requests[i % p.requests.len()];
                i += 1;
                let t = Instant::now();
                let outcome = match api.post_full(&req.body).await {
                    Ok((status, retry_after, body)) => {
                        match validate::classify(status, retry_after, &body) {
                            validate::Outcome::Shed => {
                                s.shed += 1;
                                continue;
                            }
                            validate::Outcome::Answer {
                                internal,
                                server_error,
                            } => {
                                s.internal += u64::from(internal);
                                s.server_errors += u64::from(server_error);
                            }
                        }
                        req.validate(status, &body)
                    }
                    Err(e) => {
                        s.transport += 1;
                        Err(format!("transport: {e}"))
                    }
                };
                s.micros.push(t.elapsed().as_micros() as u64);
                if let Err(e) = outcome {
                    s.failures += 1;
                    if s.examples.len() < 5 {
                        s.examples.push(e.chars().take(400).collect());
                    }
                }
            }
            s
        }));
    }
    let mut total = Stats::default();
    for w in workers {
        if let Ok(s) = w.await {
            total.merge(s);
        }
    }
    total.elapsed = start.elapsed();
    if let Some(s) = sampler {
        let _ = s.await;
    }
    total
}

/// One row per (mode, scenario), in first-seen order: the rounds' latencies and failures
/// pooled, throughput over their summed time, the highest memory readings, and the spread
/// of the rounds' throughputs.
fn pool_rounds(rows: Vec<Row>) -> Vec<Row> {
    let mut pooled: Vec<Row> = Vec::new();
    for r in rows {
        let tput = r.stats.throughput();
        match pooled
            .iter_mut()
            .find(|p| p.mode == r.mode && p.scenario == r.scenario)
        {
            Some(p) => {
                let elapsed = p.stats.elapsed + r.stats.elapsed;
                p.stats.merge(r.stats);
                p.stats.elapsed = elapsed;
                p.rss_idle_kb = p.rss_idle_kb.max(r.rss_idle_kb);
                p.rss_peak_kb = p.rss_peak_kb.max(r.rss_peak_kb);
                p.rounds.push(tput);
            }
            None => pooled.push(Row {
                rounds: vec![tput],
                ..r
            }),
        }
    }
    pooled
}

fn print_row(r: &Row) {
    let s = &r.stats;
    println!(
        "{:<10} {:<20} {:>8.1} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  {:>6} reqs  {} failures  RSS idle {} MB, load {} MB  ({} expected refusals)",
        r.mode,
        r.scenario,
        s.throughput(),
        s.percentile_ms(0.50),
        s.percentile_ms(0.95),
        s.percentile_ms(0.99),
        s.requests(),
        s.failures,
        r.rss_idle_kb / 1024,
        r.rss_peak_kb / 1024,
        r.refusals
    );
    if s.internal + s.server_errors + s.transport + s.shed > 0 {
        println!(
            "    of which INTERNAL {}, HTTP 5xx {}, no answer (transport/timeout) {}; shed (503 + Retry-After, not failures) {}",
            s.internal, s.server_errors, s.transport, s.shed
        );
    }
    if r.rounds.len() > 1 {
        let (lo, hi) = r
            .rounds
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        println!("    {} rounds: {lo:.1}–{hi:.1} req/s", r.rounds.len());
    }
    for e in &s.examples {
        println!("    failure: {e}");
    }
}

fn print_report(rows: &[Row], bounds: &[(String, rawsql::Bound)], one: &[(String, rawsql::Bound)]) {
    println!("\nsummary");
    for r in rows {
        print_row(r);
    }
    if !bounds.is_empty() {
        println!(
            "\nraw-SQL bound (pgbench replaying the hub's own statements; hub normal / bound)"
        );
        for (name, b) in bounds {
            let hub = rows
                .iter()
                .find(|r| r.mode == "normal" && &r.scenario == name)
                .map(|r| r.stats.throughput())
                .unwrap_or(0.0);
            println!(
                "{:<20} hub {:>8.1} req/s  bound {:>8.1} tx/s  ratio {:.2}  ({:.1} statements per request)",
                name,
                hub,
                b.tps,
                hub / b.tps.max(f64::MIN_POSITIVE),
                b.statements_per_request
            );
        }
    }
    if !one.is_empty() {
        println!(
            "\none-statement bound (bench/sql/<scenario>.sql, pgbench -M prepared; no policy, no ledger)"
        );
        for (name, b) in one {
            let hub = rows
                .iter()
                .find(|r| r.mode == "normal" && &r.scenario == name)
                .map(|r| r.stats.throughput())
                .unwrap_or(0.0);
            println!(
                "{:<20} hub / one-statement {:>8.1} / {:>8.1} = {:.2}",
                name,
                hub,
                b.tps,
                hub / b.tps.max(f64::MIN_POSITIVE)
            );
        }
    }
    let normal: Vec<&Row> = rows.iter().filter(|r| r.mode == "normal").collect();
    if normal.is_empty() {
        return;
    }
    println!(
        "\ncost of enforcement and ledger (throughput ratio normal / switched-off; 1.00 = free)"
    );
    for n in normal {
        let ratio = |mode: &str| {
            rows.iter()
                .find(|r| r.mode == mode && r.scenario == n.scenario)
                .map(|r| n.stats.throughput() / r.stats.throughput().max(f64::MIN_POSITIVE))
        };
        let fmt = |x: Option<f64>| match x {
            Some(x) => format!("{x:.2} (cost {:+.0} %)", (1.0 - x) * 100.0),
            None => "-".to_owned(),
        };
        println!(
            "{:<20} policy {:<22} ledger {}",
            n.scenario,
            fmt(ratio("no-policy")),
            fmt(ratio("no-ledger"))
        );
    }
}

/// Build the server with the benchmark switches into target/bench (never target/debug or
/// target/release, so a normal build can never pick up this binary).
fn build_server(release: bool) -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target").join("bench");
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root).args([
        "build",
        "-p",
        "tsunagi-api",
        "--bin",
        "tsunagi",
        "--features",
        "bench-switches",
        "--target-dir",
    ]);
    cmd.arg(&target);
    if release {
        cmd.arg("--release");
    }
    eprintln!("building the benchmark server: {cmd:?}");
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!("building the benchmark server failed");
    }
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("tsunagi"))
}

fn server_command(bin: &Path, work: &Path, db: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin);
    cmd.current_dir(work)
        .env("DATABASE_URL", db)
        .env("TSUNAGI_RATE_LIMIT_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .env_remove("TSUNAGI_BENCH_NO_POLICY")
        .env_remove("TSUNAGI_BENCH_NO_LEDGER");
    cmd
}

fn mint_token(bin: &Path, work: &Path, db: &str, account: &str) -> anyhow::Result<String> {
    let out = server_command(bin, work, db)
        .args(["token", "--account", account, "--ttl", "7200"])
        .output()
        .context("running `tsunagi token`")?;
    if !out.status.success() {
        bail!(
            "`tsunagi token --account {account}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

struct Server {
    child: tokio::process::Child,
    pid: u32,
    port: u16,
}

impl Server {
    async fn start(
        bin: &Path,
        work: &Path,
        db: &str,
        demo: bool,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = server_command(bin, work, db);
        cmd.envs(env.iter().copied())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
        if demo {
            cmd.arg("--demo");
        }
        cmd.stdout(std::process::Stdio::null());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().context("server pid")?;
        let client = reqwest::Client::new();
        let ready = format!("http://127.0.0.1:{port}/readyz");
        for _ in 0..600 {
            if let Some(status) = child.try_wait()? {
                bail!("server exited during startup: {status}");
            }
            if client
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Server { child, pid, port });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("server not ready after 120 s")
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// VmRSS of a process in kB (Linux).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss(&status)
}

fn parse_vmrss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Hide a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_is_read_in_kb() {
        let status = "Name:\ttsunagi\nVmPeak:\t  99999 kB\nVmRSS:\t   23456 kB\nThreads:\t4\n";
        assert_eq!(parse_vmrss(status), Some(23456));
        assert_eq!(parse_vmrss("Name:\tx\n"), None);
    }

    #[test]
    fn modes_are_the_three_known_ones() {
        assert!(mode_env("normal").unwrap().is_empty());
        assert_eq!(
            mode_env("no-policy").unwrap(),
            vec![("TSUNAGI_BENCH_NO_POLICY", "1")]
        );
        assert_eq!(
            mode_env("no-ledger").unwrap(),
            vec![("TSUNAGI_BENCH_NO_LEDGER", "1")]
        );
        assert!(mode_env("fast").is_err());
    }

    #[test]
    fn rounds_are_pooled_per_mode_and_scenario() {
        let row = |mode: &str, n: usize, secs: u64| Row {
            mode: mode.to_owned(),
            scenario: "s".to_owned(),
            stats: Stats {
                micros: vec![1000; n],
                elapsed: Duration::from_secs(secs),
                ..Stats::default()
            },
            rss_idle_kb: n as u64,
            rss_peak_kb: n as u64,
            refusals: 0,
            rounds: Vec::new(),
        };
        let pooled = pool_rounds(vec![
            row("normal", 100, 10),
            row("no-ledger", 50, 10),
            row("normal", 300, 10),
        ]);
        assert_eq!(pooled.len(), 2);
        assert_eq!(pooled[0].mode, "normal");
        assert_eq!(pooled[0].stats.requests(), 400);
        assert!((pooled[0].stats.throughput() - 20.0).abs() < 1e-9);
        assert_eq!(pooled[0].rounds, vec![10.0, 30.0]);
        assert_eq!(pooled[0].rss_peak_kb, 300);
        assert_eq!(pooled[1].rounds, vec![5.0]);
    }

    #[test]
    fn loopback_urls_turn_tls_off_unless_asked() {
        assert_eq!(
            loopback_url("postgres://u@h:5432/db", false),
            "postgres://u@h:5432/db?sslmode=disable"
        );
        assert_eq!(
            loopback_url("postgres://u@h/db?application_name=x", false),
            "postgres://u@h/db?application_name=x&sslmode=disable"
        );
        assert_eq!(
            loopback_url("postgres://u@h/db?sslmode=require", false),
            "postgres://u@h/db?sslmode=require"
        );
        assert_eq!(loopback_url("postgres://u@h/db", true), "postgres://u@h/db");
        assert_eq!(loopback_url("sqlite://x.db", false), "sqlite://x.db");
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
