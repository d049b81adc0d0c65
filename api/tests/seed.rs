//! `tsunagi seed --scale small` through the real binary: the counts per table match the
//! scale, the ledger chain verifies, the same seed gives the same rows (on SQLite twice and
//! on PostgreSQL when TEST_DATABASE_URL is set), a different seed gives different rows, a
//! database with persons is refused with nothing written, and a seeded caseworker gets data
//! through HTTP.

// Test code may unwrap (the helpers below are outside #[test] functions).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::fixtures::with_database;
use common::{fresh_dir, pairs, tsunagi_with, ServerProcess};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use serde_json::{json, Value};
use tsunagi_api::seed::Scale;

fn env(url: &str) -> Vec<(String, String)> {
    pairs(&[
        ("DATABASE_URL", url),
        (
            "TSUNAGI_JWT_SECRET",
            "seed-test-secret-seed-test-secret-0123456789",
        ),
    ])
}

fn seed(dir: &Path, url: &str, seed: &str) -> std::process::Output {
    tsunagi_with(
        dir,
        &["seed", "--scale", "small", "--seed", seed],
        &env(url),
    )
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// What identifies a seeded data set: persons and consents in full, and the ledger's last
/// hash (which covers every ledger row and so every record id written).
async fn digest(db: &DatabaseConnection) -> (Vec<Value>, Vec<Value>, String) {
    use entity::{audit_event, consent, person};
    let persons = person::Entity::find()
        .order_by_asc(person::Column::Id)
        .into_json()
        .all(db)
        .await
        .unwrap();
    let consents = consent::Entity::find()
        .order_by_asc(consent::Column::Id)
        .into_json()
        .all(db)
        .await
        .unwrap();
    let last = audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Seq)
        .one(db)
        .await
        .unwrap()
        .expect("a ledger row");
    (persons, consents, last.hash)
}

/// Counts per table match the scale; the ledger has one WRITE row per created record.
async fn check_counts(db: &DatabaseConnection, label: &str) {
    let s = Scale::parse("small").unwrap();
    for (table, want) in [
        ("person", s.persons),
        ("household", s.households),
        ("consultation", s.consultations),
        ("referral", s.referrals),
        ("support_case", s.cases),
        ("support_plan", s.cases),
        ("meeting", s.cases),
        ("consent", s.consents),
        ("agency", 28),
    ] {
        assert_eq!(count(db, table).await, want as i64, "{label}: {table}");
    }
    let records =
        s.persons + s.households + s.consultations + s.referrals + s.consents + 3 * s.cases;
    assert_eq!(
        count(db, "audit_event").await,
        records as i64,
        "{label}: one ledger row per created record"
    );
    // Consents in every state: withdrawn, expired, in force.
    let withdrawn = count(db, "consent WHERE withdrawn_at IS NOT NULL").await;
    assert!(
        withdrawn > 0 && withdrawn < s.consents as i64,
        "{label}: {withdrawn}"
    );
    // Every household has members; some persons have none (single, no household).
    let members = count(db, "household_member").await;
    assert!(
        members >= s.households as i64 && members < s.persons as i64,
        "{label}"
    );
}

/// Consultations per (fiscal year, agency kind), with every margin and the total, counted
/// from the rows: the fiscal year of the receipt in JST (April to March).
async fn consultations_by_year_and_kind(
    db: &DatabaseConnection,
) -> std::collections::BTreeMap<(Option<String>, Option<String>), i64> {
    use chrono::Datelike;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT c.received_at AS at, ag.kind AS kind FROM consultation c \
             JOIN agency ag ON ag.id = c.receiving_agency_id"
                .to_owned(),
        ))
        .await
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        let at: chrono::DateTime<chrono::Utc> = r.try_get("", "at").unwrap();
        let kind: String = r.try_get("", "kind").unwrap();
        let jst = at + chrono::Duration::hours(9);
        let fy = if jst.month() < 4 {
            jst.year() - 1
        } else {
            jst.year()
        }
        .to_string();
        for cell in [
            (Some(fy.clone()), Some(kind.clone())),
            (Some(fy.clone()), None),
            (None, Some(kind.clone())),
            (None, None),
        ] {
            *out.entry(cell).or_insert(0) += 1;
        }
    }
    out
}

fn audit_verify(dir: &Path, url: &str, label: &str) {
    let out = tsunagi_with(dir, &["audit", "verify"], &env(url));
    let stdout = ok(&out, "audit verify");
    assert!(stdout.starts_with("ok: "), "{label}: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_small_is_complete_deterministic_and_served() {
    let dir = fresh_dir("tsunagi-seed");
    let url_a = format!("sqlite://{}?mode=rwc", dir.join("a.db").display());
    let url_b = format!("sqlite://{}?mode=rwc", dir.join("b.db").display());
    let url_c = format!("sqlite://{}?mode=rwc", dir.join("c.db").display());
    ok(&seed(&dir, &url_a, "7"), "seed a");
    ok(&seed(&dir, &url_b, "7"), "seed b");
    ok(&seed(&dir, &url_c, "8"), "seed c");
    let a = tsunagi_api::store::connect(&url_a, &Default::default())
        .await
        .unwrap();
    check_counts(&a, "SQLite").await;
    audit_verify(&dir, &url_a, "SQLite");

    // Kana stored as createPerson stores it: normalised, with the 名寄せ key derived from it.
    for p in entity::person::Entity::find().all(&a).await.unwrap() {
        let f = tsunagi_api::kana::normalize_kana(&p.family_name_kana).unwrap();
        let g = tsunagi_api::kana::normalize_kana(&p.given_name_kana).unwrap();
        assert_eq!((&f, &g), (&p.family_name_kana, &p.given_name_kana));
        assert_eq!(
            p.kana_key,
            tsunagi_api::kana::match_key(&format!("{f}{g}")).unwrap()
        );
    }

    let da = digest(&a).await;
    let b = tsunagi_api::store::connect(&url_b, &Default::default())
        .await
        .unwrap();
    let c = tsunagi_api::store::connect(&url_c, &Default::default())
        .await
        .unwrap();
    assert!(da == digest(&b).await, "the same seed gave different data");
    let dc = digest(&c).await;
    assert!(
        da.0 != dc.0 && da.2 != dc.2,
        "another seed gave the same data"
    );

    // A database that has persons is refused, and nothing more is written.
    let again = seed(&dir, &url_a, "9");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already has 1500 persons"), "{err}");
    assert_eq!(count(&a, "person").await, 1500);
    assert!(digest(&a).await == da);

    // Served: a seeded caseworker lists persons and consultations of their agency.
    let token = ok(
        &tsunagi_with(
            &dir,
            &["token", "--account", "s-houkatsu-01-cw1"],
            &env(&url_a),
        ),
        "token",
    );
    let server = ServerProcess::spawn(&dir, &["serve"], &env(&url_a));
    let client = reqwest::Client::new();
    assert!(
        server.wait_ready(&client, Duration::from_secs(60)).await,
        "{}",
        server.log_text()
    );
    let body: Value = client
        .post(server.url("/graphql"))
        .bearer_auth(token.trim())
        .json(&json!({"query": "{ persons(first: 5) { nodes { id familyName familyNameKana district } } consultations(first: 5) { nodes { id receivingAgency { code } } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let persons = body["data"]["persons"]["nodes"].as_array().unwrap();
    assert_eq!(persons.len(), 5, "{body}");
    assert!(
        persons.iter().all(|p| p["familyName"].is_string()),
        "{body}"
    );
    // Mixed access: the caseworker's own registrations show their district; persons known
    // through a consent that does not cover CONTACT have it withheld, with the reason.
    for e in body["errors"].as_array().into_iter().flatten() {
        assert_eq!(e["extensions"]["code"], "CONSENT_REQUIRED", "{body}");
        let i = e["path"][2].as_u64().unwrap() as usize;
        assert!(persons[i]["district"].is_null(), "{body}");
    }
    assert!(persons.iter().any(|p| p["district"].is_string()), "{body}");
    let consultations = body["data"]["consultations"]["nodes"].as_array().unwrap();
    assert!(!consultations.is_empty(), "{body}");
    // Readable back: the 多機関協働 staff reads the seeded cases' plans in full (every stored
    // value is one the API writes, so none is an INTERNAL error).
    let token = ok(
        &tsunagi_with(
            &dir,
            &["token", "--account", "s-takikan-01-st1"],
            &env(&url_a),
        ),
        "token",
    );
    let body: Value = client
        .post(server.url("/graphql"))
        .bearer_auth(token.trim())
        .json(&json!({"query": "{ overdueReviews(first: 50) { nodes { id status plans { planVersion wishes longTermGoal shortTermGoals agreedOn agreementMethod } } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["errors"].is_null(), "{body}");
    let cases = body["data"]["overdueReviews"]["nodes"].as_array().unwrap();
    assert!(!cases.is_empty(), "{body}");
    for c in cases {
        let plan = &c["plans"][0];
        assert_eq!(plan["agreementMethod"], "SIGNED", "{body}");
        assert_eq!(
            plan["shortTermGoals"],
            json!(["関係機関の役割分担の明確化", "定期的な訪問"]),
            "{body}"
        );
    }
    // The analyst's tables stay useful (issue 17): on the seeded city, every published cell
    // whose truth is 20 or more is within the noise (±3) of it, and nearly all such cells are
    // published. The truth is counted here from the rows, in Rust, not by the hub's SQL.
    let token = ok(
        &tsunagi_with(&dir, &["token", "--account", "s-city-01-st1"], &env(&url_a)),
        "token",
    );
    let body: Value = client
        .post(server.url("/graphql"))
        .bearer_auth(token.trim())
        .json(&json!({"query": "{ statistics(measure: CONSULTATIONS, groupBy: [FISCAL_YEAR, AGENCY_KIND]) { cells { values value } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["errors"].is_null(), "{body}");
    let truth = consultations_by_year_and_kind(&a).await;
    let published: std::collections::BTreeMap<(Option<String>, Option<String>), i64> = body["data"]
        ["statistics"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let v = |i: usize| c["values"][i].as_str().map(str::to_owned);
            ((v(0), v(1)), c["value"].as_i64().unwrap())
        })
        .collect();
    let big: Vec<_> = truth.iter().filter(|(_, n)| **n >= 20).collect();
    assert!(big.len() >= 20, "the seed has big cells: {truth:?}");
    let mut shown = 0;
    for (cell, n) in &big {
        if let Some(v) = published.get(cell) {
            shown += 1;
            assert!((v - **n).abs() <= 3, "{cell:?}: published {v}, truth {n}");
        }
    }
    assert!(
        shown * 10 >= big.len() * 9,
        "only {shown} of {} cells of 20 or more published",
        big.len()
    );
    for (cell, v) in &published {
        let n = truth.get(cell).copied().unwrap_or(0);
        assert!(
            (v - n).abs() <= 3 && *v >= 5,
            "{cell:?}: published {v}, truth {n}"
        );
    }
    drop(server);

    // PostgreSQL: the same seed gives the same rows as on SQLite.
    let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("WARNING: PostgreSQL NOT TESTED (seed): set TEST_DATABASE_URL to test it.");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let name = format!("tsunagi_seed_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url.as_str())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let pg_url = with_database(&admin_url, &name);
    let (dir2, pg_url2) = (dir.clone(), pg_url.clone());
    let outcome = tokio::spawn(async move {
        ok(&seed(&dir2, &pg_url2, "7"), "seed PostgreSQL");
        let pg = tsunagi_api::store::connect(&pg_url2, &Default::default())
            .await
            .unwrap();
        check_counts(&pg, "PostgreSQL").await;
        audit_verify(&dir2, &pg_url2, "PostgreSQL");
        let dp = digest(&pg).await;
        assert_eq!(dp.2, da.2, "PostgreSQL ledger differs from SQLite's");
        let ids = |rows: &[Value]| rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(&dp.0), ids(&da.0), "PostgreSQL persons differ");
        assert_eq!(ids(&dp.1), ids(&da.1), "PostgreSQL consents differ");
        pg.close().await.ok();
    })
    .await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
