//! Tests of the FHIR Consent mapping: every field of our model survives export and import,
//! and a resource our model cannot hold is refused at the element at fault.

use serde_json::{json, Value};

use super::*;
use crate::fhir::consent::{to_fhir, AgencyView, ConsentView, RefView};

const AGENCY: &str = "0c8a3c3e-0000-4000-8000-000000000001";
const OTHER: &str = "0c8a3c3e-0000-4000-8000-000000000002";
const PERSON: &str = "0c8a3c3e-0000-4000-8000-0000000000aa";

fn view(proxy: bool, withdrawn: bool) -> ConsentView {
    ConsentView {
        id: "0c8a3c3e-0000-4000-8000-0000000000cc".into(),
        version: 2,
        external_refs: vec![RefView {
            system: "kaigo-v3".into(),
            external_id: "C-001".into(),
        }],
        person_id: PERSON.into(),
        given_by: if proxy { "PROXY" } else { "SELF" }.into(),
        proxy_name: proxy.then(|| "鶴岡 花子".into()),
        proxy_relationship: proxy.then(|| "成年後見人".into()),
        categories: vec!["IDENTITY".into(), "HEALTH".into()],
        recipient_agencies: vec![AgencyView {
            id: OTHER.into(),
            code: "nikokoro".into(),
            name: "にこころ".into(),
        }],
        recipient_agency_kinds: vec!["CHILD_FAMILY".into()],
        purpose: "SUPPORT".into(),
        valid_from: "2024-04-01T00:00:00Z".into(),
        valid_until: Some("2025-03-31T15:00:00Z".into()),
        method: "ORAL_WITH_WITNESS".into(),
        evidence_ref: Some("同意書 001".into()),
        explanation_version: Some("v2".into()),
        recorded_by: "0c8a3c3e-0000-4000-8000-0000000000dd".into(),
        recorded_agency: AgencyView {
            id: AGENCY.into(),
            code: "city".into(),
            name: "市".into(),
        },
        recorded_at: "2024-03-31T16:00:00.123456Z".into(),
        withdrawn_at: withdrawn.then(|| "2024-06-01T01:02:03.5Z".into()),
        withdrawn_by: withdrawn.then(|| "0c8a3c3e-0000-4000-8000-0000000000ee".into()),
        withdrawal_reason: withdrawn.then(|| "本人の申出".into()),
    }
}

fn import(r: &Value) -> Imported {
    from_fhir(r, AGENCY).unwrap_or_else(|e| panic!("refused: {e:?}"))
}

fn refused(r: &Value) -> Refusal {
    match from_fhir(r, AGENCY) {
        Ok(i) => panic!("accepted: {i:?}"),
        Err(e) => e,
    }
}

#[test]
fn export_shape() {
    let r = to_fhir(&view(true, true));
    assert_eq!(r["resourceType"], "Consent");
    assert_eq!(r["status"], "inactive");
    assert_eq!(r["decision"], "permit");
    assert_eq!(r["subject"]["reference"], format!("Patient/{PERSON}"));
    assert_eq!(r["grantor"][0]["reference"], "#proxy");
    assert_eq!(r["contained"][0]["resourceType"], "RelatedPerson");
    assert_eq!(r["contained"][0]["relationship"][0]["text"], "成年後見人");
    assert_eq!(r["identifier"][0]["value"], "C-001");
    assert_eq!(r["meta"]["versionId"], "2");
    // 2024-03-31T16:00Z is 2024-04-01 in Tokyo.
    assert_eq!(r["date"], "2024-04-01");
    assert_eq!(r["provision"][0]["securityLabel"][1]["code"], "HEALTH");
    assert_eq!(
        r["provision"][0]["actor"][1]["reference"]["identifier"]["value"],
        "CHILD_FAMILY"
    );
    assert_eq!(
        r["grantee"],
        json!([
            r["provision"][0]["actor"][0]["reference"],
            r["provision"][0]["actor"][1]["reference"]
        ])
    );
    assert_eq!(
        r["controller"][0]["reference"],
        format!("Organization/{AGENCY}")
    );
    let own = to_fhir(&view(false, false));
    assert_eq!(own["status"], "active");
    assert_eq!(own["grantor"][0]["reference"], format!("Patient/{PERSON}"));
    assert!(own.get("contained").is_none());
}

#[test]
fn round_trip_holds_every_field() {
    for (proxy, withdrawn) in [(false, false), (true, false), (false, true), (true, true)] {
        let v = view(proxy, withdrawn);
        let i = import(&to_fhir(&v));
        let input = &i.input;
        assert_eq!(input["personId"], PERSON);
        assert_eq!(input["givenBy"], v.given_by);
        assert_eq!(
            input.get("proxyName").and_then(Value::as_str),
            v.proxy_name.as_deref()
        );
        assert_eq!(
            input.get("proxyRelationship").and_then(Value::as_str),
            v.proxy_relationship.as_deref()
        );
        assert_eq!(input["categories"], json!(v.categories));
        assert_eq!(input["recipientAgencyIds"], json!([OTHER]));
        assert_eq!(input["recipientAgencyKinds"], json!(["CHILD_FAMILY"]));
        assert_eq!(input["purpose"], "SUPPORT");
        assert_eq!(input["validFrom"], v.valid_from);
        assert_eq!(input["validUntil"], json!(v.valid_until));
        assert_eq!(input["method"], v.method);
        assert_eq!(input["evidenceRef"], json!(v.evidence_ref));
        assert_eq!(input["explanationVersion"], json!(v.explanation_version));
        assert_eq!(i.reference, Some(("kaigo-v3".into(), "C-001".into())));
        match (&i.withdrawal, withdrawn) {
            (Some(w), true) => {
                assert_eq!(w.at.to_rfc3339(), "2024-06-01T01:02:03.500+00:00");
                assert_eq!(Some(w.by.clone()), v.withdrawn_by);
                assert_eq!(w.reason, v.withdrawal_reason);
            }
            (None, false) => {}
            other => panic!("withdrawal {other:?}"),
        }
    }
}

#[test]
fn minimal_self_consent_without_optional_elements() {
    let mut v = view(false, false);
    v.valid_until = None;
    v.evidence_ref = None;
    v.explanation_version = None;
    v.external_refs.clear();
    let i = import(&to_fhir(&v));
    assert!(i.input.get("validUntil").is_none());
    assert!(i.input.get("evidenceRef").is_none());
    assert_eq!(i.reference, None);
}

/// Each edit makes the resource one our model cannot hold; the refusal names the element.
#[test]
fn refusals_name_the_element() {
    let base = to_fhir(&view(true, false));
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "Consent.decision",
            Box::new(|r| r["decision"] = json!("deny")),
        ),
        (
            "Consent.decision",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("decision");
            }),
        ),
        ("Consent.status", Box::new(|r| r["status"] = json!("draft"))),
        (
            "Consent.status",
            Box::new(|r| r["status"] = json!("inactive")),
        ),
        (
            "Consent.provision[0].provision",
            Box::new(|r| r["provision"][0]["provision"] = json!([{ "purpose": [] }])),
        ),
        (
            "Consent.provision[0].action",
            Box::new(|r| r["provision"][0]["action"] = json!([{ "text": "access" }])),
        ),
        (
            "Consent.provision[1]",
            Box::new(|r| {
                let p = r["provision"][0].clone();
                r["provision"].as_array_mut().unwrap().push(p);
            }),
        ),
        (
            "Consent.provision[0].securityLabel[0].code",
            Box::new(|r| r["provision"][0]["securityLabel"][0]["code"] = json!("GENOME")),
        ),
        (
            "Consent.provision[0].securityLabel[0].system",
            Box::new(|r| {
                r["provision"][0]["securityLabel"][0]["system"] =
                    json!("http://terminology.hl7.org/CodeSystem/v3-ActCode")
            }),
        ),
        (
            "Consent.provision[0].purpose[0].code",
            Box::new(|r| r["provision"][0]["purpose"][0]["code"] = json!("MARKETING")),
        ),
        (
            "Consent.provision[0].actor[0].role",
            Box::new(|r| {
                r["provision"][0]["actor"][0]["role"]["coding"][0]["code"] = json!("PRCP")
            }),
        ),
        (
            "Consent.provision[0].actor[1].reference.identifier.value",
            Box::new(|r| {
                r["provision"][0]["actor"][1]["reference"]["identifier"]["value"] = json!("SCHOOL")
            }),
        ),
        (
            "Consent.provision[0].actor[0].reference.reference",
            Box::new(|r| {
                r["provision"][0]["actor"][0]["reference"]["reference"] = json!("Practitioner/x")
            }),
        ),
        (
            "Consent.period.start",
            Box::new(|r| {
                r["period"].as_object_mut().unwrap().remove("start");
            }),
        ),
        (
            "Consent.period.start",
            Box::new(|r| r["period"]["start"] = json!("2024-04")),
        ),
        (
            "Consent.category",
            Box::new(|r| r["category"] = json!([{ "text": "privacy" }])),
        ),
        (
            "Consent.modifierExtension",
            Box::new(|r| {
                r["modifierExtension"] = json!([{ "url": "urn:x", "valueBoolean": true }])
            }),
        ),
        (
            "Consent.extension[0]",
            Box::new(|r| r["extension"][0]["url"] = json!("urn:x:unknown")),
        ),
        (
            "Consent.extension",
            Box::new(|r| {
                r["extension"].as_array_mut().unwrap().remove(0);
            }),
        ),
        (
            "Consent.grantee",
            Box::new(|r| {
                r["grantee"].as_array_mut().unwrap().pop();
            }),
        ),
        ("Consent.grantor", Box::new(|r| r["grantor"] = json!([]))),
        (
            "Consent.grantor[0].reference",
            Box::new(|r| r["grantor"][0]["reference"] = json!("Organization/x")),
        ),
        (
            "Consent.contained[0].relationship[0].coding",
            Box::new(|r| {
                r["contained"][0]["relationship"][0]["coding"] = json!([{ "code": "GUARD" }])
            }),
        ),
        (
            "Consent.controller[0]",
            Box::new(|r| r["controller"][0]["reference"] = json!(format!("Organization/{OTHER}"))),
        ),
        (
            "Consent.identifier[1]",
            Box::new(|r| {
                r["identifier"] =
                    json!([{ "system": "a", "value": "1" }, { "system": "b", "value": "2" }])
            }),
        ),
        (
            "Consent.subject.reference",
            Box::new(|r| r["subject"]["reference"] = json!("Group/1")),
        ),
        (
            "resourceType",
            Box::new(|r| r["resourceType"] = json!("Contract")),
        ),
        (
            "Consent.meta.security",
            Box::new(|r| r["meta"]["security"] = json!([{ "code": "R" }])),
        ),
    ];
    for (path, edit) in cases {
        let mut r = base.clone();
        edit(&mut r);
        let e = refused(&r);
        assert_eq!(e.path, path, "{r}");
        assert!(e.reason.contains(" / "), "bilingual: {}", e.reason);
    }
}

#[test]
fn graphql_fields_map_back_to_elements() {
    let i = import(&to_fhir(&view(true, false)));
    assert_eq!(i.path_for("input.validUntil"), "Consent.period.end");
    assert_eq!(
        i.path_for("input.recipientAgencyIds.0"),
        "Consent.provision[0].actor[0].reference"
    );
    assert_eq!(i.path_for("input.personId"), "Consent.subject.reference");
    assert_eq!(i.path_for("input.proxyName"), "Consent.contained[0].name");
    assert_eq!(i.path_for("ref.system"), "Consent.identifier[0].system");
    assert_eq!(i.path_for("input.unknown"), "Consent");
}
