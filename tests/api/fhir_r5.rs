//! The published R5 definitions a resource is checked against (tests/fixtures/fhir/, see its
//! README): the JSON schema (structure, datatypes, unknown elements) through the
//! `jsonschema` crate, and what the schema does not say, from the StructureDefinition of
//! Consent: every element's cardinality (min and max, array or not) and the codes of its
//! required bindings (status, decision) from the shipped CodeSystems.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The R5 JSON schema (Consent, RelatedPerson, OperationOutcome, Bundle).
pub fn schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(&fixture("fhir.consent.schema.json")).unwrap())
}

struct Element {
    min: u64,
    /// None: unbounded (`*`).
    max: Option<u64>,
    /// The codes of a required binding, when it has one.
    codes: Option<BTreeSet<String>>,
    /// `#Consent.provision` for the recursive `Consent.provision.provision`.
    content_reference: Option<String>,
}

/// Consent's elements by path, from the StructureDefinition's snapshot.
fn elements() -> &'static BTreeMap<String, Element> {
    static E: OnceLock<BTreeMap<String, Element>> = OnceLock::new();
    E.get_or_init(|| {
        // The CodeSystems of the required bindings we ship (ValueSet url → its CodeSystem).
        let mut systems = BTreeMap::new();
        for f in [
            "CodeSystem-consent-state-codes.json",
            "CodeSystem-consent-provision-type.json",
        ] {
            let cs = fixture(f);
            let codes: BTreeSet<String> = cs["concept"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["code"].as_str().unwrap().to_owned())
                .collect();
            let vs = cs["url"]
                .as_str()
                .unwrap()
                .replace("/fhir/", "/fhir/ValueSet/");
            systems.insert(vs, codes);
        }
        let sd = fixture("StructureDefinition-Consent.json");
        assert_eq!(sd["fhirVersion"], "5.0.0");
        sd["snapshot"]["element"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let required = e["binding"]["strength"] == "required";
                let vs = e["binding"]["valueSet"].as_str().unwrap_or("");
                let vs = vs.split('|').next().unwrap_or("");
                let codes = required.then(|| {
                    // An unshipped required binding holds no code: any use of it fails.
                    systems.get(vs).cloned().unwrap_or_default()
                });
                let max = e["max"].as_str().unwrap();
                (
                    e["path"].as_str().unwrap().to_owned(),
                    Element {
                        min: e["min"].as_u64().unwrap(),
                        max: (max != "*").then(|| max.parse().unwrap()),
                        codes,
                        content_reference: e["contentReference"]
                            .as_str()
                            .map(|r| r.trim_start_matches('#').to_owned()),
                    },
                )
            })
            .collect()
    })
}

/// What is wrong with this Consent by the StructureDefinition (empty: nothing).
pub fn check_consent(r: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    walk(r, "Consent", "Consent", &mut problems);
    problems
}

/// Check the object at `shown` (an instance path) whose definition is at `def`.
fn walk(v: &Value, def: &str, shown: &str, problems: &mut Vec<String>) {
    let Some(o) = v.as_object() else {
        problems.push(format!("{shown}: not an object"));
        return;
    };
    let els = elements();
    for (path, e) in els.range(format!("{def}.")..) {
        let Some(name) = path.strip_prefix(&format!("{def}.")) else {
            break;
        };
        if name.contains('.') {
            continue;
        }
        let here = format!("{shown}.{name}");
        let items: Vec<&Value> = match o.get(name) {
            None => vec![],
            Some(Value::Array(a)) => {
                if e.max == Some(1) {
                    problems.push(format!("{here}: an array where at most one is allowed"));
                }
                a.iter().collect()
            }
            Some(one) => {
                if e.max != Some(1) {
                    problems.push(format!("{here}: must be an array (max *)"));
                }
                vec![one]
            }
        };
        let n = items.len() as u64;
        if n < e.min || e.max.is_some_and(|m| n > m) {
            problems.push(format!(
                "{here}: {n} present, cardinality {}..{:?}",
                e.min, e.max
            ));
        }
        if let Some(codes) = &e.codes {
            for item in &items {
                if !item.as_str().is_some_and(|c| codes.contains(c)) {
                    problems.push(format!("{here}: {item} is not in its required value set"));
                }
            }
        }
        // A backbone element (it has elements of its own): check each occurrence.
        let target = e.content_reference.clone().unwrap_or_else(|| path.clone());
        let backbone = els.keys().any(|k| {
            k.strip_prefix(&format!("{target}."))
                .is_some_and(|rest| !["id", "extension", "modifierExtension"].contains(&rest))
        });
        if backbone {
            for (i, item) in items.iter().enumerate() {
                walk(item, &target, &format!("{here}[{i}]"), problems);
            }
        }
    }
    for k in o.keys() {
        let known = k == "resourceType" && def == "Consent"
            || els.contains_key(&format!("{def}.{k}"))
            || k.starts_with('_') && els.contains_key(&format!("{def}.{}", &k[1..]));
        if !known {
            problems.push(format!("{shown}.{k}: no such element in R5 Consent"));
        }
    }
}

/// Panics unless `resource` is valid R5 JSON, and, if a Consent, fits its
/// StructureDefinition; FHIR_DUMP_DIR=dir also writes it there.
pub fn assert_valid(resource: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(resource)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid R5 JSON: {errors:#?}\n{resource:#}"
    );
    let consents: Vec<&Value> = match resource["resourceType"].as_str() {
        Some("Consent") => vec![resource],
        Some("Bundle") => resource["entry"]
            .as_array()
            .map(|e| e.iter().map(|e| &e["resource"]).collect())
            .unwrap_or_default(),
        _ => vec![],
    };
    for c in consents {
        let problems = check_consent(c);
        assert!(
            problems.is_empty(),
            "not an R5 Consent: {problems:#?}\n{c:#}"
        );
    }
    if let Ok(dir) = std::env::var("FHIR_DUMP_DIR") {
        let kind = resource["resourceType"].as_str().unwrap_or("x");
        let name = format!("{kind}-{}.json", uuid::Uuid::new_v4());
        std::fs::write(std::path::Path::new(&dir).join(name), resource.to_string()).unwrap();
    }
}

/// The checks can fail: a wrong code, a missing required element, a wrong cardinality, an
/// unknown element are each caught.
pub fn assert_checks_bite(good: &Value) {
    let mut bad = good.clone();
    bad["status"] = "withdrawn".into();
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad["decision"] = "maybe".into();
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("status");
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad["period"] = Value::Array(vec![good["period"].clone()]);
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad["provision"][0]["provision"] = serde_json::json!([{ "actorz": [] }]);
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad["withdrawnAt"] = "2024-01-01".into();
    assert!(!schema().is_valid(&bad));
    assert!(!check_consent(&bad).is_empty());
    let mut bad = good.clone();
    bad["subject"] = "Patient/1".into();
    assert!(!schema().is_valid(&bad));
}
