//! Statistics and the 事業評価 (issue 17) through the API: exact tables on a small known
//! world (the truth computed here from the world the test built, the noise from the record
//! keys the database drew), fiscal-year and age boundaries in JST, distinct counts, the
//! differencing rules, who may ask, what the ledger keeps, targets, the city's switches and
//! the report as CSV and JSON.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use tsunagi_api::policy::statistics::{publish, DEFAULT_THRESHOLD, MAX_NOISE};
use tsunagi_tests::{person_input, tests, Server};

tests!(
    tables_are_the_known_world_counted_and_perturbed_by_its_record_keys,
    only_analysts_build_tables_every_table_is_ledgered_and_bad_requests_name_their_field,
    a_table_without_one_district_is_not_published_when_that_district_is_small,
    targets_switches_and_the_evaluation_report_as_csv_and_json,
);

pub const TABLE: &str = "query($m: Measure!, $g: [Dimension!], $f: [StatisticsCondition!]) {
  statistics(measure: $m, groupBy: $g, filter: $f) { total threshold maxNoise cells { values value } } }";

/// One consultation of the world: its id and what the tables classify it by.
pub struct Consult {
    pub id: String,
    pub subjects: Vec<String>,
}

pub async fn consult(
    srv: &Server,
    token: &str,
    at: &str,
    subjects: &[&str],
    issue: &str,
) -> Consult {
    let r = srv
        .gql(
            token,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": at, "channel": "VISIT", "subjectPersonIds": subjects,
                "issues": [{ "code": issue, "main": true }], "summary": "統計の試験", "urgency": "NORMAL" } }),
        )
        .await;
    Consult {
        id: r.ok()["recordConsultation"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The record keys the database drew for `table`'s rows.
pub async fn keys(srv: &Server, table: &str) -> BTreeMap<String, i64> {
    let rows = srv
        .db
        .query_all_raw(Statement::from_string(
            srv.db.get_database_backend(),
            format!("SELECT id, CAST(stat_key AS BIGINT) AS k FROM {table}"),
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "id").unwrap(),
                r.try_get::<i64>("", "k").unwrap(),
            )
        })
        .collect()
}

/// What a table must hold: rows of (unit, its key, its dimension values) — a unit in
/// several rows where a join repeats it — grouped by every subset of the dimensions, each
/// cell's distinct units counted and their keys summed, and published as the method says.
/// Written here from the definition, not from the hub's SQL.
pub fn expected(
    rows: &[(String, i64, Vec<String>)],
    dims: usize,
) -> BTreeMap<Vec<Option<String>>, i64> {
    let mut sets: BTreeMap<Vec<Option<String>>, BTreeMap<String, i64>> = BTreeMap::new();
    for (unit, key, values) in rows {
        for mask in 0..(1usize << dims) {
            let cell: Vec<Option<String>> = (0..dims)
                .map(|i| (mask & (1 << i) != 0).then(|| values[i].clone()))
                .collect();
            sets.entry(cell).or_default().insert(unit.clone(), *key);
        }
    }
    let raw: BTreeMap<Vec<Option<String>>, (i64, i64)> = sets
        .into_iter()
        .map(|(cell, units)| (cell, (units.len() as i64, units.values().sum())))
        .collect();
    raw.iter()
        .filter(|(cell, (n, k))| {
            // The rest of each margin must be publishable too.
            (0..dims).filter(|i| cell[*i].is_some()).all(|i| {
                let mut margin = (*cell).clone();
                margin[i] = None;
                let (mn, mk) = raw[&margin];
                publish(mn - n, mk - k, DEFAULT_THRESHOLD).is_some()
            })
        })
        .filter_map(|(cell, (n, k))| publish(*n, *k, DEFAULT_THRESHOLD).map(|v| (cell.clone(), v)))
        .collect()
}

/// A fine value's coarse value (a month's fiscal year).
pub type Coarse = fn(&str) -> String;

/// The rule on fine values (`statistics::coarse`), counted here from the truth: a cell with
/// a fine value at position `i` (one `up[i]` maps to its coarse value) whose siblings may
/// hold records (`siblings(i, value)`) is kept only if the same cell with the coarse value,
/// less the cell, is publishable.
pub fn fine_rule(
    want: &mut BTreeMap<Vec<Option<String>>, i64>,
    rows: &[(String, i64, Vec<String>)],
    up: &[Option<Coarse>],
    siblings: &dyn Fn(usize, &str) -> bool,
) {
    let units = |keep: &dyn Fn(&[String]) -> bool| -> (i64, i64) {
        let found: BTreeMap<&String, i64> = rows
            .iter()
            .filter(|(_, _, values)| keep(values))
            .map(|(unit, key, _)| (unit, *key))
            .collect();
        (found.len() as i64, found.values().sum())
    };
    want.retain(|cell, _| {
        (0..cell.len()).all(|i| {
            let (Some(v), Some(f)) = (&cell[i], up[i]) else {
                return true;
            };
            if !siblings(i, v) {
                return true;
            }
            let matches = |values: &[String], coarse: bool| {
                values.iter().enumerate().all(|(j, x)| match &cell[j] {
                    None => true,
                    Some(c) if j == i && coarse => f(x) == f(c),
                    Some(c) => x == c,
                })
            };
            let (an, ak) = units(&|values| matches(values, true));
            let (bn, bk) = units(&|values| matches(values, false));
            publish(an - bn, ak - bk, DEFAULT_THRESHOLD).is_some()
        })
    });
}

pub fn cells(r: &Value) -> BTreeMap<Vec<Option<String>>, i64> {
    r["statistics"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                c["value"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn with(mut input: Value, birth: &str, sex: &str, district: &str) -> Value {
    input["birthDate"] = json!(birth);
    input["sex"] = json!(sex);
    input["district"] = json!(district);
    input
}

async fn tables_are_the_known_world_counted_and_perturbed_by_its_record_keys(srv: &Server) {
    let a = srv.agency("st-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("st-b", "SELF_RELIANCE").await;
    let (_, a_cw) = srv.account("st-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("st-b-cw", &b, &["caseworker"]).await;
    let (_, analyst) = srv
        .account("st-analyst", &srv.city_agency, &["analyst"])
        .await;
    // P0 turns 65 on 2025-04-01: 64 at 23:59:59 JST on 31 March, 65 a second later.
    let p0 = srv
        .person(
            &a_cw,
            with(
                person_input("統計", "零", "トウケイ", "レイ"),
                "1960-04-01",
                "FEMALE",
                "中央圏域",
            ),
        )
        .await;
    let mut people = vec![p0.clone()];
    for i in 0..9 {
        let (sex, district) = if i % 2 == 0 {
            ("MALE", "北部圏域")
        } else {
            ("FEMALE", "南部圏域")
        };
        let tok = if i < 5 { &a_cw } else { &b_cw };
        people.push(
            srv.person(
                tok,
                with(
                    person_input("統計", &format!("{i}"), "トウケイ", "イチ"),
                    "1980-01-15",
                    sex,
                    district,
                ),
            )
            .await,
        );
    }
    // (consultation, fiscal year, month, agency kind, issue group) — the truth as built.
    let mut world: Vec<(Consult, String, String, &str)> = Vec::new();
    let s = |t: &str| t.to_owned();
    // The fiscal-year boundary in JST: 2025-03-31 23:59:59 is FY2024, 2025-04-01 00:00 FY2025.
    world.push((
        consult(srv, &a_cw, "2025-03-31T14:59:59Z", &[&p0], "MENTAL_HEALTH").await,
        s("2024"),
        s("2025-03"),
        "COMPREHENSIVE_CARE",
    ));
    world.push((
        consult(srv, &a_cw, "2025-03-31T15:00:00Z", &[&p0], "MENTAL_HEALTH").await,
        s("2025"),
        s("2025-04"),
        "COMPREHENSIVE_CARE",
    ));
    // A leap day, in FY2023.
    world.push((
        consult(srv, &a_cw, "2024-02-29T03:00:00Z", &[&people[1]], "DEBT").await,
        s("2023"),
        s("2024-02"),
        "COMPREHENSIVE_CARE",
    ));
    // Twelve in FY2024 at A, persons 1..=5 again and again (distinct persons: 5).
    for i in 0..12 {
        let who = &people[1 + i % 5];
        let at = format!("2024-{:02}-10T01:00:00Z", 5 + i % 6);
        let month = format!("2024-{:02}", 5 + i % 6);
        let c = consult(srv, &a_cw, &at, &[who], "DEBT").await;
        world.push((c, s("2024"), month, "COMPREHENSIVE_CARE"));
    }
    // Eight in FY2024 at B, each about two persons (6 and 7) at once.
    for i in 0..8 {
        let at = format!("2024-{:02}-20T01:00:00Z", 4 + i % 3);
        let month = format!("2024-{:02}", 4 + i % 3);
        let c = consult(srv, &b_cw, &at, &[&people[6], &people[7]], "HOUSING").await;
        world.push((c, s("2024"), month, "SELF_RELIANCE"));
    }
    // And eight in FY2025 at B about persons 8 and 9, one each.
    for i in 0..8 {
        let at = format!("2025-{:02}-05T01:00:00Z", 6 + i % 2);
        let month = format!("2025-{:02}", 6 + i % 2);
        let c = consult(srv, &b_cw, &at, &[&people[8 + i % 2]], "HOUSING").await;
        world.push((c, s("2025"), month, "SELF_RELIANCE"));
    }
    let ckeys = keys(srv, "consultation").await;
    let pkeys = keys(srv, "person").await;

    // Consultations by fiscal year and agency kind: a consultation is one unit.
    let rows: Vec<(String, i64, Vec<String>)> = world
        .iter()
        .map(|(c, fy, _, kind)| {
            (
                c.id.clone(),
                ckeys[&c.id],
                vec![fy.clone(), (*kind).to_owned()],
            )
        })
        .collect();
    let r = srv
        .gql(
            &analyst,
            TABLE,
            json!({ "m": "CONSULTATIONS", "g": ["FISCAL_YEAR", "AGENCY_KIND"] }),
        )
        .await;
    let got = cells(r.ok());
    assert_eq!(got, expected(&rows, 2), "{}", r.body);
    assert_eq!(r.ok()["statistics"]["threshold"], DEFAULT_THRESHOLD);
    assert_eq!(r.ok()["statistics"]["maxNoise"], MAX_NOISE);
    // The truth is 30 consultations; the published total is within the noise of it.
    let total = r.ok()["statistics"]["total"].as_i64().unwrap();
    assert!((total - 30).abs() <= MAX_NOISE, "{total}");
    assert_eq!(got.get(&vec![None, None]), Some(&total));

    // Distinct persons by fiscal year: P6 and P7 are two persons of one consultation, P1..5
    // count once each in FY2024 however often they came; P0 counts in both years.
    let rows: Vec<(String, i64, Vec<String>)> = world
        .iter()
        .flat_map(|(c, fy, _, _)| {
            c.subjects
                .iter()
                .map(|p| (p.clone(), pkeys[p], vec![fy.clone()]))
                .collect::<Vec<_>>()
        })
        .collect();
    let r = srv
        .gql(
            &analyst,
            TABLE,
            json!({ "m": "PERSONS_CONSULTED", "g": ["FISCAL_YEAR"] }),
        )
        .await;
    assert_eq!(cells(r.ok()), expected(&rows, 1), "{}", r.body);

    // Consultations by month and 10-year age band at the consultation (a consultation of
    // two persons is in each one's band): P0 is 60-69 both sides of the boundary, but
    // 60-64 / 65-69 in 5-year bands.
    // The others were born on 15 January 1980: 44 in 2024 (the leap day included), 45 in 2025.
    let band = |p: &str, month: &str| -> String {
        if p == p0 {
            if month == "2025-03" { "60-64" } else { "65-69" }.to_owned()
        } else if month.starts_with("2025") {
            "45-49".to_owned()
        } else {
            "40-44".to_owned()
        }
    };
    let rows: Vec<(String, i64, Vec<String>)> = world
        .iter()
        .flat_map(|(c, _, month, _)| {
            c.subjects
                .iter()
                .map(|p| {
                    (
                        c.id.clone(),
                        ckeys[&c.id],
                        vec![month.clone(), band(p, month)],
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let r = srv
        .gql(
            &analyst,
            TABLE,
            json!({ "m": "CONSULTATIONS", "g": ["MONTH", "AGE_BAND_5"] }),
        )
        .await;
    // Months and 5-year bands are fine values: a cell is also compared with its fiscal year
    // and its 10-year band (`statistics::coarse`).
    let mut want = expected(&rows, 2);
    let fiscal: Coarse = |m| {
        let (y, mm) = m.split_once('-').unwrap();
        let y: i32 = y.parse().unwrap();
        (if mm < "04" { y - 1 } else { y }).to_string()
    };
    let ten: Coarse = |b| {
        let low: i32 = b.split_once('-').unwrap().0.parse().unwrap();
        format!("{}-{}", low / 10 * 10, low / 10 * 10 + 9)
    };
    fine_rule(
        &mut want,
        &rows,
        &[Some(fiscal), Some(ten)],
        // Each month's fiscal year has other months within the span of the records, and each
        // band here (40-44, 45-49, 60-64, 65-69) a sibling band.
        &|_, _| true,
    );
    assert_eq!(cells(r.ok()), want, "{}", r.body);

    // Issue groups: DEBT is under LIVELIHOOD, MENTAL_HEALTH under HEALTH, HOUSING is level 1.
    let group = |i: usize| match i {
        0 | 1 => "HEALTH",
        2..=14 => "LIVELIHOOD",
        _ => "HOUSING",
    };
    let rows: Vec<(String, i64, Vec<String>)> = world
        .iter()
        .enumerate()
        .map(|(i, (c, _, _, _))| (c.id.clone(), ckeys[&c.id], vec![group(i).to_owned()]))
        .collect();
    let r = srv
        .gql(
            &analyst,
            TABLE,
            json!({ "m": "CONSULTATIONS", "g": ["ISSUE_GROUP"] }),
        )
        .await;
    // LIVELIHOOD holds 13 consultations, all about DEBT; its other issues are given to no
    // consultation in the city, so the group is no secret beside DEBT (`statistics::coarse`).
    assert_eq!(cells(r.ok()), expected(&rows, 1), "{}", r.body);

    // Every published value is within the noise of its truth, and nothing of one or no
    // person is ever listed (checked over all the tables above by the expectations).
    for (cell, value) in &got {
        assert!(*value >= DEFAULT_THRESHOLD, "{cell:?}");
    }
}

async fn only_analysts_build_tables_every_table_is_ledgered_and_bad_requests_name_their_field(
    srv: &Server,
) {
    let a = srv.agency("sr-a", "COMPREHENSIVE_CARE").await;
    let (analyst_id, analyst) = srv.account("sr-an", &srv.city_agency, &["analyst"]).await;
    let (_, cw) = srv.account("sr-cw", &a, &["caseworker"]).await;
    let (_, coord) = srv.account("sr-co", &a, &["coordinator"]).await;
    let (_, auditor) = srv.account("sr-au", &srv.city_agency, &["auditor"]).await;
    let q = json!({ "m": "CONSULTATIONS", "g": ["FISCAL_YEAR"] });
    for token in [&cw, &coord, &auditor, &srv.admin_token] {
        let r = srv.gql(token, TABLE, q.clone()).await;
        r.only_error("FORBIDDEN");
    }
    let before = srv.ledger().await.last().map_or(0, |e| e.seq);
    let f = json!([{ "dimension": "SEX", "values": ["FEMALE"] }]);
    let r = srv
        .gql(
            &analyst,
            TABLE,
            json!({ "m": "REFERRALS", "g": ["AGENCY_KIND"], "f": f }),
        )
        .await;
    r.ok();
    let rows: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.seq > before && e.account_id.as_deref() == Some(analyst_id.as_str()))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.action, "READ");
    assert_eq!(row.record_type, "statistics");
    assert_eq!(row.subject_person_id, None);
    let detail: Value = serde_json::from_str(&row.detail).unwrap();
    assert_eq!(detail["measure"], "REFERRALS");
    assert_eq!(detail["groupBy"], json!(["AGENCY_KIND"]));
    assert_eq!(detail["filter"][0]["dimension"], "SEX");
    assert_eq!(detail["filter"][0]["values"], json!(["FEMALE"]));
    // The table, not its cells.
    assert!(
        detail.get("cells").is_none() && !row.detail.contains("\"value\""),
        "{}",
        row.detail
    );

    // Bad requests: the field at fault, nothing ledgered as a table.
    let bad = [
        (
            json!({ "m": "CONSULTATIONS", "g": ["MONTH", "SEX", "DISTRICT", "CHANNEL"] }),
            "groupBy",
        ),
        (
            json!({ "m": "CONSULTATIONS", "g": ["SEX", "SEX"] }),
            "groupBy",
        ),
        (json!({ "m": "MEETINGS", "g": ["DISTRICT"] }), "groupBy"),
        (
            json!({ "m": "CASES_OPENED", "f": [{ "dimension": "ISSUE", "values": ["DEBT"] }] }),
            "filter",
        ),
        (
            json!({ "m": "CONSULTATIONS", "f": [{ "dimension": "SEX", "values": ["x".repeat(101)] }] }),
            "filter",
        ),
    ];
    for (vars, field) in bad {
        let r = srv.gql(&analyst, TABLE, vars.clone()).await;
        let e = r.only_error("BAD_USER_INPUT");
        assert_eq!(e["extensions"]["field"], field, "{vars}: {}", r.body);
    }
    // An analyst reaches no person: the person queries answer as for a stranger.
    let p = srv
        .person(&cw, person_input("分析", "不可", "ブンセキ", "フカ"))
        .await;
    let r = srv
        .gql(
            &analyst,
            "query($id: ID!) { person(id: $id) { id familyName } }",
            json!({ "id": p }),
        )
        .await;
    assert!(r.data()["person"].is_null(), "{}", r.body);
}

async fn a_table_without_one_district_is_not_published_when_that_district_is_small(srv: &Server) {
    let a = srv.agency("sd-a", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("sd-cw", &a, &["caseworker"]).await;
    let (_, analyst) = srv.account("sd-an", &srv.city_agency, &["analyst"]).await;
    // Twenty people in 北部, and one in 東部.
    for i in 0..20 {
        let p = srv
            .person(
                &cw,
                with(
                    person_input("差分", &format!("{i}"), "サブン", "イチ"),
                    "1950-06-01",
                    "FEMALE",
                    "北部",
                ),
            )
            .await;
        consult(srv, &cw, "2025-06-10T01:00:00Z", &[&p], "DEBT").await;
    }
    // And ten more in 北部 in July, so that the month is a real condition.
    for i in 0..10 {
        let p = srv
            .person(
                &cw,
                with(
                    person_input("差分", &format!("七{i}"), "サブン", "シチ"),
                    "1950-06-01",
                    "FEMALE",
                    "北部",
                ),
            )
            .await;
        consult(srv, &cw, "2025-07-10T01:00:00Z", &[&p], "DEBT").await;
    }
    // And ten in 北部 in June about housing, outside the LIVELIHOOD group.
    for i in 0..10 {
        let p = srv
            .person(
                &cw,
                with(
                    person_input("差分", &format!("住{i}"), "サブン", "ジュウ"),
                    "1950-06-01",
                    "FEMALE",
                    "北部",
                ),
            )
            .await;
        consult(srv, &cw, "2025-06-12T01:00:00Z", &[&p], "HOUSING").await;
    }
    let lone = srv
        .person(
            &cw,
            with(
                person_input("差分", "東", "サブン", "ヒガシ"),
                "1950-06-01",
                "FEMALE",
                "東部",
            ),
        )
        .await;
    consult(srv, &cw, "2025-06-11T01:00:00Z", &[&lone], "INCOME").await;
    let q = |f: Value, g: Value| json!({ "m": "CONSULTATIONS", "g": g, "f": f });
    // The whole month is published.
    let all = srv
        .gql(
            &analyst,
            TABLE,
            q(
                json!([{ "dimension": "MONTH", "values": ["2025-06"] }]),
                json!([]),
            ),
        )
        .await;
    assert!(all.ok()["statistics"]["total"].is_i64(), "{}", all.body);
    // Without 東部 (one person), or only 北部 (everything but one person): not published,
    // whether 東部 holds one consultation or none.
    for f in [
        json!([{ "dimension": "MONTH", "values": ["2025-06"] }, { "dimension": "DISTRICT", "values": ["東部"], "exclude": true }]),
        json!([{ "dimension": "MONTH", "values": ["2025-06"] }, { "dimension": "DISTRICT", "values": ["北部"] }]),
        json!([{ "dimension": "MONTH", "values": ["2025-06"] }, { "dimension": "DISTRICT", "values": ["北部", "東部"] }]),
        json!([{ "dimension": "MONTH", "values": ["2025-06"] }, { "dimension": "DISTRICT", "values": ["西部"], "exclude": true }]),
    ] {
        let r = srv.gql(&analyst, TABLE, q(f.clone(), json!([]))).await;
        assert!(r.ok()["statistics"]["total"].is_null(), "{f}: {}", r.body);
        assert_eq!(r.ok()["statistics"]["cells"], json!([]), "{f}");
    }
    // A coarse and a fine value in two requests: June's LIVELIHOOD consultations (20 about
    // DEBT and the one about INCOME) against June's DEBT ones. DEBT is not published: beside
    // the group it would say whether INCOME held anyone. The group is (it leaves out the
    // housing ones).
    let june = |d: &str, v: &str| json!([{ "dimension": "MONTH", "values": ["2025-06"] }, { "dimension": d, "values": [v] }]);
    let r = srv
        .gql(
            &analyst,
            TABLE,
            q(june("ISSUE_GROUP", "LIVELIHOOD"), json!([])),
        )
        .await;
    assert!(r.ok()["statistics"]["total"].is_i64(), "{}", r.body);
    let r = srv
        .gql(&analyst, TABLE, q(june("ISSUE", "DEBT"), json!([])))
        .await;
    assert!(r.ok()["statistics"]["total"].is_null(), "{}", r.body);
    // Nor grouped by issue (June and July): DEBT's cell is held back, HOUSING (a group of its
    // own) is not.
    let r = srv
        .gql(&analyst, TABLE, q(json!([]), json!(["ISSUE"])))
        .await;
    let issues = cells(r.ok());
    assert!(
        !issues.contains_key(&vec![Some("DEBT".to_owned())])
            && issues.contains_key(&vec![Some("HOUSING".to_owned())]),
        "{}",
        r.body
    );
    // FY2025 holds every record there is (June and July): the condition removes nothing,
    // which the span of the records says, so the first year of records is published.
    let r = srv
        .gql(
            &analyst,
            TABLE,
            q(
                json!([{ "dimension": "FISCAL_YEAR", "values": ["2025"] }]),
                json!([]),
            ),
        )
        .await;
    assert!(r.ok()["statistics"]["total"].is_i64(), "{}", r.body);
    // A condition a cell's own values already decide (a month decides its fiscal year) does
    // not hold the cell back: by month within FY2025, both months are listed.
    let r = srv
        .gql(
            &analyst,
            TABLE,
            q(
                json!([{ "dimension": "FISCAL_YEAR", "values": ["2025"] }]),
                json!(["MONTH"]),
            ),
        )
        .await;
    let months = cells(r.ok());
    for m in ["2025-06", "2025-07"] {
        assert!(
            months.contains_key(&vec![Some(m.to_owned())]),
            "{m}: {}",
            r.body
        );
    }
    // Grouped by district, the 北部 cell would be the total less one person: not listed; the
    // total is.
    let r = srv
        .gql(
            &analyst,
            TABLE,
            q(
                json!([{ "dimension": "MONTH", "values": ["2025-06"] }]),
                json!(["DISTRICT"]),
            ),
        )
        .await;
    let got = cells(r.ok());
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([vec![None]]),
        "{}",
        r.body
    );
}

const REPORT: &str = "query($y: Int!) { evaluationReport(fiscalYear: $y) { fiscalYear threshold
  indicators { indicator nameJa actual target achievementRate previousYear disabled breakdown { dimension value actual previousYear } } } }";

async fn targets_switches_and_the_evaluation_report_as_csv_and_json(srv: &Server) {
    let a = srv.agency("ev-a", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("ev-cw", &a, &["caseworker"]).await;
    let (analyst_id, analyst) = srv.account("ev-an", &srv.city_agency, &["analyst"]).await;
    // 24 consultations in FY2024 and 12 in FY2023, of 24 different persons.
    let (mut fy2024, mut fy2023) = (Vec::new(), Vec::new());
    for i in 0..24 {
        let p = srv
            .person(
                &cw,
                with(
                    person_input("評価", &format!("{i}"), "ヒョウカ", "イチ"),
                    "1950-06-01",
                    "MALE",
                    "北部",
                ),
            )
            .await;
        fy2024.push(
            consult(
                srv,
                &cw,
                &format!("2024-{:02}-10T01:00:00Z", 4 + i % 9),
                &[&p],
                "DEBT",
            )
            .await,
        );
        if i < 12 {
            fy2023.push(consult(srv, &cw, "2023-06-10T01:00:00Z", &[&p], "DEBT").await);
        }
    }
    let ckeys = keys(srv, "consultation").await;

    // Targets: admins only; a bad value names its field; a second set is version 2.
    let set = "mutation($y: Int!, $i: Indicator!, $v: Float!) { setTarget(fiscalYear: $y, indicator: $i, value: $v, note: \"第2期計画\") { fiscalYear indicator value version } }";
    srv.gql(
        &analyst,
        set,
        json!({ "y": 2024, "i": "CONSULTATIONS", "v": 40.0 }),
    )
    .await
    .only_error("FORBIDDEN");
    let e = srv
        .gql(
            &srv.admin_token,
            set,
            json!({ "y": 2024, "i": "CONSULTATIONS", "v": -1.0 }),
        )
        .await;
    assert_eq!(
        e.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "value"
    );
    let e = srv
        .gql(
            &srv.admin_token,
            set,
            json!({ "y": 1999, "i": "CONSULTATIONS", "v": 1.0 }),
        )
        .await;
    assert_eq!(
        e.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "fiscalYear"
    );
    srv.gql(
        &srv.admin_token,
        set,
        json!({ "y": 2024, "i": "CONSULTATIONS", "v": 30.0 }),
    )
    .await
    .ok();
    let t = srv
        .gql(
            &srv.admin_token,
            set,
            json!({ "y": 2024, "i": "CONSULTATIONS", "v": 40.0 }),
        )
        .await;
    assert_eq!(t.ok()["setTarget"]["version"], 2);
    let targets = srv
        .gql(
            &analyst,
            "{ targets(fiscalYear: 2024) { indicator value note } }",
            json!({}),
        )
        .await;
    assert_eq!(
        targets.ok()["targets"],
        json!([{ "indicator": "CONSULTATIONS", "value": 40.0, "note": "第2期計画" }])
    );
    let ledger = srv.ledger().await;
    let writes: Vec<_> = ledger
        .iter()
        .filter(|e| e.operation == "setTarget")
        .collect();
    assert_eq!(writes.len(), 2, "two targets set, two WRITE rows");
    assert_eq!(writes[1].record_id.as_deref(), Some("2024:CONSULTATIONS"));

    // The report: the actual is the published value of the FY2024 cell, whose truth is 24.
    let fy = |y: &str, world: &[Consult]| -> Vec<(String, i64, Vec<String>)> {
        world
            .iter()
            .map(|c| (c.id.clone(), ckeys[&c.id], vec![y.to_owned()]))
            .collect()
    };
    let mut rows = fy("2024", &fy2024);
    rows.extend(fy("2023", &fy2023));
    assert_eq!(rows.len(), 36);
    let want = expected(&rows, 1);
    let r = srv.gql(&analyst, REPORT, json!({ "y": 2024 })).await;
    let report = r.ok()["evaluationReport"].clone();
    let consultations = report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == "CONSULTATIONS")
        .unwrap()
        .clone();
    let actual = want.get(&vec![Some("2024".to_owned())]).copied();
    assert_eq!(
        consultations["actual"].as_f64().map(|v| v as i64),
        actual,
        "{consultations}"
    );
    assert_eq!(
        consultations["previousYear"].as_f64().map(|v| v as i64),
        want.get(&vec![Some("2023".to_owned())]).copied()
    );
    assert_eq!(consultations["target"], 40.0);
    if let Some(a) = actual {
        assert_eq!(
            consultations["achievementRate"].as_f64().unwrap(),
            (a as f64 / 40.0 * 1000.0).round() / 1000.0
        );
    }
    // An admin reads the same report.
    let admin = srv
        .gql(&srv.admin_token, REPORT, json!({ "y": 2024 }))
        .await;
    assert_eq!(admin.ok()["evaluationReport"], report);
    // A caseworker does not.
    srv.gql(&cw, REPORT, json!({ "y": 2024 }))
        .await
        .only_error("FORBIDDEN");

    // As a file: CSV with a BOM and CRLF, and JSON; ledgered; refused to a caseworker.
    let get = |token: String, path: String| async move {
        let resp = reqwest::Client::new()
            .get(srv.url(&path))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let cache = resp
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, cache, resp.bytes().await.unwrap().to_vec())
    };
    let before = srv.ledger().await.last().map_or(0, |e| e.seq);
    let (status, cache, csv) = get(analyst.clone(), "/reports/evaluation/2024".into()).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(
        text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("2024,CONSULTATIONS,"))
        .unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields[8], "40", "{line}");
    assert_eq!(
        fields[7],
        actual.map(|a| a.to_string()).unwrap_or_default(),
        "{line}"
    );
    let (status, _, body) = get(
        analyst.clone(),
        "/reports/evaluation/2024?format=json".into(),
    )
    .await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["fiscalYear"], 2024);
    assert_eq!(
        json["indicators"].as_array().unwrap().len(),
        report["indicators"].as_array().unwrap().len()
    );
    let rows: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.seq > before && e.account_id.as_deref() == Some(analyst_id.as_str()))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|e| e.operation == "evaluationReport" && e.action == "READ"));
    let (status, _, _) = get(cw.clone(), "/reports/evaluation/2024".into()).await;
    assert_eq!(status, 403);
    let (status, _, _) = get(analyst.clone(), "/reports/evaluation/1999".into()).await;
    assert_eq!(status, 400);

    // The city switches consultation statistics off: tables refused, the report says so.
    let switch = "mutation($e: Boolean!) { setStatisticsMeasure(group: CONSULTATIONS, enabled: $e) { group enabled } }";
    srv.gql(&analyst, switch, json!({ "e": false }))
        .await
        .only_error("FORBIDDEN");
    srv.gql(&srv.admin_token, switch, json!({ "e": false }))
        .await
        .ok();
    srv.gql(&analyst, TABLE, json!({ "m": "PERSONS_CONSULTED" }))
        .await
        .only_error("FORBIDDEN");
    srv.gql(&analyst, TABLE, json!({ "m": "REFERRALS" }))
        .await
        .ok();
    let r = srv.gql(&analyst, REPORT, json!({ "y": 2024 })).await;
    let off = r.ok()["evaluationReport"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == "CONSULTATIONS")
        .unwrap()
        .clone();
    assert_eq!(off["disabled"], true);
    assert!(off["actual"].is_null());
    let settings = srv
        .gql(
            &analyst,
            "{ statisticsSettings { group enabled } }",
            json!({}),
        )
        .await;
    assert!(settings.ok()["statisticsSettings"]
        .as_array()
        .unwrap()
        .contains(&json!({ "group": "CONSULTATIONS", "enabled": false })));
    srv.gql(&srv.admin_token, switch, json!({ "e": true }))
        .await
        .ok();
    srv.gql(&analyst, TABLE, json!({ "m": "PERSONS_CONSULTED" }))
        .await
        .ok();
}
