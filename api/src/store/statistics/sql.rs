//! The SQL of a table: dialects, dimensions as SQL, conditions, and the one statement.

use sea_orm::{DbBackend, Value};

use super::source::{source, Source, When};
use super::{Condition, Dimension, Measure, UNKNOWN};

pub(super) struct Dialect(pub(super) DbBackend);

impl Dialect {
    pub(super) fn pg(&self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// `YYYY-MM` of a date or a timestamp (in JST).
    pub(super) fn month(&self, when: When) -> String {
        match when {
            When::At(c) => self.month_of(true, c),
            When::On(c) => self.month_of(false, c),
        }
    }

    /// `YYYY-MM` of an expression: a timestamp (`at`, taken in JST) or a date.
    pub(super) fn month_of(&self, at: bool, c: &str) -> String {
        match (at, self.pg()) {
            (true, true) => format!("to_char({c} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"),
            (false, true) => format!("to_char({c}, 'YYYY-MM')"),
            (true, false) => format!("strftime('%Y-%m', {c}, '+9 hours')"),
            (false, false) => format!("strftime('%Y-%m', {c})"),
        }
    }

    /// `YYYYMMDD` as an integer, of a date or a timestamp (in JST).
    pub(super) fn ymd(&self, when: When) -> String {
        match (when, self.pg()) {
            (When::At(c), true) => {
                format!("CAST(to_char({c} AT TIME ZONE 'Asia/Tokyo', 'YYYYMMDD') AS INTEGER)")
            }
            (When::On(c), true) => format!("CAST(to_char({c}, 'YYYYMMDD') AS INTEGER)"),
            (When::At(c), false) => {
                format!("CAST(strftime('%Y%m%d', {c}, '+9 hours') AS INTEGER)")
            }
            (When::On(c), false) => format!("CAST(strftime('%Y%m%d', {c}) AS INTEGER)"),
        }
    }

    /// A measure's date as a timestamp in JST (PostgreSQL).
    pub(super) fn local(when: When) -> String {
        match when {
            When::At(c) => format!("({c} AT TIME ZONE 'Asia/Tokyo')"),
            When::On(c) => format!("CAST({c} AS TIMESTAMP)"),
        }
    }

    pub(super) fn retained(&self) -> &'static str {
        if self.pg() {
            "pp.started_on + INTERVAL '3 months' <= CURRENT_DATE \
             AND (pp.ended_on IS NULL OR pp.ended_on >= pp.started_on + INTERVAL '3 months')"
        } else {
            "date(pp.started_on, '+3 months') <= date('now', '+9 hours') \
             AND (pp.ended_on IS NULL OR pp.ended_on >= date(pp.started_on, '+3 months'))"
        }
    }

    pub(super) fn placeholder(&self, n: usize) -> String {
        if self.pg() {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }
}

pub(super) fn text(expr: &str) -> String {
    format!("COALESCE(CAST({expr} AS TEXT), '{UNKNOWN}')")
}

pub(super) fn age_band(age: &str, width: i64) -> String {
    format!(
        "CASE WHEN p.birth_date IS NULL THEN '{UNKNOWN}' \
         WHEN ({age}) >= 90 THEN '90+' \
         WHEN ({age}) < 0 THEN '0-{w1}' \
         ELSE CAST((({age}) / {width}) * {width} AS TEXT) || '-' || \
              CAST((({age}) / {width}) * {width} + {w1} AS TEXT) END",
        w1 = width - 1
    )
}

/// The SQL of a dimension for a measure's rows (text, never NULL).
pub(super) fn dimension_sql(d: &Dialect, s: &Source, dimension: Dimension) -> String {
    let month = d.month(s.when);
    match dimension {
        Dimension::Month => month,
        Dimension::FiscalYear => format!(
            "CAST(CAST(substr({month}, 1, 4) AS INTEGER) - \
             CASE WHEN substr({month}, 6, 2) < '04' THEN 1 ELSE 0 END AS TEXT)"
        ),
        Dimension::District => text("p.district"),
        Dimension::Sex => text("p.sex"),
        Dimension::AgeBand5 | Dimension::AgeBand10 => {
            let birth = if d.pg() {
                "CAST(to_char(p.birth_date, 'YYYYMMDD') AS INTEGER)".to_owned()
            } else {
                "CAST(strftime('%Y%m%d', p.birth_date) AS INTEGER)".to_owned()
            };
            let age = format!("({} - {birth}) / 10000", d.ymd(s.when));
            age_band(
                &age,
                if dimension == Dimension::AgeBand5 {
                    5
                } else {
                    10
                },
            )
        }
        Dimension::Agency => text("ag.code"),
        Dimension::AgencyKind => text("ag.kind"),
        Dimension::Issue => text("ci.issue_code"),
        Dimension::IssueGroup => text("COALESCE(ic.parent_code, ci.issue_code)"),
        Dimension::Channel => text(s.channel.unwrap_or("NULL")),
        Dimension::Status => text(s.status.unwrap_or("NULL")),
        Dimension::Kind => text(s.kind.unwrap_or("NULL")),
    }
}

/// A dimension as the unit rows carry it: cheap to compute per row and to group by. On
/// PostgreSQL the fiscal year, the month and the age band are an integer, a timestamp and an
/// integer (`to_char` and text arithmetic per row cost more than the rest of a table), shown
/// as text by [`shown_sql`] once per group; elsewhere the raw value is the shown text.
/// [`shown_sql`] of the raw value is exactly [`dimension_sql`] (NULL included), and one-to-one,
/// so grouping by the raw value groups exactly as by the text.
pub(super) fn raw_sql(d: &Dialect, s: &Source, dimension: Dimension) -> String {
    if !d.pg() {
        return dimension_sql(d, s, dimension);
    }
    let local = Dialect::local(s.when);
    match dimension {
        // The year of the date three months earlier: April to March. (For years 1000 to
        // 9999, the same as the year of `YYYY-MM` less one before April.)
        Dimension::FiscalYear => {
            format!("CAST(date_part('year', {local} - INTERVAL '3 months') AS INTEGER)")
        }
        Dimension::Month => format!("date_trunc('month', {local})"),
        Dimension::AgeBand5 | Dimension::AgeBand10 => {
            let w = band_width(dimension);
            // Whole years from birth to the day of the event (the years of `age()` are
            // `(YYYYMMDD - YYYYMMDD) / 10000`, negative ages included); -1 for no birth
            // date, the band's lower bound otherwise (0 below zero, 90 from 90).
            let age = format!(
                "CAST(date_part('year', age(CAST(CAST({local} AS DATE) AS TIMESTAMP), \
                 CAST(p.birth_date AS TIMESTAMP))) AS INTEGER)"
            );
            format!(
                "CASE WHEN p.birth_date IS NULL THEN -1 WHEN {local} IS NULL THEN NULL \
                 ELSE LEAST(GREATEST(({age} / {w}) * {w}, 0), 90) END"
            )
        }
        _ => dimension_sql(d, s, dimension),
    }
}

/// The text a raw value (a column of [`raw_sql`]) is shown as.
pub(super) fn shown_sql(d: &Dialect, dimension: Dimension, raw: &str) -> String {
    if !d.pg() {
        return raw.to_owned();
    }
    match dimension {
        Dimension::FiscalYear => format!("CAST({raw} AS TEXT)"),
        Dimension::Month => format!("to_char({raw}, 'YYYY-MM')"),
        Dimension::AgeBand5 | Dimension::AgeBand10 => format!(
            "CASE {raw} WHEN -1 THEN '{UNKNOWN}' WHEN 90 THEN '90+' \
             ELSE CAST({raw} AS TEXT) || '-' || CAST({raw} + {w1} AS TEXT) END",
            w1 = band_width(dimension) - 1
        ),
        _ => raw.to_owned(),
    }
}

pub(super) fn band_width(dimension: Dimension) -> i64 {
    if dimension == Dimension::AgeBand5 {
        5
    } else {
        10
    }
}

/// A canonical fiscal year ("2024") or month ("2024-04") as a number of months since year 0
/// (its first month), and how many months it spans; `None` for any other text, which no row
/// is shown as (or, outside the years 1000 to 9998, is left to the text comparison).
pub(super) fn period(dimension: Dimension, value: &str) -> Option<(i64, i64)> {
    let year = |y: &str| -> Option<i64> {
        let n: i64 = y.parse().ok()?;
        (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) && (1000..=9998).contains(&n))
            .then_some(n)
    };
    match dimension {
        Dimension::FiscalYear => Some((year(value)? * 12 + 3, 12)),
        Dimension::Month => {
            let (y, m) = value.split_once('-')?;
            let m: i64 = (m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()))
                .then(|| m.parse().ok())
                .flatten()?;
            (1..=12).contains(&m).then_some((year(y)? * 12 + m - 1, 1))
        }
        _ => None,
    }
}

/// The first instant (or day) of the month `months` since year 0, in JST, as SQL.
pub(super) fn month_start(when: When, months: i64) -> String {
    let (y, m) = (months / 12, months % 12 + 1);
    match when {
        When::At(_) => {
            format!("(CAST('{y:04}-{m:02}-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo')")
        }
        When::On(_) => format!("DATE '{y:04}-{m:02}-01'"),
    }
}

/// A condition as SQL, with its values bound. On PostgreSQL a condition on the fiscal year
/// or the month is a range of the date itself (no per-row arithmetic, and the date's index
/// can be used): a row's fiscal year is shown as "2024" exactly when its date is in
/// [2024-04-01, 2025-04-01) in JST. Adjacent periods are one range. Values no row is shown
/// as, or outside the ranges' years, keep the comparison of the text.
pub(super) fn condition_sql(
    d: &Dialect,
    s: &Source,
    c: &Condition,
    values: &mut Vec<Value>,
) -> String {
    if c.values.is_empty() {
        // No value: nothing is in (or, excluded, everything is).
        return if c.exclude { "1 = 1" } else { "1 = 0" }.to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest: Vec<&String> = Vec::new();
    if d.pg() && matches!(c.dimension, Dimension::FiscalYear | Dimension::Month) {
        let mut spans: Vec<(i64, i64)> = Vec::new();
        for v in &c.values {
            match period(c.dimension, v) {
                Some((start, len)) => spans.push((start, start + len)),
                None => rest.push(v),
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let col = match s.when {
            When::At(c) | When::On(c) => c,
        };
        for (a, b) in merged {
            parts.push(format!(
                "({col} >= {} AND {col} < {})",
                month_start(s.when, a),
                month_start(s.when, b)
            ));
        }
    } else {
        rest = c.values.iter().collect();
    }
    if !rest.is_empty() {
        let expr = shown_sql(d, c.dimension, &raw_sql(d, s, c.dimension));
        let marks: Vec<String> = rest
            .into_iter()
            .map(|v| {
                values.push(v.clone().into());
                d.placeholder(values.len())
            })
            .collect();
        parts.push(format!("{expr} IN ({})", marks.join(", ")));
    }
    let any = format!("({})", parts.join(" OR "));
    if c.exclude {
        format!("NOT {any}")
    } else {
        any
    }
}

/// The measure's own condition and `conditions`, as SQL with their values bound.
pub(super) fn conditions_sql(
    d: &Dialect,
    s: &Source,
    conditions: &[Condition],
    values: &mut Vec<Value>,
) -> Vec<String> {
    let mut wheres = vec![s.condition.replace("{RETAINED}", d.retained())];
    for c in conditions {
        wheres.push(condition_sql(d, s, c, values));
    }
    wheres
}

/// Whether a dimension's value follows from another's (a month's fiscal year, an issue's
/// group, an agency's kind, a 5-year band's 10-year band).
pub(super) fn implies(a: Dimension, b: Dimension) -> bool {
    use Dimension::*;
    matches!(
        (a, b),
        (Month, FiscalYear) | (Issue, IssueGroup) | (Agency, AgencyKind) | (AgeBand5, AgeBand10)
    )
}

/// Whether, among a table's unit rows, the value of `dimension` is the same in every row of
/// one unit with the same values of `others`: then each unit of a cell without `dimension` is
/// in exactly one cell with it, and the cell is the sum of those (counts and keys).
/// - A unit that is a row has one value of everything its row and its many-to-one joins give
///   (agency, main issue, the record's person), but not of its subjects when it has several.
/// - A person has one district and one sex (the current ones), but an age band per event.
/// - A value that follows from another dimension's (a month's fiscal year).
pub(super) fn determined(
    s: &Source,
    person_joined: bool,
    dimension: Dimension,
    others: &[Dimension],
) -> bool {
    use Dimension::*;
    let of_person = matches!(dimension, District | AgeBand5 | AgeBand10 | Sex);
    let by_unit = if s.row_is_unit {
        !(of_person && person_joined && s.person_repeats)
    } else {
        s.unit == "p.id" && matches!(dimension, District | Sex)
    };
    by_unit || others.iter().any(|o| implies(*o, dimension))
}

/// The rows a table reads (FROM with its joins), and whether the person is joined.
pub(super) fn from_sql(
    d: &Dialect,
    s: &Source,
    group_by: &[Dimension],
    conditions: &[Condition],
) -> (String, bool) {
    let used: Vec<Dimension> = group_by
        .iter()
        .copied()
        .chain(conditions.iter().map(|c| c.dimension))
        .collect();
    let needs = |ds: &[Dimension]| used.iter().any(|u| ds.contains(u));
    let mut from = s.from.to_owned();
    let person_dims = [
        Dimension::District,
        Dimension::AgeBand5,
        Dimension::AgeBand10,
        Dimension::Sex,
    ];
    // The person join is needed for a person dimension, and for a unit that is the person.
    let person_joined = s.person.is_some() && (needs(&person_dims) || !s.row_is_unit);
    if person_joined {
        from.push(' ');
        from.push_str(s.person.unwrap_or_default());
    }
    if needs(&[Dimension::Agency, Dimension::AgencyKind]) {
        from.push_str(&format!(" JOIN agency ag ON ag.id = {}", s.agency));
    }
    if let (Some(cons), true) = (
        s.consultation,
        needs(&[Dimension::Issue, Dimension::IssueGroup]),
    ) {
        from.push_str(&format!(
            " LEFT JOIN consultation_issue ci ON ci.consultation_id = {cons} AND ci.is_main = {t} \
             LEFT JOIN issue_category ic ON ic.code = ci.issue_code",
            t = if d.pg() { "TRUE" } else { "1" }
        ));
    }
    (from, person_joined)
}

/// A table's one statement, its bound values, and for each grouping set (a mask of the
/// grouped dimensions) the dimension whose finer set it is summed from, or `None` where the
/// statement queries it.
pub(super) struct TableSql {
    pub(super) sql: String,
    pub(super) values: Vec<Value>,
    pub(super) finer: Vec<Option<usize>>,
}

pub(super) fn table_sql(
    backend: DbBackend,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
) -> TableSql {
    let d = Dialect(backend);
    let s = source(measure);
    let (from, person_joined) = from_sql(&d, &s, group_by, conditions);
    let mut values: Vec<Value> = Vec::new();
    let wheres = conditions_sql(&d, &s, conditions, &mut values);
    let n = group_by.len();
    let raws: Vec<String> = group_by
        .iter()
        .enumerate()
        .map(|(i, g)| format!(", {} AS r{i}", raw_sql(&d, &s, *g)))
        .collect();
    // A join that repeats a unit (a consultation's subjects) makes rows that are not units.
    let one_row_per_unit = s.row_is_unit && !(person_joined && s.person_repeats);
    let rows = format!(
        "SELECT {distinct}{unit} AS u, {key} AS k{raws} FROM {from} WHERE {w}",
        distinct = if one_row_per_unit { "" } else { "DISTINCT " },
        unit = s.unit,
        key = s.key,
        raws = raws.concat(),
        w = wheres.join(" AND ")
    );
    // Each grouping set (a mask of the grouped dimensions) is either summed from a finer one
    // (`finer[mask]`: the dimension to add) or queried. Where every unit is one row, only the
    // cells are queried.
    let full = (1usize << n) - 1;
    let finer: Vec<Option<usize>> = (0..=full)
        .map(|mask| {
            let others: Vec<Dimension> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| group_by[i])
                .collect();
            (0..n)
                .filter(|j| mask & (1 << j) == 0)
                .find(|&j| one_row_per_unit || determined(&s, person_joined, group_by[j], &others))
        })
        .collect();
    let branches: Vec<String> = (0..=full)
        .rev()
        .filter(|&mask| mask == full || finer[mask].is_none())
        .map(|mask| {
            let set: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let mut cols = vec![format!("CAST({mask} AS BIGINT) AS gs")];
            for (i, g) in group_by.iter().enumerate() {
                cols.push(if set.contains(&i) {
                    format!("{} AS d{i}", shown_sql(&d, *g, &format!("r{i}")))
                } else {
                    format!("CAST(NULL AS TEXT) AS d{i}")
                });
            }
            let grouped: Vec<String> = set.iter().map(|i| format!("r{i}")).collect();
            let inner = if mask == full {
                "ev".to_owned()
            } else {
                let mut keep = vec!["u".to_owned(), "k".to_owned()];
                keep.extend(grouped.iter().cloned());
                format!("(SELECT DISTINCT {} FROM ev) sub", keep.join(", "))
            };
            format!(
                "SELECT {}, COUNT(*) AS n, CAST(SUM(k) AS BIGINT) AS ks FROM {inner}{}",
                cols.join(", "),
                if grouped.is_empty() {
                    String::new()
                } else {
                    format!(" GROUP BY {}", grouped.join(", "))
                }
            )
        })
        .collect();
    TableSql {
        sql: format!("WITH ev AS ({rows}) {}", branches.join(" UNION ALL ")),
        values,
        finer,
    }
}
