//! A consent as an R5 `Consent` resource (export). The inverse is [`super::consent_import`].
//!
//! | our consent | R5 Consent |
//! | --- | --- |
//! | id / version | `id` / `meta.versionId` |
//! | the caller's agency's external references | `identifier[]` (`system`, `value`) |
//! | not withdrawn / withdrawn | `status` `active` / `inactive` (+ withdrawal extension) |
//! | (every consent permits) | `decision` `permit` |
//! | person | `subject` `Patient/{personId}` |
//! | valid from / until | `period.start` / `period.end` |
//! | given by SELF | `grantor` `Patient/{personId}` |
//! | given by PROXY, name, relationship | `grantor` `#proxy`: a contained `RelatedPerson` (`name.text`, `relationship.text`, `patient`) |
//! | recipient agency | `grantee[]` and `provision[0].actor[]` (role v3-ParticipationType IRCP), `Organization/{agencyId}` |
//! | recipient agency kind | the same, as `{type: Organization, identifier: urn:tsunagi:agency-kind|KIND}` |
//! | categories | `provision[0].securityLabel[]`, system `urn:tsunagi:category` |
//! | purpose | `provision[0].purpose[0]`, system `urn:tsunagi:purpose` |
//! | method | extension `…:consent-method` (`valueCode`) |
//! | evidence reference | `sourceReference[0].display` |
//! | explanation version | extension `…:consent-explanation-version` (`valueString`) |
//! | withdrawn at / by / reason | extension `…:consent-withdrawal` (`at` valueDateTime, `by` valueString, `reason` valueString) |
//! | recorded agency | `controller[0]` `Organization/{agencyId}` |
//! | recorded at / by | `date` (its day in Asia/Tokyo) and extension `…:consent-recorded` (`at`, `by`) |

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::uri;

/// The GraphQL selection of a `Consent` this mapping reads ([`ConsentView`]).
pub const SELECTION: &str = "id version externalRefs { system externalId } personId givenBy \
    proxyName proxyRelationship categories recipientAgencies { id code name } \
    recipientAgencyKinds purpose validFrom validUntil method evidenceRef explanationVersion \
    recordedBy recordedAgency { id code name } recordedAt withdrawnAt withdrawnBy \
    withdrawalReason";

/// A consent as the GraphQL layer shows it to the caller ([`SELECTION`], camelCase).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    pub id: String,
    pub version: i64,
    #[serde(default)]
    pub external_refs: Vec<RefView>,
    pub person_id: String,
    pub given_by: String,
    pub proxy_name: Option<String>,
    pub proxy_relationship: Option<String>,
    pub categories: Vec<String>,
    pub recipient_agencies: Vec<AgencyView>,
    pub recipient_agency_kinds: Vec<String>,
    pub purpose: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub method: String,
    pub evidence_ref: Option<String>,
    pub explanation_version: Option<String>,
    pub recorded_by: String,
    pub recorded_agency: AgencyView,
    pub recorded_at: String,
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdrawal_reason: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RefView {
    pub system: String,
    pub external_id: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct AgencyView {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// The id of the contained proxy (`RelatedPerson`).
pub const PROXY_ID: &str = "proxy";

/// `Patient/{id}`.
pub fn patient_ref(person_id: &str) -> String {
    format!("Patient/{person_id}")
}

/// The reference to a recipient agency.
pub fn agency_reference(a: &AgencyView) -> Value {
    json!({ "reference": format!("Organization/{}", a.id), "display": format!("{} ({})", a.code, a.name) })
}

/// The reference to any agency of a kind (a logical reference by identifier).
pub fn kind_reference(kind: &str) -> Value {
    json!({
        "type": "Organization",
        "identifier": { "system": uri::AGENCY_KIND, "value": kind },
        "display": format!("種別 {kind} の機関 / any agency of kind {kind}"),
    })
}

/// The role of every provision actor: information recipient.
pub fn recipient_role() -> Value {
    json!({ "coding": [{ "system": uri::PARTICIPATION_TYPE, "code": "IRCP", "display": "information recipient" }] })
}

/// The consent as an R5 `Consent` resource.
pub fn to_fhir(c: &ConsentView) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Consent"));
    r.insert("id".into(), json!(c.id));
    r.insert("meta".into(), json!({ "versionId": c.version.to_string() }));
    let proxy = c.given_by == "PROXY";
    if proxy {
        let mut rp = json!({
            "resourceType": "RelatedPerson",
            "id": PROXY_ID,
            "patient": { "reference": patient_ref(&c.person_id) },
        });
        if let Some(o) = rp.as_object_mut() {
            if let Some(rel) = &c.proxy_relationship {
                o.insert("relationship".into(), json!([{ "text": rel }]));
            }
            if let Some(name) = &c.proxy_name {
                o.insert("name".into(), json!([{ "text": name }]));
            }
        }
        r.insert("contained".into(), json!([rp]));
    }
    let mut ext = vec![json!({ "url": uri::EXT_METHOD, "valueCode": c.method })];
    if let Some(v) = &c.explanation_version {
        ext.push(json!({ "url": uri::EXT_EXPLANATION, "valueString": v }));
    }
    if let Some(at) = &c.withdrawn_at {
        let mut parts = vec![json!({ "url": "at", "valueDateTime": at })];
        if let Some(by) = &c.withdrawn_by {
            parts.push(json!({ "url": "by", "valueString": by }));
        }
        if let Some(reason) = &c.withdrawal_reason {
            parts.push(json!({ "url": "reason", "valueString": reason }));
        }
        ext.push(json!({ "url": uri::EXT_WITHDRAWAL, "extension": parts }));
    }
    ext.push(json!({ "url": uri::EXT_RECORDED, "extension": [
        { "url": "at", "valueDateTime": c.recorded_at },
        { "url": "by", "valueString": c.recorded_by },
    ]}));
    r.insert("extension".into(), Value::Array(ext));
    if !c.external_refs.is_empty() {
        let ids: Vec<Value> = c
            .external_refs
            .iter()
            .map(|x| json!({ "system": x.system, "value": x.external_id }))
            .collect();
        r.insert("identifier".into(), Value::Array(ids));
    }
    let status = if c.withdrawn_at.is_some() {
        "inactive"
    } else {
        "active"
    };
    r.insert("status".into(), json!(status));
    r.insert(
        "subject".into(),
        json!({ "reference": patient_ref(&c.person_id) }),
    );
    if let Some(day) = tokyo_day(&c.recorded_at) {
        r.insert("date".into(), json!(day));
    }
    let mut period = Map::new();
    period.insert("start".into(), json!(c.valid_from));
    if let Some(end) = &c.valid_until {
        period.insert("end".into(), json!(end));
    }
    r.insert("period".into(), Value::Object(period));
    let grantor = if proxy {
        format!("#{PROXY_ID}")
    } else {
        patient_ref(&c.person_id)
    };
    r.insert("grantor".into(), json!([{ "reference": grantor }]));
    let recipients: Vec<Value> = c
        .recipient_agencies
        .iter()
        .map(agency_reference)
        .chain(c.recipient_agency_kinds.iter().map(|k| kind_reference(k)))
        .collect();
    r.insert("grantee".into(), Value::Array(recipients.clone()));
    r.insert(
        "controller".into(),
        json!([agency_reference(&c.recorded_agency)]),
    );
    if let Some(e) = &c.evidence_ref {
        r.insert("sourceReference".into(), json!([{ "display": e }]));
    }
    r.insert("decision".into(), json!("permit"));
    let actors: Vec<Value> = recipients
        .into_iter()
        .map(|reference| json!({ "role": recipient_role(), "reference": reference }))
        .collect();
    let labels: Vec<Value> = c
        .categories
        .iter()
        .map(|k| json!({ "system": uri::CATEGORY, "code": k }))
        .collect();
    r.insert(
        "provision".into(),
        json!([{
            "actor": actors,
            "purpose": [{ "system": uri::PURPOSE, "code": c.purpose }],
            "securityLabel": labels,
        }]),
    );
    Value::Object(r)
}

/// The day (YYYY-MM-DD) of an RFC 3339 instant in Asia/Tokyo.
fn tokyo_day(instant: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(instant).ok()?;
    let jst = chrono::FixedOffset::east_opt(9 * 3600)?;
    Some(t.with_timezone(&jst).format("%Y-%m-%d").to_string())
}
