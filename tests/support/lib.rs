//! The end-to-end test harness: a real `tsunagi` server (the same router as production) on
//! a fresh database per test, SQLite always and PostgreSQL when available, driven over HTTP.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};
use tsunagi_api::auth::KeySource;
use tsunagi_api::config::{Config, JwtConfig};
use tsunagi_api::{http, store};

pub use serde_json;

pub mod fixtures;
pub mod snapshot;

use fixtures::with_database;

pub const ISSUER: &str = "tsunagi-test";
pub const AUDIENCE: &str = "tsunagi-api";
pub const SECRET: &[u8] = b"test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL server URL (without database name semantics: tests create their own).
    Postgres {
        admin_url: String,
        source: String,
    },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// A running server on its own database.
pub struct Server {
    pub base: String,
    pub db: DatabaseConnection,
    pub jwt: JwtConfig,
    pub backend: Backend,
    pub admin_token: String,
    pub admin_id: String,
    pub city_agency: String,
    /// Every SQL statement the server's connection ran, in order (see [`Server::statements`]).
    pub sql: SqlLog,
    client: reqwest::Client,
    /// The query that reads the whole database, made on first use ([`Server::snapshot`]).
    snapshotter: tokio::sync::OnceCell<snapshot::Snapshotter>,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
    task: tokio::task::JoinHandle<()>,
}

/// The SQL statements run on the server's database connection, recorded through sea-orm's
/// metric callback (set before the connection is cloned into the server's state, since a
/// clone keeps the callback it was made with).
#[derive(Clone, Default)]
pub struct SqlLog(Arc<Mutex<Vec<String>>>);

impl SqlLog {
    /// Forget what was recorded so far.
    pub fn clear(&self) {
        self.0.lock().expect("sql log").clear();
    }
    /// The statements recorded since the last [`SqlLog::clear`] or `take`, and forget them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("sql log"))
    }
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The HTTP answer to a GraphQL request.
#[derive(Debug, Clone)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
}

impl Gql {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }
    /// Panics unless the response has data and no errors.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "HTTP status, body: {}", self.body);
        assert!(self.errors().is_empty(), "unexpected errors: {}", self.body);
        self.data()
    }
    /// The codes of all errors, in order.
    pub fn codes(&self) -> Vec<String> {
        self.errors()
            .iter()
            .map(|e| {
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned()
            })
            .collect()
    }
    /// The single error's extensions, asserting its code.
    pub fn only_error(&self, code: &str) -> Value {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected one error, got {}", self.body);
        assert_eq!(errors[0]["extensions"]["code"], code, "body: {}", self.body);
        errors[0].clone()
    }
    /// Asserts the field at `path` (below `data`) is present and null, and that an error
    /// with code CONSENT_REQUIRED and the given category stands at exactly that path.
    pub fn assert_withheld(&self, path: &[Value], category: &str) {
        let (last, parents) = path.split_last().expect("a path");
        let mut node = self.data();
        for p in parents {
            node = match p {
                Value::String(k) => &node[k.as_str()],
                Value::Number(i) => &node[i.as_u64().expect("index") as usize],
                _ => panic!("bad path"),
            };
        }
        let key = last.as_str().expect("field name");
        let obj = node
            .as_object()
            .unwrap_or_else(|| panic!("no object above {key}: {}", self.body));
        assert!(
            obj.contains_key(key),
            "{key} must be present (as null), not dropped: {}",
            self.body
        );
        assert_eq!(obj[key], Value::Null, "{key} must be null: {}", self.body);
        let wanted: Vec<Value> = path.to_vec();
        let found = self.errors().into_iter().any(|e| {
            e["path"].as_array() == Some(&wanted)
                && e["extensions"]["code"] == "CONSENT_REQUIRED"
                && e["extensions"]["category"] == category
        });
        assert!(
            found,
            "no CONSENT_REQUIRED {category} error at {wanted:?}: {}",
            self.body
        );
    }

    /// Every error has a code and a message in both languages: Japanese, " / ", English
    /// (and never the parser's ASCII art).
    pub fn assert_coded_bilingual(&self) {
        let errors = self.errors();
        assert!(!errors.is_empty(), "expected errors: {}", self.body);
        for e in errors {
            assert!(e["extensions"]["code"].is_string(), "uncoded: {e}");
            let message = e["message"].as_str().unwrap_or_default();
            let (ja, en) = message
                .split_once(" / ")
                .unwrap_or_else(|| panic!("not \"日本語 / English\": {message:?}"));
            let japanese = |c: char| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}');
            assert!(ja.chars().any(japanese), "no Japanese: {message:?}");
            assert!(
                en.chars().any(|c| c.is_ascii_alphabetic()),
                "no English: {message:?}"
            );
            assert!(
                !message.contains("-->") && !message.contains('\n'),
                "ASCII art: {message:?}"
            );
        }
    }

    /// Errors whose path ends in `field`.
    pub fn errors_at(&self, field: &str) -> Vec<Value> {
        self.errors()
            .into_iter()
            .filter(|e| {
                e["path"]
                    .as_array()
                    .and_then(|p| p.last())
                    .is_some_and(|l| l == field)
            })
            .collect()
    }
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Server {
    pub async fn start(backend: &Backend) -> Server {
        Server::start_with(backend, |_| {}).await
    }

    /// Start with a changed configuration (limits, say).
    pub async fn start_with(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        Server::start_inner(backend, tweak, false).await
    }

    /// Start on the demo data set (`serve --demo`) instead of the bare bootstrap: the demo's
    /// agencies and accounts; `admin_token` is the demo's `admin`. Tokens for the other demo
    /// accounts come from [`Server::demo_token`].
    pub async fn start_demo(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        Server::start_inner(backend, tweak, true).await
    }

    /// A token for a demo account by its login (as `tsunagi token --account <login>`).
    pub async fn demo_token(&self, login: &str) -> String {
        let account = store::registry::account_by_login(&self.db, login)
            .await
            .expect("read account")
            .unwrap_or_else(|| panic!("no demo account {login}"));
        self.token(&account.id)
    }

    async fn start_inner(backend: &Backend, tweak: impl FnOnce(&mut Config), demo: bool) -> Server {
        let (url, cleanup, dir) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("tsunagi-test-{}", unique()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
                (url, None, Some(TempDir(dir)))
            }
            Backend::Postgres { admin_url, .. } => {
                let name = format!("tsunagi_t_{}", unique());
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                (
                    with_database(admin_url, &name),
                    Some((admin_url.clone(), name)),
                    None,
                )
            }
        };
        let base_jwt = JwtConfig {
            key: KeySource::hs256(SECRET.to_vec()).expect("key"),
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            leeway_secs: 30,
            max_token_age_secs: tsunagi_api::config::DEFAULT_MAX_TOKEN_AGE_SECS,
        };
        let mut config = Config {
            database_url: url.clone(),
            listen: "127.0.0.1:0".to_owned(),
            jwt: base_jwt,
            body_limit: 256 * 1024,
            emergency_hours: 4,
            limits: tsunagi_api::config::Limits::default(),
            oauth: tsunagi_api::config::OAuthConfig::default(),
            pool: tsunagi_api::config::PoolSettings::default(),
            // Functional tests are not load tests: requests queue for a slot rather than
            // being shed (as before admission existed), unless a test sets its own.
            admission: tsunagi_api::config::AdmissionSettings {
                queue: Some(100_000),
                wait: std::time::Duration::from_secs(600),
                ..Default::default()
            },
            database_replica_url: None,
            operations: Default::default(),
        };
        tweak(&mut config);
        // The pool as tweaked (a load test sets its size and acquire timeout).
        let mut db = store::connect(&url, &config.pool).await.expect("connect");
        store::migrate(&db).await.expect("migrate");
        let sql = SqlLog::default();
        let log = sql.clone();
        db.set_metric_callback(move |info| {
            if let Ok(mut l) = log.0.lock() {
                l.push(info.statement.sql.clone());
            }
        });
        // The keys as tweaked: srv.token() signs like the server's own `tsunagi token`.
        let jwt = config.jwt.clone();
        // Bootstrap, as an operator would: the city office and its first admin.
        let now = tsunagi_api::audit::now_micros();
        let city = entity::agency::Model {
            id: store::new_id(),
            code: "city".to_owned(),
            name: "市 福祉政策課".to_owned(),
            kind: "CITY_OFFICE".to_owned(),
            legal_regime: "PUBLIC_BODY".to_owned(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let admin = entity::account::Model {
            id: store::new_id(),
            login: "admin".to_owned(),
            display_name: "管理者".to_owned(),
            agency_id: city.id.clone(),
            kind: "STAFF".to_owned(),
            roles: "admin,auditor".to_owned(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let (city, admin) = if demo {
            tsunagi_api::demo::load(&db)
                .await
                .expect("load the demo data");
            let admin = store::registry::account_by_login(&db, "admin")
                .await
                .expect("read admin")
                .expect("the demo admin");
            let city = store::registry::agency(&db, &admin.agency_id)
                .await
                .expect("read agency")
                .expect("the demo city office");
            (city, admin)
        } else {
            entity::agency::ActiveModel::from(city.clone())
                .insert(&db)
                .await
                .expect("bootstrap agency");
            entity::account::ActiveModel::from(admin.clone())
                .insert(&db)
                .await
                .expect("bootstrap admin");
            (city, admin)
        };
        let state = http::AppState::new(db.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, http::router(state)).await;
        });
        // Empty when the hub cannot sign (JWKS only): such a test signs its own tokens.
        let admin_token = tsunagi_api::auth::mint(&jwt, &admin.id, 3600, None).unwrap_or_default();
        Server {
            base: format!("http://{addr}"),
            db,
            jwt,
            backend: backend.clone(),
            admin_token,
            admin_id: admin.id,
            city_agency: city.id,
            sql,
            client: reqwest::Client::new(),
            snapshotter: tokio::sync::OnceCell::new(),
            cleanup,
            _dir: dir,
            task,
        }
    }

    pub async fn stop(self) {
        self.task.abort();
        self.db.close().await.ok();
        if let Some((admin_url, name)) = &self.cleanup {
            if let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                admin.close().await.ok();
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST /graphql with an optional raw Authorization header value.
    pub async fn raw(&self, authorization: Option<&str>, body: Value) -> Gql {
        let mut req = self.client.post(self.url("/graphql")).json(&body);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.expect("HTTP request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
        Gql { status, body }
    }

    /// A GraphQL request as the bearer of `token`.
    /// Run one GraphQL request and return its answer with the SQL statements the server ran
    /// for it (nothing else runs on this server's connection while the test waits).
    pub async fn gql_counted(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (Gql, Vec<String>) {
        self.sql.clear();
        let r = self.gql(token, query, variables).await;
        (r, self.sql.take())
    }

    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Gql {
        self.raw(
            Some(&format!("Bearer {token}")),
            json!({ "query": query, "variables": variables }),
        )
        .await
    }

    pub fn token(&self, account_id: &str) -> String {
        tsunagi_api::auth::mint(&self.jwt, account_id, 3600, None).expect("mint")
    }

    /// Create an agency through the admin API; returns its id.
    pub async fn agency(&self, code: &str, kind: &str) -> String {
        let r = self
            .gql(
                &self.admin_token,
                "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
                json!({ "i": { "code": code, "name": format!("{code} 機関"), "kind": kind, "legalRegime": "PRIVATE_OPERATOR" } }),
            )
            .await;
        r.ok()["createAgency"]["id"]
            .as_str()
            .expect("agency id")
            .to_owned()
    }

    /// An account's version, as an admin (`token`) reads it from `accounts`.
    pub async fn account_version(&self, token: &str, id: &str) -> i64 {
        let r = self
            .gql(token, "{ accounts { id version } }", json!({}))
            .await;
        r.ok()["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["id"] == id)
            .and_then(|a| a["version"].as_i64())
            .expect("account version")
    }

    /// Create an account through the admin API; returns (account id, token).
    pub async fn account(&self, login: &str, agency_id: &str, roles: &[&str]) -> (String, String) {
        let r = self
            .gql(
                &self.admin_token,
                "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
                json!({ "i": { "login": login, "displayName": login, "agencyId": agency_id, "kind": "STAFF",
                    "roles": roles.iter().map(|r| r.to_uppercase()).collect::<Vec<_>>() } }),
            )
            .await;
        let id = r.ok()["createAccount"]["id"]
            .as_str()
            .expect("account id")
            .to_owned();
        let token = self.token(&id);
        (id, token)
    }

    /// Create a household of `persons` through the API as `token` (the first is its head,
    /// 本人; the others 家族); returns the id.
    pub async fn household(&self, token: &str, persons: &[&str]) -> String {
        let members: Vec<Value> = persons
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "personId": p, "relationship": if i == 0 { "本人" } else { "家族" }, "isHead": i == 0 }))
            .collect();
        let r = self
            .gql(
                token,
                "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
                json!({ "m": members }),
            )
            .await;
        r.ok()["createHousehold"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createHousehold: {:?}", r.body))
            .to_owned()
    }

    /// Register a person through the API as `token`; returns the id.
    pub async fn person(&self, token: &str, input: Value) -> String {
        let r = self
            .gql(
                token,
                "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await;
        r.ok()["createPerson"]["id"]
            .as_str()
            .expect("person id")
            .to_owned()
    }

    /// Record a consent as `token`; returns (id, version).
    pub async fn consent(&self, token: &str, input: Value) -> (String, i64) {
        let r = self
            .gql(
                token,
                "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id version } }",
                json!({ "i": input }),
            )
            .await;
        let c = &r.ok()["recordConsent"];
        (
            c["id"].as_str().expect("consent id").to_owned(),
            c["version"].as_i64().expect("version"),
        )
    }

    /// Ledger rows, oldest first, straight from the database.
    pub async fn ledger(&self) -> Vec<entity::audit_event::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::audit_event::Entity::find()
            .order_by_asc(entity::audit_event::Column::Seq)
            .all(&self.db)
            .await
            .expect("ledger")
    }
}

/// A default person input with distinct names.
pub fn person_input(family: &str, given: &str, kana_family: &str, kana_given: &str) -> Value {
    json!({
        "familyName": family, "givenName": given,
        "familyNameKana": kana_family, "givenNameKana": kana_given,
        "birthDate": "1950-04-01", "sex": "FEMALE",
        "address": "鶴岡市本町一丁目 1-1", "phone": "0235-00-0000", "district": "中央圏域",
        "careLevel": "要介護2", "disabilityCertificate": null, "publicAssistance": true
    })
}

/// A consent input: self-given, purpose SUPPORT, valid from an hour ago.
pub fn consent_input(
    person: &str,
    categories: &[&str],
    agencies: &[&str],
    kinds: &[&str],
) -> Value {
    let from = chrono::Utc::now() - chrono::Duration::hours(1);
    json!({
        "personId": person, "givenBy": "SELF", "categories": categories,
        "recipientAgencyIds": agencies, "recipientAgencyKinds": kinds,
        "purpose": "SUPPORT", "validFrom": from.to_rfc3339(), "method": "WRITTEN",
        "evidenceRef": "同意書 001"
    })
}

pub type TestFn = fn(Server) -> Pin<Box<dyn Future<Output = Server> + Send>>;

/// Declare a test as an async fn taking `srv: &Server`.
#[macro_export]
macro_rules! tests {
    ($($name:ident),+ $(,)?) => {
        pub fn all() -> Vec<(&'static str, $crate::TestFn)> {
            vec![$((concat!(module_path!(), "::", stringify!($name)), |srv| Box::pin(async move { $name(&srv).await; srv }))),+]
        }
    };
}

/// A runner's start (tests/api, tests/console): one line per panic (the failure summary
/// repeats the message), and the filters given on the command line (a test runs when its
/// name contains one of them; none given, every test runs).
pub fn runner_filter() -> Vec<String> {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string()).unwrap_or_default();
        eprintln!("panicked at {location}");
    }));
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect()
}

/// Runs a runner (a test binary without the standard harness: tests/api, tests/noleak) to
/// its end on a multi-threaded Tokio runtime.
pub fn block_on<F: Future>(runner: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(runner)
}

/// The backends a runner tests on: SQLite always; PostgreSQL from TEST_DATABASE_URL, else
/// through testcontainers when a Docker engine answers.
pub struct Backends {
    pub list: Vec<Backend>,
    /// Why PostgreSQL is missing, when it is.
    pub pg_missing: Option<String>,
    _container: Option<ContainerGuard>,
}

impl Backends {
    /// The first lines of a runner's output: which backends run, and a warning when
    /// PostgreSQL does not.
    pub fn banner(&self) {
        println!();
        println!(
            "backends: {}",
            self.list
                .iter()
                .map(|b| match b {
                    Backend::Sqlite => "sqlite".to_owned(),
                    Backend::Postgres { source, .. } => format!("postgres (via {source})"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(why) = &self.pg_missing {
            println!("WARNING: PostgreSQL NOT TESTED: {why}. Set TEST_DATABASE_URL to test it.");
        }
    }

    /// The warning again at the end, where it is read.
    pub fn footer(&self) {
        if let Some(why) = &self.pg_missing {
            println!("WARNING: PostgreSQL NOT TESTED: {why}.");
        }
    }
}

/// The backends to run on (see [`Backends`]).
pub async fn backends() -> Backends {
    let (list, pg_missing, container) = find_backends().await;
    Backends {
        list,
        pg_missing,
        _container: container,
    }
}

async fn find_backends() -> (Vec<Backend>, Option<String>, Option<ContainerGuard>) {
    let mut out = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        if !url.trim().is_empty() {
            match sea_orm::Database::connect(url.as_str()).await {
                Ok(db) => {
                    db.close().await.ok();
                    out.push(Backend::Postgres {
                        admin_url: url,
                        source: "TEST_DATABASE_URL".to_owned(),
                    });
                    return (out, None, None);
                }
                Err(e) => {
                    eprintln!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}");
                    std::process::exit(2);
                }
            }
        }
    }
    use testcontainers_modules::postgres::Postgres;
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    match Postgres::default().start().await {
        Ok(container) => {
            let port = match container.get_host_port_ipv4(5432).await {
                Ok(p) => p,
                Err(e) => return (out, Some(format!("testcontainers: {e}")), None),
            };
            let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
            out.push(Backend::Postgres {
                admin_url: url,
                source: "testcontainers".to_owned(),
            });
            (out, None, Some(ContainerGuard(Box::new(container))))
        }
        Err(e) => (
            out,
            Some(format!("no TEST_DATABASE_URL and no Docker engine ({e})")),
            None,
        ),
    }
}

/// Keeps a testcontainers PostgreSQL alive for the run.
pub struct ContainerGuard(#[allow(dead_code)] Box<dyn std::any::Any + Send>);

/// The household overview (household → members → persons → consultations, with the
/// household's support cases and current plan): one GraphQL document, shared with the
/// benchmark. Variables: `{"id": <household id>}`.
pub const HOUSEHOLD_OVERVIEW: &str = include_str!("../../bench/queries/household_overview.graphql");

/// Of one request's statements (from `gql_counted`): those that are not ledger writes, and
/// the ledger inserts.
pub fn split_ledger(sql: &[String]) -> (usize, usize) {
    let ledger = sql
        .iter()
        .filter(|s| {
            s.trim_start().to_ascii_uppercase().starts_with("INSERT") && s.contains("audit_event")
        })
        .count();
    (sql.len() - ledger, ledger)
}
