//! Unit tests of the table statement: which grouping sets are queried or summed, and the
//! ranges conditions become.

use sea_orm::DbBackend;

use super::source::*;
use super::sql::*;
use super::*;
use Dimension::*;

fn on(dimension: Dimension, values: &[&str], exclude: bool) -> Condition {
    Condition {
        dimension,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        exclude,
    }
}

/// The grouping sets a table's statement queries (masks, finest first); the others are
/// summed.
fn queried(measure: Measure, group_by: &[Dimension]) -> Vec<usize> {
    for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
        let t = table_sql(backend, measure, group_by, &[]);
        let full = t.finer.len() - 1;
        let masks: Vec<usize> = (0..=full)
            .rev()
            .filter(|m| *m == full || t.finer[*m].is_none())
            .collect();
        for m in &masks {
            assert!(
                t.sql.contains(&format!("CAST({m} AS BIGINT) AS gs")),
                "{}",
                t.sql
            );
        }
        if backend == DbBackend::Sqlite {
            return masks;
        }
    }
    unreachable!()
}

#[test]
fn only_the_sets_that_cannot_be_summed_are_queried() {
    // A consultation is one row: only the cells.
    assert_eq!(
        queried(Measure::Consultations, &[FiscalYear, AgencyKind]),
        vec![3]
    );
    // Several subjects: a consultation may be in two age bands, never in two issue
    // groups, so the age band's margin is the sum over issue groups.
    assert_eq!(
        queried(Measure::Consultations, &[AgeBand10, IssueGroup]),
        vec![3, 2]
    );
    // A person has one district; a month one fiscal year: of eight sets, three queried
    // (the cells, district by year, district).
    assert_eq!(
        queried(Measure::PersonsConsulted, &[Month, District, FiscalYear]),
        vec![7, 6, 2]
    );
    // A household is in many months and years.
    assert_eq!(
        queried(Measure::HouseholdsConsulted, &[FiscalYear, Month]),
        vec![3, 1, 0]
    );
    assert_eq!(
        queried(Measure::PersonsConsulted, &[FiscalYear, AgencyKind]),
        vec![3, 2, 1, 0]
    );
    // A 5-year band gives its 10-year band; an agency its kind.
    assert_eq!(
        queried(Measure::PersonsConsulted, &[AgeBand5, AgeBand10, Agency]),
        vec![7, 6, 4, 3, 2, 0]
    );
    assert_eq!(queried(Measure::Referrals, &[Agency, AgencyKind]), vec![3]);
    assert_eq!(queried(Measure::PersonsConsulted, &[]), vec![0]);
}

#[test]
fn summed_sets_add_counts_and_keys() {
    let cell = |a: &str, b: &str, count, key_sum| RawCell {
        values: vec![Some(a.to_owned()), Some(b.to_owned())],
        count,
        key_sum,
    };
    let summed = sum_over(
        &[
            cell("x", "1", 3, 10),
            cell("x", "2", 4, 20),
            cell("y", "1", 5, 1),
        ],
        1,
    );
    assert_eq!(
        summed,
        vec![
            RawCell {
                values: vec![Some("x".to_owned()), None],
                count: 7,
                key_sum: 30
            },
            RawCell {
                values: vec![Some("y".to_owned()), None],
                count: 5,
                key_sum: 1
            },
        ]
    );
}

#[test]
fn only_canonical_years_and_months_become_ranges() {
    assert_eq!(period(FiscalYear, "2025"), Some((2025 * 12 + 3, 12)));
    assert_eq!(period(Month, "2025-04"), Some((2025 * 12 + 3, 1)));
    assert_eq!(period(Month, "2025-12"), Some((2025 * 12 + 11, 1)));
    assert_eq!(period(FiscalYear, "9998"), Some((9998 * 12 + 3, 12)));
    for v in [
        "02025",
        "2025 ",
        "+202",
        "-202",
        "999",
        "9999",
        "２０２５",
        "x",
        "",
    ] {
        assert_eq!(period(FiscalYear, v), None, "{v:?}");
    }
    for v in [
        "2025-4",
        "2025-13",
        "2025-00",
        "2025/04",
        "2025-04-01",
        "0999-01",
    ] {
        assert_eq!(period(Month, v), None, "{v:?}");
    }
    assert_eq!(period(District, "2025"), None);
    assert_eq!(month_start(When::On("x"), 2026 * 12), "DATE '2026-01-01'");
    assert_eq!(
        month_start(When::At("x"), 2025 * 12 + 3),
        "(CAST('2025-04-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo')"
    );
}

#[test]
fn years_and_months_are_ranges_of_the_date_on_postgres() {
    let d = Dialect(DbBackend::Postgres);
    let s = source(Measure::Consultations);
    let mut values = Vec::new();
    // Adjacent years are one range; text no row is shown as stays a comparison.
    let sql = condition_sql(
        &d,
        &s,
        &on(FiscalYear, &["2025", "2024", "x", "2027"], false),
        &mut values,
    );
    assert_eq!(
        sql,
        "((c.received_at >= (CAST('2024-04-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo') \
         AND c.received_at < (CAST('2026-04-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo')) \
         OR (c.received_at >= (CAST('2027-04-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo') \
         AND c.received_at < (CAST('2028-04-01' AS TIMESTAMP) AT TIME ZONE 'Asia/Tokyo')) \
         OR CAST(CAST(date_part('year', (c.received_at AT TIME ZONE 'Asia/Tokyo') - \
         INTERVAL '3 months') AS INTEGER) AS TEXT) IN ($1))"
    );
    assert_eq!(values.len(), 1);
    let mut values = Vec::new();
    let sql = condition_sql(
        &d,
        &source(Measure::CasesOpened),
        &on(Month, &["2025-03", "2025-02"], true),
        &mut values,
    );
    assert_eq!(
        sql,
        "NOT ((sc.opened_on >= DATE '2025-02-01' AND sc.opened_on < DATE '2025-04-01'))"
    );
    assert!(values.is_empty());
    // No value: nothing, or (excluded) everything.
    assert_eq!(
        condition_sql(&d, &s, &on(Month, &[], false), &mut values),
        "1 = 0"
    );
    assert_eq!(
        condition_sql(&d, &s, &on(Month, &[], true), &mut values),
        "1 = 1"
    );
}

#[test]
fn sqlite_compares_the_text_as_before() {
    let d = Dialect(DbBackend::Sqlite);
    let s = source(Measure::Consultations);
    let mut values = Vec::new();
    let sql = condition_sql(&d, &s, &on(FiscalYear, &["2025"], true), &mut values);
    assert_eq!(
        sql,
        format!("NOT ({} IN (?))", dimension_sql(&d, &s, FiscalYear))
    );
    for dim in Dimension::ALL {
        assert_eq!(raw_sql(&d, &s, *dim), dimension_sql(&d, &s, *dim));
        assert_eq!(shown_sql(&d, *dim, "r0"), "r0");
    }
}

/// The tables as first built, for comparing: every grouping set queried from the
/// distinct unit rows, each dimension and condition compared as its text.
async fn reference<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
) -> Vec<RawCell> {
    let d = Dialect(db.get_database_backend());
    let s = source(measure);
    let (from, _) = from_sql(&d, &s, group_by, conditions);
    let mut values: Vec<Value> = Vec::new();
    let mut wheres = vec![s.condition.replace("{RETAINED}", d.retained())];
    for c in conditions {
        let marks: Vec<String> = c
            .values
            .iter()
            .map(|v| {
                values.push(v.clone().into());
                d.placeholder(values.len())
            })
            .collect();
        wheres.push(if marks.is_empty() {
            if c.exclude { "1 = 1" } else { "1 = 0" }.to_owned()
        } else {
            format!(
                "{} {} ({})",
                dimension_sql(&d, &s, c.dimension),
                if c.exclude { "NOT IN" } else { "IN" },
                marks.join(", ")
            )
        });
    }
    let n = group_by.len();
    let dims: String = group_by
        .iter()
        .enumerate()
        .map(|(i, g)| format!(", {} AS d{i}", dimension_sql(&d, &s, *g)))
        .collect();
    let branches: Vec<String> = (0..1usize << n)
        .map(|mask| {
            let set: Vec<String> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| format!("d{i}"))
                .collect();
            let cols: String = (0..n)
                .map(|i| {
                    if mask & (1 << i) != 0 {
                        format!(", d{i}")
                    } else {
                        format!(", CAST(NULL AS TEXT) AS d{i}")
                    }
                })
                .collect();
            let keep: String = set.iter().map(|c| format!(", {c}")).collect();
            format!(
                "SELECT CAST({mask} AS BIGINT) AS gs{cols}, COUNT(*) AS n, \
                 CAST(SUM(k) AS BIGINT) AS ks FROM (SELECT DISTINCT u, k{keep} FROM ev) sub{}",
                if set.is_empty() {
                    String::new()
                } else {
                    format!(" GROUP BY {}", set.join(", "))
                }
            )
        })
        .collect();
    let sql = format!(
        "WITH ev AS (SELECT DISTINCT {} AS u, {} AS k{dims} FROM {from} WHERE {}) {}",
        s.unit,
        s.key,
        wheres.join(" AND "),
        branches.join(" UNION ALL ")
    );
    let mut out = Vec::new();
    for row in db
        .query_all_raw(Statement::from_sql_and_values(d.0, sql, values))
        .await
        .unwrap()
    {
        let count: i64 = row.try_get("", "n").unwrap();
        if count == 0 {
            continue;
        }
        let mask: i64 = row.try_get("", "gs").unwrap();
        out.push(RawCell {
            values: (0..n)
                .map(|i| {
                    (mask & (1 << i) != 0)
                        .then(|| row.try_get::<String>("", &format!("d{i}")).unwrap())
                })
                .collect(),
            count,
            key_sum: row.try_get::<Option<i64>>("", "ks").unwrap().unwrap_or(0),
        });
    }
    out
}

/// Every table of a set of requests equals, cell for cell (margins and totals included),
/// the tables as first built. By default on a small synthetic city seeded into a fresh SQLite
/// file; on any seeded database (the city on PostgreSQL, README §12) with
/// `STATISTICS_REFERENCE_URL=postgres://... cargo test -p tsunagi-api --lib
/// same_cells_as_the_reference`.
#[tokio::test]
async fn same_cells_as_the_reference() {
    let db = match std::env::var("STATISTICS_REFERENCE_URL") {
        Ok(url) => sea_orm::Database::connect(url.as_str()).await.unwrap(),
        Err(_) => {
            let dir = std::env::temp_dir().join(format!(
                "tsunagi-statistics-reference-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.join("ref.db").display());
            let db = crate::store::connect(&url, &Default::default())
                .await
                .unwrap();
            crate::store::migrate(&db).await.unwrap();
            let small = crate::seed::Scale::parse("small").unwrap();
            crate::seed::run(&db, small, 7).await.unwrap();
            db
        }
    };
    use Measure::*;
    let fy2 = on(FiscalYear, &["2024", "2025"], false);
    let cases: Vec<(Measure, Vec<Dimension>, Vec<Condition>)> = vec![
        (Consultations, vec![FiscalYear, AgencyKind], vec![]),
        (
            PersonsConsulted,
            vec![Month, District],
            vec![on(FiscalYear, &["2025"], false)],
        ),
        (PersonsConsulted, vec![Month, District, FiscalYear], vec![]),
        (Consultations, vec![AgeBand10, IssueGroup], vec![]),
        (
            Consultations,
            vec![AgeBand5, Sex, District],
            vec![on(FiscalYear, &["2023"], false)],
        ),
        (
            PersonsConsulted,
            vec![AgeBand5, AgeBand10, Agency],
            vec![fy2.clone()],
        ),
        (
            PersonsConsulted,
            vec![FiscalYear, AgencyKind],
            vec![fy2.clone()],
        ),
        (
            NewPersonsConsulted,
            vec![FiscalYear, AgencyKind],
            vec![fy2.clone()],
        ),
        (NewPersonsConsulted, vec![FiscalYear, District], vec![]),
        (
            HouseholdsConsulted,
            vec![FiscalYear, Month],
            vec![on(FiscalYear, &["2024", "x"], false)],
        ),
        (
            Consultations,
            vec![Month],
            vec![on(FiscalYear, &["2024", "2025", "02025", "x"], false)],
        ),
        (
            Consultations,
            vec![FiscalYear, Channel],
            vec![on(FiscalYear, &["2019", "2021"], true)],
        ),
        (
            Consultations,
            vec![Issue, IssueGroup, Agency],
            vec![on(Month, &["2020-03", "2020-04", "2020-13"], false)],
        ),
        (
            PersonsConsulted,
            vec![District],
            vec![
                on(AgeBand10, &["60-69", "90+", "UNKNOWN", "0-9", "6"], false),
                on(Sex, &["FEMALE"], false),
            ],
        ),
        (
            PersonsConsulted,
            vec![Sex, AgeBand10],
            vec![
                on(Month, &["2025-01"], true),
                on(AgeBand5, &["65-69"], true),
            ],
        ),
        (Referrals, vec![AgeBand10, Status], vec![]),
        (
            ReferralsAccepted,
            vec![FiscalYear, IssueGroup, Sex],
            vec![fy2.clone()],
        ),
        (
            CasesOpened,
            vec![Month, Status],
            vec![on(FiscalYear, &["2025"], false)],
        ),
        (PlansMade, vec![FiscalYear, Agency], vec![]),
        (PlansAgreed, vec![FiscalYear], vec![fy2.clone()]),
        (Meetings, vec![FiscalYear, Kind], vec![fy2.clone()]),
        (ConsentsRecorded, vec![FiscalYear, Status, Kind], vec![]),
        (
            ConsentsWithdrawn,
            vec![Month, AgeBand10],
            vec![on(FiscalYear, &["2022", "2023", "2024"], false)],
        ),
        (Consultations, vec![], vec![]),
        (PersonsConsulted, vec![], vec![on(FiscalYear, &[], true)]),
    ];
    let mut compared = 0;
    for (measure, group_by, conditions) in cases {
        let sort = |mut cells: Vec<RawCell>| {
            cells.sort_by(|a, b| a.values.cmp(&b.values));
            cells
        };
        let got = sort(table(&db, measure, &group_by, &conditions).await.unwrap());
        let want = sort(reference(&db, measure, &group_by, &conditions).await);
        println!("{measure:?} {group_by:?}: {} cells", want.len());
        assert_eq!(got, want, "{measure:?} {group_by:?} {conditions:?}");
        compared += usize::from(!want.is_empty());
    }
    // Not a comparison of empty tables: the seed has consultations, referrals, cases, plans,
    // meetings and consents.
    assert!(compared >= 15, "only {compared} tables had cells");
}
