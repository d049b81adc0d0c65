//! The demo's agencies and staff accounts: the city office and its first admin written
//! directly (no API call can create them), every other agency and account through the
//! registry mutations as that admin.

use anyhow::anyhow;
use sea_orm::{ActiveModelTrait, TransactionTrait};
use serde_json::json;

use super::Loader;
use crate::audit::{self, Entry};
use crate::graphql::enums::{AccountKind, LegalRegime};
use crate::policy::{AgencyKind, Role};
use crate::store;
use entity::{account, agency};

/// (code, name, kind, legal regime)
pub(super) const AGENCIES: &[(&str, &str, &str, &str)] = &[
    (
        "city-fukushi",
        "市 福祉政策課 (重層的支援体制整備事業 所管)",
        "CITY_OFFICE",
        "PUBLIC_BODY",
    ),
    (
        "city-takikan",
        "市 福祉相談課 多機関協働担当",
        "MULTI_AGENCY",
        "PUBLIC_BODY",
    ),
    (
        "houkatsu-chuo",
        "中央地域包括支援センター",
        "COMPREHENSIVE_CARE",
        "PRIVATE_OPERATOR",
    ),
    (
        "nikokoro",
        "障害者相談支援センターにこころ",
        "DISABILITY",
        "PRIVATE_OPERATOR",
    ),
    (
        "kodomo-katei",
        "こども家庭センター",
        "CHILD_FAMILY",
        "PUBLIC_BODY",
    ),
    (
        "kurashi",
        "鶴岡地域生活自立支援センター くらしステーション",
        "SELF_RELIANCE",
        "PRIVATE_OPERATOR",
    ),
    (
        "shakyo-seikatsu",
        "社会福祉協議会 生活支援コーディネーター",
        "COMMUNITY_BUILDING",
        "PRIVATE_OPERATOR",
    ),
    (
        "sho-chiiki-kakeru",
        "障がい者地域生活支援センター翔",
        "COMMUNITY_BUILDING",
        "PRIVATE_OPERATOR",
    ),
];

/// (login, display name, agency code, kind, roles)
pub(super) const ACCOUNTS: &[(&str, &str, &str, &str, &str)] = &[
    ("admin", "管理者 佐々木", "city-fukushi", "STAFF", "admin"),
    ("auditor", "監査 村上", "city-fukushi", "STAFF", "auditor"),
    ("analyst", "分析 石川", "city-fukushi", "STAFF", "analyst"),
    (
        "takikan-coord",
        "多機関協働 阿部",
        "city-takikan",
        "STAFF",
        "coordinator",
    ),
    (
        "houkatsu-cw",
        "包括 相談員 高橋",
        "houkatsu-chuo",
        "STAFF",
        "caseworker",
    ),
    (
        "nikokoro-cw",
        "にこころ 相談員 伊藤",
        "nikokoro",
        "STAFF",
        "caseworker",
    ),
    (
        "kodomo-cw",
        "こども家庭 相談員 渡辺",
        "kodomo-katei",
        "STAFF",
        "caseworker",
    ),
    (
        "kurashi-cw",
        "くらし 相談員 中村",
        "kurashi",
        "STAFF",
        "caseworker",
    ),
    (
        "kurashi-system",
        "くらしステーション 相談記録システム",
        "kurashi",
        "SERVICE",
        "integration",
    ),
    (
        "shakyo-lsc",
        "生活支援コーディネーター 小林",
        "shakyo-seikatsu",
        "STAFF",
        "life_support_coordinator",
    ),
];

/// The city office and its first admin: the only rows no API call can create (every
/// registry mutation needs an admin). Written with their ledger row in one transaction,
/// from the API's own enums.
pub(super) async fn bootstrap(l: &mut Loader<'_>) -> anyhow::Result<()> {
    let (code, name, kind, regime) = AGENCIES[0];
    let (login, display, _, _, roles) = ACCOUNTS[0];
    let now = audit::now_micros();
    let kind = AgencyKind::parse(kind).ok_or_else(|| anyhow!("agency kind {kind}"))?;
    let regime = match regime {
        "PUBLIC_BODY" => LegalRegime::PublicBody,
        _ => LegalRegime::PrivateOperator,
    };
    let city = agency::Model {
        id: store::new_id(),
        code: code.to_owned(),
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        legal_regime: regime.as_str().to_owned(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let admin = account::Model {
        id: store::new_id(),
        login: login.to_owned(),
        display_name: display.to_owned(),
        agency_id: city.id.clone(),
        kind: AccountKind::Staff.as_str().to_owned(),
        roles: Role::format_set(&Role::parse_set(roles)),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let txn = l.db.begin().await?;
    agency::ActiveModel::from(city.clone()).insert(&txn).await?;
    account::ActiveModel::from(admin.clone())
        .insert(&txn)
        .await?;
    audit::append(
        &txn,
        vec![Entry {
            roles: String::new(),
            action: "WRITE",
            operation: "loadDemo".to_owned(),
            record_type: "demo".to_owned(),
            bases: json!({}),
            detail: json!({"bootstrap": {"agency": code, "account": login}, "agencies": AGENCIES.len(), "accounts": ACCOUNTS.len()}),
            ..Entry::default()
        }],
    )
    .await?;
    txn.commit().await?;
    l.agencies.insert(code.to_owned(), city.id);
    Ok(())
}

/// The other agencies and accounts, created by the admin through the registry mutations.
pub(super) async fn registry(l: &mut Loader<'_>) -> anyhow::Result<()> {
    for (code, name, kind, regime) in &AGENCIES[1..] {
        let id = l
            .create(
                "admin",
                "mutation DemoAgency($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
                "createAgency",
                json!({ "i": { "code": code, "name": name, "kind": kind, "legalRegime": regime } }),
            )
            .await?;
        l.agencies.insert((*code).to_owned(), id);
    }
    for (login, display, code, kind, roles) in &ACCOUNTS[1..] {
        let roles: Vec<String> = roles.split(',').map(str::to_uppercase).collect();
        let agency_id = l.agency(code)?;
        l.create(
                "admin",
                "mutation DemoAccount($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
                "createAccount",
                json!({ "i": { "login": login, "displayName": display, "agencyId": agency_id, "kind": kind, "roles": roles } }),
            )
            .await?;
    }
    Ok(())
}
