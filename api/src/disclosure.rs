//! 開示請求: the person's disclosure report (個人情報保護法 第76条以下). For one person,
//! everything the hub holds ([`crate::store::disclosure::gather`]) and the ledger of who saw
//! it, third parties masked ([`build`]), as a typed object ([`report`]: GraphQL
//! `disclosureReport` and the JSON of `GET /disclosure/{personId}`) or a printable A4 page
//! ([`html`]).
//!
//! The answer is for the person, so it does not pass the agency-by-agency policy
//! (`policy::decide`): it is a privileged production of its own, allowed by
//! `policy::Action::Disclose` (admins only) and ledgered as one READ row ([`produce`]).

pub mod build;
pub mod html;
pub mod report;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::Principal;
pub use report::DisclosureReport;

/// The operation name of the production's ledger row (on both routes).
pub const OPERATION: &str = "disclosureReport";
/// The basis the production's ledger row records for every category it produced.
pub const BASIS: &str = "DISCLOSURE";

/// The report on `person_id` and the one ledger entry that records its production by
/// `principal` (the caller appends it before the report leaves). None: no such person. The
/// caller has checked `Action::Disclose`.
pub async fn produce<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    person_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<(DisclosureReport, Entry)>> {
    let Some(holdings) = crate::store::disclosure::gather(db, person_id).await? else {
        return Ok(None);
    };
    let report = build::report(&holdings, now);
    let bases: serde_json::Map<String, serde_json::Value> = report
        .categories
        .iter()
        .map(|c| (c.clone(), serde_json::json!([BASIS])))
        .collect();
    let entry = Entry {
        action: "READ",
        operation: OPERATION.to_owned(),
        record_type: "disclosure_report".to_owned(),
        record_id: Some(person_id.to_owned()),
        subject_person_id: Some(person_id.to_owned()),
        shown: report.categories.clone(),
        bases: serde_json::Value::Object(bases),
        detail: serde_json::json!({
            "categories": report.categories,
            "legalBasis": "個人情報保護法第76条",
            "records": {
                "households": report.households.len(),
                "consultations": report.consultations.len(),
                "referrals": report.referrals.len(),
                "consents": report.consents.len(),
                "cases": report.cases.len(),
                "meetings": report.meetings.len(),
                "activities": report.activities.len(),
                "placements": report.placements.len(),
                "emergencyAccesses": report.emergency_accesses.len(),
                "linkedRecords": report.linked_records.len(),
            },
            "ledgerRows": report.access_log.len(),
            "alert": "DISCLOSURE_PRODUCED",
        }),
        ..Entry::by(principal)
    };
    Ok(Some((report, entry)))
}
