//! Installing and running the real binary as a municipal IT officer would (issue 14): the
//! first admin on an empty database, strict configuration, `token` that creates nothing by
//! accident, `--version`, and two replicas started at once on an empty PostgreSQL.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::{json, Value};

use common::fixtures::jwt_fixture;
use common::{fresh_dir, pairs, scratch_postgres, tsunagi_with, ServerProcess};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// From an empty database to a first query, as README §3 walks it: `admin bootstrap`
/// creates the city office and its admin once (refused the second time, nothing written),
/// `token` mints for it (roles in any case, only roles it holds, a lifetime within bounds),
/// and the server answers it. No demo data anywhere.
async fn bootstrap_then_query(label: &str, dir: &Path, url: &str) {
    let key = jwt_fixture("hub.pem");
    let env = pairs(&[
        ("DATABASE_URL", url),
        ("TSUNAGI_ENV", "production"),
        ("TSUNAGI_JWT_SIGNING_KEY_FILE", key.to_str().expect("path")),
    ]);
    let run = |args: &[&str]| tsunagi_with(dir, args, &env);
    let first = run(&[
        "admin",
        "bootstrap",
        "--agency-code",
        "city",
        "--agency-name",
        "つなぎ市 福祉政策課",
        "--login",
        "chief",
        "--display-name",
        "管理者",
    ]);
    assert!(first.status.success(), "{label}: {}", text(&first));
    assert!(
        text(&first).contains("tsunagi token --account chief"),
        "{label}: {}",
        text(&first)
    );
    let again = run(&[
        "admin",
        "bootstrap",
        "--agency-code",
        "city2",
        "--agency-name",
        "x",
        "--login",
        "chief2",
        "--display-name",
        "y",
    ]);
    assert!(
        !again.status.success(),
        "{label}: a second bootstrap must be refused"
    );
    assert!(
        text(&again).contains("an active admin exists (\"chief\")"),
        "{label}: {}",
        text(&again)
    );

    // token: case-insensitive roles the account holds; nothing else.
    let token = run(&[
        "token",
        "--account",
        "chief",
        "--roles",
        "ADMIN",
        "--ttl",
        "600",
    ]);
    assert!(token.status.success(), "{label}: {}", text(&token));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    for (args, says) in [
        (
            vec!["--roles", "caseworker"],
            "does not hold the role caseworker",
        ),
        (vec!["--roles", "boss"], "unknown role"),
        (vec!["--ttl", "0"], "--ttl must be from 60 to 28800"),
        (vec!["--ttl", "59"], "--ttl must be from 60 to 28800"),
        (vec!["--ttl", "28801"], "--ttl must be from 60 to 28800"),
    ] {
        let out = run(&[&["token", "--account", "chief"][..], &args].concat());
        assert!(
            !out.status.success(),
            "{label}: token {args:?} must be refused"
        );
        assert!(
            text(&out).contains(says),
            "{label}: {args:?}: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "{label}: no token printed"
        );
    }

    let server = ServerProcess::spawn(dir, &["serve"], &env);
    let client = reqwest::Client::new();
    assert!(
        server.wait_ready(&client, Duration::from_secs(60)).await,
        "{label}: not ready: {}",
        server.log_text()
    );
    let body: Value = client
        .post(server.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { account { login } effectiveRoles } agencies { code kind } }" }))
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    drop(server);
    assert_eq!(
        body,
        json!({ "data": {
            "viewer": { "account": { "login": "chief" }, "effectiveRoles": ["ADMIN"] },
            "agencies": [{ "code": "city", "kind": "CITY_OFFICE" }],
        } }),
        "{label}"
    );
    let db = sea_orm::Database::connect(url).await.expect("connect");
    assert_eq!(
        entity::agency::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        1,
        "{label}"
    );
    assert_eq!(
        entity::account::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        1,
        "{label}"
    );
    assert_eq!(
        entity::person::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        0,
        "{label}: no demo data"
    );
    let ledger = entity::audit_event::Entity::find()
        .all(&db)
        .await
        .expect("ledger");
    db.close().await.ok();
    let first = ledger.iter().min_by_key(|e| e.seq).expect("a ledger row");
    assert_eq!(
        (first.operation.as_str(), first.action.as_str()),
        ("bootstrapAdmin", "WRITE"),
        "{label}"
    );
    let verify = run(&["audit", "verify"]);
    assert!(verify.status.success(), "{label}: {}", text(&verify));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_admin_is_bootstrapped_once_then_queries() {
    let dir = fresh_dir("tsunagi-op");
    let url = format!("sqlite://{}?mode=rwc", dir.join("hub.db").display());
    bootstrap_then_query("SQLite", &dir, &url).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((url, guard)) = scratch_postgres("admin bootstrap").await {
        let dir = fresh_dir("tsunagi-op");
        let outcome = tokio::spawn({
            let dir = dir.clone();
            async move { bootstrap_then_query("PostgreSQL", &dir, &url).await }
        })
        .await;
        guard.drop_now().await;
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// `token` in a directory with no database creates nothing: no database file, no key.
#[test]
fn token_creates_nothing_where_there_is_no_database() {
    let dir = fresh_dir("tsunagi-op");
    let out = tsunagi_with(&dir, &["token", "--account", "admin"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("does not exist (nothing was created)"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("がありません"),
        "bilingual: {}",
        text(&out)
    );
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert!(left.is_empty(), "created {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Every bad value stops the start naming the variable and what it accepts; so does a
/// misspelt variable; `--help` lists every variable the code reads, and README §3 documents
/// each; `config check` prints the configuration with its secrets masked.
#[test]
fn configuration_is_strict_and_listed() {
    let dir = fresh_dir("tsunagi-op");
    for (name, value, accepts) in [
        ("TSUNAGI_ENV", "Production", "development or production"),
        (
            "TSUNAGI_RATE_LIMIT_PER_MINUTE",
            "abc",
            "whole number from 0 to",
        ),
        ("TSUNAGI_BODY_LIMIT", "1MB", "whole number from 1024 to"),
        ("TSUNAGI_MAX_DEPTH", "-3", "whole number from 1 to 100"),
        ("TSUNAGI_GRAPHIQL", "enabled", "true or false"),
        (
            "TSUNAGI_JWT_LEEWAY_SECS",
            "30s",
            "whole number from 0 to 60",
        ),
        ("TSUNAGI_JWT_LEEWAY_SECS", "90", "whole number from 0 to 60"),
        ("TSUNAGI_LISTEN", "8080", "host:port"),
        ("TSUNAGI_LOG_FORMAT", "JSON", "text or json"),
        (
            "TSUNAGI_SHUTDOWN_GRACE_SECS",
            "forever",
            "whole number from 0 to 3600",
        ),
    ] {
        for command in [&["config", "check"][..], &["serve"][..]] {
            let out = tsunagi_with(&dir, command, &pairs(&[(name, value)]));
            assert!(
                !out.status.success(),
                "{name}={value} {command:?} must stop"
            );
            let said = text(&out);
            assert!(
                said.contains(name) && said.contains(accepts),
                "{name}={value}: {said}"
            );
        }
    }
    let out = tsunagi_with(
        &dir,
        &["serve"],
        &pairs(&[("TSUNAGI_RATE_LIMIT_PER_MINUT", "5")]),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("TSUNAGI_RATE_LIMIT_PER_MINUT (")
            && text(&out).contains("did you mean TSUNAGI_RATE_LIMIT_PER_MINUTE?"),
        "{}",
        text(&out)
    );
    assert!(
        std::fs::read_dir(&dir).expect("dir").next().is_none(),
        "a refused start writes nothing"
    );

    // Every variable the settings read is in --help and in README §3.
    let source =
        std::fs::read_to_string(common::workspace_root().join("api/src/config/settings.rs"))
            .expect("settings source");
    let names: Vec<&str> = source
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    let help = text(&tsunagi_with(&dir, &["--help"], &[]));
    let readme =
        std::fs::read_to_string(common::workspace_root().join("README.md")).expect("README");
    for name in &names {
        assert!(
            help.contains(&format!("[env: {name}")),
            "--help lacks {name}"
        );
        assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");
    }

    // A database URL that does not parse stops the start without repeating it (a password
    // with a bare '/' is the common case); production needs DATABASE_URL; config check
    // refuses what serve would (SQLite takes one connection).
    for (env, says) in [
        (
            vec![("DATABASE_URL", "postgres://hub:se/cret@db:5432/hub")],
            "DATABASE_URL does not parse",
        ),
        (
            vec![("DATABASE_URL", "postgress://hub:secret@db:5432/hub")],
            "DATABASE_URL does not parse",
        ),
        (
            vec![
                ("TSUNAGI_ENV", "production"),
                ("TSUNAGI_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ],
            "DATABASE_URL must be set in production",
        ),
        (
            vec![("TSUNAGI_DATABASE_POOL_SIZE", "4")],
            "SQLite uses exactly one connection",
        ),
    ] {
        for command in [&["config", "check"][..], &["serve"][..]] {
            let out = tsunagi_with(&dir, command, &pairs(&env));
            let said = text(&out);
            assert!(!out.status.success(), "{env:?} {command:?}: {said}");
            assert!(said.contains(says), "{env:?}: {said}");
            assert!(
                !said.contains("secret") && !said.contains("se/cret"),
                "{said}"
            );
        }
    }

    // config check: where each value came from, secrets masked.
    let secret = "correct-horse-battery-staple-0123456789";
    let out = tsunagi_with(
        &dir,
        &["config", "check"],
        &pairs(&[
            ("DATABASE_URL", "postgres://hub:hunter2@db.example:5432/hub"),
            ("TSUNAGI_JWT_SECRET", secret),
            ("TSUNAGI_MAX_DEPTH", "9"),
        ]),
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("hunter2") && !said.contains(secret),
        "{said}"
    );
    assert!(
        said.contains("postgres://hub:***@db.example:5432/hub"),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("TSUNAGI_JWT_SECRET") && l.contains("*** (environment)")),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("TSUNAGI_MAX_DEPTH") && l.contains("9 (environment)")),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("TSUNAGI_LISTEN") && l.contains("(default)")),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn version_names_the_commit() {
    let dir = fresh_dir("tsunagi-op");
    let out = tsunagi_with(&dir, &["--version"], &[]);
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let _ = std::fs::remove_dir_all(dir);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let expected = format!(
        "tsunagi {} ({})",
        env!("CARGO_PKG_VERSION"),
        head.as_deref().unwrap_or("unknown")
    );
    assert_eq!(said, expected);
}

/// Start-up on an empty PostgreSQL takes turns: a server waits while another holds the
/// start-up lock; two `serve --demo` started together both become ready, with the
/// migrations applied once and the demo loaded once.
#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_start_together_on_an_empty_postgres() {
    let Some((url, guard)) = scratch_postgres("concurrent start").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-op");
    let outcome = tokio::spawn({
        let dir = dir.clone();
        async move {
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            let env = pairs(&[("DATABASE_URL", &url), ("TSUNAGI_JWT_SECRET", &secret)]);
            let client = reqwest::Client::new();
            // While someone holds the start-up lock, a server waits (and says so) and is
            // not ready; once it is let go, the server starts.
            let holder = sea_orm::Database::connect(url.as_str())
                .await
                .expect("connect");
            let txn = holder.begin().await.expect("begin");
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({})",
                tsunagi_api::store::PG_START_LOCK
            ))
            .await
            .expect("hold the start-up lock");
            let waiting = ServerProcess::spawn(&dir, &["serve"], &env);
            assert!(
                !waiting.wait_ready(&client, Duration::from_secs(3)).await,
                "a server started while the lock was held: {}",
                waiting.log_text()
            );
            assert!(
                waiting.log_text().contains("waiting for the start-up lock"),
                "{}",
                waiting.log_text()
            );
            txn.commit().await.expect("let go");
            holder.close().await.ok();
            assert!(
                waiting.wait_ready(&client, Duration::from_secs(60)).await,
                "{}",
                waiting.log_text()
            );
            drop(waiting);
            // Two at once on what is left to do (the demo): one loads, the other waits.
            let a = ServerProcess::spawn(&dir, &["serve", "--demo"], &env);
            let b = ServerProcess::spawn(&dir, &["serve", "--demo"], &env);
            for s in [&a, &b] {
                assert!(
                    s.wait_ready(&client, Duration::from_secs(120)).await,
                    "a replica did not start: {}",
                    s.log_text()
                );
            }
            let logs = format!("{}\n{}", a.log_text(), b.log_text());
            assert!(!logs.contains("duplicate key"), "{logs}");
            assert_eq!(
                logs.matches("demo data already loaded").count(),
                1,
                "{logs}"
            );
            drop((a, b));
            let db = sea_orm::Database::connect(url.as_str())
                .await
                .expect("connect");
            let demo_agency = entity::agency::Entity::find()
                .all(&db)
                .await
                .expect("agencies")
                .into_iter()
                .filter(|a| a.code == "houkatsu-chuo")
                .count();
            let migrations = db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT count(*) AS n FROM seaql_migrations",
                ))
                .await
                .expect("migrations")
                .expect("a row")
                .try_get::<i64>("", "n")
                .expect("n");
            db.close().await.ok();
            assert_eq!(demo_agency, 1);
            assert_eq!(migrations as usize, migration_count());
            let verify = tsunagi_with(&dir, &["audit", "verify"], &env);
            assert!(verify.status.success(), "{}", text(&verify));
        }
    })
    .await;
    guard.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn migration_count() -> usize {
    use migration::MigratorTrait;
    migration::Migrator::migrations().len()
}
