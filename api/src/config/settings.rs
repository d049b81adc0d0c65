//! Every setting of the hub, parsed in one place: clap reads each from its command-line flag
//! or its environment variable (the flag wins), so `tsunagi --help` lists every variable and
//! a bad value stops the start with the variable named and the values it accepts. A
//! `TSUNAGI_*` variable that is not a setting (a typo) stops the start too: see
//! [`unknown_variables`].

use std::path::PathBuf;

use clap::Args;

use super::{DEFAULT_LISTEN, MAX_CLIENT_TOKEN_TTL_SECS, MAX_EMERGENCY_HOURS};

/// Where the hub runs: `development` (the default: a development key is created, GraphiQL
/// and introspection are on) or `production`. Exactly these words: `Production` is refused
/// rather than read as development.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Environment {
    #[default]
    Development,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event; colour only on a terminal.
    #[default]
    Text,
    /// One JSON object per line (for journald, Fluent Bit, Loki …).
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The configuration, as given (before defaults that depend on other settings are applied:
/// see [`super::Config::from_settings`]). Each field is a global flag and an environment
/// variable.
#[derive(Args, Clone, Debug, Default)]
#[command(
    next_help_heading = "設定 (フラグまたは環境変数) / Configuration (flag or environment variable)"
)]
pub struct Settings {
    /// データベース (SQLite ファイルまたは PostgreSQL、本番では必須) / database: sqlite://FILE?mode=rwc or postgres://user:pass@host:5432/db (required in production) [default: sqlite://tsunagi.db?mode=rwc]
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL のストリーミングレプリカ / a streaming replica of the PostgreSQL primary (README §12)
    #[arg(
        long,
        global = true,
        env = "TSUNAGI_DATABASE_REPLICA_URL",
        hide_env_values = true
    )]
    pub database_replica_url: Option<String>,
    /// 待ち受けアドレス / listen address (host:port)
    #[arg(long, global = true, env = "TSUNAGI_LISTEN", default_value = DEFAULT_LISTEN, value_parser = address("TSUNAGI_LISTEN"))]
    pub listen: String,
    /// development | production (本番: 鍵の設定が必須、GraphiQL とイントロスペクションは既定で無効 / production: token keys required, GraphiQL and introspection off by default)
    #[arg(long = "env", global = true, env = "TSUNAGI_ENV", value_name = "ENV", value_parser = environment)]
    pub environment: Option<Environment>,

    /// 検証用の公開鍵 (JWKS) / public verification keys (JWKS file)
    #[arg(long, global = true, env = "TSUNAGI_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,
    /// ハブの署名鍵 (PKCS#8 PEM) / the hub's signing key (PKCS#8 PEM)
    #[arg(long, global = true, env = "TSUNAGI_JWT_SIGNING_KEY_FILE")]
    pub jwt_signing_key_file: Option<PathBuf>,
    /// 署名鍵の kid / the signing key's kid (default: its RFC 7638 thumbprint)
    #[arg(long, global = true, env = "TSUNAGI_JWT_SIGNING_KID")]
    pub jwt_signing_kid: Option<String>,
    /// HS256 の共有鍵 (32 バイト以上) / an HS256 shared secret (at least 32 bytes)
    #[arg(
        long,
        global = true,
        env = "TSUNAGI_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// 時計のずれの許容 (秒, 0〜60) / clock leeway on exp, nbf, iat (seconds, 0-60) [default: 30]
    #[arg(long, global = true, env = "TSUNAGI_JWT_LEEWAY_SECS", value_name = "SECS", value_parser = whole("TSUNAGI_JWT_LEEWAY_SECS", 0, super::MAX_LEEWAY_SECS))]
    pub jwt_leeway_secs: Option<u64>,
    /// トークンの最大年齢 (秒) / the oldest and longest-lived token accepted (seconds) [default: 28800]
    #[arg(long, global = true, env = "TSUNAGI_JWT_MAX_TOKEN_AGE_SECS", value_name = "SECS", value_parser = whole("TSUNAGI_JWT_MAX_TOKEN_AGE_SECS", 1, 7 * 24 * 3600))]
    pub jwt_max_token_age_secs: Option<u64>,
    /// 鍵ファイルの変更を確かめる間隔 (秒, 0 は SIGHUP のみ) / how often key files are checked (seconds; 0: on SIGHUP only) [default: 1]
    #[arg(long, global = true, env = "TSUNAGI_JWT_RELOAD_CHECK_SECS", value_name = "SECS", value_parser = whole("TSUNAGI_JWT_RELOAD_CHECK_SECS", 0, 86_400))]
    pub jwt_reload_check_secs: Option<u64>,
    /// 受け付ける iss / the accepted iss
    #[arg(long, global = true, env = "TSUNAGI_JWT_ISSUER", default_value = super::DEFAULT_ISSUER, value_parser = text("TSUNAGI_JWT_ISSUER"))]
    pub jwt_issuer: String,
    /// 受け付ける aud / the accepted aud
    #[arg(long, global = true, env = "TSUNAGI_JWT_AUDIENCE", default_value = super::DEFAULT_AUDIENCE, value_parser = text("TSUNAGI_JWT_AUDIENCE"))]
    pub jwt_audience: String,

    /// /oauth/token のトークンの有効期間 (秒, 60〜3600) / lifetime of /oauth/token tokens (seconds, 60-3600) [default: 600]
    #[arg(long, global = true, env = "TSUNAGI_CLIENT_TOKEN_TTL_SECS", value_name = "SECS", value_parser = whole("TSUNAGI_CLIENT_TOKEN_TTL_SECS", 60, MAX_CLIENT_TOKEN_TTL_SECS))]
    pub client_token_ttl_secs: Option<u64>,
    /// クライアントごとの 1 分あたりの発行数 (0 で無効) / tokens per minute per client (0: off) [default: 30]
    #[arg(long, global = true, env = "TSUNAGI_CLIENT_TOKEN_RATE_PER_MINUTE", value_name = "N", value_parser = whole("TSUNAGI_CLIENT_TOKEN_RATE_PER_MINUTE", 0, 1_000_000))]
    pub client_token_rate_per_minute: Option<u64>,

    /// off | integration | all (登録済み文書だけを受け付ける相手 / who may send only registered documents)
    #[arg(long, global = true, env = "TSUNAGI_TRUSTED_DOCUMENTS", value_name = "MODE", value_parser = trusted_documents)]
    pub trusted_documents: Option<crate::documents::Mode>,
    /// 登録済み文書のマニフェスト / the trusted-document manifest (README §11.4)
    #[arg(long, global = true, env = "TSUNAGI_TRUSTED_DOCUMENTS_FILE")]
    pub trusted_documents_file: Option<PathBuf>,

    /// リクエスト本文の上限 (バイト) / largest request body (bytes, 1024-67108864) [default: 262144]
    #[arg(long, global = true, env = "TSUNAGI_BODY_LIMIT", value_name = "BYTES", value_parser = whole("TSUNAGI_BODY_LIMIT", 1024, 64 * 1024 * 1024))]
    pub body_limit: Option<u64>,
    /// 緊急時アクセスの既定の時間 (1〜24) / default break-glass grant length (hours, 1-24) [default: 4]
    #[arg(long, global = true, env = "TSUNAGI_EMERGENCY_HOURS", value_name = "HOURS", value_parser = whole("TSUNAGI_EMERGENCY_HOURS", 1, MAX_EMERGENCY_HOURS as u64))]
    pub emergency_hours: Option<u64>,
    /// スキーマのイントロスペクション / schema introspection (true|false) [default: development true, production false]
    #[arg(long, global = true, env = "TSUNAGI_INTROSPECTION", value_name = "BOOL", value_parser = boolean("TSUNAGI_INTROSPECTION"))]
    pub introspection: Option<bool>,
    /// GET /graphql の GraphiQL / the GraphiQL page (true|false) [default: development true, production false]
    #[arg(long, global = true, env = "TSUNAGI_GRAPHIQL", value_name = "BOOL", value_parser = boolean("TSUNAGI_GRAPHIQL"))]
    pub graphiql: Option<bool>,
    /// 1 文書のエイリアス数の上限 / most aliases in one document (1-1000) [default: 30]
    #[arg(long, global = true, env = "TSUNAGI_MAX_ALIASES", value_name = "N", value_parser = whole("TSUNAGI_MAX_ALIASES", 1, 1_000))]
    pub max_aliases: Option<u64>,
    /// 選択の深さの上限 / deepest selection nesting (1-100) [default: 12]
    #[arg(long, global = true, env = "TSUNAGI_MAX_DEPTH", value_name = "N", value_parser = whole("TSUNAGI_MAX_DEPTH", 1, 100))]
    pub max_depth: Option<u64>,
    /// 複雑度の上限 / highest complexity (1-1000000) [default: 5000]
    #[arg(long, global = true, env = "TSUNAGI_MAX_COMPLEXITY", value_name = "N", value_parser = whole("TSUNAGI_MAX_COMPLEXITY", 1, 1_000_000))]
    pub max_complexity: Option<u64>,
    /// 1 リクエストの実行時間の上限 (ミリ秒) / longest a request may run (ms, 100-600000) [default: 15000]
    #[arg(long, global = true, env = "TSUNAGI_REQUEST_TIMEOUT_MS", value_name = "MS", value_parser = whole("TSUNAGI_REQUEST_TIMEOUT_MS", 100, 600_000))]
    pub request_timeout_ms: Option<u64>,
    /// アカウントごとの 1 分あたりのリクエスト数 (0 で無効) / requests per minute per account (0: off) [default: 600]
    #[arg(long, global = true, env = "TSUNAGI_RATE_LIMIT_PER_MINUTE", value_name = "N", value_parser = whole("TSUNAGI_RATE_LIMIT_PER_MINUTE", 0, 1_000_000))]
    pub rate_limit_per_minute: Option<u64>,
    /// 統計表で公表する最小の値 k (5 以上) / the statistics threshold k: a cell perturbed below it is not published (5-1000) [default: 5]
    #[arg(long, global = true, env = "TSUNAGI_STATISTICS_THRESHOLD", value_name = "K", value_parser = whole("TSUNAGI_STATISTICS_THRESHOLD", 5, 1000))]
    pub statistics_threshold: Option<u64>,

    /// DB 接続プールの接続数 / most pooled database connections (1-10000; SQLite: 1) [default: PostgreSQL 16, SQLite 1]
    #[arg(long, global = true, env = "TSUNAGI_DATABASE_POOL_SIZE", value_name = "N", value_parser = whole("TSUNAGI_DATABASE_POOL_SIZE", 1, 10_000))]
    pub database_pool_size: Option<u64>,
    /// 接続の空きを待つ時間 (ミリ秒) / how long a request waits for a connection (ms, 1-600000) [default: 5000]
    #[arg(long, global = true, env = "TSUNAGI_DATABASE_ACQUIRE_TIMEOUT_MS", value_name = "MS", value_parser = whole("TSUNAGI_DATABASE_ACQUIRE_TIMEOUT_MS", 1, 600_000))]
    pub database_acquire_timeout_ms: Option<u64>,
    /// 同時に実行するリクエストの上限 / requests run at once (1-100000) [default: twice the pool, at least 8]
    #[arg(long, global = true, env = "TSUNAGI_ADMISSION_LIMIT", value_name = "N", value_parser = whole("TSUNAGI_ADMISSION_LIMIT", 1, 100_000))]
    pub admission_limit: Option<u64>,
    /// 空きを待てるリクエストの数 / requests that may wait for a slot (0-1000000) [default: 8 x the limit]
    #[arg(long, global = true, env = "TSUNAGI_ADMISSION_QUEUE", value_name = "N", value_parser = whole("TSUNAGI_ADMISSION_QUEUE", 0, 1_000_000))]
    pub admission_queue: Option<u64>,
    /// 空きを待つ時間 (ミリ秒) / longest wait for a slot (ms, 0-60000) [default: 1000]
    #[arg(long, global = true, env = "TSUNAGI_ADMISSION_WAIT_MS", value_name = "MS", value_parser = whole("TSUNAGI_ADMISSION_WAIT_MS", 0, 60_000))]
    pub admission_wait_ms: Option<u64>,

    /// 停止の猶予 (秒): SIGTERM/SIGINT のあと処理中のリクエストを終えるまで待つ / grace period after SIGTERM or SIGINT for in-flight requests (seconds, 0-3600) [default: 30]
    #[arg(long, global = true, env = "TSUNAGI_SHUTDOWN_GRACE_SECS", value_name = "SECS", value_parser = whole("TSUNAGI_SHUTDOWN_GRACE_SECS", 0, 3_600))]
    pub shutdown_grace_secs: Option<u64>,
    /// text | json (ログの形式 / log line format on stderr)
    #[arg(long, global = true, env = "TSUNAGI_LOG_FORMAT", value_name = "FORMAT", value_parser = log_format)]
    pub log_format: Option<LogFormat>,
    /// /metrics (Prometheus) を公開するアドレス、未設定なら無効 / address serving /metrics (Prometheus); unset: off
    #[arg(long, global = true, env = "TSUNAGI_METRICS_LISTEN", value_name = "ADDR", value_parser = address("TSUNAGI_METRICS_LISTEN"))]
    pub metrics_listen: Option<String>,
}

/// Variables the hub reads that are not settings of a deployed hub: the benchmark build's
/// switches (checked by [`crate::bench_switches::check_startup`]).
const NOT_SETTINGS_PREFIXES: &[&str] = &["TSUNAGI_BENCH_"];

/// `TSUNAGI_*` variables in `vars` that no setting of `cmd` (or its subcommands) reads,
/// each with the closest known name when there is one; `(name, suggestion)`.
pub fn unknown_variables(
    cmd: &clap::Command,
    vars: impl IntoIterator<Item = String>,
) -> Vec<(String, Option<String>)> {
    let known = known_variables(cmd);
    let mut unknown: Vec<(String, Option<String>)> = vars
        .into_iter()
        .filter(|v| v.starts_with("TSUNAGI_"))
        .filter(|v| !NOT_SETTINGS_PREFIXES.iter().any(|p| v.starts_with(p)))
        .filter(|v| !known.contains(v))
        .map(|v| {
            let near = known
                .iter()
                .map(|k| (distance(&v, k), k))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, k)| k.clone());
            (v, near)
        })
        .collect();
    unknown.sort();
    unknown
}

/// Every environment variable an argument of `cmd` or of its subcommands reads.
pub fn known_variables(cmd: &clap::Command) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    for sub in cmd.get_subcommands() {
        names.extend(known_variables(sub));
    }
    names
}

/// Levenshtein distance (for "did you mean").
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = here;
        }
    }
    row[b.len()]
}

// --- Value parsers: each error names the variable and what it accepts. -------------------

type Parsed<T> = Result<T, String>;

/// A whole number in `min..=max`.
fn whole(name: &'static str, min: u64, max: u64) -> impl Fn(&str) -> Parsed<u64> + Clone {
    move |v: &str| {
        match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name} は {min}〜{max} の整数で指定してください / {name} must be a whole number from {min} to {max}, not {v:?}"
        )),
    }
    }
}

/// true | false (also 1/0, on/off, yes/no), lower case.
fn boolean(name: &'static str) -> impl Fn(&str) -> Parsed<bool> + Clone {
    move |v: &str| {
        match v.trim() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(format!(
            "{name} は true か false です / {name} must be true or false (or 1/0, on/off, yes/no), not {v:?}"
        )),
    }
    }
}

/// host:port, with a port: an IP address (IPv6 in brackets) or a host name.
fn address(name: &'static str) -> impl Fn(&str) -> Parsed<String> + Clone {
    move |v: &str| {
        let v = v.trim();
        let host_ok = |host: &str| match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => {
                host.parse::<std::net::Ipv4Addr>().is_ok()
                    || (!host.is_empty()
                        && host.len() <= 253
                        && host.split('.').all(|label| {
                            !label.is_empty()
                                && label.len() <= 63
                                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        }))
            }
        };
        match v.rsplit_once(':') {
            Some((host, port)) if host_ok(host) && port.parse::<u16>().is_ok() => Ok(v.to_owned()),
            _ => Err(format!(
                "{name} は ホスト:ポート で指定してください / {name} must be host:port (e.g. 127.0.0.1:8080, [::1]:8080 or hub.example:8080), not {v:?}"
            )),
        }
    }
}

/// A database URL: `sqlite:` with a file, or a PostgreSQL URL that parses. The error never
/// repeats the value (it may hold a password), which is why this is checked by
/// [`super::Config::from_settings`] and not as clap's value parser (clap's message quotes
/// the value it refuses).
pub(super) fn check_database_url(name: &str, v: &str) -> Result<(), String> {
    let v = v.trim();
    if v.starts_with("sqlite:") {
        return Ok(());
    }
    let refused = |why: String| {
        format!(
            "{name} を解釈できません（値は表示しません）/ {name} does not parse (its value is not shown: it may hold a password): {why}; use sqlite://FILE?mode=rwc or postgres://user@host:5432/db, with symbols in the password percent-encoded"
        )
    };
    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
        return Err(refused(
            "the scheme must be sqlite: or postgres://".to_owned(),
        ));
    }
    let url = url::Url::parse(v).map_err(|e| refused(e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refused("no host".to_owned()));
    }
    Ok(())
}

/// Free text that is not blank.
fn text(name: &'static str) -> impl Fn(&str) -> Parsed<String> + Clone {
    move |v: &str| {
        if v.trim().is_empty() {
            Err(format!("{name} が空です / {name} must not be blank"))
        } else {
            Ok(v.trim().to_owned())
        }
    }
}

fn environment(v: &str) -> Parsed<Environment> {
    match v {
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        _ => Err(format!(
            "TSUNAGI_ENV は development か production です（小文字）/ TSUNAGI_ENV must be development or production (lower case), not {v:?}"
        )),
    }
}

fn log_format(v: &str) -> Parsed<LogFormat> {
    match v {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!(
            "TSUNAGI_LOG_FORMAT は text か json です / TSUNAGI_LOG_FORMAT must be text or json, not {v:?}"
        )),
    }
}

fn trusted_documents(v: &str) -> Parsed<crate::documents::Mode> {
    crate::documents::Mode::parse(v).ok_or_else(|| {
        format!(
            "TSUNAGI_TRUSTED_DOCUMENTS は off・integration・all のいずれかです / TSUNAGI_TRUSTED_DOCUMENTS must be off, integration or all, not {v:?}"
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        settings: Settings,
    }

    /// Every setting that can be wrong says which variable is wrong: a value no setting
    /// accepts is given to each flag in turn, and a refusal must name the flag's variable.
    #[test]
    fn every_refusal_names_its_variable() {
        let cmd = Only::command();
        let mut refused = 0;
        for arg in cmd.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let env = env.to_string_lossy();
            match Only::try_parse_from(["tsunagi", &format!("--{long}"), " -1x "]) {
                Ok(_) => {}
                Err(e) => {
                    refused += 1;
                    let text = e.to_string();
                    assert!(text.contains(&*env), "--{long}: {text}");
                }
            }
        }
        // Free text (URLs, paths, names) takes anything; the rest must refuse.
        assert!(refused >= 25, "{refused} settings refused a nonsense value");
    }

    #[test]
    fn environment_and_switches_are_exact_words() {
        let parse = |args: &[&str]| Only::try_parse_from([&["tsunagi"], args].concat());
        assert!(parse(&["--env", "Production"]).is_err());
        assert_eq!(
            parse(&["--env", "production"])
                .unwrap()
                .settings
                .environment,
            Some(Environment::Production)
        );
        assert!(parse(&["--graphiql", "enabled"]).is_err());
        assert!(parse(&["--body-limit", "1MB"]).is_err());
        assert!(parse(&["--max-depth", "-3"]).is_err());
        assert!(parse(&["--listen", "8080"]).is_err());
        assert_eq!(
            parse(&["--listen", "[::1]:9000"]).unwrap().settings.listen,
            "[::1]:9000"
        );
        for bad in ["http://h:80", "a b:80", "x/y:80", ":80", "h:99999"] {
            assert!(parse(&["--listen", bad]).is_err(), "{bad}");
        }
        assert!(parse(&["--listen", "hub.example.lg.jp:8080"]).is_ok());
        // A database URL that does not parse is refused without repeating it.
        for bad in [
            "postgres://hub:ab/cd@db:5432/x",
            "postgress://hub:hunter2@db/x",
        ] {
            let e = check_database_url("DATABASE_URL", bad).unwrap_err();
            assert!(e.contains("DATABASE_URL does not parse"), "{e}");
            assert!(!e.contains("hunter2") && !e.contains("ab/cd"), "{e}");
        }
        for ok in [
            "postgres://hub@db.example:5432/hub",
            "sqlite::memory:",
            "sqlite://x.db?mode=rwc",
        ] {
            assert_eq!(check_database_url("DATABASE_URL", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_misspelt_variable_is_unknown_with_the_nearest_name() {
        let cmd = Only::command();
        let vars = [
            "TSUNAGI_RATE_LIMIT_PER_MINUTES",
            "TSUNAGI_LISTEN",
            "TSUNAGI_BENCH_NO_LEDGER",
            "TSUNAGI_SOMETHING_ELSE_ENTIRELY",
            "PATH",
        ]
        .map(String::from);
        assert_eq!(
            unknown_variables(&cmd, vars),
            vec![
                (
                    "TSUNAGI_RATE_LIMIT_PER_MINUTES".to_owned(),
                    Some("TSUNAGI_RATE_LIMIT_PER_MINUTE".to_owned())
                ),
                ("TSUNAGI_SOMETHING_ELSE_ENTIRELY".to_owned(), None),
            ]
        );
    }
}
