//! `--statistics ACCOUNT`: the analysts' tables and the 事業評価 (issue 17). As ACCOUNT (an
//! analyst, or the admin), sequentially, over HTTP, each of
//!
//! - (a) `statistics(measure: CONSULTATIONS, groupBy: [FISCAL_YEAR, AGENCY_KIND])`,
//! - (b) `statistics(measure: PERSONS_CONSULTED, groupBy: [MONTH, DISTRICT], filter: FISCAL_YEAR = y)`,
//! - (c) `statistics(measure: CONSULTATIONS, groupBy: [AGE_BAND_10, ISSUE_GROUP])`,
//! - (d) `evaluationReport(fiscalYear: y)`
//!
//! is sent twice unmeasured and then `--repetitions` times, and p50/p95/max are printed. Any
//! answer that is not HTTP 200 with data and no errors fails the run.
//!
//! Usefulness (PostgreSQL): the true counts of (a) and (c), every cell, margin and total, are
//! computed by psql with plain SQL written here (`GROUP BY CUBE`, independent of the hub's
//! `store::statistics`) and compared with the published cells: over the cells whose truth is
//! at least 20, the largest absolute and relative error and the share published. A published
//! cell more than `MAX_NOISE` from its truth, or one with no truth at all, fails the run.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::scenario::Api;
use crate::stats::Stats;

/// `policy::statistics::MAX_NOISE`: no published cell is further than this from its truth.
const MAX_NOISE: i64 = 3;
/// The usefulness figures are over cells with at least this many units (issue 17).
const LARGE: i64 = 20;
/// Unmeasured sends before the measured ones.
const WARMUPS: usize = 2;

/// The selection of a table (the arguments are written into the query: enum literals).
const TABLE: &str = "cells { values value } total threshold maxNoise";

const REPORT: &str = "query Report($year: Int!) {
  evaluationReport(fiscalYear: $year) {
    fiscalYear threshold
    indicators {
      indicator actual target achievementRate previousYear disabled
      breakdown { dimension value actual previousYear }
    }
  }
}";

/// A published cell: its values (None: a margin over that dimension) and value.
type Cells = BTreeMap<Vec<Option<String>>, i64>;

struct Measured {
    label: &'static str,
    stats: Stats,
    /// The last answer's `data`.
    data: Value,
}

/// Send `body` once: HTTP 200, no errors, `data` present, else an error naming `label`.
async fn send(api: &Api, label: &str, body: &Value) -> anyhow::Result<Value> {
    let (status, bytes) = api.post(body).await?;
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{label}: answer is not JSON (HTTP {status})"))?;
    if status != 200 || v.get("errors").is_some() || v["data"].is_null() {
        bail!("{label}: failed (HTTP {status}): {v}");
    }
    Ok(v["data"].clone())
}

async fn measure(
    api: &Api,
    label: &'static str,
    body: Value,
    repetitions: usize,
) -> anyhow::Result<Measured> {
    let mut data = Value::Null;
    for _ in 0..WARMUPS {
        data = send(api, label, &body).await?;
    }
    let mut stats = Stats::default();
    let started = Instant::now();
    for _ in 0..repetitions {
        let t = Instant::now();
        data = send(api, label, &body).await?;
        stats.micros.push(t.elapsed().as_micros() as u64);
    }
    stats.elapsed = started.elapsed();
    Ok(Measured { label, stats, data })
}

fn table_body(measure: &str, group_by: &[&str], filter: &str) -> Value {
    json!({
        "query": format!(
            "{{ statistics(measure: {measure}, groupBy: [{}], filter: [{filter}]) {{ {TABLE} }} }}",
            group_by.join(", ")
        ),
    })
}

/// The published cells of a `statistics` answer.
fn cells(data: &Value) -> anyhow::Result<Cells> {
    let mut out = Cells::new();
    for c in data["statistics"]["cells"]
        .as_array()
        .context("statistics answer without cells")?
    {
        let values = c["values"]
            .as_array()
            .context("a cell without values")?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        let value = c["value"].as_i64().context("a cell without a value")?;
        if out.insert(values, value).is_some() {
            bail!("a cell is listed twice: {c}");
        }
    }
    Ok(out)
}

/// The fiscal years table (a) lists (its cells by year alone), oldest first.
fn years(a: &Cells) -> Vec<i32> {
    let mut ys: Vec<i32> = a
        .keys()
        .filter(|v| v.len() == 2 && v[1].is_none())
        .filter_map(|v| v[0].as_deref()?.parse().ok())
        .collect();
    ys.sort_unstable();
    ys
}

/// The truth of (a): consultations by fiscal year (April to March, in JST) and the
/// receiving agency's kind, with every margin and the total.
const TRUTH_A: &str = "
SELECT COALESCE(json_agg(json_build_array(fy, kind, n)), '[]') FROM (
  SELECT CASE WHEN GROUPING(fy) = 1 THEN NULL ELSE fy::text END AS fy,
         CASE WHEN GROUPING(kind) = 1 THEN NULL ELSE kind END AS kind,
         count(*) AS n
  FROM (SELECT extract(year FROM (c.received_at AT TIME ZONE 'Asia/Tokyo') - interval '3 months')::int AS fy,
               a.kind
        FROM consultation c JOIN agency a ON a.id = c.receiving_agency_id) t
  GROUP BY CUBE (fy, kind)) g";

/// The truth of (c): consultations by their subjects' 10-year age band at the consultation
/// (in JST) and the main issue's group; a consultation counts once in each cell it reaches.
const TRUTH_C: &str = "
SELECT COALESCE(json_agg(json_build_array(band, grp, n)), '[]') FROM (
  SELECT CASE WHEN GROUPING(band) = 1 THEN NULL ELSE band END AS band,
         CASE WHEN GROUPING(grp) = 1 THEN NULL ELSE grp END AS grp,
         count(DISTINCT id) AS n
  FROM (SELECT c.id,
               CASE WHEN p.birth_date IS NULL THEN 'UNKNOWN'
                    WHEN y.age >= 90 THEN '90+'
                    WHEN y.age < 10 THEN '0-9'
                    ELSE (y.age / 10 * 10)::text || '-' || (y.age / 10 * 10 + 9)::text END AS band,
               COALESCE(ic.parent_code, ci.issue_code, 'UNKNOWN') AS grp
        FROM consultation c
        JOIN consultation_subject cs ON cs.consultation_id = c.id
        JOIN person p ON p.id = cs.person_id
        CROSS JOIN LATERAL (SELECT extract(year FROM
                   age((c.received_at AT TIME ZONE 'Asia/Tokyo')::date, p.birth_date))::int AS age) y
        LEFT JOIN consultation_issue ci ON ci.consultation_id = c.id AND ci.is_main
        LEFT JOIN issue_category ic ON ic.code = ci.issue_code) t
  GROUP BY CUBE (band, grp)) g";

fn truth(db: &str, sql: &str) -> anyhow::Result<Cells> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", db, "-c", sql])
        .output()
        .context("running psql (the usefulness check needs PostgreSQL's client tools)")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).context("truth is not JSON")?;
    let mut cells = Cells::new();
    for r in rows {
        let values = vec![
            r[0].as_str().map(str::to_owned),
            r[1].as_str().map(str::to_owned),
        ];
        cells.insert(values, r[2].as_i64().context("a truth without a count")?);
    }
    Ok(cells)
}

/// How close the published cells are to the truth.
#[derive(Debug, PartialEq)]
pub struct Usefulness {
    /// Cells (with margins and the total) whose truth is at least [`LARGE`].
    pub large: usize,
    /// Of those, the published ones.
    pub large_published: usize,
    pub max_abs_large: i64,
    pub max_rel_large: f64,
    /// Over every published cell.
    pub max_abs_all: i64,
    pub published: usize,
    /// Published cells the truth does not have (never right: an empty cell is not listed).
    pub without_truth: usize,
}

pub fn compare(published: &Cells, truth: &Cells) -> Usefulness {
    let mut u = Usefulness {
        large: 0,
        large_published: 0,
        max_abs_large: 0,
        max_rel_large: 0.0,
        max_abs_all: 0,
        published: published.len(),
        without_truth: 0,
    };
    for (values, value) in published {
        match truth.get(values) {
            Some(t) => u.max_abs_all = u.max_abs_all.max((value - t).abs()),
            None => u.without_truth += 1,
        }
    }
    for (values, t) in truth.iter().filter(|(_, t)| **t >= LARGE) {
        u.large += 1;
        if let Some(v) = published.get(values) {
            u.large_published += 1;
            let err = (v - t).abs();
            u.max_abs_large = u.max_abs_large.max(err);
            u.max_rel_large = u.max_rel_large.max(err as f64 / *t as f64);
        }
    }
    u
}

impl Usefulness {
    pub fn ok(&self) -> bool {
        self.max_abs_all <= MAX_NOISE && self.without_truth == 0
    }
}

/// Run the four measurements (and, on PostgreSQL, the usefulness check); false when a
/// published cell is further from the truth than the method allows.
pub async fn run(
    api: &Api,
    db: &str,
    account: &str,
    repetitions: usize,
    year: Option<i32>,
) -> anyhow::Result<bool> {
    if repetitions == 0 {
        bail!("--repetitions must be at least 1");
    }
    let a = measure(
        api,
        "(a) CONSULTATIONS by FISCAL_YEAR, AGENCY_KIND",
        table_body("CONSULTATIONS", &["FISCAL_YEAR", "AGENCY_KIND"], ""),
        repetitions,
    )
    .await?;
    let a_cells = cells(&a.data)?;
    let seen = years(&a_cells);
    // Default: the last full fiscal year (the latest one listed may be under way).
    let year = match year {
        Some(y) => y,
        None => match seen.as_slice() {
            [] => bail!("table (a) lists no fiscal year: is the database seeded?"),
            [only] => *only,
            [.., y, _] => *y,
        },
    };
    println!(
        "fiscal years listed in (a): {seen:?}; (b) and (d) use {year} | account {account} | {repetitions} repetitions after {WARMUPS} warm-ups"
    );
    let b = measure(
        api,
        "(b) PERSONS_CONSULTED by MONTH, DISTRICT in one year",
        table_body(
            "PERSONS_CONSULTED",
            &["MONTH", "DISTRICT"],
            &format!("{{dimension: FISCAL_YEAR, values: [\"{year}\"]}}"),
        ),
        repetitions,
    )
    .await?;
    let c = measure(
        api,
        "(c) CONSULTATIONS by AGE_BAND_10, ISSUE_GROUP",
        table_body("CONSULTATIONS", &["AGE_BAND_10", "ISSUE_GROUP"], ""),
        repetitions,
    )
    .await?;
    let d = measure(
        api,
        "(d) evaluationReport",
        json!({ "query": REPORT, "variables": { "year": year } }),
        repetitions,
    )
    .await?;
    println!("\nstatistics latency, sequential, one request at a time");
    for m in [&a, &b, &c, &d] {
        let mut sorted = m.stats.micros.clone();
        sorted.sort_unstable();
        println!(
            "{:<52} p50 {:>8.1} ms  p95 {:>8.1} ms  max {:>8.1} ms  ({} requests)",
            m.label,
            m.stats.percentile_ms(0.50),
            m.stats.percentile_ms(0.95),
            sorted.last().copied().unwrap_or(0) as f64 / 1000.0,
            m.stats.requests()
        );
    }
    println!(
        "cells published: (a) {}, (b) {}, (c) {}",
        a_cells.len(),
        cells(&b.data)?.len(),
        cells(&c.data)?.len()
    );
    report_evaluation(&d.data);
    if !db.starts_with("postgres") {
        println!("usefulness check skipped: it computes the truth with psql (PostgreSQL only)");
        return Ok(true);
    }
    let mut ok = true;
    println!(
        "\nusefulness: published cells (margins and totals included) against the truth in SQL"
    );
    for (m, sql) in [(&a, TRUTH_A), (&c, TRUTH_C)] {
        let t = Instant::now();
        let truth = truth(db, sql)?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        let u = compare(&cells(&m.data)?, &truth);
        println!(
            "{:<52} cells with truth ≥ {LARGE}: {} of which published {} ({:.1} %); max error there {} (relative {:.2} %); over all {} published cells max error {}{}  [truth query {took:.0} ms]",
            m.label,
            u.large,
            u.large_published,
            100.0 * u.large_published as f64 / (u.large.max(1)) as f64,
            u.max_abs_large,
            100.0 * u.max_rel_large,
            u.published,
            u.max_abs_all,
            if u.without_truth > 0 {
                format!("; {} published cells have no truth", u.without_truth)
            } else {
                String::new()
            },
        );
        if !u.ok() {
            println!(
                "    FAILED: a published cell is more than {MAX_NOISE} from its truth, or has none"
            );
            ok = false;
        }
    }
    Ok(ok)
}

/// One line per indicator of the report: actual, previous year, or why there is none.
fn report_evaluation(data: &Value) {
    let r = &data["evaluationReport"];
    println!(
        "\nevaluation report {} (k = {}):",
        r["fiscalYear"], r["threshold"]
    );
    let empty = Vec::new();
    for i in r["indicators"].as_array().unwrap_or(&empty) {
        let show = |v: &Value| match v {
            Value::Null => "—".to_owned(),
            v => v.to_string(),
        };
        println!(
            "  {:<28} actual {:>10}  previous {:>10}  breakdown rows {}{}",
            i["indicator"].as_str().unwrap_or("?"),
            show(&i["actual"]),
            show(&i["previousYear"]),
            i["breakdown"].as_array().map_or(0, Vec::len),
            if i["disabled"] == true {
                "  (switched off)"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: Option<&str>, b: Option<&str>) -> Vec<Option<String>> {
        vec![a.map(str::to_owned), b.map(str::to_owned)]
    }

    #[test]
    fn usefulness_counts_large_cells_and_errors() {
        let truth: Cells = [
            (key(Some("2024"), Some("X")), 100),
            (key(Some("2024"), Some("Y")), 20),
            (key(Some("2024"), Some("Z")), 3),
            (key(Some("2024"), None), 123),
            (key(None, None), 123),
        ]
        .into_iter()
        .collect();
        let published: Cells = [
            (key(Some("2024"), Some("X")), 102),
            (key(Some("2024"), Some("Z")), 6),
            (key(Some("2024"), None), 121),
            (key(None, None), 121),
        ]
        .into_iter()
        .collect();
        let u = compare(&published, &truth);
        assert_eq!((u.large, u.large_published), (4, 3));
        assert_eq!(u.max_abs_large, 2);
        assert!((u.max_rel_large - 2.0 / 100.0).abs() < 1e-12);
        assert_eq!(u.max_abs_all, 3);
        assert!(u.ok());
        let mut bad = published.clone();
        bad.insert(key(Some("2023"), Some("X")), 5);
        assert!(!compare(&bad, &truth).ok());
        bad = published;
        bad.insert(key(Some("2024"), Some("X")), 96);
        assert!(!compare(&bad, &truth).ok());
    }

    #[test]
    fn the_default_year_is_the_last_full_one() {
        let a: Cells = [
            (key(Some("2023"), None), 1),
            (key(Some("2025"), None), 1),
            (key(Some("2024"), None), 1),
            (key(Some("2024"), Some("X")), 1),
            (key(None, Some("X")), 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(years(&a), vec![2023, 2024, 2025]);
    }
}
