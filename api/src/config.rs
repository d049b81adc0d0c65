//! The configuration: every setting is parsed once, by clap, from its flag or environment
//! variable ([`Settings`]); [`Config::from_settings`] turns the settings into what the
//! server uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::auth::JwtConfig;
use crate::auth::{KeyConfig, KeySource};
use crate::documents::TrustedDocuments;

mod settings;
pub use settings::{known_variables, unknown_variables, Environment, LogFormat, Settings};

/// The default database: an SQLite file in the working directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tsunagi.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ISSUER: &str = "tsunagi";
pub const DEFAULT_AUDIENCE: &str = "tsunagi-api";
/// Where the development signing key (Ed25519) lives when no token key is configured.
pub const DEV_SIGNING_KEY_FILE: &str = "tsunagi-dev-signing-key.pem";
/// Clock skew tolerated on exp, nbf and iat by default, and at most (RFC 8725 asks for little).
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
pub const MAX_LEEWAY_SECS: u64 = 60;
/// The oldest a token may be, and the longest it may live, by default: one working shift.
/// A stolen token is useless by the next shift, and after a key rotation the old key can be
/// removed from the JWKS this long after the signer switched. `tsunagi token`'s default
/// lifetime (an hour) fits well within it.
pub const DEFAULT_MAX_TOKEN_AGE_SECS: u64 = 8 * 3600;
/// The longest a break-glass grant may last (生命・身体の保護: hours, not days).
pub const MAX_EMERGENCY_HOURS: u32 = 24;
/// The longest a service client's access token may live, in seconds.
pub const MAX_CLIENT_TOKEN_TTL_SECS: u64 = 3600;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen: String,
    pub jwt: JwtConfig,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long a break-glass grant lasts by default, in hours (at most [`MAX_EMERGENCY_HOURS`]).
    pub emergency_hours: u32,
    pub limits: Limits,
    pub oauth: OAuthConfig,
    /// The database pool ([`PoolSettings`]) and admission to /graphql ([`AdmissionSettings`]).
    pub pool: PoolSettings,
    pub admission: AdmissionSettings,
    /// A streaming read replica of the PostgreSQL primary (TSUNAGI_DATABASE_REPLICA_URL),
    /// checked by [`Config::replica_url`]. What may be read from it: README §12,
    /// [`crate::graphql::context::replica_db`].
    pub database_replica_url: Option<String>,
    /// Environment, shutdown, logs and metrics.
    pub operations: Operations,
}

/// A database URL fit for a log line or `config check`: rebuilt from its parts with the
/// password masked and any query string (which may carry `password=`) left out; `***` for
/// anything that is not a URL. SQLite URLs hold no secret and are shown as they are.
pub fn redact(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let Ok(u) = url::Url::parse(url) else {
        return "***".to_owned();
    };
    let mut out = format!("{}://", u.scheme());
    if !u.username().is_empty() {
        out.push_str(u.username());
        if u.password().is_some() {
            out.push_str(":***");
        }
        out.push('@');
    }
    out.push_str(u.host_str().unwrap_or_default());
    if let Some(port) = u.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(u.path());
    if u.query().is_some() {
        out.push_str("?***");
    }
    out
}

/// POST /oauth/token (service clients, OAuth 2.0 client credentials).
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Lifetime of an issued access token, in seconds (60..=[`MAX_CLIENT_TOKEN_TTL_SECS`]).
    pub token_ttl_secs: u64,
    /// Tokens issued per minute per client (charged only after its secret verified, so
    /// nobody without the secret can use up a client's allowance); 0 = off.
    pub requests_per_minute: u32,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            token_ttl_secs: 600,
            requests_per_minute: 30,
        }
    }
}

/// What one request may ask for. Checked before execution where possible.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Schema introspection (`__schema`, `__type`). Off by default in production.
    pub introspection: bool,
    /// The GraphiQL page on GET /graphql. Off by default in production.
    pub graphiql: bool,
    /// Most field aliases in one document (alias bombs).
    pub max_aliases: usize,
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest complexity (each field 1; list fields multiply by their page size).
    pub max_complexity: usize,
    /// Longest a request may run before it is abandoned.
    pub request_timeout: Duration,
    /// Requests per minute per account; 0 turns the limit off.
    pub rate_per_minute: u32,
    /// Registered (persisted) documents and who must use them; see [`crate::documents`].
    pub documents: Arc<TrustedDocuments>,
    /// How long a subscription socket may stay silent before the hub sends it a
    /// graphql-transport-ws `ping` (keeps proxies and NAT from dropping it; a failed write
    /// ends it). Zero sends none.
    pub ws_ping_interval: Duration,
    /// The statistics threshold k ([`crate::policy::statistics`]): a cell whose perturbed
    /// count is below it is not published. At least `MIN_THRESHOLD` (5).
    pub statistics_threshold: i64,
}

impl Default for Limits {
    /// Development defaults: introspection and GraphiQL on.
    fn default() -> Self {
        Limits {
            introspection: true,
            graphiql: true,
            max_aliases: 30,
            max_depth: 12,
            max_complexity: 5_000,
            request_timeout: Duration::from_secs(15),
            rate_per_minute: 600,
            documents: Arc::default(),
            ws_ping_interval: Duration::from_secs(30),
            statistics_threshold: crate::policy::statistics::DEFAULT_THRESHOLD,
        }
    }
}

impl Limits {
    /// From the settings: production turns introspection and GraphiQL off unless set.
    /// Trusted documents are read by [`Config::from_settings`], since a bad manifest must
    /// stop the server.
    fn from_settings(s: &Settings) -> Self {
        let d = Limits::default();
        let production = s.environment == Some(Environment::Production);
        let millis = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_millis);
        let count = |v: Option<u64>, d: usize| v.map_or(d, |n| n as usize);
        Limits {
            introspection: s.introspection.unwrap_or(!production),
            graphiql: s.graphiql.unwrap_or(!production),
            max_aliases: count(s.max_aliases, d.max_aliases),
            max_depth: count(s.max_depth, d.max_depth),
            max_complexity: count(s.max_complexity, d.max_complexity),
            request_timeout: millis(s.request_timeout_ms, d.request_timeout),
            rate_per_minute: s
                .rate_limit_per_minute
                .map_or(d.rate_per_minute, |n| n as u32),
            documents: d.documents,
            ws_ping_interval: d.ws_ping_interval,
            statistics_threshold: s
                .statistics_threshold
                .map_or(d.statistics_threshold, |k| k as i64),
        }
    }
}

/// What a command does when no token key is configured in development.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKey {
    /// Create [`DEV_SIGNING_KEY_FILE`] in the working directory if it is missing (`serve`).
    Create,
    /// Use the file if it is there, else no key at all (every other command: `token` run
    /// from another directory must not create a key the server does not know).
    IfPresent,
}

impl JwtConfig {
    /// Token keys and checks from the settings (see [`KeyConfig`]). Without any key
    /// configuration, a development Ed25519 signing key is used from [`DEV_SIGNING_KEY_FILE`]
    /// (created by `serve`: [`DevKey`]), so a fresh machine works without set-up, no
    /// well-known secret ever signs tokens, and HS256 is never used implicitly. In production
    /// a key configuration is required.
    pub fn from_settings(s: &Settings, dev_key: DevKey) -> anyhow::Result<Self> {
        let production = s.environment == Some(Environment::Production);
        let mut keys = KeyConfig {
            hs256_secret: s.jwt_secret.clone().map(String::into_bytes),
            signing_key_file: s.jwt_signing_key_file.clone(),
            signing_kid: s.jwt_signing_kid.clone(),
            jwks_file: s.jwt_jwks_file.clone(),
            poll: match s.jwt_reload_check_secs.unwrap_or(1) {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
        };
        if keys.hs256_secret.is_none()
            && keys.signing_key_file.is_none()
            && keys.jwks_file.is_none()
        {
            if production {
                anyhow::bail!(
                    "TSUNAGI_ENV=production: トークン鍵の設定が必要です / token keys must be configured: set TSUNAGI_JWT_JWKS_FILE (the IdP's public keys) and/or TSUNAGI_JWT_SIGNING_KEY_FILE (the hub's own key), or TSUNAGI_JWT_SECRET for HS256; no development key is created in production"
                );
            }
            let path = PathBuf::from(DEV_SIGNING_KEY_FILE);
            match dev_key {
                DevKey::Create => {
                    if crate::auth::ensure_dev_signing_key(&path)? {
                        tracing::warn!(
                            file = %path.display(),
                            "no token key configured: created a development Ed25519 signing key; configure TSUNAGI_JWT_SIGNING_KEY_FILE / TSUNAGI_JWT_JWKS_FILE in production"
                        );
                    }
                    keys.signing_key_file = Some(path);
                }
                DevKey::IfPresent if path.exists() => keys.signing_key_file = Some(path),
                // Nothing to sign or verify with: `token` says so when it needs a key.
                DevKey::IfPresent => {}
            }
        }
        let unkeyed = keys.hs256_secret.is_none()
            && keys.signing_key_file.is_none()
            && keys.jwks_file.is_none();
        Ok(JwtConfig {
            key: if unkeyed {
                KeySource::none()
            } else {
                KeySource::load(keys)?
            },
            issuer: s.jwt_issuer.clone(),
            audience: s.jwt_audience.clone(),
            leeway_secs: s.jwt_leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS),
            max_token_age_secs: s
                .jwt_max_token_age_secs
                .unwrap_or(DEFAULT_MAX_TOKEN_AGE_SECS),
        })
    }
}

impl Config {
    /// The configuration from parsed settings (token keys: [`JwtConfig::from_settings`]).
    pub fn from_settings(s: &Settings, dev_key: DevKey) -> anyhow::Result<Self> {
        let jwt = JwtConfig::from_settings(s, dev_key)?;
        let d = OAuthConfig::default();
        let oauth = OAuthConfig {
            token_ttl_secs: s.client_token_ttl_secs.unwrap_or(d.token_ttl_secs),
            requests_per_minute: s
                .client_token_rate_per_minute
                .map_or(d.requests_per_minute, |n| n as u32),
        };
        // A client token may not outlive what the hub itself accepts: otherwise every
        // /oauth/token request would fail at signing, after the secret was verified.
        if oauth.token_ttl_secs > jwt.max_token_age_secs {
            anyhow::bail!(
                "TSUNAGI_CLIENT_TOKEN_TTL_SECS ({}) は TSUNAGI_JWT_MAX_TOKEN_AGE_SECS ({}) 以下にしてください / TSUNAGI_CLIENT_TOKEN_TTL_SECS ({}) must not exceed TSUNAGI_JWT_MAX_TOKEN_AGE_SECS ({})",
                oauth.token_ttl_secs,
                jwt.max_token_age_secs,
                oauth.token_ttl_secs,
                jwt.max_token_age_secs
            );
        }
        let mode = s.trusted_documents.unwrap_or_default();
        let production = s.environment == Some(Environment::Production);
        for (name, url) in [
            ("DATABASE_URL", &s.database_url),
            ("TSUNAGI_DATABASE_REPLICA_URL", &s.database_replica_url),
        ] {
            if let Some(url) = url {
                settings::check_database_url(name, url).map_err(anyhow::Error::msg)?;
            }
        }
        let database_url = match &s.database_url {
            Some(url) => url.clone(),
            // A production hub on an SQLite file nobody chose would lose every record with
            // its container or working directory.
            None if production => anyhow::bail!(
                "TSUNAGI_ENV=production: DATABASE_URL を指定してください / DATABASE_URL must be set in production (postgres://…, or sqlite://FILE?mode=rwc chosen explicitly)"
            ),
            None => DEFAULT_DATABASE_URL.to_owned(),
        };
        let pool = PoolSettings {
            size: s.database_pool_size.map(|n| n as u32),
            acquire_timeout: s
                .database_acquire_timeout_ms
                .map_or(DEFAULT_ACQUIRE_TIMEOUT, Duration::from_millis),
        };
        // Checked here, so that `config check` refuses what `serve` would.
        pool.size_for(&database_url).map_err(anyhow::Error::msg)?;
        Ok(Config {
            database_url,
            listen: s.listen.clone(),
            jwt,
            body_limit: s.body_limit.map_or(256 * 1024, |n| n as usize),
            emergency_hours: s.emergency_hours.map_or(4, |n| n as u32),
            limits: Limits {
                documents: Arc::new(TrustedDocuments::from_settings(
                    mode,
                    s.trusted_documents_file.as_deref(),
                )?),
                ..Limits::from_settings(s)
            },
            oauth,
            pool,
            admission: AdmissionSettings {
                limit: s.admission_limit.map(|n| n as usize),
                queue: s.admission_queue.map(|n| n as usize),
                wait: s
                    .admission_wait_ms
                    .map_or(DEFAULT_ADMISSION_WAIT, Duration::from_millis),
            },
            database_replica_url: s.database_replica_url.clone(),
            operations: Operations {
                environment: s.environment.unwrap_or_default(),
                shutdown_grace: s
                    .shutdown_grace_secs
                    .map_or(DEFAULT_SHUTDOWN_GRACE, Duration::from_secs),
                log_format: s.log_format.unwrap_or_default(),
                metrics_listen: s.metrics_listen.clone(),
            },
        })
    }
}

/// How the process runs: its environment, shutdown, logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operations {
    pub environment: Environment,
    /// After SIGTERM or SIGINT, how long in-flight requests may take before the process
    /// exits anyway (TSUNAGI_SHUTDOWN_GRACE_SECS).
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    /// Where /metrics is served (TSUNAGI_METRICS_LISTEN); None: nowhere.
    pub metrics_listen: Option<String>,
}

/// The default shutdown grace period.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Default for Operations {
    fn default() -> Self {
        Operations {
            environment: Environment::Development,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_format: LogFormat::Text,
            metrics_listen: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Load: the database pool and admission to /graphql (issue 12 item 3). Bad values stop the
// server at start-up: a typo must not silently become a default.

/// PostgreSQL's pool size when none is set. SQLite always has one connection.
pub const DEFAULT_PG_POOL_SIZE: u32 = 16;
/// How long a request waits for a pooled connection by default (while the database is
/// down, opening one is retried until then).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may queue for an admission slot by default.
pub const DEFAULT_ADMISSION_WAIT: Duration = Duration::from_secs(1);
/// What a shed request is told to wait (`Retry-After`, seconds).
pub const RETRY_AFTER_SECS: u64 = 1;

/// The database connection pool: TSUNAGI_DATABASE_POOL_SIZE, TSUNAGI_DATABASE_ACQUIRE_TIMEOUT_MS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most; None: the backend's default (PostgreSQL
    /// [`DEFAULT_PG_POOL_SIZE`], SQLite 1, the only size SQLite accepts).
    pub size: Option<u32>,
    /// How long a request waits for a connection before it is shed (503 UNAVAILABLE).
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            size: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

impl PoolSettings {
    /// The pool size for a database URL; Err for a size SQLite cannot take.
    pub fn size_for(&self, url: &str) -> Result<u32, String> {
        let sqlite = url.starts_with("sqlite:");
        match (self.size, sqlite) {
            (None, true) => Ok(1),
            (None, false) => Ok(DEFAULT_PG_POOL_SIZE),
            (Some(1), true) => Ok(1),
            (Some(n), true) => Err(format!(
                "TSUNAGI_DATABASE_POOL_SIZE={n}: SQLite は接続 1 本だけです / SQLite uses exactly one connection (one writer); set 1 or leave it unset"
            )),
            (Some(n), false) => Ok(n),
        }
    }
}

/// Admission to POST /graphql: at most `limit` requests run at once, at most `queue` more
/// wait for a slot, each at most `wait`; anything beyond is shed at once with 503
/// UNAVAILABLE and `Retry-After` (see [`crate::shed`]). TSUNAGI_ADMISSION_LIMIT,
/// TSUNAGI_ADMISSION_QUEUE, TSUNAGI_ADMISSION_WAIT_MS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// None: twice the pool size, at least 8 (a request spends part of its time off the
    /// database: policy, serialisation, the ledger's group commit).
    pub limit: Option<usize>,
    /// None: eight times the limit.
    pub queue: Option<usize>,
    pub wait: Duration,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        AdmissionSettings {
            limit: None,
            queue: None,
            wait: DEFAULT_ADMISSION_WAIT,
        }
    }
}

impl AdmissionSettings {
    /// (limit, queue) for a pool of `pool_size` connections.
    pub fn sized(&self, pool_size: u32) -> (usize, usize) {
        let limit = self.limit.unwrap_or((2 * pool_size as usize).max(8));
        (limit, self.queue.unwrap_or(8 * limit))
    }
}

// --- The read replica (TSUNAGI_DATABASE_REPLICA_URL) ---------------------------------------

impl Config {
    /// The read replica's URL, if one is configured, after checking it: PostgreSQL only (a
    /// replica of an SQLite file does not exist, and a replica of another PostgreSQL than
    /// the primary would offer rows the primary does not have), and a URL that parses. Called
    /// by `serve` before anything is opened, after `--database-url` has overridden the
    /// primary, so that a wrong setting stops the start with a message rather than failing
    /// the first list request.
    pub fn replica_url(&self) -> anyhow::Result<Option<&str>> {
        checked_replica_url(&self.database_url, self.database_replica_url.as_deref())
    }
}

/// [`Config::replica_url`]'s checks of a replica URL against the primary's.
fn checked_replica_url<'a>(
    primary: &str,
    replica: Option<&'a str>,
) -> anyhow::Result<Option<&'a str>> {
    let Some(url) = replica else {
        return Ok(None);
    };
    let postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
    if !postgres(primary) {
        anyhow::bail!(
            "TSUNAGI_DATABASE_REPLICA_URL は PostgreSQL のときだけ使えます（DATABASE_URL が PostgreSQL ではありません）/ TSUNAGI_DATABASE_REPLICA_URL needs a PostgreSQL primary: DATABASE_URL is not postgres:// (SQLite has no read replica); unset TSUNAGI_DATABASE_REPLICA_URL"
        );
    }
    if !postgres(url) {
        anyhow::bail!(
            "TSUNAGI_DATABASE_REPLICA_URL は postgres:// の URL にしてください / TSUNAGI_DATABASE_REPLICA_URL must be a postgres:// (or postgresql://) URL of a streaming replica of the primary"
        );
    }
    if let Err(e) = url.parse::<sea_orm::sqlx::postgres::PgConnectOptions>() {
        anyhow::bail!(
            "TSUNAGI_DATABASE_REPLICA_URL を解釈できません / TSUNAGI_DATABASE_REPLICA_URL does not parse as a PostgreSQL URL: {e}"
        );
    }
    Ok(Some(url))
}

#[cfg(test)]
mod replica_tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_no_password() {
        for (url, shown) in [
            (
                "postgres://hub:hunter2@db:5432/hub",
                "postgres://hub:***@db:5432/hub",
            ),
            (
                "postgres://hub@db/hub?password=hunter2",
                "postgres://hub@db/hub?***",
            ),
            ("postgres://db/hub", "postgres://db/hub"),
            (
                "sqlite://tsunagi.db?mode=rwc",
                "sqlite://tsunagi.db?mode=rwc",
            ),
            ("not a url hunter2", "***"),
        ] {
            assert_eq!(redact(url), shown);
        }
    }

    #[test]
    fn a_replica_needs_a_postgres_primary_and_a_postgres_url_that_parses() {
        let pg = "postgres://postgres@127.0.0.1:5432/hub";
        assert_eq!(checked_replica_url(pg, None).expect("none"), None);
        let ok = "postgresql://reader@10.0.0.2:5433/hub";
        assert_eq!(checked_replica_url(pg, Some(ok)).expect("ok"), Some(ok));
        let e = checked_replica_url(DEFAULT_DATABASE_URL, Some(ok))
            .expect_err("SQLite has no replica")
            .to_string();
        assert!(e.contains("needs a PostgreSQL primary"), "{e}");
        let e = checked_replica_url(pg, Some("sqlite://replica.db"))
            .expect_err("not PostgreSQL")
            .to_string();
        assert!(e.contains("must be a postgres://"), "{e}");
        let e = checked_replica_url(pg, Some("postgres://h:notaport/db"))
            .expect_err("bad port")
            .to_string();
        assert!(e.contains("does not parse"), "{e}");
    }
}
