//! Aggregate counts for the statistics tables and the 事業評価 (issue 17): for a measure,
//! up to three dimensions and conditions on dimensions, every cell, margin and total as its
//! true count of distinct units and the sum of those units' record keys (`stat_key`). What
//! is published of them is decided by `policy::statistics`, never here.
//!
//! Counts come from the whole city's records (個人情報保護法 第69条: the city's internal use
//! for statistics), whatever basis an agency holds them on: nothing is counted differently
//! because it was shared in a 支援会議 or under emergency access.
//!
//! One statement per table: the unit rows (distinct unit, key, dimension values) are a CTE,
//! and each grouping set (the cells, each margin, the total) aggregates it in a branch of a
//! UNION ALL. A grouping set is summed from a finer one instead of queried when the dimension
//! it leaves out has one value per unit and cell there (see `determined`): where every unit
//! is exactly one row of the CTE (the unit is the row and no join can repeat it) only the
//! cells are queried; a person's district, or a month's fiscal year, never split a unit.
//!
//! On PostgreSQL the rows carry the dimensions in a cheap raw form (an integer fiscal year
//! and age band, a truncated month) that is turned into text once per group, and a condition
//! on the fiscal year or the month is a range of the date (README §12, "statistics and the
//! evaluation report"). The text a cell is shown under is the same either way.

mod settings;
mod source;
mod sql;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

pub use settings::{disabled_groups, set_group_enabled, set_target, Stamp};
use source::source;
use sql::{conditions_sql, table_sql, Dialect, TableSql};

/// The months a canonical fiscal year ("2024") or month ("2024-05") spans, as `[first, end)`
/// in months since year 0; `None` for any other text (which no row is shown as).
pub fn months_of(dimension: Dimension, value: &str) -> Option<(i64, i64)> {
    sql::period(dimension, value).map(|(start, len)| (start, start + len))
}

/// What a table counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Consultations,
    PersonsConsulted,
    NewPersonsConsulted,
    HouseholdsConsulted,
    Referrals,
    ReferralsAccepted,
    CasesOpened,
    SupportDecisions,
    CasesClosed,
    PlansMade,
    PlansAgreed,
    Meetings,
    OutreachContacts,
    OutreachPersons,
    PlacementsStarted,
    PlacementsRetained,
    PlacementPersons,
    ConsentsRecorded,
    ConsentsWithdrawn,
}

/// What a table groups and filters by. Nothing finer than a month, nothing finer than an
/// age band, nothing that names a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    FiscalYear,
    Month,
    District,
    AgeBand5,
    AgeBand10,
    Sex,
    Agency,
    AgencyKind,
    Issue,
    IssueGroup,
    Channel,
    Status,
    Kind,
}

impl Dimension {
    pub const ALL: &'static [Dimension] = &[
        Dimension::FiscalYear,
        Dimension::Month,
        Dimension::District,
        Dimension::AgeBand5,
        Dimension::AgeBand10,
        Dimension::Sex,
        Dimension::Agency,
        Dimension::AgencyKind,
        Dimension::Issue,
        Dimension::IssueGroup,
        Dimension::Channel,
        Dimension::Status,
        Dimension::Kind,
    ];

    /// Whether this dimension's value fixes `other`'s (a month its fiscal year, an issue its
    /// group, an agency its kind, a 5-year band its 10-year band).
    pub fn implies(self, other: Dimension) -> bool {
        sql::implies(self, other)
    }
}

/// The groups of measures the city may switch off (`setStatisticsMeasure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MeasureGroup {
    Consultations,
    Referrals,
    Cases,
    Meetings,
    Outreach,
    Placements,
    Consents,
}

impl MeasureGroup {
    pub const ALL: &'static [MeasureGroup] = &[
        MeasureGroup::Consultations,
        MeasureGroup::Referrals,
        MeasureGroup::Cases,
        MeasureGroup::Meetings,
        MeasureGroup::Outreach,
        MeasureGroup::Placements,
        MeasureGroup::Consents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeasureGroup::Consultations => "CONSULTATIONS",
            MeasureGroup::Referrals => "REFERRALS",
            MeasureGroup::Cases => "CASES",
            MeasureGroup::Meetings => "MEETINGS",
            MeasureGroup::Outreach => "OUTREACH",
            MeasureGroup::Placements => "PLACEMENTS",
            MeasureGroup::Consents => "CONSENTS",
        }
    }
}

impl Measure {
    pub fn group(self) -> MeasureGroup {
        use Measure::*;
        match self {
            Consultations | PersonsConsulted | NewPersonsConsulted | HouseholdsConsulted => {
                MeasureGroup::Consultations
            }
            Referrals | ReferralsAccepted => MeasureGroup::Referrals,
            CasesOpened | SupportDecisions | CasesClosed | PlansMade | PlansAgreed => {
                MeasureGroup::Cases
            }
            Meetings => MeasureGroup::Meetings,
            OutreachContacts | OutreachPersons => MeasureGroup::Outreach,
            PlacementsStarted | PlacementsRetained | PlacementPersons => MeasureGroup::Placements,
            ConsentsRecorded | ConsentsWithdrawn => MeasureGroup::Consents,
        }
    }

    /// Whether the measure has `dimension` (a case has no person, a meeting no issue).
    pub fn has(self, dimension: Dimension) -> bool {
        let s = source(self);
        match dimension {
            Dimension::FiscalYear
            | Dimension::Month
            | Dimension::Agency
            | Dimension::AgencyKind => true,
            Dimension::District | Dimension::AgeBand5 | Dimension::AgeBand10 | Dimension::Sex => {
                s.person.is_some()
            }
            Dimension::Issue | Dimension::IssueGroup => s.consultation.is_some(),
            Dimension::Channel => s.channel.is_some(),
            Dimension::Status => s.status.is_some(),
            Dimension::Kind => s.kind.is_some(),
        }
    }
}

/// A condition on a dimension: its value is one of `values` (or, with `exclude`, none).
#[derive(Clone, Debug)]
pub struct Condition {
    pub dimension: Dimension,
    pub values: Vec<String>,
    pub exclude: bool,
}

/// One cell, margin or total: `values[i]` is the value of the i-th grouped dimension, or
/// `None` where the row is a margin over it. `count` distinct units, keys summing to
/// `key_sum`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCell {
    pub values: Vec<Option<String>>,
    pub count: i64,
    pub key_sum: i64,
}

/// The value a row without one (no district, no birth date, no issue) is grouped under.
pub const UNKNOWN: &str = "UNKNOWN";

/// Every cell of `measure` grouped by `group_by` (at most three, each one the measure has),
/// every margin and the total, under `conditions`: the true counts and key sums. Cells with
/// no unit are absent.
pub async fn table<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
) -> Result<Vec<RawCell>, DbErr> {
    let backend = db.get_database_backend();
    let TableSql { sql, values, finer } = table_sql(backend, measure, group_by, conditions);
    let n = group_by.len();
    let full = (1usize << n) - 1;
    let found = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut sets: BTreeMap<usize, Vec<RawCell>> = BTreeMap::new();
    for row in found {
        let count: i64 = row.try_get("", "n")?;
        if count == 0 {
            // The total of an empty table.
            continue;
        }
        let key_sum: i64 = row.try_get::<Option<i64>>("", "ks")?.unwrap_or(0);
        let mask = usize::try_from(row.try_get::<i64>("", "gs")?)
            .map_err(|e| DbErr::Custom(format!("grouping set: {e}")))?;
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(if mask & (1 << i) != 0 {
                Some(row.try_get::<String>("", &format!("d{i}"))?)
            } else {
                None
            });
        }
        sets.entry(mask).or_default().push(RawCell {
            values: vals,
            count,
            key_sum,
        });
    }
    // Finer sets first: a set is summed from one with a higher mask.
    for mask in (0..full).rev() {
        if let Some(j) = finer[mask] {
            let summed = sum_over(
                sets.get(&(mask | (1 << j))).map_or(&[][..], Vec::as_slice),
                j,
            );
            sets.insert(mask, summed);
        }
    }
    Ok(sets.into_values().rev().flatten().collect())
}

/// Cells summed over dimension `j`: each unit of the result is in exactly one of the cells
/// summed (see [`determined`]).
fn sum_over(cells: &[RawCell], j: usize) -> Vec<RawCell> {
    let mut sums: BTreeMap<Vec<Option<String>>, (i64, i64)> = BTreeMap::new();
    for cell in cells {
        let mut key = cell.values.clone();
        key[j] = None;
        let e = sums.entry(key).or_default();
        e.0 += cell.count;
        e.1 += cell.key_sum;
    }
    sums.into_iter()
        .map(|(values, (count, key_sum))| RawCell {
            values,
            count,
            key_sum,
        })
        .collect()
}

/// The first and last month (`YYYY-MM`, JST) of the rows a measure is counted from, in the
/// whole city, if there are any: outside them every cell of the measure is empty, and the
/// differencing rules need not guard a slice that is empty there. The rows are taken without
/// the measure's own condition or the person's join (a superset of its records: the span can
/// only be wider than the records', which guards more, never less), so that the date's index
/// answers it.
pub async fn span<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
) -> Result<Option<(String, String)>, DbErr> {
    let d = Dialect(db.get_database_backend());
    let s = source(measure);
    let (at, column) = match s.when {
        source::When::At(c) => (true, c),
        source::When::On(c) => (false, c),
    };
    let of = |f: &str| d.month_of(at, &format!("{f}({column})"));
    let sql = format!(
        "SELECT {} AS a, {} AS b FROM {}",
        of("MIN"),
        of("MAX"),
        s.from
    );
    let row = db.query_one_raw(Statement::from_string(d.0, sql)).await?;
    Ok(match row {
        Some(r) => r
            .try_get::<Option<String>>("", "a")?
            .zip(r.try_get::<Option<String>>("", "b")?),
        None => None,
    })
}

/// Every agency with its kind, and every issue with its group (its parent, or itself at the
/// top), as the directory holds them, each with whether any record of the measure has it
/// anywhere in the city (an agency that has recorded none, an issue never given as a main
/// issue, is empty in every cell, as the whole city's table says). Agencies when
/// `agencies`, issues when `issues`.
pub async fn hierarchy<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
    agencies: bool,
    issues: bool,
) -> Result<(Vec<Member>, Vec<Member>), DbErr> {
    let backend = db.get_database_backend();
    let d = Dialect(backend);
    let s = source(measure);
    let members = |sql: String| async move {
        let mut v = Vec::new();
        for r in db
            .query_all_raw(Statement::from_string(backend, sql))
            .await?
        {
            v.push(Member {
                value: r.try_get("", "a")?,
                parent: r.try_get("", "b")?,
                used: r.try_get::<i64>("", "u")? != 0,
            });
        }
        Ok::<_, DbErr>(v)
    };
    let agencies = if agencies {
        // Every row of the measure's tables, its own condition aside: a superset of its
        // records, so no agency that has one is taken for unused.
        members(format!(
            "SELECT ag.code AS a, ag.kind AS b, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM {} WHERE {} = ag.id) THEN 1 ELSE 0 END \
             AS BIGINT) AS u \
             FROM agency ag",
            s.from, s.agency
        ))
        .await?
    } else {
        Vec::new()
    };
    let issues = if issues {
        members(format!(
            "SELECT ic.code AS a, COALESCE(ic.parent_code, ic.code) AS b, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM consultation_issue ci \
             WHERE ci.issue_code = ic.code AND ci.is_main = {}) THEN 1 ELSE 0 END AS BIGINT) AS u \
             FROM issue_category ic",
            if d.pg() { "TRUE" } else { "1" }
        ))
        .await?
    } else {
        Vec::new()
    };
    Ok((agencies, issues))
}

/// A fine value of the directory (an agency, an issue), its coarse value (a kind, a group),
/// and whether any record of the measure has it.
#[derive(Clone, Debug)]
pub struct Member {
    pub value: String,
    pub parent: String,
    pub used: bool,
}

/// The sum of days from opening to closure over the closures a condition selects, their
/// number and the sum of their keys (the 事業評価's average duration of closed cases).
pub async fn closed_case_days<C: ConnectionTrait>(
    db: &C,
    conditions: &[Condition],
) -> Result<(f64, i64, i64), DbErr> {
    let d = Dialect(db.get_database_backend());
    let s = source(Measure::CasesClosed);
    let days = if d.pg() {
        "(d.decided_on - sc.opened_on)"
    } else {
        "(julianday(d.decided_on) - julianday(sc.opened_on))"
    };
    let mut values: Vec<Value> = Vec::new();
    let wheres = conditions_sql(&d, &s, conditions, &mut values);
    let sql = format!(
        "SELECT CAST(COALESCE(SUM({days}), 0) AS DOUBLE PRECISION) AS total, COUNT(*) AS n, \
         CAST(COALESCE(SUM({}), 0) AS BIGINT) AS ks FROM {} WHERE {}",
        s.key,
        s.from,
        wheres.join(" AND ")
    );
    let sql = if d.pg() {
        sql
    } else {
        sql.replace("DOUBLE PRECISION", "REAL")
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(d.0, sql, values))
        .await?
        .ok_or_else(|| DbErr::Custom("closed_case_days returned no row".into()))?;
    Ok((
        row.try_get("", "total")?,
        row.try_get("", "n")?,
        row.try_get("", "ks")?,
    ))
}

/// Active community resources (社会資源) per kind: public directory entries, not personal
/// data, counted exactly.
pub async fn resources_by_kind<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, i64)>, DbErr> {
    let d = Dialect(db.get_database_backend());
    let rows = db
        .query_all_raw(Statement::from_string(
            d.0,
            format!(
                "SELECT kind, COUNT(*) AS n FROM community_resource WHERE active = {} \
                 GROUP BY kind ORDER BY kind",
                if d.pg() { "TRUE" } else { "1" }
            ),
        ))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("", "kind")?, r.try_get("", "n")?)))
        .collect()
}
