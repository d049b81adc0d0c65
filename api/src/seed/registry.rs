//! The synthetic city's agencies (by kind, with their issue mixes) and staff accounts.

use rand::Rng;

use super::{id, names, Agency, Pending, Run, Table};
use chrono::{DateTime, Utc};
use entity::{account, agency};
use std::time::Instant;

/// (kind, how many agencies, code stem, name stem, consultation weight per agency,
/// issue mix).
type Kind = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    u32,
    &'static [&'static str],
);

const KINDS: &[Kind] = &[
    (
        "COMPREHENSIVE_CARE",
        8,
        "houkatsu",
        "地域包括支援センター",
        30,
        &[
            "NURSING_CARE",
            "ROROKAIGO",
            "P8050",
            "SOCIAL_ISOLATION",
            "HEALTH",
            "ABUSE",
        ],
    ),
    (
        "DISABILITY",
        5,
        "shogai",
        "障害者相談支援センター",
        15,
        &["DISABILITY", "MENTAL_HEALTH", "HIKIKOMORI", "WORK_SCHOOL"],
    ),
    (
        "CHILD_FAMILY",
        2,
        "kodomo",
        "こども家庭センター",
        12,
        &["CHILDREN", "YOUNG_CARER", "ABUSE", "DV", "DOUBLE_CARE"],
    ),
    (
        "SELF_RELIANCE",
        2,
        "jiritsu",
        "自立相談支援機関",
        15,
        &["DEBT", "INCOME", "HOUSING", "WORK_SCHOOL", "MENTAL_HEALTH"],
    ),
    (
        "PARTICIPATION_SUPPORT",
        2,
        "sanka",
        "参加支援事業所",
        3,
        &["HIKIKOMORI", "WORK_SCHOOL", "SOCIAL_ISOLATION"],
    ),
    (
        "COMMUNITY_BUILDING",
        3,
        "chiiki",
        "生活支援コーディネーター",
        2,
        &["SOCIAL_ISOLATION", "ROROKAIGO", "OTHER"],
    ),
    (
        "OUTREACH",
        2,
        "outreach",
        "アウトリーチ支援員",
        3,
        &["HIKIKOMORI", "P8050", "SOCIAL_ISOLATION"],
    ),
    (
        "MULTI_AGENCY",
        1,
        "takikan",
        "多機関協働 担当",
        5,
        &["P8050", "DOUBLE_CARE", "DEBT", "HIKIKOMORI"],
    ),
    (
        "CITY_OFFICE",
        2,
        "city",
        "市 福祉課",
        5,
        &["INCOME", "HOUSING", "OTHER"],
    ),
    ("THIRD_PARTY", 1, "gaibu", "委託研究機関", 0, &["OTHER"]),
];

/// An account row of the synthetic city (staff, active, version 1).
fn account(
    id: String,
    login: String,
    display_name: String,
    agency_id: &str,
    roles: &str,
    at: DateTime<Utc>,
) -> account::Model {
    account::Model {
        id,
        login,
        display_name,
        agency_id: agency_id.to_owned(),
        kind: "STAFF".to_owned(),
        roles: roles.to_owned(),
        active: true,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

/// 機関とアカウント / agencies and staff accounts: `staff_per_agency` per agency with the role
/// its kind calls for, and an admin and an auditor at the first city office.
pub(super) async fn agencies_and_staff(run: &mut Run<'_>) -> anyhow::Result<Vec<Agency>> {
    let (rng, out, _, scale, today) = run.parts();
    let loaded_at = today;
    let t = Instant::now();
    let mut agencies: Vec<Agency> = Vec::new();
    let mut agency_rows = Table::<agency::Entity>::new("agency");
    let mut account_rows = Table::<account::Entity>::new("account");
    for (kind, count, stem, name, weight, issues) in KINDS {
        for n in 1..=*count {
            let a = agency::Model {
                id: id(rng),
                code: format!("s-{stem}-{n:02}"),
                name: format!("{name} 第{n}"),
                kind: (*kind).to_owned(),
                legal_regime: if matches!(*kind, "CHILD_FAMILY" | "MULTI_AGENCY" | "CITY_OFFICE") {
                    "PUBLIC_BODY"
                } else {
                    "PRIVATE_OPERATOR"
                }
                .to_owned(),
                active: true,
                version: 1,
                created_at: loaded_at,
                updated_at: loaded_at,
            };
            let role = match *kind {
                "MULTI_AGENCY" => "coordinator",
                "COMMUNITY_BUILDING" => "life_support_coordinator",
                "CITY_OFFICE" => "analyst",
                _ => "caseworker",
            };
            let mut staff = Vec::new();
            for s in 1..=scale.staff_per_agency {
                let family = &names::FAMILY[rng.random_range(0..names::FAMILY.len())];
                let login = format!(
                    "{}-{}{s}",
                    a.code,
                    if role == "caseworker" { "cw" } else { "st" }
                );
                let display = format!("{} 職員{s} {}", name, family.0);
                let acc = account(id(rng), login, display, &a.id, role, loaded_at);
                staff.push(acc.id.clone());
                account_rows.push(acc);
            }
            if *kind == "CITY_OFFICE" && n == 1 {
                for (login, display, roles) in [
                    ("s-admin", "管理者", "admin"),
                    ("s-auditor", "監査担当", "auditor"),
                ] {
                    let (login, display) = (login.to_owned(), display.to_owned());
                    account_rows.push(account(id(rng), login, display, &a.id, roles, loaded_at));
                }
            }
            agencies.push(Agency {
                id: a.id.clone(),
                kind,
                weight: *weight,
                issues,
                staff,
            });
            agency_rows.push(a);
        }
    }
    for table in [&mut agency_rows as &mut dyn Pending, &mut account_rows] {
        table.flush(out.txn).await?;
        table.report(t);
    }
    Ok(agencies)
}
