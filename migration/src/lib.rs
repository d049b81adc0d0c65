//! Migrations for SQLite and PostgreSQL. One file per migration; run at server start-up
//! and by `tsunagi migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_core;
mod m20261127_000002_workflow;
mod m20261127_000003_one_open_case;
mod m20261127_000004_service_client;
mod m20261206_000001_visibility;
mod m20261207_000001_sync;
mod m20261207_000002_feed_probes;
mod m20261208_000001_match_keys;
pub use m20261208_000001_match_keys::recompute_kana_keys;
mod m20261208_000002_disclosure;
mod m20261208_000003_person_links;
pub mod m20261209_000001_statistics;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_core::Migration),
            Box::new(m20261127_000002_workflow::Migration),
            Box::new(m20261127_000003_one_open_case::Migration),
            Box::new(m20261127_000004_service_client::Migration),
            Box::new(m20261206_000001_visibility::Migration),
            Box::new(m20261207_000001_sync::Migration),
            Box::new(m20261207_000002_feed_probes::Migration),
            Box::new(m20261208_000001_match_keys::Migration),
            Box::new(m20261208_000002_disclosure::Migration),
            Box::new(m20261208_000003_person_links::Migration),
            Box::new(m20261209_000001_statistics::Migration),
        ]
    }
}

/// 課題分類 (issue categories): two levels, each tagged with its sensitivity and the policy
/// category that governs who may see it. Data, so a city can adjust it.
/// (code, parent, 名称, English, sensitivity, policy category)
type IssueRow = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const ISSUE_CATEGORIES: &[IssueRow] = &[
    (
        "LIVELIHOOD",
        None,
        "経済・生活",
        "Money and daily living",
        "SENSITIVE",
        "LIVELIHOOD",
    ),
    (
        "DEBT",
        Some("LIVELIHOOD"),
        "債務",
        "Debt",
        "SENSITIVE",
        "LIVELIHOOD",
    ),
    (
        "INCOME",
        Some("LIVELIHOOD"),
        "収入・生活費",
        "Income and living costs",
        "SENSITIVE",
        "LIVELIHOOD",
    ),
    ("HOUSING", None, "住まい", "Housing", "NORMAL", "LIVELIHOOD"),
    (
        "WORK_SCHOOL",
        None,
        "就労・学業",
        "Work and school",
        "NORMAL",
        "LIVELIHOOD",
    ),
    ("HEALTH", None, "健康", "Health", "REQUIRES_CARE", "HEALTH"),
    (
        "MENTAL_HEALTH",
        Some("HEALTH"),
        "こころの不調",
        "Mental health",
        "REQUIRES_CARE",
        "HEALTH",
    ),
    (
        "DISABILITY",
        None,
        "障害",
        "Disability",
        "REQUIRES_CARE",
        "HEALTH",
    ),
    (
        "CARE_BURDEN",
        None,
        "ケア負担",
        "Care burden",
        "NORMAL",
        "NARRATIVE",
    ),
    (
        "NURSING_CARE",
        Some("CARE_BURDEN"),
        "介護",
        "Nursing care",
        "NORMAL",
        "NARRATIVE",
    ),
    (
        "DOUBLE_CARE",
        Some("CARE_BURDEN"),
        "ダブルケア",
        "Double care",
        "NORMAL",
        "NARRATIVE",
    ),
    (
        "YOUNG_CARER",
        Some("CARE_BURDEN"),
        "ヤングケアラー",
        "Young carer",
        "SENSITIVE",
        "NARRATIVE",
    ),
    (
        "P8050",
        Some("CARE_BURDEN"),
        "8050",
        "8050 (aged parent, middle-aged child)",
        "SENSITIVE",
        "NARRATIVE",
    ),
    (
        "ROROKAIGO",
        Some("CARE_BURDEN"),
        "老老介護",
        "Elderly caring for elderly",
        "NORMAL",
        "NARRATIVE",
    ),
    (
        "CHILDREN",
        None,
        "子ども・子育て",
        "Children and parenting",
        "NORMAL",
        "NARRATIVE",
    ),
    (
        "ISOLATION",
        None,
        "孤立",
        "Isolation",
        "SENSITIVE",
        "NARRATIVE",
    ),
    (
        "SOCIAL_ISOLATION",
        Some("ISOLATION"),
        "社会的孤立",
        "Social isolation",
        "SENSITIVE",
        "NARRATIVE",
    ),
    (
        "HIKIKOMORI",
        Some("ISOLATION"),
        "ひきこもり",
        "Hikikomori (social withdrawal)",
        "SENSITIVE",
        "NARRATIVE",
    ),
    (
        "RIGHTS",
        None,
        "権利擁護",
        "Rights advocacy",
        "REQUIRES_CARE",
        "CHILD_PROTECTION",
    ),
    (
        "ABUSE",
        Some("RIGHTS"),
        "虐待",
        "Abuse",
        "REQUIRES_CARE",
        "CHILD_PROTECTION",
    ),
    (
        "DV",
        Some("RIGHTS"),
        "DV",
        "Domestic violence",
        "REQUIRES_CARE",
        "CHILD_PROTECTION",
    ),
    ("OTHER", None, "その他", "Other", "NORMAL", "NARRATIVE"),
];

async fn seed_issue_categories(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert.into_table("issue_category").columns([
        "code",
        "parent_code",
        "name_ja",
        "name_en",
        "sensitivity",
        "policy_category",
        "sort_order",
    ]);
    for (i, (code, parent, ja, en, sensitivity, category)) in ISSUE_CATEGORIES.iter().enumerate() {
        insert.values_panic([
            (*code).into(),
            parent.map(|p| p.to_owned()).into(),
            (*ja).into(),
            (*en).into(),
            (*sensitivity).into(),
            (*category).into(),
            ((i as i32 + 1) * 10).into(),
        ]);
    }
    manager.exec_stmt(insert).await
}
