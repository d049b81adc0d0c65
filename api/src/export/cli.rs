//! `tsunagi export`: an agency account's view of a list as a CSV file, on the configured
//! database, through the same gate and ledger as `GET /export/{kind}`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::{persons, Kind, Refused};
use crate::graphql::context::RequestCtx;
use crate::import::Encoding;

/// `tsunagi export` の引数 / the arguments of `tsunagi export`
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// 機関のコード (アカウントの機関であること) / the agency's code (the account's own)
    #[arg(long)]
    pub agency: String,
    /// 書き出すアカウントのログイン名 (その見える範囲だけ。台帳に記録) / the account whose view is
    /// exported (what it may see, ledgered)
    #[arg(long)]
    pub account: String,
    /// persons
    #[arg(long, default_value = "persons")]
    pub kind: String,
    /// utf-8 (BOM 付き) | cp932
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,
    /// 宛名番号の列に入れる外部参照のシステム名 / the system whose references fill 宛名番号
    #[arg(long, default_value = "csv")]
    pub system: String,
    /// 書き出すファイル (既にあれば拒否) / the file to write (refused if it exists)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub async fn main(
    db: &DatabaseConnection,
    config: &crate::config::Config,
    args: ExportArgs,
) -> anyhow::Result<ExitCode> {
    Kind::parse(&args.kind).ok_or_else(|| {
        anyhow!(
            "不明な種類 {:?} / unknown kind {:?}: persons",
            args.kind,
            args.kind
        )
    })?;
    let encoding = match Encoding::parse(&args.encoding) {
        Some(e @ (Encoding::Utf8 | Encoding::Cp932)) => e,
        _ => anyhow::bail!("--encoding は utf-8 か cp932 です / --encoding must be utf-8 or cp932"),
    };
    crate::import::cli::refuse_existing(&args.out)?;
    let principal = crate::import::cli::principal(db, &args.agency, &args.account).await?;
    let schema = crate::graphql::schema(Some(db.clone()), &config.limits);
    let ctx = Arc::new(RequestCtx::new(
        principal.clone(),
        crate::audit::now_micros(),
        config.emergency_hours,
    ));
    let result = persons(
        &schema,
        ctx.clone(),
        &args.system,
        encoding,
        Duration::from_secs(300),
    )
    .await;
    // The reads are ledgered before the file exists, and when CP932 refuses it too: the
    // refusal names cells' characters, which were read.
    if matches!(result, Ok(_) | Err(Refused::Unencodable(_))) {
        let entries = ctx
            .recorder
            .entries(&principal, "export")
            .ok_or_else(|| anyhow!("the export's ledger rows could not be collected"))?;
        let txn = db.begin().await?;
        crate::audit::append(&txn, entries).await?;
        txn.commit().await?;
    }
    let export = match result {
        Ok(export) => export,
        Err(Refused::Unencodable(cells)) => {
            for c in &cells {
                eprintln!(
                    "{} 行目 [{}]: 「{}」は CP932 で表せません / line {} [{}]: {:?} cannot be written in CP932",
                    c.line, c.column, c.characters, c.line, c.column, c.characters
                );
            }
            eprintln!("書き出しませんでした。--encoding utf-8 を使ってください / nothing written: use --encoding utf-8");
            return Ok(ExitCode::from(1));
        }
        Err(Refused::Api(e)) => anyhow::bail!("{}", e.message()),
    };
    crate::import::cli::write_new(&args.out, &export.bytes)?;
    eprintln!(
        "{}: {} 行 / rows ({} 行に非開示の項目 / with a withheld field)",
        args.out.display(),
        export.rows,
        export.withheld_rows
    );
    Ok(ExitCode::SUCCESS)
}
