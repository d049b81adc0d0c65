//! The yearly 事業評価 of the 重層的支援体制整備事業 (実施計画: 実施目標, 事業評価・見直し):
//! for each indicator the actual of the fiscal year, its target, the achievement rate and
//! the previous year, with a breakdown where the plan asks for one.
//!
//! Every count is a protected table cell (`policy::statistics`): the same noise and the
//! same threshold as an analyst's ad-hoc table, for an analyst and for the admin alike (the
//! report to the council is aggregate too). Rates are computed from published values only.
//! The community resources are a public directory and are counted exactly.

use std::collections::BTreeMap;

use async_graphql::{Enum, SimpleObject};
use futures::{stream, StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::Serialize;

use super::Table;
use crate::error::{ApiError, ApiResult};
use crate::policy::statistics::{publish_mean, rate};
use crate::store::statistics::{self as raw, Condition, Dimension, Measure};

/// 評価指標 / an indicator of the evaluation
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indicator {
    /// 相談受付件数 (延べ) / consultations received (contacts)
    Consultations,
    /// 相談実人数 / persons consulted
    PersonsConsulted,
    /// 新規相談者数 (初めての相談) / new persons (first consultation at the hub)
    NewPersons,
    /// 継続相談者数 (実人数 − 新規) / continuing persons (persons − new)
    ContinuingPersons,
    /// 世帯数 / households consulted
    HouseholdsConsulted,
    /// つなぎ件数 / referrals between agencies
    Referrals,
    /// つなぎの受入件数 / referrals accepted
    ReferralsAccepted,
    /// つなぎの受入率 / acceptance rate of referrals
    ReferralAcceptanceRate,
    /// 多機関協働事業につないだケース数 / cases passed to 多機関協働
    CasesOpened,
    /// 支援決定件数 / 支援決定
    SupportDecisions,
    /// プラン作成件数 / plans made
    PlansMade,
    /// プラン合意件数 / plans agreed
    PlansAgreed,
    /// 会議開催件数 (種別) / meetings held, by kind
    Meetings,
    /// アウトリーチ対象者数 / outreach persons
    OutreachPersons,
    /// アウトリーチ接触件数 (段階) / outreach contacts, by stage reached
    OutreachContacts,
    /// 参加支援の開始件数 / participation placements started
    PlacementsStarted,
    /// 3 か月後も継続している件数 / placements continuing after three months
    PlacementsRetained,
    /// 定着率 / retention rate of placements
    RetentionRate,
    /// 参加者数 (実人数) / participants (persons placed)
    Participants,
    /// 終結件数 (理由別) / cases closed, by reason
    CasesClosed,
    /// 終結までの平均日数 / average days from opening to closure
    AverageDaysToClosure,
    /// 社会資源数 (種別) / community resources, by kind
    CommunityResources,
}

impl Indicator {
    pub const ALL: &'static [Indicator] = &[
        Indicator::Consultations,
        Indicator::PersonsConsulted,
        Indicator::NewPersons,
        Indicator::ContinuingPersons,
        Indicator::HouseholdsConsulted,
        Indicator::Referrals,
        Indicator::ReferralsAccepted,
        Indicator::ReferralAcceptanceRate,
        Indicator::CasesOpened,
        Indicator::SupportDecisions,
        Indicator::PlansMade,
        Indicator::PlansAgreed,
        Indicator::Meetings,
        Indicator::OutreachPersons,
        Indicator::OutreachContacts,
        Indicator::PlacementsStarted,
        Indicator::PlacementsRetained,
        Indicator::RetentionRate,
        Indicator::Participants,
        Indicator::CasesClosed,
        Indicator::AverageDaysToClosure,
        Indicator::CommunityResources,
    ];

    /// The stored code (as in the schema).
    pub fn code(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn parse(code: &str) -> Option<Indicator> {
        Indicator::ALL.iter().copied().find(|i| i.code() == code)
    }

    /// Japanese name, English name, unit.
    pub fn names(self) -> (&'static str, &'static str, &'static str) {
        use Indicator::*;
        match self {
            Consultations => ("相談受付件数 (延べ)", "Consultations received", "件"),
            PersonsConsulted => ("相談実人数", "Persons consulted", "人"),
            NewPersons => ("新規相談者数", "New persons", "人"),
            ContinuingPersons => ("継続相談者数", "Continuing persons", "人"),
            HouseholdsConsulted => ("相談世帯数", "Households consulted", "世帯"),
            Referrals => ("つなぎ件数", "Referrals", "件"),
            ReferralsAccepted => ("つなぎ受入件数", "Referrals accepted", "件"),
            ReferralAcceptanceRate => ("つなぎ受入率", "Referral acceptance rate", "率"),
            CasesOpened => (
                "多機関協働につないだケース数",
                "Cases passed to 多機関協働",
                "件",
            ),
            SupportDecisions => ("支援決定件数", "Support decisions", "件"),
            PlansMade => ("プラン作成件数", "Plans made", "件"),
            PlansAgreed => ("プラン合意件数", "Plans agreed", "件"),
            Meetings => ("会議開催件数", "Meetings held", "件"),
            OutreachPersons => ("アウトリーチ対象者数", "Outreach persons", "人"),
            OutreachContacts => ("アウトリーチ接触件数", "Outreach contacts", "件"),
            PlacementsStarted => ("参加支援の開始件数", "Placements started", "件"),
            PlacementsRetained => (
                "3か月後の継続件数",
                "Placements continuing after 3 months",
                "件",
            ),
            RetentionRate => ("定着率", "Retention rate", "率"),
            Participants => ("参加者数 (実人数)", "Participants", "人"),
            CasesClosed => ("終結件数", "Cases closed", "件"),
            AverageDaysToClosure => ("終結までの平均日数", "Average days to closure", "日"),
            CommunityResources => ("社会資源数", "Community resources", "件"),
        }
    }

    /// The measure a counted indicator reads, and the dimension it is broken down by.
    fn counted(self) -> Option<(Measure, Option<Dimension>)> {
        use Indicator::*;
        let by_kind = Some(Dimension::AgencyKind);
        Some(match self {
            Consultations => (Measure::Consultations, by_kind),
            PersonsConsulted => (Measure::PersonsConsulted, by_kind),
            NewPersons => (Measure::NewPersonsConsulted, by_kind),
            HouseholdsConsulted => (Measure::HouseholdsConsulted, None),
            Referrals => (Measure::Referrals, by_kind),
            ReferralsAccepted => (Measure::ReferralsAccepted, by_kind),
            CasesOpened => (Measure::CasesOpened, None),
            SupportDecisions => (Measure::SupportDecisions, None),
            PlansMade => (Measure::PlansMade, None),
            PlansAgreed => (Measure::PlansAgreed, None),
            Meetings => (Measure::Meetings, Some(Dimension::Kind)),
            OutreachPersons => (Measure::OutreachPersons, None),
            OutreachContacts => (Measure::OutreachContacts, Some(Dimension::Status)),
            PlacementsStarted => (Measure::PlacementsStarted, Some(Dimension::Kind)),
            PlacementsRetained => (Measure::PlacementsRetained, None),
            Participants => (Measure::PlacementPersons, None),
            CasesClosed => (Measure::CasesClosed, Some(Dimension::Status)),
            _ => return None,
        })
    }
}

/// 内訳の 1 行 / one row of an indicator's breakdown
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownRow {
    /// 内訳の軸 / the dimension (AGENCY_KIND, KIND, STATUS)
    pub dimension: String,
    /// 値 / its value
    pub value: String,
    /// 実績 (秘匿処理後、非公表は null) / actual (protected; null when not published)
    pub actual: Option<i64>,
    /// 前年度 / previous fiscal year
    pub previous_year: Option<i64>,
}

/// 指標の結果 / an indicator's result
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorResult {
    pub indicator: Indicator,
    pub name_ja: String,
    pub name_en: String,
    /// 単位 (件・人・世帯・率・日) / unit
    pub unit: String,
    /// 実績 (秘匿処理後。k 未満・停止中は null) / actual (protected; null below k or when
    /// the city has switched the measure off)
    pub actual: Option<f64>,
    /// 目標 / target
    pub target: Option<f64>,
    /// 達成率 (実績 ÷ 目標) / achievement rate (actual ÷ target)
    pub achievement_rate: Option<f64>,
    /// 前年度の実績 / the previous fiscal year's actual
    pub previous_year: Option<f64>,
    /// 市が集計を停止している / the city has switched this measure off
    pub disabled: bool,
    pub breakdown: Vec<BreakdownRow>,
}

/// 事業評価 / the evaluation report of a fiscal year
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationReport {
    /// 年度 (4 月始まり) / fiscal year (April to March)
    pub fiscal_year: i32,
    /// 秘匿の閾値 k / the threshold k
    pub threshold: i64,
    /// 秘匿の方法 / the disclosure control applied
    pub method: String,
    pub indicators: Vec<IndicatorResult>,
}

/// The fiscal years the report and targets take, as said to a caller.
pub const YEAR_RANGE: &str = "年度は 2000〜2100 です / a fiscal year from 2000 to 2100";

/// `year` if it is a fiscal year the report and targets take (2000 to 2100).
pub fn fiscal_year(year: i32) -> Option<i32> {
    (2000..=2100).contains(&year).then_some(year)
}

pub const METHOD: &str = "cell-key perturbation (±3, table in policy::statistics) and threshold k; rates from published values; averages over 20 or more; README §6.2";

/// A stored target.
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub fiscal_year: i32,
    pub indicator: Indicator,
    pub value: f64,
    pub note: Option<String>,
    pub version: i32,
}

/// How many of the report's tables are counted at once.
pub const REPORT_CONCURRENCY: usize = 2;

/// The report of `year`: every indicator, its target and the year before.
pub async fn report<C: ConnectionTrait>(
    db: &C,
    year: i32,
    threshold: i64,
) -> ApiResult<EvaluationReport> {
    let disabled = raw::disabled_groups(db).await?;
    let targets = targets(db, year).await?;
    let mut results: Vec<IndicatorResult> = Vec::new();
    let (this, last) = (year.to_string(), (year - 1).to_string());
    // Every year, under the same rules as an analyst's table: a year is compared with all
    // the others (the first year of records with none), never with the other year of the
    // report alone. The tables are counted [`REPORT_CONCURRENCY`] at a time (each on its own
    // connection from the pool; in a transaction they queue).
    let wanted: Vec<(Indicator, Measure, Vec<Dimension>)> = Indicator::ALL
        .iter()
        .filter_map(|&indicator| {
            let (measure, by) = indicator.counted()?;
            if disabled.iter().any(|g| g == measure.group().as_str()) {
                return None;
            }
            let mut group_by = vec![Dimension::FiscalYear];
            group_by.extend(by);
            Some((indicator, measure, group_by))
        })
        .collect();
    let mut tables: BTreeMap<Indicator, Table> = stream::iter(wanted)
        .map(|(indicator, measure, group_by)| async move {
            super::table(db, measure, &group_by, &[], threshold)
                .await
                .map(|t| (indicator, t))
        })
        .buffer_unordered(REPORT_CONCURRENCY)
        .try_collect()
        .await?;
    for &indicator in Indicator::ALL {
        let (ja, en, unit) = indicator.names();
        let mut result = IndicatorResult {
            indicator,
            name_ja: ja.to_owned(),
            name_en: en.to_owned(),
            unit: unit.to_owned(),
            actual: None,
            target: targets
                .iter()
                .find(|t| t.indicator == indicator)
                .map(|t| t.value),
            achievement_rate: None,
            previous_year: None,
            disabled: false,
            breakdown: Vec::new(),
        };
        if let Some((measure, by)) = indicator.counted() {
            if disabled.iter().any(|g| g == measure.group().as_str()) {
                result.disabled = true;
            } else {
                let table: Table = tables
                    .remove(&indicator)
                    .ok_or_else(|| ApiError::internal("evaluation", "a table was not counted"))?;
                let at = |y: &str| table.get(&[Some(y), None][..table.group_by.len()]);
                result.actual = at(&this).map(|v| v as f64);
                result.previous_year = at(&last).map(|v| v as f64);
                if let Some(d) = by {
                    let values: std::collections::BTreeSet<String> = table
                        .cells
                        .iter()
                        .filter_map(|c| c.values.get(1).cloned().flatten())
                        .collect();
                    result.breakdown = values
                        .into_iter()
                        .map(|v| BreakdownRow {
                            dimension: dimension_name(d).to_owned(),
                            actual: table.get(&[Some(&this), Some(&v)]),
                            previous_year: table.get(&[Some(&last), Some(&v)]),
                            value: v,
                        })
                        .collect();
                }
            }
        }
        results.push(result);
    }
    // Derived indicators, from published values only.
    let value = |results: &[IndicatorResult], i: Indicator| {
        results
            .iter()
            .find(|r| r.indicator == i)
            .map(|r| (r.actual, r.previous_year, r.disabled))
            .unwrap_or((None, None, true))
    };
    let as_int = |v: Option<f64>| v.map(|x| x as i64);
    for i in 0..results.len() {
        let pair = match results[i].indicator {
            Indicator::ContinuingPersons => {
                let (p, pp, pd) = value(&results, Indicator::PersonsConsulted);
                let (n, np, nd) = value(&results, Indicator::NewPersons);
                let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => Some((a - b).max(0.0)),
                    _ => None,
                };
                Some((diff(p, n), diff(pp, np), pd || nd))
            }
            Indicator::ReferralAcceptanceRate => {
                let (a, ap, ad) = value(&results, Indicator::ReferralsAccepted);
                let (r, rp, rd) = value(&results, Indicator::Referrals);
                Some((
                    rate(as_int(a), as_int(r)),
                    rate(as_int(ap), as_int(rp)),
                    ad || rd,
                ))
            }
            Indicator::RetentionRate => {
                let (a, ap, ad) = value(&results, Indicator::PlacementsRetained);
                let (s, sp, sd) = value(&results, Indicator::PlacementsStarted);
                Some((
                    rate(as_int(a), as_int(s)),
                    rate(as_int(ap), as_int(sp)),
                    ad || sd,
                ))
            }
            _ => None,
        };
        if let Some((actual, previous, disabled)) = pair {
            results[i].actual = if disabled { None } else { actual };
            results[i].previous_year = if disabled { None } else { previous };
            results[i].disabled = disabled;
        }
    }
    for r in results.iter_mut() {
        match r.indicator {
            Indicator::AverageDaysToClosure => {
                if disabled
                    .iter()
                    .any(|g| g == Measure::CasesClosed.group().as_str())
                {
                    r.disabled = true;
                } else {
                    for (y, slot) in [(year, &mut r.actual), (year - 1, &mut r.previous_year)] {
                        let only = Condition {
                            dimension: Dimension::FiscalYear,
                            values: vec![y.to_string()],
                            exclude: false,
                        };
                        let (sum, n, keys) = raw::closed_case_days(db, &[only]).await?;
                        *slot = publish_mean(sum, n, keys, threshold);
                    }
                }
            }
            Indicator::CommunityResources => {
                let kinds = raw::resources_by_kind(db).await?;
                r.actual = Some(kinds.iter().map(|(_, n)| *n).sum::<i64>() as f64);
                r.breakdown = kinds
                    .into_iter()
                    .map(|(kind, n)| BreakdownRow {
                        dimension: "KIND".to_owned(),
                        value: kind,
                        actual: Some(n),
                        previous_year: None,
                    })
                    .collect();
            }
            _ => {}
        }
        r.achievement_rate = match (r.actual, r.target) {
            (Some(a), Some(t)) if t > 0.0 => Some((a / t * 1000.0).round() / 1000.0),
            _ => None,
        };
    }
    Ok(EvaluationReport {
        fiscal_year: year,
        threshold,
        method: METHOD.to_owned(),
        indicators: results,
    })
}

fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::AgencyKind => "AGENCY_KIND",
        Dimension::Kind => "KIND",
        Dimension::Status => "STATUS",
        _ => "OTHER",
    }
}

fn pg<C: ConnectionTrait>(db: &C) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// The targets of a fiscal year.
pub async fn targets<C: ConnectionTrait>(db: &C, year: i32) -> ApiResult<Vec<Target>> {
    let mark = if pg(db) { "$1" } else { "?" };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!(
                "SELECT fiscal_year, indicator, value, note, version FROM evaluation_target \
                 WHERE fiscal_year = {mark} ORDER BY indicator"
            ),
            [year.into()],
        ))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let code: String = row.try_get("", "indicator")?;
        let Some(indicator) = Indicator::parse(&code) else {
            return Err(crate::error::ApiError::internal(
                "evaluation_target",
                format!("unknown stored indicator {code:?}"),
            ));
        };
        out.push(Target {
            fiscal_year: row.try_get("", "fiscal_year")?,
            indicator,
            value: row.try_get("", "value")?,
            note: row.try_get("", "note")?,
            version: row.try_get("", "version")?,
        });
    }
    out.sort_by_key(|t| t.indicator);
    Ok(out)
}

/// The report as a CSV file Excel opens (UTF-8 with a BOM, CRLF): one row per indicator and
/// one per breakdown row, Japanese and English headers.
pub fn csv(report: &EvaluationReport) -> ApiResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| crate::error::ApiError::internal("evaluation csv", e);
    w.write_record([
        "年度 / fiscal year",
        "指標 / indicator",
        "指標名",
        "name",
        "単位 / unit",
        "内訳の軸 / breakdown",
        "内訳 / value",
        "実績 / actual",
        "目標 / target",
        "達成率 / achievement",
        "前年度 / previous year",
        "備考 / note",
    ])
    .map_err(failed)?;
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let fy = report.fiscal_year.to_string();
    for r in &report.indicators {
        let note = if r.disabled {
            "集計停止 / switched off"
        } else if r.actual.is_none() {
            "非公表 (k 未満) / not published (below k)"
        } else {
            ""
        };
        w.write_record([
            fy.as_str(),
            &r.indicator.code(),
            &r.name_ja,
            &r.name_en,
            &r.unit,
            "",
            "",
            &num(r.actual),
            &num(r.target),
            &num(r.achievement_rate),
            &num(r.previous_year),
            note,
        ])
        .map_err(failed)?;
        for b in &r.breakdown {
            w.write_record([
                fy.as_str(),
                &r.indicator.code(),
                &r.name_ja,
                &r.name_en,
                &r.unit,
                &b.dimension,
                &crate::export::guard(&b.value),
                &num(b.actual.map(|v| v as f64)),
                "",
                "",
                &num(b.previous_year.map(|v| v as f64)),
                "",
            ])
            .map_err(failed)?;
        }
    }
    let body = w
        .into_inner()
        .map_err(|e| crate::error::ApiError::internal("evaluation csv", e.to_string()))?;
    let text = String::from_utf8(body)
        .map_err(|e| crate::error::ApiError::internal("evaluation csv", e))?;
    Ok(crate::import::encoding::encode_utf8_with_bom(&text))
}

/// The one READ row a production of the report is ledgered as (who, which year; never the
/// values), the same from GraphQL, `GET /reports/evaluation/{year}` and the CLI.
pub fn entry(principal: &crate::policy::Principal, year: i32) -> crate::audit::Entry {
    crate::audit::Entry {
        action: "READ",
        operation: "evaluationReport".to_owned(),
        record_type: "evaluation_report".to_owned(),
        detail: serde_json::json!({"field": "evaluationReport", "fiscalYear": year}),
        ..crate::audit::Entry::by(principal)
    }
}
