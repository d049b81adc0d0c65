//! FHIR R5 (5.0.0) representations of Tsunagi records: pure mappings, no database, no policy.
//! The HTTP routes that use them are in [`crate::http::fhir`]; they read and write through the
//! GraphQL layer's own functions, so who may see or record what, and what is ledgered, is the
//! same code as for `consents(personId:)` and `recordConsent` / `upsertConsent`.
//!
//! [`consent`] maps a consent to an R5 `Consent` resource and back ([`consent_import`]); the
//! mapping table is in README §14.1 and in [`consent`]'s documentation.

pub mod consent;
pub mod consent_import;
mod read;

use serde_json::{json, Value};

/// The FHIR version the resources follow.
pub const FHIR_VERSION: &str = "5.0.0";
/// The media type of FHIR JSON.
pub const MEDIA_TYPE: &str = "application/fhir+json";

/// Code systems and extension URLs of Tsunagi (no official system carries these exactly).
pub mod uri {
    /// Our information categories (IDENTITY … PLAN): `provision.securityLabel`.
    pub const CATEGORY: &str = "urn:tsunagi:category";
    /// Our purposes (SUPPORT, EVALUATION): `provision.purpose`.
    pub const PURPOSE: &str = "urn:tsunagi:purpose";
    /// Agency kinds as recipient identifiers: `provision.actor.reference.identifier`.
    pub const AGENCY_KIND: &str = "urn:tsunagi:agency-kind";
    /// How the consent was obtained (WRITTEN, ORAL_WITH_WITNESS, ELECTRONIC).
    pub const EXT_METHOD: &str = "urn:tsunagi:fhir:StructureDefinition:consent-method";
    /// The version of the explanation given to the person.
    pub const EXT_EXPLANATION: &str =
        "urn:tsunagi:fhir:StructureDefinition:consent-explanation-version";
    /// The withdrawal stamp (sub-extensions `at`, `by`, `reason`).
    pub const EXT_WITHDRAWAL: &str = "urn:tsunagi:fhir:StructureDefinition:consent-withdrawal";
    /// The hub's recording stamp (sub-extensions `at`, `by`): export only.
    pub const EXT_RECORDED: &str = "urn:tsunagi:fhir:StructureDefinition:consent-recorded";
    /// HL7 v3 ParticipationType: IRCP (information recipient), the role of every actor.
    pub const PARTICIPATION_TYPE: &str =
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
    /// The error codes of the hub (`OperationOutcome.issue.details`).
    pub const ERROR_CODE: &str = "urn:tsunagi:error";
}

/// A resource our model cannot represent, or one that is malformed: the FHIRPath-like
/// location of the element at fault and the reason ("日本語 / English").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub reason: String,
}

impl Refusal {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Refusal {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// An `OperationOutcome` with one error issue. `code` is the FHIR issue type (invalid,
/// not-supported, not-found, forbidden, conflict, login, throttled, exception …), `ours` the
/// hub's error code (BAD_USER_INPUT …), `path` the element at fault, if any.
pub fn outcome(code: &str, ours: &str, diagnostics: &str, path: Option<&str>) -> Value {
    let mut issue = json!({
        "severity": "error",
        "code": code,
        "details": {
            "coding": [{ "system": uri::ERROR_CODE, "code": ours }],
            "text": diagnostics,
        },
        "diagnostics": diagnostics,
    });
    if let (Some(p), Some(i)) = (path, issue.as_object_mut()) {
        i.insert("expression".into(), json!([p]));
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}

/// A searchset `Bundle` of these resources.
pub fn searchset(resources: Vec<Value>) -> Value {
    let total = resources.len();
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "resource": r, "search": { "mode": "match" } }))
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": total, "entry": entry })
}
