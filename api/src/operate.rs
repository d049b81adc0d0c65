//! What an operator runs beside `serve`: `config check`'s report, `token` and `admin
//! bootstrap`. None of them creates a database, a key or an account by accident.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail};
use clap::parser::ValueSource;
use migration::MigratorTrait;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::policy::Role;
use crate::store;

pub use crate::config::redact;

/// `config check`: each setting of `cmd` with its value as given and where it came from
/// (flag, environment, default, unset; secrets masked), then what the hub makes of them.
pub fn describe(cmd: &clap::Command, matches: &clap::ArgMatches, config: &Config) -> String {
    let mut out = String::from("# 設定 / settings\n");
    for arg in cmd.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let id = arg.get_id().as_str();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let value: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = match value.first() {
            None => "-".to_owned(),
            Some(v)
                if arg.is_hide_env_values_set()
                    && (v.starts_with("postgres") || v.starts_with("sqlite:")) =>
            {
                redact(v)
            }
            Some(_) if arg.is_hide_env_values_set() => "***".to_owned(),
            Some(v) => v.clone(),
        };
        out.push_str(&format!(
            "{:<38} {value} ({source})\n",
            env.to_string_lossy()
        ));
    }
    let (limit, queue) = config.admission.sized(
        config
            .pool
            .size_for(&config.database_url)
            .unwrap_or_default(),
    );
    let ops = &config.operations;
    let l = &config.limits;
    out.push_str("# 有効な値 / effective\n");
    for (name, value) in [
        ("environment", ops.environment.as_str().to_owned()),
        ("database", redact(&config.database_url)),
        ("listen", config.listen.clone()),
        ("token keys", config.jwt.key.describe()),
        (
            "pool",
            match config.pool.size_for(&config.database_url) {
                Ok(n) => format!("{n} connections, wait {:?}", config.pool.acquire_timeout),
                Err(e) => e,
            },
        ),
        (
            "admission",
            format!(
                "{limit} at once, {queue} waiting, wait {:?}",
                config.admission.wait
            ),
        ),
        ("introspection", l.introspection.to_string()),
        ("graphiql", l.graphiql.to_string()),
        (
            "trusted documents",
            format!(
                "{} ({} registered)",
                l.documents.mode.as_str(),
                l.documents.len()
            ),
        ),
        ("shutdown grace", format!("{:?}", ops.shutdown_grace)),
        ("log format", ops.log_format.as_str().to_owned()),
        (
            "metrics",
            ops.metrics_listen
                .clone()
                .unwrap_or_else(|| "off".to_owned()),
        ),
    ] {
        out.push_str(&format!("{name:<38} {value}\n"));
    }
    out
}

/// The SQLite file a URL names, if it names one.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

/// The configured database, only if it exists and is migrated: commands that read it
/// (`token`) must not create an empty one in the wrong directory.
pub async fn open_existing(config: &Config) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(&config.database_url) {
        if !std::path::Path::new(path).exists() {
            bail!(
                "データベース {path} がありません（何も作っていません）。サーバと同じディレクトリで実行するか DATABASE_URL を指定してください / the database {path} does not exist (nothing was created): run this where the server runs, or set DATABASE_URL"
            );
        }
    }
    let db = store::connect(&config.database_url, &config.pool).await?;
    let pending = migration::Migrator::get_pending_migrations_read_only(&db).await?;
    if !pending.is_empty() {
        bail!(
            "データベース {} は初期化されていません（未適用のマイグレーション {} 件）。`tsunagi migrate` を先に実行してください / the database {} is not set up ({} pending migrations): run `tsunagi migrate` first",
            redact(&config.database_url),
            pending.len(),
            redact(&config.database_url),
            pending.len()
        );
    }
    Ok(db)
}

/// The shortest lifetime `tsunagi token` mints.
pub const MIN_TOKEN_TTL_SECS: u64 = 60;

/// `tsunagi token`: a token for an existing, active account (by login or id), for `ttl`
/// seconds, narrowed to `roles` (names in any case; each must be one the account holds).
pub async fn token(
    db: &DatabaseConnection,
    config: &Config,
    account: &str,
    ttl: u64,
    roles: &[String],
) -> anyhow::Result<String> {
    let max = config.jwt.max_token_age_secs;
    if !(MIN_TOKEN_TTL_SECS..=max).contains(&ttl) {
        bail!(
            "--ttl は {MIN_TOKEN_TTL_SECS}〜{max} 秒です / --ttl must be from {MIN_TOKEN_TTL_SECS} to {max} seconds (TSUNAGI_JWT_MAX_TOKEN_AGE_SECS), not {ttl}"
        );
    }
    if !config.jwt.key.can_sign() {
        bail!(
            "署名鍵がありません。サーバと同じディレクトリで実行するか TSUNAGI_JWT_SIGNING_KEY_FILE を指定してください / no signing key: run this where the server runs (its development key is there) or set TSUNAGI_JWT_SIGNING_KEY_FILE"
        );
    }
    let found = match store::registry::account_by_login(db, account).await? {
        Some(a) => Some(a),
        None => store::registry::account(db, account).await?,
    };
    let Some(found) = found else {
        bail!("ログイン名または ID が {account:?} のアカウントはありません / no account with login or id {account:?}");
    };
    if !found.active {
        bail!("アカウント {account:?} は無効化されています / account {account:?} is deactivated");
    }
    let narrow = narrow_roles(&Role::parse_set(&found.roles), roles)?;
    crate::auth::mint(&config.jwt, &found.id, ttl, narrow.as_ref())
}

/// `--roles` as a set of roles the account holds; None for no narrowing.
fn narrow_roles(held: &BTreeSet<Role>, asked: &[String]) -> anyhow::Result<Option<BTreeSet<Role>>> {
    if asked.is_empty() {
        return Ok(None);
    }
    let mut narrow = BTreeSet::new();
    for r in asked {
        let role = Role::parse(&r.trim().to_ascii_lowercase())
            .ok_or_else(|| anyhow!("不明なロール {r:?} / unknown role {r:?}"))?;
        if !held.contains(&role) {
            let held: Vec<&str> = held.iter().map(|r| r.as_str()).collect();
            bail!(
                "このアカウントはロール {role} を持ちません（持つのは {held}）/ the account does not hold the role {role} (it holds: {held})",
                held = held.join(", ")
            );
        }
        narrow.insert(role);
    }
    Ok(Some(narrow))
}

/// `tsunagi admin bootstrap`: the city office and its first admin; the text to print.
pub async fn bootstrap(
    db: &DatabaseConnection,
    code: &str,
    name: &str,
    login: &str,
    display_name: &str,
) -> anyhow::Result<String> {
    use store::registry::NotBootstrapped;
    // The same rules as createAgency and createAccount.
    let code = crate::graphql::registry::login_name("--agency-code", code)
        .map_err(|e| anyhow!("--agency-code: {}", e.message()))?;
    let login = crate::graphql::registry::login_name("--login", login)
        .map_err(|e| anyhow!("--login: {}", e.message()))?;
    for (flag, value) in [("--agency-name", name), ("--display-name", display_name)] {
        if value.trim().is_empty()
            || value.chars().count() > 100
            || value.chars().any(char::is_control)
        {
            bail!("{flag}: 1〜100 文字で指定してください / {flag} must be 1 to 100 characters without control characters");
        }
    }
    let now = crate::audit::now_micros();
    let agency = entity::agency::Model {
        id: store::new_id(),
        code: code.clone(),
        name: name.trim().to_owned(),
        kind: crate::policy::AgencyKind::CityOffice.as_str().to_owned(),
        legal_regime: crate::graphql::enums::LegalRegime::PublicBody
            .as_str()
            .to_owned(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let admin = entity::account::Model {
        id: store::new_id(),
        login,
        display_name: display_name.trim().to_owned(),
        agency_id: agency.id.clone(),
        kind: crate::graphql::enums::AccountKind::Staff
            .as_str()
            .to_owned(),
        roles: Role::format_set(&BTreeSet::from([Role::Admin])),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let login = admin.login.clone();
    match store::registry::bootstrap(db, agency, admin).await {
        Ok(()) => Ok(format!(
            "作成しました / created: agency {code:?} (CITY_OFFICE) and admin {login:?}\n次に / next: tsunagi token --account {login}   (Authorization: Bearer <token>; README §3)"
        )),
        Err(NotBootstrapped::AdminExists(existing)) => bail!(
            "有効な管理者 {existing:?} がいるので何もしません / an active admin exists ({existing:?}): nothing was done; admins manage accounts through the API"
        ),
        Err(NotBootstrapped::Taken(what)) => bail!(
            "{what} は使われています / that {what} is taken: nothing was done"
        ),
        Err(NotBootstrapped::Db(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn roles_are_any_case_and_must_be_held() {
        let held = BTreeSet::from([Role::Caseworker]);
        assert_eq!(narrow_roles(&held, &[]).unwrap(), None);
        assert_eq!(
            narrow_roles(&held, &["CASEWORKER".to_owned()]).unwrap(),
            Some(held.clone())
        );
        let e = narrow_roles(&held, &["admin".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not hold the role admin"), "{e}");
        assert!(narrow_roles(&held, &["boss".to_owned()]).is_err());
    }

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite://tsunagi.db?mode=rwc"),
            Some("tsunagi.db")
        );
        assert_eq!(sqlite_file("sqlite:/tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
