//! The attacker (issue 17, item 3): with the analyst role only, against a world whose every
//! record the test (the attacker) knows except one thing per target — whether the target's
//! consultation in June 2025 was about debt — it plays
//! (a) differencing: the same table with and without the target's district, month, agency;
//! (b) margin subtraction: a table by district, its total less the published cells;
//! (c) the same query 1,000 times, to average the noise away;
//! (d) a cell isolated by narrow filters on the target's attributes (sex, age band,
//!     district, month, issue);
//! (e) a coarse and a fine version of one dimension in two requests: the month's debt
//!     consultations in the background's 10-year age band, against those in its 5-year band
//!     (the target is in the other half of the 10-year band).
//! Each attack guesses, for every target, whether it had the debt consultation. About half
//! had (a fixed pseudo-random choice).
//! The documented bound (README §6.2, `policy::statistics`): from one published value, or the
//! difference of two, the best guess is right at most 68 % of the time when everything else
//! is known (50 % by chance). Each attack here must stay within it, allowing for sampling
//! (three standard errors); without the differencing rules, (a) by district is right about
//! 91 % of the time.

use serde_json::{json, Value};
use tsunagi_api::policy::statistics::MAX_NOISE;
use tsunagi_tests::{person_input, tests, Server};

use crate::statistics::{consult, TABLE};

tests!(an_analyst_cannot_recover_whether_one_person_had_a_consultation);

/// Targets: half had the debt consultation. Each is attacked through cells of its own
/// (its own month), so that every target is a separate draw of the noise.
const TARGETS: usize = 100;
/// Background persons, known to the attacker, each with a consultation in every target's
/// month: the first eight about debt (four at A, four at B), the rest about housing.
const BACKGROUND: usize = 14;
const DEBT_BACKGROUND: usize = 8;
/// Younger background persons (born 1995, another 10-year band), each with a debt
/// consultation at B in every target's month: a condition on the older persons' age band
/// then removes someone, as a real city's would.
const YOUNG: usize = 10;
/// The bound on the share of right guesses, from one value or the difference of two.
const BOUND: f64 = 0.68;

fn person(family: &str, given: &str, district: &str) -> Value {
    let mut p = person_input(family, given, "コウゲキ", "タロウ");
    p["birthDate"] = json!("1950-06-01");
    p["sex"] = json!("FEMALE");
    p["district"] = json!(district);
    p
}

fn cond(dimension: &str, values: &[&str], exclude: bool) -> Value {
    json!({ "dimension": dimension, "values": values, "exclude": exclude })
}

async fn total(srv: &Server, token: &str, filter: Value) -> Option<i64> {
    let r = srv
        .gql(token, TABLE, json!({ "m": "CONSULTATIONS", "f": filter }))
        .await;
    r.ok()["statistics"]["total"].as_i64()
}

/// The month of target `i` (January 2015 onwards), as `YYYY-MM`.
fn month(i: usize) -> String {
    format!("{}-{:02}", 2015 + i / 12, 1 + i % 12)
}

/// The background's age on the 10th of target `i`'s month (born 1950-06-01).
fn background_age(i: usize) -> i64 {
    let (year, month) = (2015 + i as i64 / 12, 1 + i as i64 % 12);
    year - 1950 - i64::from(month < 6)
}

/// The 5-year band of an age, as shown.
fn band5(age: i64) -> String {
    let low = age / 5 * 5;
    format!("{low}-{}", low + 4)
}

/// Target `i`'s age on the 12th of its month: in the other half of the background's 10-year
/// band, so that the 10-year band holds the target and the background's 5-year band does not.
fn target_age(i: usize) -> i64 {
    let low = background_age(i) / 5 * 5;
    (if low % 10 == 0 { low + 5 } else { low - 5 }) + 2
}

/// Target `i`'s birth date (1 January: the age is the same all year).
fn target_birth(i: usize) -> String {
    format!("{}-01-01", 2015 + i as i64 / 12 - target_age(i))
}

/// Whether target `i` had the debt consultation: a fixed pseudo-random half, so that no
/// target's answer follows from a neighbour's (an alternating pattern would: the attacker
/// knows the neighbours).
fn had_debt(i: usize) -> bool {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x & 1 == 1
}

/// The guess from an estimate of "1 if present, 0 if absent" plus noise; nothing published
/// is no evidence, and the guess is "absent".
fn guess(estimate: Option<i64>) -> bool {
    estimate.is_some_and(|e| e >= 1)
}

async fn an_analyst_cannot_recover_whether_one_person_had_a_consultation(srv: &Server) {
    // Unthrottled: the attacker sends more than the minute's allowance.
    let own = Server::start_with(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    let srv = &own;
    let a = srv.agency("ak-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("ak-b", "COMPREHENSIVE_CARE").await;
    let (_, a_cw) = srv.account("ak-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("ak-b-cw", &b, &["caseworker"]).await;
    let (_, analyst) = srv.account("ak-an", &srv.city_agency, &["analyst"]).await;
    let mut background = Vec::new();
    for i in 0..BACKGROUND + YOUNG {
        let tok = if (DEBT_BACKGROUND / 2..DEBT_BACKGROUND).contains(&i) || i >= BACKGROUND {
            &b_cw
        } else {
            &a_cw
        };
        let mut input = person(&format!("背景{i}"), "花子", "北部");
        if i >= BACKGROUND {
            input["birthDate"] = json!("1995-06-01");
        }
        let p = srv.person(tok, input).await;
        background.push((tok.clone(), p));
    }
    // Targets, each alone in their district, with a consultation at A in their own month:
    // about debt for the even ones, about housing for the odd ones.
    let mut truth = Vec::new();
    for i in 0..TARGETS {
        let at = format!("{}-10T01:00:00Z", month(i));
        for (j, (tok, p)) in background.iter().enumerate() {
            let issue = if !(DEBT_BACKGROUND..BACKGROUND).contains(&j) {
                "DEBT"
            } else {
                "HOUSING"
            };
            consult(srv, tok, &at, &[p], issue).await;
        }
        let district = format!("標的{i}");
        let mut input = person(&format!("標的{i}"), "花子", &district);
        input["birthDate"] = json!(target_birth(i));
        let p = srv.person(&a_cw, input).await;
        let debt = had_debt(i);
        let issue = if debt { "DEBT" } else { "HOUSING" };
        consult(
            srv,
            &a_cw,
            &format!("{}-12T01:00:00Z", month(i)),
            &[&p],
            issue,
        )
        .await;
        truth.push((district, debt));
    }
    let debt_in = |m: &str| vec![cond("ISSUE", &["DEBT"], false), cond("MONTH", &[m], false)];
    let known = (DEBT_BACKGROUND + YOUNG) as i64;
    // A's part of it.
    let known_at_a = DEBT_BACKGROUND as i64 / 2;

    // (c) The same query a thousand times: one answer, within the noise of the truth.
    let first = debt_in(&month(0));
    let once = total(srv, &analyst, json!(first)).await;
    if let Some(v) = once {
        assert!((v - known - 1).abs() <= MAX_NOISE, "{v}");
    }
    for _ in 0..1000 {
        assert_eq!(total(srv, &analyst, json!(first)).await, once);
    }
    // Nor does saying the same thing differently give a second draw: a condition that
    // removes nobody is not published rather than given fresh noise.
    let mut again = first.clone();
    again.push(cond("SEX", &["FEMALE"], false));
    assert_eq!(total(srv, &analyst, json!(again)).await, None);

    let mut right = [0usize; 6];
    for (i, (district, debt)) in truth.iter().enumerate() {
        let m = month(i);
        let with = total(srv, &analyst, json!(debt_in(&m))).await;
        // (a) without the target's district: the same records but the target's.
        let mut without = debt_in(&m);
        without.push(cond("DISTRICT", &[district.as_str()], true));
        let w = total(srv, &analyst, json!(without)).await;
        // Identical records give identical values: any difference means the target was there.
        let a1 = with.zip(w).is_some_and(|(a, b)| a != b);
        // (a) with the next month as well, less the next month, less this month's known
        // background.
        let next = month(i + 1);
        let two = total(
            srv,
            &analyst,
            json!([
                cond("ISSUE", &["DEBT"], false),
                cond("MONTH", &[m.as_str(), next.as_str()], false)
            ]),
        )
        .await;
        let next_only = total(srv, &analyst, json!(debt_in(&next))).await;
        let a2 = guess(two.zip(next_only).map(|(t, n)| t - n - known));
        // (a) without agency A: the month less what B holds, less A's known background.
        let mut not_a = debt_in(&m);
        not_a.push(cond("AGENCY", &["ak-a"], true));
        let at_b = total(srv, &analyst, json!(not_a)).await;
        let a3 = guess(with.zip(at_b).map(|(w, b)| w - b - known_at_a));
        // (b) the month by district: the total less the published cells less the background
        // not published.
        let r = srv
            .gql(
                &analyst,
                TABLE,
                json!({ "m": "CONSULTATIONS", "g": ["DISTRICT"], "f": debt_in(&m) }),
            )
            .await;
        let t = r.ok()["statistics"].clone();
        let cells = t["cells"].as_array().unwrap();
        let north = cells
            .iter()
            .find(|c| c["values"][0] == "北部")
            .map(|c| c["value"].as_i64().unwrap());
        let b = guess(
            t["total"]
                .as_i64()
                .map(|total| total - north.unwrap_or(known)),
        );
        // (d) isolated: every attribute of the target.
        let narrow = json!([
            cond("SEX", &["FEMALE"], false),
            cond("AGE_BAND_5", &[band5(target_age(i)).as_str()], false),
            cond("DISTRICT", &[district.as_str()], false),
            cond("MONTH", &[m.as_str()], false),
            cond("ISSUE", &["DEBT"], false),
        ]);
        let r = srv
            .gql(
                &analyst,
                TABLE,
                json!({ "m": "CONSULTATIONS", "f": narrow }),
            )
            .await;
        let isolated = r.ok()["statistics"]["total"].as_i64();
        assert_eq!(isolated, None, "a cell of one person is never published");
        assert_eq!(r.ok()["statistics"]["cells"], json!([]));
        let d = isolated.is_some();
        // (e) the older background's 10-year band (them and perhaps the target) against
        // its 5-year band (the background only): identical records give identical values.
        let b5 = band5(background_age(i));
        let low10 = background_age(i) / 10 * 10;
        let b10 = format!("{low10}-{}", low10 + 9);
        let mut coarse = debt_in(&m);
        coarse.push(cond("AGE_BAND_10", &[b10.as_str()], false));
        let mut fine = debt_in(&m);
        fine.push(cond("AGE_BAND_5", &[b5.as_str()], false));
        let e = total(srv, &analyst, json!(coarse))
            .await
            .zip(total(srv, &analyst, json!(fine)).await)
            .is_some_and(|(c, f)| c != f);
        for (k, g) in [a1, a2, a3, b, d, e].into_iter().enumerate() {
            if g == *debt {
                right[k] += 1;
            }
        }
    }
    let n = TARGETS as f64;
    let had = truth.iter().filter(|(_, d)| *d).count();
    assert!((35..=65).contains(&had), "{had} of {TARGETS} had debt");
    // Guessing "absent" every time is right as often as the targets who had none.
    let baseline = (TARGETS - had) as f64 / n;
    // Three standard errors of sampling: an attack at the bound fails one run in 700, and
    // the attacks here sit below it (a difference of two values: 61 %), so less often still;
    // the differencing leak the rules close is right about 91 % of the time and fails here.
    let slack = 3.0 * (BOUND * (1.0 - BOUND) / n).sqrt();
    for (name, r) in [
        "a/district",
        "a/month",
        "a/agency",
        "b/margin",
        "d/isolated",
        "e/coarse-fine",
    ]
    .iter()
    .zip(right)
    {
        let share = r as f64 / n;
        eprintln!("attack {name}: right {r} of {TARGETS} ({share:.3})");
        assert!(
            share <= BOUND.max(baseline) + slack,
            "attack {name} recovered {r} of {TARGETS} ({share:.3} > {BOUND} + {slack:.3})"
        );
    }
    own.stop().await;
}
