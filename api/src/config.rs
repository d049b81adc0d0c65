//! Configuration from environment variables (TSUNAGI_*, DATABASE_URL); command-line flags
//! override them in `main.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::auth::JwtConfig;
use crate::auth::{KeyConfig, KeySource};
use crate::documents::TrustedDocuments;

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

impl OAuthConfig {
    /// From TSUNAGI_CLIENT_TOKEN_TTL_SECS (clamped to 60..=3600) and
    /// TSUNAGI_CLIENT_TOKEN_RATE_PER_MINUTE.
    pub fn from_env() -> Self {
        let d = OAuthConfig::default();
        OAuthConfig {
            token_ttl_secs: number("TSUNAGI_CLIENT_TOKEN_TTL_SECS", d.token_ttl_secs)
                .clamp(60, MAX_CLIENT_TOKEN_TTL_SECS),
            requests_per_minute: number(
                "TSUNAGI_CLIENT_TOKEN_RATE_PER_MINUTE",
                d.requests_per_minute,
            ),
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
        }
    }
}

fn flag(name: &str, default: bool) -> bool {
    match env(name).as_deref() {
        Some("1" | "true" | "on" | "yes") => true,
        Some("0" | "false" | "off" | "no") => false,
        _ => default,
    }
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    env(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Limits {
    /// From TSUNAGI_ENV (production turns introspection and GraphiQL off unless set),
    /// TSUNAGI_INTROSPECTION, TSUNAGI_GRAPHIQL, TSUNAGI_MAX_ALIASES, TSUNAGI_MAX_DEPTH,
    /// TSUNAGI_MAX_COMPLEXITY, TSUNAGI_REQUEST_TIMEOUT_MS, TSUNAGI_RATE_LIMIT_PER_MINUTE.
    /// Trusted documents (TSUNAGI_TRUSTED_DOCUMENTS, TSUNAGI_TRUSTED_DOCUMENTS_FILE) are read
    /// by [`Config::from_env`], since a bad manifest must stop the server.
    pub fn from_env() -> Self {
        let d = Limits::default();
        let production = env("TSUNAGI_ENV").is_some_and(|e| e == "production");
        Limits {
            introspection: flag("TSUNAGI_INTROSPECTION", !production),
            graphiql: flag("TSUNAGI_GRAPHIQL", !production),
            max_aliases: number("TSUNAGI_MAX_ALIASES", d.max_aliases),
            max_depth: number("TSUNAGI_MAX_DEPTH", d.max_depth),
            max_complexity: number("TSUNAGI_MAX_COMPLEXITY", d.max_complexity),
            request_timeout: Duration::from_millis(number(
                "TSUNAGI_REQUEST_TIMEOUT_MS",
                d.request_timeout.as_millis() as u64,
            )),
            rate_per_minute: number("TSUNAGI_RATE_LIMIT_PER_MINUTE", d.rate_per_minute),
            // Read (and verified) in Config::from_env, which can fail.
            documents: d.documents,
        }
    }
}

/// A whole number of seconds from the environment; a value that is not one is an error (a
/// typo must not silently weaken token checks).
fn seconds(name: &str, default: u64) -> anyhow::Result<u64> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a whole number of seconds, not {v:?}")),
    }
}

impl JwtConfig {
    /// Token keys and checks from TSUNAGI_JWT_* (see [`KeyConfig`]). Without any key
    /// configuration, a development Ed25519 signing key is created once in
    /// [`DEV_SIGNING_KEY_FILE`] (and reused by `tsunagi token`), so a fresh machine works
    /// without set-up, no well-known secret ever signs tokens, and HS256 is never used
    /// implicitly. In production (TSUNAGI_ENV=production) a key configuration is required.
    pub fn from_env() -> anyhow::Result<Self> {
        let production = env("TSUNAGI_ENV").is_some_and(|e| e == "production");
        let mut keys = KeyConfig {
            hs256_secret: env("TSUNAGI_JWT_SECRET").map(String::into_bytes),
            signing_key_file: env("TSUNAGI_JWT_SIGNING_KEY_FILE").map(PathBuf::from),
            signing_kid: env("TSUNAGI_JWT_SIGNING_KID"),
            jwks_file: env("TSUNAGI_JWT_JWKS_FILE").map(PathBuf::from),
            poll: match seconds("TSUNAGI_JWT_RELOAD_CHECK_SECS", 1)? {
                0 => None,
                s => Some(Duration::from_secs(s)),
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
            if crate::auth::ensure_dev_signing_key(&path)? {
                tracing::warn!(
                    file = %path.display(),
                    "no token key configured: created a development Ed25519 signing key; configure TSUNAGI_JWT_SIGNING_KEY_FILE / TSUNAGI_JWT_JWKS_FILE in production"
                );
            }
            keys.signing_key_file = Some(path);
        }
        let leeway = seconds("TSUNAGI_JWT_LEEWAY_SECS", DEFAULT_LEEWAY_SECS)?;
        if leeway > MAX_LEEWAY_SECS {
            tracing::warn!(
                leeway,
                max = MAX_LEEWAY_SECS,
                "TSUNAGI_JWT_LEEWAY_SECS is clamped to the maximum"
            );
        }
        let max_age = seconds("TSUNAGI_JWT_MAX_TOKEN_AGE_SECS", DEFAULT_MAX_TOKEN_AGE_SECS)?;
        if max_age == 0 {
            anyhow::bail!("TSUNAGI_JWT_MAX_TOKEN_AGE_SECS must be more than 0");
        }
        Ok(JwtConfig {
            key: KeySource::load(keys)?,
            issuer: env("TSUNAGI_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: env("TSUNAGI_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            leeway_secs: leeway.min(MAX_LEEWAY_SECS),
            max_token_age_secs: max_age,
        })
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Read the environment (token keys: [`JwtConfig::from_env`]).
    pub fn from_env() -> anyhow::Result<Self> {
        let jwt = JwtConfig::from_env()?;
        let mut oauth = OAuthConfig::from_env();
        // A client token may not outlive what the hub itself accepts: otherwise every
        // /oauth/token request would fail at signing, after the secret was verified.
        if oauth.token_ttl_secs > jwt.max_token_age_secs {
            tracing::warn!(
                ttl = oauth.token_ttl_secs,
                max_age = jwt.max_token_age_secs,
                "TSUNAGI_CLIENT_TOKEN_TTL_SECS exceeds TSUNAGI_JWT_MAX_TOKEN_AGE_SECS: client tokens get the maximum age"
            );
            oauth.token_ttl_secs = jwt.max_token_age_secs;
        }
        Ok(Config {
            database_url: env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            listen: env("TSUNAGI_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            jwt,
            body_limit: env("TSUNAGI_BODY_LIMIT")
                .and_then(|v| v.parse().ok())
                .unwrap_or(256 * 1024),
            emergency_hours: env("TSUNAGI_EMERGENCY_HOURS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(4)
                .clamp(1, MAX_EMERGENCY_HOURS),
            limits: Limits {
                documents: Arc::new(TrustedDocuments::from_env()?),
                ..Limits::from_env()
            },
            oauth,
            pool: PoolSettings::from_env()?,
            admission: AdmissionSettings::from_env()?,
        })
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
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(PoolSettings {
            size: whole("TSUNAGI_DATABASE_POOL_SIZE", 1, 10_000)?.map(|n| n as u32),
            acquire_timeout: whole("TSUNAGI_DATABASE_ACQUIRE_TIMEOUT_MS", 1, 600_000)?
                .map_or(DEFAULT_ACQUIRE_TIMEOUT, Duration::from_millis),
        })
    }

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
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(AdmissionSettings {
            limit: whole("TSUNAGI_ADMISSION_LIMIT", 1, 100_000)?.map(|n| n as usize),
            queue: whole("TSUNAGI_ADMISSION_QUEUE", 0, 1_000_000)?.map(|n| n as usize),
            wait: whole("TSUNAGI_ADMISSION_WAIT_MS", 0, 60_000)?
                .map_or(DEFAULT_ADMISSION_WAIT, Duration::from_millis),
        })
    }

    /// (limit, queue) for a pool of `pool_size` connections.
    pub fn sized(&self, pool_size: u32) -> (usize, usize) {
        let limit = self.limit.unwrap_or((2 * pool_size as usize).max(8));
        (limit, self.queue.unwrap_or(8 * limit))
    }
}

/// A whole number in `min..=max` from the environment, None when unset; anything else is a
/// start-up error naming the variable.
fn whole(name: &str, min: u64, max: u64) -> anyhow::Result<Option<u64>> {
    let Some(v) = env(name) else {
        return Ok(None);
    };
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => anyhow::bail!(
            "{name} は {min}〜{max} の整数で指定してください / {name} must be a whole number from {min} to {max}, not {v:?}"
        ),
    }
}
