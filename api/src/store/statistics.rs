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
//! UNION ALL. Where every unit is exactly one row of the CTE (the unit is the row and no
//! join can repeat it), the margins are sums of the cells and only the cells are queried.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

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

/// Where a measure's date comes from: a timestamp (taken in the city's time, JST) or a date.
#[derive(Clone, Copy)]
enum When {
    At(&'static str),
    On(&'static str),
}

/// How a measure is read: its rows, its unit, and the expression of each dimension it has.
struct Source {
    /// FROM and the joins every row needs.
    from: &'static str,
    /// Extra conditions of the measure (`TRUE` when none).
    condition: &'static str,
    unit: &'static str,
    key: &'static str,
    when: When,
    /// The join that gives the person (alias `p`) a row is about, if any.
    person: Option<&'static str>,
    /// Whether a row of `from` is exactly one unit.
    row_is_unit: bool,
    /// Whether the person join can give a row more than once (a consultation's subjects).
    person_repeats: bool,
    agency: &'static str,
    /// The consultation whose main issue classifies the row, if any.
    consultation: Option<&'static str>,
    channel: Option<&'static str>,
    status: Option<&'static str>,
    kind: Option<&'static str>,
}

const SUBJECTS: &str = "JOIN consultation_subject cs ON cs.consultation_id = c.id \
                        JOIN person p ON p.id = cs.person_id";

fn source(measure: Measure) -> Source {
    use Measure::*;
    let consultation = Source {
        from: "consultation c",
        condition: "1 = 1",
        unit: "c.id",
        key: "c.stat_key",
        when: When::At("c.received_at"),
        person: Some(SUBJECTS),
        row_is_unit: true,
        person_repeats: true,
        agency: "c.receiving_agency_id",
        consultation: Some("c.id"),
        channel: Some("c.channel"),
        status: Some("c.status"),
        kind: Some("c.urgency"),
    };
    let referral = Source {
        from: "referral r",
        condition: "1 = 1",
        unit: "r.id",
        key: "r.stat_key",
        when: When::At("r.created_at"),
        person: Some("JOIN person p ON p.id = r.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "r.from_agency_id",
        consultation: Some("r.consultation_id"),
        channel: None,
        status: Some("r.status"),
        kind: None,
    };
    let case = |from, condition, unit, key, when, status| Source {
        from,
        condition,
        unit,
        key,
        when,
        person: None,
        row_is_unit: true,
        person_repeats: false,
        agency: "sc.owner_agency_id",
        consultation: None,
        channel: None,
        status,
        kind: None,
    };
    let outreach = Source {
        from: "activity a",
        condition: "a.kind = 'OUTREACH_VISIT'",
        unit: "a.id",
        key: "a.stat_key",
        when: When::On("a.occurred_on"),
        person: Some("JOIN person p ON p.id = a.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "a.agency_id",
        consultation: None,
        channel: None,
        status: Some("a.stage"),
        kind: Some("a.result"),
    };
    let placement = Source {
        from: "participation_placement pp JOIN community_resource cr ON cr.id = pp.resource_id",
        condition: "1 = 1",
        unit: "pp.id",
        key: "pp.stat_key",
        when: When::On("pp.started_on"),
        person: Some("JOIN person p ON p.id = pp.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "pp.agency_id",
        consultation: None,
        channel: None,
        status: Some("pp.status"),
        kind: Some("cr.kind"),
    };
    let consent = Source {
        from: "consent cn",
        condition: "1 = 1",
        unit: "cn.id",
        key: "cn.stat_key",
        when: When::At("cn.recorded_at"),
        person: Some("JOIN person p ON p.id = cn.subject_person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "cn.recorded_agency_id",
        consultation: None,
        channel: None,
        status: Some("CASE WHEN cn.withdrawn_at IS NULL THEN 'ACTIVE' ELSE 'WITHDRAWN' END"),
        kind: Some("cn.method"),
    };
    match measure {
        Consultations => consultation,
        PersonsConsulted => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..consultation
        },
        NewPersonsConsulted => Source {
            // The person's first consultation anywhere in the hub.
            condition: "NOT EXISTS (SELECT 1 FROM consultation_subject cs2 \
                        JOIN consultation c2 ON c2.id = cs2.consultation_id \
                        WHERE cs2.person_id = cs.person_id AND c2.received_at < c.received_at)",
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..consultation
        },
        HouseholdsConsulted => Source {
            from: "consultation c JOIN household h ON h.id = c.household_id",
            unit: "h.id",
            key: "h.stat_key",
            row_is_unit: false,
            ..consultation
        },
        Referrals => referral,
        ReferralsAccepted => Source {
            condition: "r.status IN ('ACCEPTED', 'COMPLETED')",
            ..referral
        },
        CasesOpened => case(
            "support_case sc",
            "1 = 1",
            "sc.id",
            "sc.stat_key",
            When::On("sc.opened_on"),
            Some("sc.status"),
        ),
        SupportDecisions => case(
            "case_decision d JOIN support_case sc ON sc.id = d.case_id",
            "d.kind = 'SUPPORT_DECISION'",
            "d.id",
            "d.stat_key",
            When::On("d.decided_on"),
            None,
        ),
        CasesClosed => case(
            "case_decision d JOIN support_case sc ON sc.id = d.case_id",
            "d.kind = 'CLOSURE'",
            "d.id",
            "d.stat_key",
            When::On("d.decided_on"),
            Some("d.reason"),
        ),
        PlansMade => case(
            "support_plan sp JOIN support_case sc ON sc.id = sp.case_id",
            "1 = 1",
            "sp.id",
            "sp.stat_key",
            When::At("sp.created_at"),
            None,
        ),
        PlansAgreed => case(
            "support_plan sp JOIN support_case sc ON sc.id = sp.case_id",
            "sp.agreed_on IS NOT NULL",
            "sp.id",
            "sp.stat_key",
            When::On("sp.agreed_on"),
            None,
        ),
        Meetings => Source {
            from: "meeting m",
            condition: "1 = 1",
            unit: "m.id",
            key: "m.stat_key",
            when: When::At("m.held_at"),
            person: None,
            row_is_unit: true,
            person_repeats: false,
            agency: "m.owner_agency_id",
            consultation: None,
            channel: None,
            status: None,
            kind: Some("m.kind"),
        },
        OutreachContacts => outreach,
        OutreachPersons => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..outreach
        },
        PlacementsStarted => placement,
        PlacementsRetained => Source {
            // Still placed three months after the start, counted once those months are over
            // (the placeholder is replaced by the dialect's "start + 3 months").
            condition: "{RETAINED}",
            ..placement
        },
        PlacementPersons => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..placement
        },
        ConsentsRecorded => consent,
        ConsentsWithdrawn => Source {
            condition: "cn.withdrawn_at IS NOT NULL",
            when: When::At("cn.withdrawn_at"),
            ..consent
        },
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

struct Dialect(DbBackend);

impl Dialect {
    fn pg(&self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// `YYYY-MM` of a date or a timestamp (in JST).
    fn month(&self, when: When) -> String {
        match (when, self.pg()) {
            (When::At(c), true) => format!("to_char({c} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"),
            (When::On(c), true) => format!("to_char({c}, 'YYYY-MM')"),
            (When::At(c), false) => format!("strftime('%Y-%m', {c}, '+9 hours')"),
            (When::On(c), false) => format!("strftime('%Y-%m', {c})"),
        }
    }

    /// `YYYYMMDD` as an integer, of a date or a timestamp (in JST).
    fn ymd(&self, when: When) -> String {
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

    fn retained(&self) -> &'static str {
        if self.pg() {
            "pp.started_on + INTERVAL '3 months' <= CURRENT_DATE \
             AND (pp.ended_on IS NULL OR pp.ended_on >= pp.started_on + INTERVAL '3 months')"
        } else {
            "date(pp.started_on, '+3 months') <= date('now', '+9 hours') \
             AND (pp.ended_on IS NULL OR pp.ended_on >= date(pp.started_on, '+3 months'))"
        }
    }

    fn placeholder(&self, n: usize) -> String {
        if self.pg() {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }
}

fn text(expr: &str) -> String {
    format!("COALESCE(CAST({expr} AS TEXT), '{UNKNOWN}')")
}

fn age_band(age: &str, width: i64) -> String {
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
fn dimension_sql(d: &Dialect, s: &Source, dimension: Dimension) -> String {
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

/// The measure's own condition and `conditions`, as SQL with their values bound.
fn conditions_sql(
    d: &Dialect,
    s: &Source,
    conditions: &[Condition],
    values: &mut Vec<Value>,
) -> Vec<String> {
    let mut wheres = vec![s.condition.replace("{RETAINED}", d.retained())];
    for c in conditions {
        let expr = dimension_sql(d, s, c.dimension);
        let marks: Vec<String> = c
            .values
            .iter()
            .map(|v| {
                values.push(v.clone().into());
                d.placeholder(values.len())
            })
            .collect();
        wheres.push(if marks.is_empty() {
            // No value: nothing is in (or, excluded, everything is).
            if c.exclude { "1 = 1" } else { "1 = 0" }.to_owned()
        } else {
            format!(
                "{expr} {} ({})",
                if c.exclude { "NOT IN" } else { "IN" },
                marks.join(", ")
            )
        });
    }
    wheres
}

/// Every cell of `measure` grouped by `group_by` (at most three, each one the measure has),
/// every margin and the total, under `conditions`: the true counts and key sums. Cells with
/// no unit are absent.
pub async fn table<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
) -> Result<Vec<RawCell>, DbErr> {
    let d = Dialect(db.get_database_backend());
    let s = source(measure);
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
    let mut values: Vec<Value> = Vec::new();
    let wheres = conditions_sql(&d, &s, conditions, &mut values);
    let dims: Vec<String> = group_by
        .iter()
        .enumerate()
        .map(|(i, g)| format!("{} AS d{i}", dimension_sql(&d, &s, *g)))
        .collect();
    let n = group_by.len();
    // A join that repeats a unit (a consultation's subjects) makes rows that are not units.
    let one_row_per_unit = s.row_is_unit && !(person_joined && s.person_repeats);
    let select_dims = if dims.is_empty() {
        String::new()
    } else {
        format!(", {}", dims.join(", "))
    };
    let rows = format!(
        "SELECT {distinct}{unit} AS u, {key} AS k{select_dims} FROM {from} WHERE {w}",
        distinct = if one_row_per_unit { "" } else { "DISTINCT " },
        unit = s.unit,
        key = s.key,
        w = wheres.join(" AND ")
    );
    let all: Vec<usize> = (0..n).collect();
    let sets: Vec<Vec<usize>> = if one_row_per_unit {
        vec![all]
    } else {
        (0..(1usize << n))
            .rev()
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
            .collect()
    };
    let branches: Vec<String> = sets
        .iter()
        .map(|set| {
            let mut cols = vec![format!("CAST({} AS BIGINT) AS gs", mask_of(set))];
            for i in 0..n {
                cols.push(if set.contains(&i) {
                    format!("d{i}")
                } else {
                    format!("CAST(NULL AS TEXT) AS d{i}")
                });
            }
            let grouped: Vec<String> = set.iter().map(|i| format!("d{i}")).collect();
            let inner = if set.len() == n || one_row_per_unit {
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
    let sql = format!("WITH ev AS ({rows}) {}", branches.join(" UNION ALL "));
    let found = db
        .query_all_raw(Statement::from_sql_and_values(d.0, sql, values))
        .await?;
    let mut cells = Vec::with_capacity(found.len());
    for row in found {
        let count: i64 = row.try_get("", "n")?;
        if count == 0 {
            // The total of an empty table.
            continue;
        }
        let key_sum: i64 = row.try_get::<Option<i64>>("", "ks")?.unwrap_or(0);
        let mask: i64 = row.try_get("", "gs")?;
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(if mask & (1 << i) != 0 {
                Some(row.try_get::<String>("", &format!("d{i}"))?)
            } else {
                None
            });
        }
        cells.push(RawCell {
            values: vals,
            count,
            key_sum,
        });
    }
    if one_row_per_unit {
        cells = with_margins(cells, n);
    }
    Ok(cells)
}

fn mask_of(set: &[usize]) -> i64 {
    set.iter().map(|i| 1i64 << i).sum()
}

/// Margins and the total of cells in which every unit is in exactly one cell: sums.
fn with_margins(cells: Vec<RawCell>, n: usize) -> Vec<RawCell> {
    let mut sums: BTreeMap<Vec<Option<String>>, (i64, i64)> = BTreeMap::new();
    for cell in &cells {
        for mask in 0..(1usize << n) {
            if mask == (1 << n) - 1 {
                continue;
            }
            let key: Vec<Option<String>> = (0..n)
                .map(|i| {
                    if mask & (1 << i) != 0 {
                        cell.values[i].clone()
                    } else {
                        None
                    }
                })
                .collect();
            let e = sums.entry(key).or_default();
            e.0 += cell.count;
            e.1 += cell.key_sum;
        }
    }
    let mut out = cells;
    out.extend(sums.into_iter().map(|(values, (count, key_sum))| RawCell {
        values,
        count,
        key_sum,
    }));
    out
}

/// The sum of days from opening to closure over the closures a condition selects, and their
/// number (the 事業評価's average duration of closed cases).
pub async fn closed_case_days<C: ConnectionTrait>(
    db: &C,
    conditions: &[Condition],
) -> Result<(f64, i64), DbErr> {
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
        "SELECT CAST(COALESCE(SUM({days}), 0) AS DOUBLE PRECISION) AS total, COUNT(*) AS n \
         FROM {} WHERE {}",
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
    Ok((row.try_get("", "total")?, row.try_get("", "n")?))
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

/// The groups of measures the city has switched off.
pub async fn disabled_groups<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let d = Dialect(db.get_database_backend());
    let rows = db
        .query_all_raw(Statement::from_string(
            d.0,
            format!(
                "SELECT measure_group FROM statistics_setting WHERE enabled = {} \
                 ORDER BY measure_group",
                if d.pg() { "FALSE" } else { "0" }
            ),
        ))
        .await?;
    rows.into_iter()
        .map(|r| r.try_get("", "measure_group"))
        .collect()
}

/// Who changed a setting, and when.
pub struct Stamp<'a> {
    pub by: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Store the target of `indicator` (the permit's record) in fiscal year `year`, with its
/// ledger row: a new target at version 1, a changed one at the next version.
pub async fn set_target(
    db: &impl super::Handle,
    permit: crate::policy::Permit<crate::policy::write::statistics::SetTarget>,
    year: i32,
    (value, note): (f64, Option<String>),
    stamp: Stamp<'_>,
    entry: crate::audit::Entry,
) -> crate::error::ApiResult<i32> {
    let indicator = permit.id().to_owned();
    let (set_by, at) = (stamp.by.to_owned(), stamp.at);
    super::write(db, vec![entry], move |txn| {
        Box::pin(async move {
            let d = Dialect(txn.get_database_backend());
            let m: Vec<String> = (1..=6).map(|i| d.placeholder(i)).collect();
            let sql = format!(
                "INSERT INTO evaluation_target (fiscal_year, indicator, value, note, set_by, set_at, version) \
                 VALUES ({}, {}, {}, {}, {}, {}, 1) \
                 ON CONFLICT (fiscal_year, indicator) DO UPDATE SET value = excluded.value, \
                 note = excluded.note, set_by = excluded.set_by, set_at = excluded.set_at, \
                 version = evaluation_target.version + 1 RETURNING version",
                m[0], m[1], m[2], m[3], m[4], m[5]
            );
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    d.0,
                    sql,
                    [
                        year.into(),
                        indicator.into(),
                        value.into(),
                        note.into(),
                        set_by.into(),
                        at.into(),
                    ],
                ))
                .await?
                .ok_or_else(|| DbErr::Custom("set_target returned no row".into()))?;
            Ok(row.try_get::<i32>("", "version")?)
        })
    })
    .await
}

/// Switch the measures of a group (the permit's record) on or off, with its ledger row.
pub async fn set_group_enabled(
    db: &impl super::Handle,
    permit: crate::policy::Permit<crate::policy::write::statistics::SwitchMeasures>,
    enabled: bool,
    stamp: Stamp<'_>,
    entry: crate::audit::Entry,
) -> crate::error::ApiResult<()> {
    let group = permit.id().to_owned();
    let (changed_by, at) = (stamp.by.to_owned(), stamp.at);
    super::write(db, vec![entry], move |txn| {
        Box::pin(async move {
            let d = Dialect(txn.get_database_backend());
            let m: Vec<String> = (1..=4).map(|i| d.placeholder(i)).collect();
            let sql = format!(
                "INSERT INTO statistics_setting (measure_group, enabled, changed_by, changed_at) \
                 VALUES ({}, {}, {}, {}) ON CONFLICT (measure_group) DO UPDATE SET \
                 enabled = excluded.enabled, changed_by = excluded.changed_by, \
                 changed_at = excluded.changed_at",
                m[0], m[1], m[2], m[3]
            );
            txn.execute_raw(Statement::from_sql_and_values(
                d.0,
                sql,
                [group.into(), enabled.into(), changed_by.into(), at.into()],
            ))
            .await?;
            Ok(())
        })
    })
    .await
}
