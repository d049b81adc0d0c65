//! FHIR R5 Consent (issue 16, item 5) through the real HTTP API: a consent recorded through
//! GraphQL is exported as a `Consent` that validates against the published R5 JSON schema
//! (tests/fixtures/fhir/), imported again under another reference, and exported equal but for
//! its ids; a withdrawn one keeps its stamp; a resource our model cannot hold is refused at its
//! element and writes nothing; another agency sees only what `consents(personId:)` shows it;
//! a re-post of the same resource writes nothing new.
//!
//! FHIR_DUMP_DIR=dir writes every resource checked there (to check them with other tools).

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(
    fhir_round_trip_is_lossless_and_valid_r5,
    fhir_withdrawn_consent_round_trip_keeps_the_stamp,
    fhir_unrepresentable_resources_are_refused_and_nothing_is_written,
    fhir_reads_show_what_consents_shows_and_are_ledgered,
    fhir_repost_of_the_same_resource_writes_nothing_new,
);

#[path = "fhir_r5.rs"]
mod r5;
use r5::assert_valid as assert_valid_r5;

struct Answer {
    status: u16,
    body: Value,
    content_type: String,
    location: Option<String>,
}

async fn fhir(srv: &Server, token: &str, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let client = reqwest::Client::new();
    let url = srv.url(path);
    let mut req = match method {
        "POST" => client
            .post(url)
            .header("Content-Type", "application/fhir+json"),
        _ => client.get(url),
    };
    req = req.header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.expect("HTTP");
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    Answer {
        status,
        body,
        content_type,
        location,
    }
}

async fn search(srv: &Server, token: &str, person: &str) -> Answer {
    fhir(
        srv,
        token,
        "GET",
        &format!("/fhir/Consent?patient={person}"),
        None,
    )
    .await
}

/// The Consent resources of a searchset, each checked against the schema.
fn entries(a: &Answer) -> Vec<Value> {
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert!(
        a.content_type.starts_with("application/fhir+json"),
        "{}",
        a.content_type
    );
    assert_valid_r5(&a.body);
    assert_eq!(a.body["type"], "searchset");
    a.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect()
}

/// The resource without what the hub stamps on a record it stores: its id, version,
/// references, recording stamp and day.
fn sans_ids(r: &Value) -> Value {
    let mut r = r.clone();
    let o = r.as_object_mut().unwrap();
    for k in ["id", "meta", "identifier", "date"] {
        o.remove(k);
    }
    if let Some(Value::Array(ext)) = o.get_mut("extension") {
        ext.retain(|e| e["url"] != "urn:tsunagi:fhir:StructureDefinition:consent-recorded");
    }
    r
}

/// The outcome's one issue, checked: FHIR JSON, valid R5, bilingual, at `path`.
fn assert_outcome(a: &Answer, status: u16, path: &str) -> Value {
    assert_eq!(a.status, status, "{:#}", a.body);
    assert!(
        a.content_type.starts_with("application/fhir+json"),
        "{}",
        a.content_type
    );
    assert_eq!(a.body["resourceType"], "OperationOutcome", "{:#}", a.body);
    assert_valid_r5(&a.body);
    let issue = a.body["issue"][0].clone();
    assert_eq!(issue["severity"], "error");
    assert_eq!(issue["expression"], json!([path]), "{:#}", a.body);
    assert!(
        issue["diagnostics"].as_str().unwrap().contains(" / "),
        "bilingual: {issue}"
    );
    issue
}

struct World {
    owner: String,
    cw: String,
    other: String,
    other_cw: String,
    stranger_cw: String,
    person: String,
}

async fn world(srv: &Server) -> World {
    let owner = srv.agency("fhir-own", "SELF_RELIANCE").await;
    let other = srv.agency("fhir-other", "DISABILITY").await;
    let stranger = srv.agency("fhir-stranger", "OUTREACH").await;
    let (_, cw) = srv.account("fhir-cw", &owner, &["caseworker"]).await;
    let (_, other_cw) = srv.account("fhir-other-cw", &other, &["caseworker"]).await;
    let (_, stranger_cw) = srv
        .account("fhir-stranger-cw", &stranger, &["caseworker"])
        .await;
    let person = srv
        .person(&cw, person_input("鶴岡", "一郎", "ツルオカ", "イチロウ"))
        .await;
    World {
        owner,
        cw,
        other,
        other_cw,
        stranger_cw,
        person,
    }
}

/// A proxy consent with every optional field, naming `other` and a kind.
fn full_input(w: &World) -> Value {
    let mut i = consent_input(
        &w.person,
        &["IDENTITY", "HEALTH", "CHILD_PROTECTION"],
        &[&w.other],
        &["CHILD_FAMILY"],
    );
    i["givenBy"] = json!("PROXY");
    i["proxyName"] = json!("鶴岡 花子");
    i["proxyRelationship"] = json!("成年後見人");
    i["validUntil"] = json!((chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339());
    i["method"] = json!("ORAL_WITH_WITNESS");
    i["explanationVersion"] = json!("説明書 v3");
    i
}

const CONSENTS: &str = "query($p: ID!) { consents(personId: $p) { id givenBy proxyName proxyRelationship categories recipientAgencies { id } recipientAgencyKinds purpose validFrom validUntil method evidenceRef explanationVersion withdrawnAt withdrawnBy withdrawalReason state } }";

async fn consents(srv: &Server, token: &str, person: &str) -> Vec<Value> {
    srv.gql(token, CONSENTS, json!({ "p": person })).await.ok()["consents"]
        .as_array()
        .unwrap()
        .clone()
}

fn without_id(mut c: Value) -> Value {
    c.as_object_mut().unwrap().remove("id");
    c
}

async fn fhir_round_trip_is_lossless_and_valid_r5(srv: &Server) {
    let w = world(srv).await;
    let (id, _) = srv.consent(&w.cw, full_input(&w)).await;
    let exported = entries(&search(srv, &w.cw, &w.person).await);
    assert_eq!(exported.len(), 1);
    let original = exported[0].clone();
    assert_eq!(original["id"], id);
    r5::assert_checks_bite(&original);
    assert_eq!(original["grantor"][0]["reference"], "#proxy");
    assert_eq!(original["contained"][0]["name"][0]["text"], "鶴岡 花子");
    assert_eq!(
        original["provision"][0]["actor"][0]["reference"]["reference"],
        format!("Organization/{}", w.other)
    );
    assert_eq!(
        original["provision"][0]["actor"][1]["reference"]["identifier"]["value"],
        "CHILD_FAMILY"
    );
    assert_eq!(
        original["controller"][0]["reference"],
        format!("Organization/{}", w.owner)
    );

    let mut resource = original.clone();
    resource["identifier"] = json!([{ "system": "fhir-test", "value": "R-1" }]);
    resource.as_object_mut().unwrap().remove("id");
    let posted = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&resource)).await;
    assert_eq!(posted.status, 201, "{:#}", posted.body);
    assert_valid_r5(&posted.body);
    let new_id = posted.body["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    assert_eq!(
        posted.location.as_deref(),
        Some(format!("/fhir/Consent/{new_id}").as_str())
    );
    assert_eq!(
        posted.body["identifier"],
        json!([{ "system": "fhir-test", "value": "R-1" }])
    );

    let again = entries(&search(srv, &w.cw, &w.person).await);
    assert_eq!(again.len(), 2);
    let copy = again.iter().find(|r| r["id"] == new_id.as_str()).unwrap();
    assert_eq!(sans_ids(copy), sans_ids(&original));
    let read = fhir(srv, &w.cw, "GET", &format!("/fhir/Consent/{new_id}"), None).await;
    assert_eq!(read.status, 200);
    assert_valid_r5(&read.body);
    assert_eq!(&read.body, copy);
    // And through GraphQL: the two records are the same consent.
    let listed = consents(srv, &w.cw, &w.person).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(without_id(listed[0].clone()), without_id(listed[1].clone()));
    // The import was recorded through upsertConsent, ledgered as that write.
    let writes: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.action == "WRITE" && e.record_id.as_deref() == Some(new_id.as_str()))
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].operation, "upsertConsent");
}

async fn fhir_withdrawn_consent_round_trip_keeps_the_stamp(srv: &Server) {
    let w = world(srv).await;
    let (id, version) = srv
        .consent(
            &w.cw,
            consent_input(&w.person, &["IDENTITY"], &[&w.other], &[]),
        )
        .await;
    srv.gql(&w.cw, "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }", json!({ "id": id, "v": version })).await.ok();
    let exported = entries(&search(srv, &w.cw, &w.person).await);
    let original = exported[0].clone();
    assert_eq!(original["status"], "inactive");
    let mut resource = original.clone();
    resource["identifier"] = json!([{ "system": "fhir-test", "value": "W-1" }]);
    let posted = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&resource)).await;
    assert_eq!(posted.status, 201, "{:#}", posted.body);
    assert_eq!(sans_ids(&posted.body), sans_ids(&original));
    let listed = consents(srv, &w.cw, &w.person).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["state"], "WITHDRAWN");
    assert_eq!(without_id(listed[0].clone()), without_id(listed[1].clone()));
    assert_eq!(listed[1]["withdrawalReason"], "本人の申出");
    // Changing the stamp under the same reference is another input: CONFLICT, nothing written.
    let before = srv.snapshot().await;
    let mut changed = resource.clone();
    changed["extension"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .for_each(|e| {
            if e["url"] == "urn:tsunagi:fhir:StructureDefinition:consent-withdrawal" {
                e["extension"][0]["valueDateTime"] = json!("2024-01-01T00:00:00Z");
            }
        });
    let conflict = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&changed)).await;
    assert_eq!(conflict.status, 409, "{:#}", conflict.body);
    srv.assert_only_reads(&before, "conflicting re-post").await;
    // The stamp must name an account of the posting agency: not another agency's staff,
    // not an account that does not exist.
    let (foreign, _) = srv
        .account("fhir-wd-foreign", &w.other, &["caseworker"])
        .await;
    let at = original["extension"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["url"] == "urn:tsunagi:fhir:StructureDefinition:consent-withdrawal")
        .expect("withdrawal extension");
    for (n, by) in [
        (3, foreign.as_str()),
        (4, "00000000-0000-4000-8000-00000000dead"),
    ] {
        let mut stamped = resource.clone();
        stamped["identifier"] = json!([{ "system": "fhir-test", "value": format!("W-{n}") }]);
        for e in stamped["extension"][at]["extension"]
            .as_array_mut()
            .unwrap()
        {
            if e["url"] == "by" {
                e["valueString"] = json!(by);
            }
        }
        let before = srv.snapshot().await;
        let a = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&stamped)).await;
        assert_outcome(&a, 422, &format!("Consent.extension[{at}]"));
        srv.assert_only_reads(&before, by).await;
    }
}

async fn fhir_unrepresentable_resources_are_refused_and_nothing_is_written(srv: &Server) {
    let w = world(srv).await;
    srv.consent(&w.cw, full_input(&w)).await;
    let base = entries(&search(srv, &w.cw, &w.person).await)[0].clone();
    let mut deny = base.clone();
    deny["decision"] = json!("deny");
    let mut nested = base.clone();
    nested["provision"][0]["provision"] =
        json!([{ "purpose": [{ "system": "urn:tsunagi:purpose", "code": "SUPPORT" }] }]);
    let mut code = base.clone();
    code["provision"][0]["securityLabel"][0]["code"] = json!("GENOME");
    let mut role = base.clone();
    role["provision"][0]["actor"][0]["role"]["coding"][0]["code"] = json!("PRCP");
    let mut start = base.clone();
    start["period"].as_object_mut().unwrap().remove("start");
    // Representable, but refused by recordConsent's own rules: an agency that does not exist.
    let mut unknown = base.clone();
    let ghost = "00000000-0000-4000-8000-000000000000";
    unknown["provision"][0]["actor"][0]["reference"]["reference"] =
        json!(format!("Organization/{ghost}"));
    unknown["grantee"][0]["reference"] = json!(format!("Organization/{ghost}"));
    let mut backwards = base.clone();
    backwards["period"]["end"] = json!("2000-01-01T00:00:00Z");
    let cases = [
        (deny, "Consent.decision"),
        (nested, "Consent.provision[0].provision"),
        (code, "Consent.provision[0].securityLabel[0].code"),
        (role, "Consent.provision[0].actor[0].role"),
        (start, "Consent.period.start"),
        (unknown, "Consent.provision[0].actor[0].reference"),
        (backwards, "Consent.period.end"),
    ];
    for (resource, path) in cases {
        let before = srv.snapshot().await;
        let a = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&resource)).await;
        assert_outcome(&a, 422, path);
        // Nothing written: not a consent, not a WRITE row (the lookups may ledger reads).
        srv.assert_only_reads(&before, path).await;
    }
    assert_eq!(consents(srv, &w.cw, &w.person).await.len(), 1);
    // Not FHIR JSON at all, or another resource type.
    let a = fhir(
        srv,
        &w.cw,
        "POST",
        "/fhir/Consent",
        Some(&json!({ "resourceType": "Patient" })),
    )
    .await;
    assert_outcome(&a, 422, "resourceType");
    // Without a token: 401 as an OperationOutcome.
    let a = fhir(
        srv,
        "not-a-token",
        "GET",
        &format!("/fhir/Consent?patient={}", w.person),
        None,
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["resourceType"], "OperationOutcome");
}

async fn fhir_reads_show_what_consents_shows_and_are_ledgered(srv: &Server) {
    let w = world(srv).await;
    let (to_other, _) = srv
        .consent(
            &w.cw,
            consent_input(&w.person, &["IDENTITY"], &[&w.other], &["CHILD_FAMILY"]),
        )
        .await;
    let (to_kind, _) = srv
        .consent(
            &w.cw,
            consent_input(
                &w.person,
                &["IDENTITY", "HEALTH"],
                &[],
                &["COMPREHENSIVE_CARE"],
            ),
        )
        .await;
    // The recipient agency sees the consent naming it, with only itself among the recipients.
    let seen = entries(&search(srv, &w.other_cw, &w.person).await);
    let graphql: Vec<Value> = consents(srv, &w.other_cw, &w.person).await;
    assert_eq!(seen.len(), graphql.len());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], to_other);
    assert_eq!(
        seen[0]["grantee"],
        json!([{ "reference": format!("Organization/{}", w.other), "display": "fhir-other (fhir-other 機関)" }])
    );
    assert_eq!(
        seen[0]["provision"][0]["actor"].as_array().unwrap().len(),
        1
    );
    let hidden = fhir(
        srv,
        &w.other_cw,
        "GET",
        &format!("/fhir/Consent/{to_kind}"),
        None,
    )
    .await;
    assert_outcome(&hidden, 404, "id");
    assert!(!hidden.body.to_string().contains(&to_kind));
    // The search was ledgered as the read of the person's consents.
    let reads: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.operation == "FhirConsentSearch" && e.action == "READ")
        .collect();
    assert!(
        reads.iter().any(|e| e.record_type == "consent"
            && e.subject_person_id.as_deref() == Some(w.person.as_str())),
        "{reads:?}"
    );
    // An agency that may not know the person learns nothing: as consents(personId:), not found.
    let gql = srv
        .gql(&w.stranger_cw, CONSENTS, json!({ "p": w.person }))
        .await;
    assert_eq!(gql.codes(), vec!["NOT_FOUND"]);
    let a = search(srv, &w.stranger_cw, &w.person).await;
    assert_outcome(&a, 404, "patient");
    for id in [&to_other, &to_kind] {
        let a = fhir(
            srv,
            &w.stranger_cw,
            "GET",
            &format!("/fhir/Consent/{id}"),
            None,
        )
        .await;
        assert_outcome(&a, 404, "id");
        assert!(!a.body.to_string().contains(w.person.as_str()));
    }
    let missing = fhir(
        srv,
        &w.stranger_cw,
        "GET",
        "/fhir/Consent/00000000-0000-4000-8000-000000000000",
        None,
    )
    .await;
    assert_eq!(
        missing.body,
        fhir(
            srv,
            &w.stranger_cw,
            "GET",
            &format!("/fhir/Consent/{to_other}"),
            None
        )
        .await
        .body
    );
    // Nor may a non-recording agency import a consent for the person.
    let mut resource = seen[0].clone();
    resource.as_object_mut().unwrap().remove("controller");
    let before = srv.snapshot().await;
    let a = fhir(srv, &w.other_cw, "POST", "/fhir/Consent", Some(&resource)).await;
    assert!(a.status == 403 || a.status == 422, "{:#}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome");
    srv.assert_only_reads(&before, "import by a recipient agency")
        .await;
}

async fn fhir_repost_of_the_same_resource_writes_nothing_new(srv: &Server) {
    let w = world(srv).await;
    srv.consent(&w.cw, full_input(&w)).await;
    let mut resource = entries(&search(srv, &w.cw, &w.person).await)[0].clone();
    resource["identifier"] = json!([{ "system": "fhir-test", "value": "P-9" }]);
    let first = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&resource)).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let before = srv.snapshot().await;
    let second = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&resource)).await;
    assert_eq!(second.status, 200, "{:#}", second.body);
    assert_eq!(second.body["id"], first.body["id"]);
    srv.assert_only_reads(&before, "re-post").await;
    assert_eq!(consents(srv, &w.cw, &w.person).await.len(), 2);
    // Another input under the same identifier is a conflict, not a silent second record.
    let mut other = resource.clone();
    other["provision"][0]["purpose"][0]["code"] = json!("EVALUATION");
    let a = fhir(srv, &w.cw, "POST", "/fhir/Consent", Some(&other)).await;
    assert_eq!(a.status, 409, "{:#}", a.body);
    assert_eq!(a.body["issue"][0]["code"], "conflict");
    srv.assert_only_reads(&before, "conflicting re-post").await;
}
