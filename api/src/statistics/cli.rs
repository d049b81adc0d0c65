//! `tsunagi evaluation`: the yearly 事業評価 as a file (CSV that Excel opens, or JSON), run
//! as an analyst's or admin's account on the configured database, ledgered like
//! `evaluationReport` and `GET /reports/evaluation/{year}`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::evaluation;
use crate::policy::{self, Action};

/// `tsunagi evaluation` の引数 / the arguments of `tsunagi evaluation`
#[derive(clap::Args, Debug)]
pub struct EvaluationArgs {
    /// 年度 (4 月始まり、例 2024) / the fiscal year (starting in April, e.g. 2024)
    #[arg(long)]
    pub fiscal_year: i32,
    /// 機関のコード (アカウントの機関であること) / the account's agency code
    #[arg(long)]
    pub agency: String,
    /// 分析担当か管理者のログイン名 (台帳に記録) / the login of an analyst or admin (ledgered)
    #[arg(long)]
    pub account: String,
    /// csv (BOM 付き UTF-8、CRLF) | json
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// 書き出すファイル (既にあれば拒否) / the file to write (refused if it exists)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub async fn main(
    db: &DatabaseConnection,
    config: &crate::config::Config,
    args: EvaluationArgs,
) -> anyhow::Result<ExitCode> {
    let csv = match args.format.as_str() {
        "csv" => true,
        "json" => false,
        _ => bail!("--format は csv か json です / --format must be csv or json"),
    };
    if evaluation::fiscal_year(args.fiscal_year).is_none() {
        bail!(evaluation::YEAR_RANGE);
    }
    crate::import::cli::refuse_existing(&args.out)?;
    crate::store::migrate(db).await?;
    let principal = crate::import::cli::principal(db, &args.agency, &args.account).await?;
    if !policy::may(&principal, Action::Evaluate) {
        bail!("事業評価を読めるのは分析担当と管理者だけです / only analysts and admins read the evaluation report");
    }
    let report = evaluation::report(db, args.fiscal_year, config.limits.statistics_threshold)
        .await
        .map_err(|e| anyhow!("{}", e.message()))?;
    let bytes = if csv {
        evaluation::csv(&report).map_err(|e| anyhow!("{}", e.message()))?
    } else {
        serde_json::to_vec_pretty(&report)?
    };
    // Ledgered before the file exists.
    let txn = db.begin().await?;
    crate::audit::append(&txn, vec![evaluation::entry(&principal, args.fiscal_year)]).await?;
    txn.commit().await?;
    crate::import::cli::write_new(&args.out, &bytes)?;
    eprintln!(
        "{} に書き出しました ({} 指標) / wrote {} ({} indicators)",
        args.out.display(),
        report.indicators.len(),
        args.out.display(),
        report.indicators.len()
    );
    Ok(ExitCode::SUCCESS)
}
