//! Configuration from environment variables (TSUNAGI_*, DATABASE_URL); command-line flags
//! override them in `main.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::KeySource;
use crate::documents::TrustedDocuments;

/// The default database: an SQLite file in the working directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tsunagi.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ISSUER: &str = "tsunagi";
pub const DEFAULT_AUDIENCE: &str = "tsunagi-api";
/// Where the development signing secret lives when TSUNAGI_JWT_SECRET is not set.
pub const DEV_SECRET_FILE: &str = "tsunagi-dev-secret";
/// The longest a break-glass grant may last (生命・身体の保護: hours, not days).
pub const MAX_EMERGENCY_HOURS: u32 = 24;

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

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub key: KeySource,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on exp and nbf, in seconds.
    pub leeway_secs: u64,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Read the environment. Without TSUNAGI_JWT_SECRET a random development secret is
    /// created once in `tsunagi-dev-secret` (and reused by `tsunagi token`), so a fresh
    /// machine works without set-up and no well-known secret ever signs tokens.
    pub fn from_env() -> anyhow::Result<Self> {
        let key = match env("TSUNAGI_JWT_SECRET") {
            Some(secret) => KeySource::hs256(secret.into_bytes())?,
            None => KeySource::hs256(dev_secret(&PathBuf::from(DEV_SECRET_FILE))?)?,
        };
        Ok(Config {
            database_url: env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            listen: env("TSUNAGI_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            jwt: JwtConfig {
                key,
                issuer: env("TSUNAGI_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
                audience: env("TSUNAGI_JWT_AUDIENCE")
                    .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
                leeway_secs: 30,
            },
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
        })
    }
}

fn dev_secret(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    std::fs::write(path, &secret)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    tracing::warn!(
        file = %path.display(),
        "TSUNAGI_JWT_SECRET is not set: created a development signing secret; set TSUNAGI_JWT_SECRET in production"
    );
    Ok(secret.into_bytes())
}
