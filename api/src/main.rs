//! `tsunagi`: serve, migrate, seed, schema, token, documents, audit verify.

use std::collections::BTreeSet;

use clap::{Parser, Subcommand};
use tsunagi_api::{
    audit, auth, bench_switches, config::Config, demo, documents, graphql, http, policy::Role,
    store,
};

#[derive(Parser)]
#[command(
    name = "tsunagi",
    version,
    about = "Tsunagi (つなぎ): 包括的な支援体制のデータ連携ハブ / data-exchange hub"
)]
struct Cli {
    /// Database URL (overrides DATABASE_URL)
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// サーバを起動 (マイグレーションも実行) / run the server (migrates first)
    Serve {
        /// Listen address (overrides TSUNAGI_LISTEN)
        #[arg(long)]
        listen: Option<String>,
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
        /// Lifetime in seconds
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// Narrow the roles (comma-separated), e.g. caseworker
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    bench_switches::check_startup().map_err(anyhow::Error::msg)?;
    let command = cli.command.unwrap_or(Command::Serve {
        listen: None,
        demo: false,
    });
    if let Command::Schema = command {
        print!("{}", graphql::sdl());
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if let Command::Documents { command } = &command {
        documents(command)?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut config = Config::from_env()?;
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    if let Command::Jwks = command {
        let Some(jwks) = config.jwt.key.public_jwks() else {
            anyhow::bail!("no asymmetric signing key configured (TSUNAGI_JWT_SIGNING_KEY_FILE)");
        };
        println!("{}", serde_json::to_string_pretty(&jwks)?);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut db = store::connect(&config.database_url, &config.pool).await?;
    bench_switches::instrument(&mut db)?;
    match command {
        // Done above, before any configuration is read.
        Command::Schema | Command::Documents { .. } => {}
        // Printed above, before the database is opened.
        Command::Jwks => {}
        Command::Migrate => {
            store::migrate(&db).await?;
            eprintln!("migrated {}", redact(&config.database_url));
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
        Command::Serve {
            listen,
            demo: load_demo,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            store::migrate(&db).await?;
            if load_demo {
                demo::load(&db).await?;
                demo::print_accounts(&db).await?;
            }
            let listener = tokio::net::TcpListener::bind(&config.listen).await?;
            tracing::info!(keys = %config.jwt.key.describe(), "token keys");
            #[cfg(unix)]
            reload_keys_on_sighup(config.jwt.key.clone())?;
            let trusted = &config.limits.documents;
            tracing::info!(
                mode = trusted.mode.as_str(),
                registered = trusted.len(),
                "trusted documents"
            );
            tracing::info!(listen = %config.listen, database = %redact(&config.database_url), "tsunagi serving: POST /graphql, GET /graphql (GraphiQL), /healthz, /readyz");
            let state = http::AppState::new(db, config);
            axum::serve(listener, http::router(state))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
        Command::Token {
            account,
            ttl,
            roles,
        } => {
            store::migrate(&db).await?;
            let found = match store::registry::account_by_login(&db, &account).await? {
                Some(a) => Some(a),
                None => store::registry::account(&db, &account).await?,
            };
            let Some(found) = found else {
                anyhow::bail!("no account with login or id {account:?}");
            };
            if !found.active {
                anyhow::bail!("account {account:?} is deactivated");
            }
            let narrow: Option<BTreeSet<Role>> = if roles.is_empty() {
                None
            } else {
                Some(
                    roles
                        .iter()
                        .map(|r| {
                            Role::parse(r.trim())
                                .ok_or_else(|| anyhow::anyhow!("unknown role {r:?}"))
                        })
                        .collect::<anyhow::Result<_>>()?,
                )
            };
            println!(
                "{}",
                auth::mint(&config.jwt, &found.id, ttl, narrow.as_ref())?
            );
        }
        Command::Visibility { command } => {
            store::migrate(&db).await?;
            return visibility(&db, command).await;
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let report = audit::verify(&db).await?;
            match report.first_broken_seq {
                None => println!("ok: {} rows verified", report.checked),
                Some(seq) => {
                    println!(
                        "BROKEN at seq {seq}: {} ({} rows verified before it)",
                        report.problem.unwrap_or_default(),
                        report.checked
                    );
                    return Ok(std::process::ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `visibility verify|rebuild`.
async fn visibility(
    db: &sea_orm::DatabaseConnection,
    command: VisibilityCommand,
) -> anyhow::Result<std::process::ExitCode> {
    match command {
        VisibilityCommand::Rebuild => {
            let n = store::visibility::rebuild(db).await?;
            println!("rebuilt: {n} entries");
        }
        VisibilityCommand::Verify { at } => {
            let at = at.unwrap_or_else(chrono::Utc::now);
            let report = store::visibility::verify(db, at).await?;
            for d in report.differences.iter().take(50) {
                println!(
                    "DIFFERENCE person {} reader {} {} {} rule {}: decide says {}, the index says {}",
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
                    "ok: {} persons, {} comparisons at {} agree with the policy",
                    report.persons,
                    report.compared,
                    at.to_rfc3339()
                );
            } else {
                println!(
                    "MISMATCH: {} of {} comparisons at {} differ (run `tsunagi visibility rebuild` to recover)",
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

/// Hide a password in a database URL for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
