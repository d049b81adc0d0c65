//! Analysts' tables and the 事業評価 (issue 17): `statistics`, `evaluationReport`, `targets`,
//! `statisticsSettings`, and the admins' `setTarget` and `setStatisticsMeasure`.
//!
//! Nothing here names a person: a table is counts under disclosure control
//! ([`crate::policy::statistics`], applied in [`crate::statistics`]). Every table and report
//! is ledgered as one READ row (who, which table: measure, dimensions, conditions; never the
//! cells).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use super::context::{db, replica_db, req};
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::statistics::{MAX_NOISE, MIN_THRESHOLD};
use crate::policy::write::statistics::{may_set_target, may_switch_measures};
use crate::policy::Action;
use crate::statistics::evaluation::{self, EvaluationReport, Indicator, Target};
use crate::store::statistics as raw;

/// The statistics threshold k the server runs with (TSUNAGI_STATISTICS_THRESHOLD).
#[derive(Clone, Copy)]
pub struct StatisticsThreshold(pub i64);

fn threshold(ctx: &Context<'_>) -> i64 {
    ctx.data_opt::<StatisticsThreshold>()
        .map_or(crate::policy::statistics::DEFAULT_THRESHOLD, |t| t.0)
        .max(MIN_THRESHOLD)
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "raw::Measure")]
/// 集計する量 / what a table counts
pub enum Measure {
    /// 相談件数 (延べ) / consultations
    Consultations,
    /// 相談した人の実人数 / distinct persons consulted
    PersonsConsulted,
    /// 初めて相談した人の実人数 / distinct persons at their first consultation
    NewPersonsConsulted,
    /// 相談のあった世帯の実数 / distinct households consulted
    HouseholdsConsulted,
    /// つなぎ件数 / referrals
    Referrals,
    /// 受け入れられたつなぎ / referrals accepted (or completed)
    ReferralsAccepted,
    /// 多機関協働のケース開始 / cases opened
    CasesOpened,
    /// 支援決定 / support decisions
    SupportDecisions,
    /// 終結 / closures
    CasesClosed,
    /// プラン作成 / plans made
    PlansMade,
    /// プラン合意 / plans agreed
    PlansAgreed,
    /// 会議 / meetings
    Meetings,
    /// アウトリーチの接触 / outreach contacts
    OutreachContacts,
    /// アウトリーチの実人数 / distinct outreach persons
    OutreachPersons,
    /// 参加支援の開始 / placements started
    PlacementsStarted,
    /// 開始 3 か月後も継続 / placements continuing three months after the start
    PlacementsRetained,
    /// 参加支援の実人数 / distinct persons placed
    PlacementPersons,
    /// 同意の記録 / consents recorded
    ConsentsRecorded,
    /// 同意の撤回 / consents withdrawn
    ConsentsWithdrawn,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "raw::Dimension")]
/// 集計軸 / a dimension of a table (nothing finer than a month or an age band)
pub enum Dimension {
    /// 年度 (4 月〜3 月) / fiscal year, April to March ("2024")
    FiscalYear,
    /// 月 (日本時間) / month in JST ("2024-04")
    Month,
    /// 日常生活圏域 (本人の現在の地区) / district (the person's current one)
    District,
    /// 5 歳階級 (その時点の年齢) / 5-year age band at the event ("65-69", "90+")
    AgeBand5,
    /// 10 歳階級 / 10-year age band at the event ("60-69", "90+")
    AgeBand10,
    /// 性別 / sex
    Sex,
    /// 機関 (コード) / agency, by code
    Agency,
    /// 機関種別 / agency kind
    AgencyKind,
    /// 課題 (主たる課題、第 2 階層まで) / the main issue, level 1 or 2
    Issue,
    /// 課題の大分類 / the main issue's level 1
    IssueGroup,
    /// 受付経路 / channel (consultations)
    Channel,
    /// 状態 (相談・つなぎ・ケース・参加支援の状態、アウトリーチの段階、終結の理由、同意の有効・撤回)
    /// / status (of the record; outreach: stage reached; closures: reason; consents: ACTIVE or
    /// WITHDRAWN)
    Status,
    /// 種別 (会議の種別、社会資源の種別、アウトリーチの結果、相談の緊急度、同意の方法) / kind
    /// (meeting kind, resource kind, outreach result, consultation urgency, consent method)
    Kind,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "raw::MeasureGroup")]
/// 集計の区分 (市が停止できる単位) / a group of measures the city may switch off
pub enum MeasureGroup {
    Consultations,
    Referrals,
    Cases,
    Meetings,
    Outreach,
    Placements,
    Consents,
}

/// 絞り込み条件 / a condition on a dimension
#[derive(InputObject)]
pub struct StatisticsCondition {
    pub dimension: Dimension,
    /// この値のどれか (exclude のときはどれでもない) / one of these values (none of them with
    /// exclude)
    pub values: Vec<String>,
    #[graphql(default = false)]
    pub exclude: bool,
}

/// 公表されたセル / a published cell, margin or total
#[derive(SimpleObject)]
pub struct StatisticsCell {
    /// groupBy の順の値。null はその軸の合計 (すべて null なら総計) / the value of each
    /// grouped dimension, in groupBy's order; null where the cell is a margin over it (all
    /// null: the total)
    pub values: Vec<Option<String>>,
    /// 秘匿処理後の値 / the published (perturbed) value
    pub value: i64,
}

/// 集計表 / a protected table. 載っていないセルは k 未満か 0 / a cell not listed is below
/// the threshold, or empty: the two are not told apart
#[derive(SimpleObject)]
pub struct StatisticsTable {
    pub measure: Measure,
    pub group_by: Vec<Dimension>,
    pub cells: Vec<StatisticsCell>,
    /// 総計 (非公表なら null) / the total, null when not published
    pub total: Option<i64>,
    /// 閾値 k / the threshold k
    pub threshold: i64,
    /// 誤差の最大 / the largest difference between a published value and the truth
    pub max_noise: i64,
    pub method: String,
}

/// 集計区分の状態 / whether a group of measures is on
#[derive(SimpleObject)]
pub struct StatisticsSetting {
    pub group: MeasureGroup,
    pub enabled: bool,
}

/// A Rust variant name as the schema spells it (`AgeBand5` → `AGE_BAND_5`).
fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if i > 0
            && (ch.is_ascii_uppercase()
                || (ch.is_ascii_digit() && !out.ends_with(|c: char| c.is_ascii_digit())))
        {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn year_arg(year: i32) -> ApiResult<i32> {
    evaluation::fiscal_year(year)
        .ok_or_else(|| ApiError::bad_input("fiscalYear", evaluation::YEAR_RANGE))
}

#[derive(Default)]
pub struct StatisticsQuery;

#[Object]
impl StatisticsQuery {
    /// 集計表 (分析担当): 市全体の記録から数え、各セル・周辺計・総計を攪乱し k 未満は載せない
    /// / an ad-hoc aggregate table (analysts): counted over the whole city's records, every
    /// cell, margin and total perturbed (cell-key method); cells below k are not listed
    async fn statistics(
        &self,
        ctx: &Context<'_>,
        measure: Measure,
        group_by: Option<Vec<Dimension>>,
        filter: Option<Vec<StatisticsCondition>>,
    ) -> ApiResult<StatisticsTable> {
        let r = req(ctx)?;
        let (group_by, filter) = (group_by.unwrap_or_default(), filter.unwrap_or_default());
        r.require(Action::Analyse, "statistics")?;
        let group: Vec<raw::Dimension> = group_by.iter().map(|d| (*d).into()).collect();
        let conditions: Vec<raw::Condition> = filter
            .into_iter()
            .map(|c| raw::Condition {
                dimension: c.dimension.into(),
                values: c.values,
                exclude: c.exclude,
            })
            .collect();
        let k = threshold(ctx);
        let table =
            crate::statistics::table(replica_db(ctx)?, measure.into(), &group, &conditions, k)
                .await?;
        r.note_read(
            "statistics",
            None,
            serde_json::json!({
                "field": "statistics",
                "measure": screaming(&format!("{:?}", table.measure)),
                "groupBy": group.iter().map(|d| screaming(&format!("{d:?}"))).collect::<Vec<_>>(),
                "filter": conditions.iter().map(|c| serde_json::json!({
                    "dimension": screaming(&format!("{:?}", c.dimension)),
                    "values": c.values,
                    "exclude": c.exclude,
                })).collect::<Vec<_>>(),
            }),
        );
        Ok(StatisticsTable {
            measure,
            group_by,
            total: table.total(),
            cells: table
                .cells
                .into_iter()
                .map(|c| StatisticsCell {
                    values: c.values,
                    value: c.value,
                })
                .collect(),
            threshold: k,
            max_noise: MAX_NOISE,
            method: evaluation::METHOD.to_owned(),
        })
    }

    /// 事業評価 (分析担当・管理者): 指標ごとの実績・目標・達成率・前年度 (実績は集計表と同じ秘匿処理)
    /// / the yearly evaluation report (analysts, admins): actual, target, achievement rate
    /// and the previous year per indicator, the actuals under the tables' disclosure control
    async fn evaluation_report(
        &self,
        ctx: &Context<'_>,
        fiscal_year: i32,
    ) -> ApiResult<EvaluationReport> {
        let r = req(ctx)?;
        r.require(Action::Evaluate, "evaluationReport")?;
        let year = year_arg(fiscal_year)?;
        let report = evaluation::report(replica_db(ctx)?, year, threshold(ctx)).await?;
        r.recorder.note(evaluation::entry(&r.principal, year));
        Ok(report)
    }

    /// 実施目標 (分析担当・管理者) / the targets of a fiscal year (analysts, admins)
    async fn targets(&self, ctx: &Context<'_>, fiscal_year: i32) -> ApiResult<Vec<Target>> {
        req(ctx)?.require(Action::Evaluate, "targets")?;
        evaluation::targets(db(ctx)?, year_arg(fiscal_year)?).await
    }

    /// 集計区分ごとの有効・停止 (分析担当・管理者) / which groups of measures are on
    /// (analysts, admins)
    async fn statistics_settings(&self, ctx: &Context<'_>) -> ApiResult<Vec<StatisticsSetting>> {
        req(ctx)?.require(Action::Evaluate, "statisticsSettings")?;
        let off = raw::disabled_groups(db(ctx)?).await?;
        Ok(raw::MeasureGroup::ALL
            .iter()
            .map(|g| StatisticsSetting {
                group: (*g).into(),
                enabled: !off.iter().any(|o| o == g.as_str()),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct StatisticsMutation;

#[Object]
impl StatisticsMutation {
    /// 実施目標を設定する (管理者) / set the target of an indicator for a fiscal year (admins)
    async fn set_target(
        &self,
        ctx: &Context<'_>,
        fiscal_year: i32,
        indicator: Indicator,
        value: f64,
        note: Option<String>,
    ) -> ApiResult<Target> {
        let r = req(ctx)?;
        r.require(Action::SetTargets, "setTarget")?;
        let year = year_arg(fiscal_year)?;
        if !value.is_finite() || !(0.0..=1e12).contains(&value) {
            return Err(ApiError::bad_input(
                "value",
                "目標値は 0 以上の数です / a target is a number of 0 or more",
            ));
        }
        let note = super::validate::optional("note", note.as_ref(), 1000)?;
        let code = indicator.code();
        let permit = may_set_target(&r.principal, &code)
            .map_err(|refusal| ApiError::refused(refusal, "indicator"))?;
        let entry = Entry::write(
            &r.principal,
            "setTarget",
            "evaluation_target",
            &format!("{year}:{code}"),
            None,
            serde_json::json!({"fields": ["value", "note"], "fiscalYear": year, "indicator": code}),
        );
        let stamp = raw::Stamp {
            by: &r.principal.account_id,
            at: r.now,
        };
        let version =
            raw::set_target(db(ctx)?, permit, year, (value, note.clone()), stamp, entry).await?;
        Ok(Target {
            fiscal_year: year,
            indicator,
            value,
            note,
            version,
        })
    }

    /// 集計区分を停止・再開する (管理者) / switch a group of measures off or on (admins): a
    /// switched-off group answers FORBIDDEN in `statistics` and is null in the report
    async fn set_statistics_measure(
        &self,
        ctx: &Context<'_>,
        group: MeasureGroup,
        enabled: bool,
    ) -> ApiResult<StatisticsSetting> {
        let r = req(ctx)?;
        r.require(Action::SetTargets, "setStatisticsMeasure")?;
        let g: raw::MeasureGroup = group.into();
        let permit = may_switch_measures(&r.principal, g.as_str())
            .map_err(|refusal| ApiError::refused(refusal, "group"))?;
        let entry = Entry::write(
            &r.principal,
            "setStatisticsMeasure",
            "statistics_setting",
            g.as_str(),
            None,
            serde_json::json!({"fields": ["enabled"], "enabled": enabled}),
        );
        let stamp = raw::Stamp {
            by: &r.principal.account_id,
            at: r.now,
        };
        raw::set_group_enabled(db(ctx)?, permit, enabled, stamp, entry).await?;
        Ok(StatisticsSetting { group, enabled })
    }
}
