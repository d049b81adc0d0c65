//! The five scenarios: what each asks, as whom, and what each answer must look like. Ids
//! and tokens are discovered through the API (and the `token` CLI), so any data set works:
//! the demo data today, `tsunagi seed --scale ...` data later.

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::validate::{self, ErrorSet};

pub const ALL: &[&str] = &[
    "household-overview",
    "person-search",
    "consultation-list",
    "record-consultation",
    "grant-consent",
];

/// Who reads (--reader): in the demo data the 多機関協働 coordinator has mixed access (the
/// household overview comes back with CONSENT_REQUIRED refusals beside shown fields).
pub const DEFAULT_READER: &str = "takikan-coord";
/// Who writes (--writer): a caseworker whose agency holds persons to record about.
pub const DEFAULT_WRITER: &str = "houkatsu-cw";

/// Whether a scenario writes (runs as the writer).
pub fn writes(name: &str) -> bool {
    matches!(name, "record-consultation" | "grant-consent")
}

/// One request a worker may send, with what its answer must be.
#[derive(Clone, Debug)]
pub struct Req {
    pub body: Value,
    /// Exactly these (path, code) errors, no others.
    pub expected: ErrorSet,
    /// A JSON pointer into `data` that must be non-null, and its value when given.
    pub pointer: String,
    pub equals: Option<Value>,
}

impl Req {
    pub fn validate(&self, status: u16, body: &[u8]) -> Result<(), String> {
        validate::check(status, body, &self.expected, |data| {
            match (data.pointer(&self.pointer), &self.equals) {
                (None | Some(Value::Null), _) => Err(format!("{} missing", self.pointer)),
                (Some(got), Some(want)) if got != want => {
                    Err(format!("{}: {got} != {want}", self.pointer))
                }
                _ => Ok(()),
            }
        })
    }
}

pub struct Prepared {
    pub name: String,
    pub requests: Vec<Req>,
    /// How many CONSENT_REQUIRED refusals the requests expect in all (mixed access).
    pub refusals: usize,
}

/// Sends GraphQL as one account.
pub struct Api {
    pub client: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Api {
    pub async fn post(&self, body: &Value) -> anyhow::Result<(u16, Vec<u8>)> {
        let r = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.bytes().await?.to_vec()))
    }

    /// A setup query that must succeed without errors.
    async fn data(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let (status, body) = self
            .post(&json!({"query": query, "variables": variables}))
            .await?;
        let v: Value = serde_json::from_slice(&body).context("setup answer is not JSON")?;
        if status != 200 || v.get("errors").is_some() {
            bail!("setup query failed (HTTP {status}): {v}");
        }
        Ok(v["data"].clone())
    }

    /// Send once and take the answer's errors as the expected set (refusals only).
    async fn baseline(
        &self,
        body: Value,
        pointer: &str,
        equals: Option<Value>,
    ) -> anyhow::Result<Req> {
        let (status, bytes) = self.post(&body).await?;
        let v: Value = serde_json::from_slice(&bytes).context("baseline answer is not JSON")?;
        if status != 200 {
            bail!("baseline HTTP {status}: {v}");
        }
        let expected = validate::error_set(&v);
        validate::only_consent_required(&expected).map_err(|e| anyhow!("{e}: {v}"))?;
        let req = Req {
            body,
            expected,
            pointer: pointer.to_owned(),
            equals,
        };
        req.validate(status, &bytes)
            .map_err(|e| anyhow!("baseline: {e}"))?;
        Ok(req)
    }
}

const OVERVIEW: &str = "
query HouseholdOverview($id: ID!) { household(id: $id) { id version ownerAgency { id name }
  members { relationship isHead joinedOn leftOn person {
    id familyName givenName familyNameKana givenNameKana birthDate sex address phone district
    careLevel disabilityCertificate publicAssistance
    consultations { id receivedAt channel urgency status summary
      issues { main category { code } } } } } } }";

const SEARCH: &str = "
query PersonSearch($kana: String!) { persons(kana: $kana, first: 20) {
  nodes { id familyName givenName familyNameKana givenNameKana birthDate district } } }";

const LIST: &str = "
query ConsultationList($agency: ID!) { consultations(receivingAgencyId: $agency, first: 50) {
  nodes { id receivedAt channel urgency status summary subjects { id familyName givenName }
    issues { main category { code } } } } }";

const RECORD: &str = "
mutation RecordConsultation($input: RecordConsultationInput!) {
  recordConsultation(input: $input) { id status } }";

const GRANT: &str = "
mutation GrantConsent($input: RecordConsentInput!) { recordConsent(input: $input) { id version } }";

/// Discover ids and build each scenario's requests, checking each once.
pub async fn prepare(api: &Api, names: &[String]) -> anyhow::Result<Vec<Prepared>> {
    let viewer = api
        .data(
            "{ viewer { agency { id } } agencies { id code } issueCategories { code } }",
            json!({}),
        )
        .await?;
    let own = viewer["viewer"]["agency"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no viewer agency"))?
        .to_owned();
    let persons = api
        .data(
            "{ persons(first: 100) { nodes { id familyNameKana ownerAgency { id } } } }",
            json!({}),
        )
        .await;
    // Persons may come with refusals (ownerAgency of a consented person): read them leniently.
    let persons = match persons {
        Ok(d) => d,
        Err(_) => {
            let (_, b) = api
                .post(&json!({"query": "{ persons(first: 100) { nodes { id familyNameKana ownerAgency { id } } } }"}))
                .await?;
            serde_json::from_slice::<Value>(&b)?["data"].clone()
        }
    };
    let nodes = persons["persons"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The write scenarios write about a person the account's agency holds (asked for only
    // when one of them runs, so any account can run the read scenarios).
    let own_person = || {
        nodes
            .iter()
            .find(|n| n["ownerAgency"]["id"].as_str() == Some(&own))
            .and_then(|n| n["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the account's agency owns no person to write about"))
    };
    let mut prepared = Vec::new();
    for name in names {
        let mut requests = Vec::new();
        match name.as_str() {
            "household-overview" => {
                let (_, b) = api
                    .post(&json!({"query": "{ households(first: 100) { nodes { id } } }"}))
                    .await?;
                let v: Value = serde_json::from_slice(&b)?;
                let ids: Vec<String> = v["data"]["households"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n["id"].as_str().map(str::to_owned))
                    .collect();
                for id in ids {
                    let body = json!({"query": OVERVIEW, "variables": {"id": id}});
                    requests.push(api.baseline(body, "/household/id", Some(json!(id))).await?);
                }
            }
            "person-search" => {
                let mut prefixes: Vec<String> = nodes
                    .iter()
                    .filter_map(|n| n["familyNameKana"].as_str()?.chars().next())
                    .map(String::from)
                    .collect();
                prefixes.sort();
                prefixes.dedup();
                for kana in prefixes {
                    let body = json!({"query": SEARCH, "variables": {"kana": kana}});
                    requests.push(api.baseline(body, "/persons/nodes", None).await?);
                }
            }
            "consultation-list" => {
                let body = json!({"query": LIST, "variables": {"agency": own}});
                requests.push(api.baseline(body, "/consultations/nodes", None).await?);
            }
            "record-consultation" => {
                let code = viewer["issueCategories"][0]["code"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no issue categories"))?;
                let body = json!({"query": RECORD, "variables": {"input": {
                    "receivedAt": chrono::Utc::now().to_rfc3339(), "channel": "PHONE",
                    "subjectPersonIds": [own_person()?], "issues": [{"code": code, "main": true}],
                    "summary": "ベンチマーク: 電話相談 / benchmark: phone consultation",
                    "urgency": "NORMAL"}}});
                requests.push(api.baseline(body, "/recordConsultation/id", None).await?);
            }
            "grant-consent" => {
                let recipient = viewer["agencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    // A community-building agency: naming the reader's agency would widen
                    // its access between modes and make the runs incomparable.
                    .filter(|a| a["id"].as_str() != Some(&own))
                    .find(|a| a["code"] == "shakyo-seikatsu")
                    .or_else(|| {
                        viewer["agencies"]
                            .as_array()?
                            .iter()
                            .rev()
                            .find(|a| a["id"].as_str() != Some(&own))
                    })
                    .and_then(|a| a["id"].as_str())
                    .ok_or_else(|| anyhow!("no other agency to name"))?;
                let from = chrono::Utc::now() - chrono::Duration::hours(1);
                let body = json!({"query": GRANT, "variables": {"input": {
                    "personId": own_person()?, "givenBy": "SELF", "categories": ["CONTACT"],
                    "recipientAgencyIds": [recipient], "purpose": "SUPPORT",
                    "validFrom": from.to_rfc3339(), "method": "WRITTEN",
                    "evidenceRef": "ベンチマーク"}}});
                requests.push(api.baseline(body, "/recordConsent/id", None).await?);
            }
            other => bail!("unknown scenario {other:?} (one of {})", ALL.join(", ")),
        }
        if requests.is_empty() {
            bail!("scenario {name}: the data set gave nothing to ask for");
        }
        let refusals = requests.iter().map(|r| r.expected.len()).sum();
        prepared.push(Prepared {
            name: name.clone(),
            requests,
            refusals,
        });
    }
    Ok(prepared)
}
