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

/// Whether a scenario writes (run after every read scenario, so reads see the same data).
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
        let (status, _, bytes) = self.post_full(body).await?;
        Ok((status, bytes))
    }

    /// The status, whether the answer carries `Retry-After`, and the body.
    pub async fn post_full(&self, body: &Value) -> anyhow::Result<(u16, bool, Vec<u8>)> {
        let mut r = self.client.post(&self.url).json(body);
        if !self.token.is_empty() {
            r = r.bearer_auth(&self.token);
        }
        let r = r.send().await?;
        let status = r.status().as_u16();
        let retry_after = r.headers().contains_key(reqwest::header::RETRY_AFTER);
        Ok((status, retry_after, r.bytes().await?.to_vec()))
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

/// The household overview, the same file the statement-count test uses.
const OVERVIEW: &str = include_str!("../queries/household_overview.graphql");

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

/// How many persons a write run spreads its writes over.
const WRITE_PERSONS: usize = 300;

const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }";

/// Register WRITE_PERSONS persons (once per prepare) and return their ids.
async fn fresh_persons(api: &Api, fresh: &mut Option<Vec<String>>) -> anyhow::Result<Vec<String>> {
    if let Some(ids) = fresh {
        return Ok(ids.clone());
    }
    const KANA: [&str; 10] = ["ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク", "ケ", "コ"];
    let mut ids = Vec::with_capacity(WRITE_PERSONS);
    for i in 0..WRITE_PERSONS {
        let d = api
            .data(
                CREATE_PERSON,
                json!({"i": {"familyName": "負荷", "givenName": format!("試験{i}"),
                    "familyNameKana": "フカ", "givenNameKana": format!("シケン{}", KANA[i % 10]),
                    "birthDate": "1950-04-01", "sex": "FEMALE", "district": "中央圏域"}}),
            )
            .await
            .context("registering a person for the write scenarios")?;
        let id = d["createPerson"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("createPerson gave no id"))?;
        ids.push(id.to_owned());
    }
    *fresh = Some(ids.clone());
    Ok(ids)
}

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
    // The write scenarios write about fresh persons the account's agency registers for the
    // run (setup, not measured; new ones on every run): each run then starts from the same
    // state, and the writes are spread so that no person piles up hundreds of consents or
    // consultations, which would make every later run slower than the one before.
    let mut fresh: Option<Vec<String>> = None;
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
                    requests.push(api.baseline(body, "/persons/nodes/0/id", None).await?);
                }
            }
            "consultation-list" => {
                // The reader's own agency's list when it has one; otherwise the agency whose
                // list shows the reader the most (a list that comes back empty measures
                // nothing).
                let mut best: Option<(usize, Value)> = None;
                let agencies: Vec<String> = std::iter::once(own.clone())
                    .chain(
                        viewer["agencies"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a["id"].as_str().map(str::to_owned)),
                    )
                    .collect();
                for agency in agencies {
                    let body = json!({"query": LIST, "variables": {"agency": agency}});
                    let (status, b) = api.post(&body).await?;
                    let v: Value = serde_json::from_slice(&b)?;
                    let n = v["data"]["consultations"]["nodes"]
                        .as_array()
                        .map_or(0, Vec::len);
                    if status == 200 && n > best.as_ref().map_or(0, |b| b.0) {
                        best = Some((n, body));
                    }
                    if agency == own && n > 0 {
                        break;
                    }
                }
                let (_, body) =
                    best.ok_or_else(|| anyhow!("no agency's consultation list shows anything"))?;
                requests.push(
                    api.baseline(body, "/consultations/nodes/0/id", None)
                        .await?,
                );
            }
            "record-consultation" => {
                let code = viewer["issueCategories"][0]["code"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no issue categories"))?;
                for person in fresh_persons(api, &mut fresh).await? {
                    let body = json!({"query": RECORD, "variables": {"input": {
                        "receivedAt": chrono::Utc::now().to_rfc3339(), "channel": "PHONE",
                        "subjectPersonIds": [person], "issues": [{"code": code, "main": true}],
                        "summary": "ベンチマーク: 電話相談 / benchmark: phone consultation",
                        "urgency": "NORMAL"}}});
                    requests.push(api.baseline(body, "/recordConsultation/id", None).await?);
                }
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
                for person in fresh_persons(api, &mut fresh).await? {
                    let body = json!({"query": GRANT, "variables": {"input": {
                        "personId": person, "givenBy": "SELF", "categories": ["CONTACT"],
                        "recipientAgencyIds": [recipient], "purpose": "SUPPORT",
                        "validFrom": from.to_rfc3339(), "method": "WRITTEN",
                        "evidenceRef": "ベンチマーク"}}});
                    requests.push(api.baseline(body, "/recordConsent/id", None).await?);
                }
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
