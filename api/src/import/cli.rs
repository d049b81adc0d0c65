//! `tsunagi import`: a CSV file into the hub as one of an agency's accounts, on the
//! configured database (the server may be running: the import is one transaction, as a
//! request is). The account's roles decide what it may import, exactly as for
//! `POST /import/{kind}`; the ledger names the account.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};
use sea_orm::DatabaseConnection;

use super::columns::{Kind, Mapping};
use super::encoding::Encoding;
use super::run::{run, Options};
use crate::policy::{AgencyKind, Principal, Role};
use crate::store;

/// `tsunagi import` の引数 / the arguments of `tsunagi import`
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// 取り込む機関のコード (アカウントの機関であること) / the agency's code (the account's own)
    #[arg(long)]
    pub agency: String,
    /// 取り込むアカウントのログイン名 (台帳に記録) / the account the import runs as (ledgered)
    #[arg(long)]
    pub account: String,
    /// persons | households | memberships | consultations | consents
    #[arg(long)]
    pub kind: String,
    /// auto (BOM・UTF-8・CP932 を判定) | utf-8 | cp932
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// 見出しの対応表 (CSV: 見出し,項目名) / a header mapping file (CSV lines: header,field)
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// ID の属するシステム名 (upsertPerson の ref.system と同じ) / the system the file's ids
    /// belong to (the same as `ref.system` of upsertPerson)
    #[arg(long, default_value = "csv")]
    pub system: String,
    /// 書き込まずに結果だけ示す / report what would be written, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// 不正な行を除いて書き込む / write the good rows and report the bad ones
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// 問題の一覧を CSV で書き出す / write the problems as a CSV file (UTF-8 with BOM)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// CSV ファイル / the CSV file
    pub file: PathBuf,
}

/// The account `login` of the agency `code`, as the principal a token of it would be
/// (roles as held; a deactivated account or agency is refused).
pub async fn principal(
    db: &DatabaseConnection,
    code: &str,
    login: &str,
) -> anyhow::Result<Principal> {
    let account = store::registry::account_by_login(db, login)
        .await?
        .ok_or_else(|| {
            anyhow!(
                "ログイン名 {login:?} のアカウントはありません / no account with login {login:?}"
            )
        })?;
    let caller = store::registry::caller(db, &account.id, None)
        .await?
        .ok_or_else(|| anyhow!("no account {login:?}"))?;
    let agency = caller.agency.ok_or_else(|| {
        anyhow!("アカウント {login:?} に機関がありません / account {login:?} has no agency")
    })?;
    if agency.code != code {
        bail!(
            "アカウント {login:?} は機関 {code:?} のものではありません ({:?}) / account {login:?} is not of agency {code:?} but of {:?}",
            agency.code,
            agency.code
        );
    }
    if !caller.account.active || !agency.active {
        bail!(
            "アカウントまたは機関が無効化されています / the account or its agency is deactivated"
        );
    }
    let agency_kind = AgencyKind::parse(&agency.kind)
        .ok_or_else(|| anyhow!("unknown agency kind {:?}", agency.kind))?;
    Ok(Principal {
        account_id: caller.account.id,
        agency_id: agency.id,
        agency_kind,
        roles: Role::parse_set(&caller.account.roles),
        client_id: None,
    })
}

/// Run `tsunagi import`: exit 0 when every row was written (or would be, in a dry run, or
/// had nothing to change), 1 when the file was refused for its problems (nothing written),
/// 2 when the good rows were written and bad ones left out (`--skip-bad-rows`).
pub async fn main(
    db: &DatabaseConnection,
    config: &crate::config::Config,
    args: ImportArgs,
) -> anyhow::Result<ExitCode> {
    let kind = Kind::parse(&args.kind).ok_or_else(|| {
        anyhow!(
            "不明な種類 {:?} / unknown kind {:?}: persons, households, memberships, consultations or consents",
            args.kind,
            args.kind
        )
    })?;
    let encoding = Encoding::parse(&args.encoding).ok_or_else(|| {
        anyhow!(
            "不明な文字コード {:?} / unknown encoding {:?}: auto, utf-8 or cp932",
            args.encoding,
            args.encoding
        )
    })?;
    crate::graphql::external_ref::system("--system", &args.system)
        .map_err(|e| anyhow!("--system: {}", e.message()))?;
    let mapping = match &args.mapping {
        None => Mapping::default(),
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            let text = super::encoding::decode(&bytes, Encoding::Auto)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?
                .text;
            Mapping::parse(&text).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                anyhow!("{}:\n{}", path.display(), lines.join("\n"))
            })?
        }
    };
    if let Some(path) = &args.report {
        refuse_existing(path)?;
    }
    let principal = principal(db, &args.agency, &args.account).await?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let options = Options {
        kind,
        encoding,
        mapping,
        system: args.system.clone(),
        dry_run: args.dry_run,
        skip_bad_rows: args.skip_bad_rows,
    };
    let schema = crate::graphql::schema(Some(db.clone()), &config.limits);
    let report = run(
        &schema,
        db,
        &principal,
        crate::audit::now_micros(),
        &bytes,
        &options,
    )
    .await
    .map_err(|e| anyhow!("{}", e.message()))?;
    eprint!("{}", report.summary());
    if let Some(path) = &args.report {
        write_new(path, &report.errors_csv())?;
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report.refused {
        ExitCode::from(1)
    } else if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Refuses a path that exists (checked before anything is read or written, so a run never
/// fails at its end for want of a file name).
pub fn refuse_existing(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} は既にあります / {} exists",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Writes a new file readable by its owner only (0600 on Unix): an export or a report holds
/// personal data, and a file left by someone else (or a link planted where it goes) is
/// never overwritten (`create_new`).
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| path.display().to_string())?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| path.display().to_string())
}
