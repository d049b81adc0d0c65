//! `tsunagi`: serve, migrate, seed, schema, token, admin, config, documents, audit,
//! visibility, backup.

// Release builds instantiate the schema's futures (queries, mutations, the subscription) in
// this crate too, and their layout nests deeper than the default limit of 128.
#![recursion_limit = "256"]

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tsunagi_api::{
    audit, auth, bench_switches,
    config::{self, Config, DevKey, Settings},
    demo, documents, graphql, http,
    operate::redact,
    store,
};

/// The version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("GIT_COMMIT_SHORT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "tsunagi",
    version = VERSION,
    about = "Tsunagi (つなぎ): 包括的な支援体制のデータ連携ハブ / data-exchange hub",
    after_help = "設定はフラグか環境変数で与えます（フラグが優先）。TSUNAGI_ で始まる未知の変数があると起動しません。\nEvery setting is a flag or an environment variable (the flag wins); an unknown TSUNAGI_* variable stops the start. `tsunagi config check` prints the effective configuration.\nほかに / also read: RUST_LOG (log filter), NO_COLOR, and with the otlp feature OTEL_EXPORTER_OTLP_ENDPOINT and the other standard OTEL_* variables."
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// サーバを起動 (マイグレーションも実行) / run the server (migrates first)
    Serve {
        /// デモデータを投入 (初回のみ) / load the demo data set (once)
        #[arg(long)]
        demo: bool,
    },
    /// マイグレーションのみ実行 / run migrations and exit
    Migrate,
    /// 合成データを投入 (空のデータベースのみ) / load deterministic synthetic data (empty database only)
    Seed {
        /// demo | small (1/100) | town (1/10) | city (150,000 persons)
        #[arg(long, default_value = "small")]
        scale: String,
        /// 乱数の種 (同じ種なら同じデータ) / random seed (same seed, same data)
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// GraphQL SDL を出力 / print the GraphQL schema (SDL)
    Schema,
    /// 開発用トークンを発行 / mint a token for an existing account
    Token {
        /// Account login name or id
        #[arg(long)]
        account: String,
        /// 有効期間（秒、60 以上 TSUNAGI_JWT_MAX_TOKEN_AGE_SECS 以下）/ lifetime in seconds (60 to TSUNAGI_JWT_MAX_TOKEN_AGE_SECS)
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// ロールを絞る（カンマ区切り、大文字小文字は問わない）/ narrow the roles (comma-separated, any case), e.g. caseworker
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// 管理 / administration
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// 設定 / configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// ハブ署名鍵の公開鍵を JWKS で出力 / print the public half of the hub's signing key as a JWKS
    Jwks,
    /// 登録済み文書 (trusted documents) / persisted-document tools
    Documents {
        #[command(subcommand)]
        command: DocumentsCommand,
    },
    /// 監査ログ / ledger tools
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// 可視範囲の索引 / the visibility index
    Visibility {
        #[command(subcommand)]
        command: VisibilityCommand,
    },
    /// CSV を取り込む (README §15) / import a CSV file (README §15)
    Import(tsunagi_api::import::cli::ImportArgs),
    /// CSV に書き出す (README §15) / export a CSV file (README §15)
    Export(tsunagi_api::export::cli::ExportArgs),
    /// 事業評価を CSV か JSON に書き出す (README §6.2) / write the evaluation report as CSV or JSON
    Evaluation(tsunagi_api::statistics::cli::EvaluationArgs),
    /// SQLite のオンラインバックアップ (VACUUM INTO)。PostgreSQL は pg_dump (docs/operations.md) /
    /// online backup of an SQLite database (VACUUM INTO); PostgreSQL: pg_dump (docs/operations.md)
    Backup {
        /// 書き出す新しいファイル (既にあれば拒否) / the new file to write (refused if it exists)
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// 空のデータベースに市の機関と最初の管理者を作る（一度だけ）/ create the city office and its
    /// first admin on a database with no admin (once)
    Bootstrap {
        /// 機関コード / the agency's code, e.g. city
        #[arg(long)]
        agency_code: String,
        /// 機関名 / the agency's name, e.g. "○○市 福祉政策課"
        #[arg(long)]
        agency_name: String,
        /// 管理者のログイン名 / the admin's login
        #[arg(long)]
        login: String,
        /// 管理者の表示名 / the admin's display name
        #[arg(long)]
        display_name: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// 有効な設定を表示（秘密は伏せる）して検査 / check and print the effective configuration
    /// (secrets masked); exit 1 if it would not start
    Check,
}

#[derive(Subcommand)]
enum VisibilityCommand {
    /// 索引を判定 (decide) と突き合わせる / compare the index with the policy's decision for
    /// every agency, person, category and purpose; exit 1 on any difference
    Verify {
        /// 判定の時刻 (RFC 3339、既定は現在) / the instant to compare at (RFC 3339; default now)
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// 索引を記録から作り直す / make the whole index again from the records (recovery)
    Rebuild,
}

#[derive(Subcommand)]
enum DocumentsCommand {
    /// .graphql ファイルからマニフェストを出力 / print a manifest (JSON) for TSUNAGI_TRUSTED_DOCUMENTS_FILE
    Manifest {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// 各ファイルの documentId を出力 / print each file's documentId (sha256:<hex>)
    Hash {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// ハッシュチェーンを検証 / verify the hash chain; exit 1 if broken
    Verify,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Bad settings end here with the variable named (clap exits 2).
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.settings.log_format.unwrap_or_default());
    let code = match run(cli, &matches).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    // Flushes the OTLP exporter (the `otlp` feature); nothing otherwise.
    tsunagi_api::observe::shutdown_tracing();
    code
}

async fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<std::process::ExitCode> {
    bench_switches::check_startup().map_err(anyhow::Error::msg)?;
    refuse_unknown_variables()?;
    let settings = cli.settings;
    let command = cli.command.unwrap_or(Command::Serve { demo: false });
    match &command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Documents { command } => {
            documents(command)?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        _ => {}
    }
    // Only `serve` creates the development key; `token` run elsewhere must not.
    let dev_key = match command {
        Command::Serve { .. } => DevKey::Create,
        _ => DevKey::IfPresent,
    };
    let config = Config::from_settings(&settings, dev_key)?;
    match command {
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            config.replica_url()?;
            print!(
                "{}",
                tsunagi_api::operate::describe(&Cli::command(), matches, &config)
            );
            println!("ok: この設定で起動できます / the hub would start with this configuration");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Jwks => {
            let Some(jwks) = config.jwt.key.public_jwks() else {
                anyhow::bail!("非対称の署名鍵がありません / no asymmetric signing key configured (TSUNAGI_JWT_SIGNING_KEY_FILE)");
            };
            println!("{}", serde_json::to_string_pretty(&jwks)?);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Serve { demo: load_demo } => {
            // A wrong replica setting stops `serve` here, before anything is opened.
            config.replica_url()?;
            serve(config, load_demo).await
        }
        Command::Token {
            account,
            ttl,
            roles,
        } => {
            let db = tsunagi_api::operate::open_existing(&config).await?;
            let token = tsunagi_api::operate::token(&db, &config, &account, ttl, &roles).await?;
            println!("{token}");
            Ok(std::process::ExitCode::SUCCESS)
        }
        command => run_on_database(command, config).await,
    }
}

/// The commands that open the configured database as it is: migrate, admin, seed,
/// visibility, audit, backup.
async fn run_on_database(
    command: Command,
    config: Config,
) -> anyhow::Result<std::process::ExitCode> {
    let mut db = store::connect(&config.database_url, &config.pool).await?;
    bench_switches::instrument(&mut db)?;
    match command {
        // Done above, without opening the database this way.
        Command::Schema
        | Command::Documents { .. }
        | Command::Config { .. }
        | Command::Jwks
        | Command::Serve { .. }
        | Command::Token { .. } => {}
        Command::Migrate => {
            store::migrate(&db).await?;
            eprintln!(
                "migrated {} / マイグレーションを適用しました",
                redact(&config.database_url)
            );
        }
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    agency_code,
                    agency_name,
                    login,
                    display_name,
                },
        } => {
            store::migrate(&db).await?;
            let admin = tsunagi_api::operate::bootstrap(
                &db,
                &agency_code,
                &agency_name,
                &login,
                &display_name,
            )
            .await?;
            println!("{admin}");
        }
        Command::Seed { scale, seed } => {
            store::migrate(&db).await?;
            if scale == "demo" {
                demo::load(&db).await?;
                demo::print_accounts(&db).await?;
            } else {
                let Some(scale) = tsunagi_api::seed::Scale::parse(&scale) else {
                    anyhow::bail!(
                        "不明な規模 {scale:?} / unknown scale {scale:?}: demo, small, town or city"
                    );
                };
                tsunagi_api::seed::run(&db, scale, seed).await?;
            }
        }
        Command::Visibility { command } => {
            store::migrate(&db).await?;
            return visibility(&db, command).await;
        }
        Command::Import(args) => {
            store::migrate(&db).await?;
            return tsunagi_api::import::cli::main(&db, &config, args).await;
        }
        Command::Export(args) => {
            store::migrate(&db).await?;
            return tsunagi_api::export::cli::main(&db, &config, args).await;
        }
        Command::Evaluation(a) => return tsunagi_api::statistics::cli::main(&db, &config, a).await,
        Command::Backup { to } => {
            // No migration: the copy is the database as it is.
            tsunagi_api::backup::sqlite_backup(&db, &to).await?;
            match tsunagi_api::backup::sqlite_file_anchor(&to).await? {
                Some(anchor) => println!("ok: {} (ledger anchor: {anchor})", to.display()),
                None => println!("ok: {} (the ledger is empty)", to.display()),
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let report = audit::verify(&db).await?;
            match report.first_broken_seq {
                None => println!(
                    "ok: {} rows verified / 台帳 {} 行を検証しました",
                    report.checked, report.checked
                ),
                Some(seq) => {
                    println!(
                        "BROKEN at seq {seq}: {} ({} rows verified before it) / seq {seq} でチェーンが壊れています",
                        report.problem.unwrap_or_default(),
                        report.checked
                    );
                    return Ok(std::process::ExitCode::FAILURE);
                }
            }
        }
    }
    db.close().await?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// A `TSUNAGI_*` variable that no setting reads is a typo until shown otherwise: stop.
fn refuse_unknown_variables() -> anyhow::Result<()> {
    let names = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
    let unknown = config::unknown_variables(&Cli::command(), names);
    if unknown.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = unknown
        .iter()
        .map(|(name, near)| match near {
            Some(near) => format!("{name} ({near} の誤り？ / did you mean {near}?)"),
            None => name.clone(),
        })
        .collect();
    anyhow::bail!(
        "不明な環境変数 / unknown environment variables: {}; `tsunagi --help` lists every setting",
        lines.join(", ")
    )
}

/// `serve`: migrate (and load the demo), listen, and on SIGTERM or SIGINT stop accepting,
/// let in-flight requests finish within the grace period, and exit 0 (1 if the grace
/// period ran out with requests still running).
async fn serve(config: Config, load_demo: bool) -> anyhow::Result<std::process::ExitCode> {
    let mut db = store::connect(&config.database_url, &config.pool).await?;
    bench_switches::instrument(&mut db)?;
    store::migrate(&db).await?;
    if load_demo {
        demo::load(&db).await?;
        demo::print_accounts(&db).await?;
    }
    let replica = match config.replica_url()? {
        None => None,
        Some(url) => {
            tracing::info!(replica = %redact(url), "read replica: list candidates and listed persons' content (README §12)");
            Some(store::connect(url, &config.pool).await?)
        }
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{} で待ち受けできません / cannot listen on {}: {e}",
                config.listen,
                config.listen
            )
        })?;
    tracing::info!(keys = %config.jwt.key.describe(), "token keys");
    #[cfg(unix)]
    reload_keys_on_sighup(config.jwt.key.clone())?;
    let trusted = &config.limits.documents;
    tracing::info!(
        mode = trusted.mode.as_str(),
        registered = trusted.len(),
        "trusted documents"
    );
    tracing::info!(version = VERSION, listen = %config.listen, database = %redact(&config.database_url), "tsunagi serving: POST /graphql, GET /graphql (GraphiQL), GET /admin (console), /healthz, /readyz");
    let grace = config.operations.shutdown_grace;
    let metrics_listen = config.operations.metrics_listen.clone();
    let state = http::AppState::new(db.clone(), config).with_replica(replica.clone());
    if let Some(addr) = metrics_listen {
        let handle = tsunagi_api::observe::install_metrics();
        let metrics = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
            anyhow::anyhow!("{addr} で待ち受けできません / cannot listen on {addr} (TSUNAGI_METRICS_LISTEN): {e}")
        })?;
        tracing::info!(metrics = %addr, "metrics: GET /metrics (Prometheus)");
        let scraped = state.clone();
        tokio::spawn(async move {
            if let Err(e) = tsunagi_api::observe::serve_metrics(metrics, handle, scraped).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    // Upgraded subscription sockets are no requests in flight: axum's drain neither waits
    // for them nor closes them. They are told here, and waited for (briefly) after it.
    let sockets = state.sockets.clone();
    let stop_sockets = sockets.clone();
    let server = axum::serve(listener, http::router(state)).with_graceful_shutdown(async move {
        let signal = shutdown_signal().await;
        tracing::info!(
            signal,
            grace_secs = grace.as_secs(),
            "shutting down: no new connections; finishing requests in flight"
        );
        stop_sockets.shut_down();
        let _ = stopping_tx.send(());
    });
    let server = async move { server.await };
    let cut_off = async move {
        if stopping.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    let code = tokio::select! {
        // Both can be ready at once with a grace period of 0: the finished drain wins.
        biased;
        served = server => {
            served?;
            // Not raced against the grace period: every request has finished, and the
            // sockets' close (at most `CLOSE_WAIT`) must not turn that into a failure.
            sockets.closed().await;
            tracing::info!("every request in flight finished; exiting");
            std::process::ExitCode::SUCCESS
        }
        () = cut_off => {
            // Not closing the pools: closing waits for every connection in use, and the
            // requests still running hold theirs. Exiting ends their sessions; PostgreSQL
            // rolls back what they had not committed.
            tracing::error!(grace_secs = grace.as_secs(), "the grace period ended with requests still running: exiting without answering them");
            return Ok(std::process::ExitCode::FAILURE);
        }
    };
    db.close().await?;
    if let Some(r) = replica {
        r.close().await?;
    }
    Ok(code)
}

/// The first of SIGTERM (systemd, Kubernetes, every process manager) and SIGINT (Ctrl-C).
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = tokio::signal::ctrl_c() => "SIGINT",
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops gracefully");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// `visibility verify|rebuild`.
async fn visibility(
    db: &sea_orm::DatabaseConnection,
    command: VisibilityCommand,
) -> anyhow::Result<std::process::ExitCode> {
    match command {
        VisibilityCommand::Rebuild => {
            let n = store::visibility::rebuild(db).await?;
            println!("rebuilt: {n} entries / 索引を {n} 件作り直しました");
        }
        VisibilityCommand::Verify { at } => {
            let at = at.unwrap_or_else(chrono::Utc::now);
            let report = store::visibility::verify(db, at).await?;
            for d in report.differences.iter().take(50) {
                println!(
                    "DIFFERENCE person {} reader {} {} {} rule {}: decide says {}, the index says {} / 索引と判定が異なります",
                    d.person_id,
                    d.reader,
                    d.category,
                    d.purpose,
                    d.rule,
                    if d.decide { "visible" } else { "hidden" },
                    if d.decide { "hidden" } else { "visible" },
                );
            }
            if report.differences.is_empty() {
                println!(
                    "ok: {} persons, {} comparisons at {} agree with the policy / 索引は判定と一致します",
                    report.persons,
                    report.compared,
                    at.to_rfc3339()
                );
            } else {
                println!(
                    "MISMATCH: {} of {} comparisons at {} differ (run `tsunagi visibility rebuild` to recover) / 索引が判定と異なります",
                    report.differences.len(),
                    report.compared,
                    at.to_rfc3339()
                );
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Re-read the token key files on SIGHUP (key rotation without a restart). A failed reload
/// keeps the keys in use; `KeySource::reload` logs either outcome.
#[cfg(unix)]
fn reload_keys_on_sighup(keys: auth::KeySource) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading token keys");
            let keys = keys.clone();
            let _ = tokio::task::spawn_blocking(move || keys.reload()).await;
        }
    });
    Ok(())
}

/// `documents manifest|hash`: each file is one document, hashed byte for byte as read.
fn documents(command: &DocumentsCommand) -> anyhow::Result<()> {
    let read = |files: &[std::path::PathBuf]| {
        files
            .iter()
            .map(|f| {
                std::fs::read_to_string(f)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    };
    match command {
        DocumentsCommand::Manifest { files } => {
            let texts = read(files)?;
            let manifest = documents::manifest(texts.iter().map(String::as_str));
            // The same checks the server makes at startup (each document parses).
            documents::TrustedDocuments::from_manifest(documents::Mode::Off, &manifest)?;
            println!("{manifest}");
        }
        DocumentsCommand::Hash { files } => {
            for (file, text) in files.iter().zip(read(files)?) {
                println!("sha256:{}  {}", documents::hash(&text), file.display());
            }
        }
    }
    Ok(())
}

/// Logs go to stderr: text (coloured only on a terminal) or JSON lines (observe.rs).
fn init_logging(format: config::LogFormat) {
    tsunagi_api::observe::init_logging(match format {
        config::LogFormat::Text => tsunagi_api::observe::LogFormat::Text,
        config::LogFormat::Json => tsunagi_api::observe::LogFormat::Json,
    });
}
