//! Crash safety of the real binary (issue 4, item 6).
//!
//! 1. SIGKILL mid-stream, on SQLite (a temp file) and PostgreSQL (a fresh database on the
//!    server in TEST_DATABASE_URL): concurrent writers send createPerson, recordConsent and
//!    recordConsultation over HTTP; the server is killed after a random number of
//!    acknowledgements, with writes in flight, and restarted on the same database. Every
//!    acknowledged write must be present with exactly the values sent; a write whose answer
//!    was lost may be absent, but if present it is whole (all its rows and its ledger
//!    entries); no row exists that no writer sent; `tsunagi audit verify` passes; the
//!    restarted server takes writes again.
//! 2. PostgreSQL restart under load, on a private cluster (never the shared server): while
//!    PostgreSQL is down /readyz answers 503 and writes fail cleanly (INTERNAL, or 503
//!    UNAVAILABLE when no connection could be had) within a bound; when it is
//!    back, /readyz returns to 200 by itself, writes succeed, and nothing acknowledged is lost.
//! 3. SIGKILL with idempotent writes in flight (`Idempotency-Key`), on SQLite and PostgreSQL:
//!    after the restart every key is sent again; a key whose first request committed is
//!    replayed byte for byte, one that did not runs once; one person per key, whole.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use common::{fresh_dir, in_ci, tsunagi_with, ServerProcess};
use entity::{
    account, audit_event, consent, consent_category, consent_recipient, consultation,
    consultation_issue, consultation_subject, person,
};

/// Demo accounts that write (two agencies), and how many concurrent writers each runs.
const ACCOUNTS: [&str; 2] = ["nikokoro-cw", "houkatsu-cw"];
const WRITERS_PER_ACCOUNT: usize = 2;
/// Generous bound for every wait (readiness, acknowledgements); never a speed assertion.
const BOUND: Duration = Duration::from_secs(60);
/// The longest one write may take to be answered, even while the database is down.
const ANSWER_BOUND: Duration = Duration::from_secs(30);
/// The longest /readyz may take to answer, up or down: a common load-balancer health-check
/// timeout (a check that times out is a failed check, but it also ties up the checker).
const READYZ_BOUND: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// What writers send and what came back

#[derive(Clone, Debug)]
enum Sent {
    Person {
        tag: String,
        birth_date: NaiveDate,
        sex: &'static str,
        district: &'static str,
        care_level: Option<String>,
        disability_certificate: Option<String>,
        public_assistance: Option<bool>,
    },
    Consent {
        tag: String,
        person_id: String,
        categories: BTreeSet<String>,
        kinds: BTreeSet<String>,
        valid_from: DateTime<Utc>,
    },
    Consultation {
        tag: String,
        subjects: BTreeSet<String>,
        issues: BTreeSet<(String, bool)>,
        received_at: DateTime<Utc>,
        channel: &'static str,
        urgency: &'static str,
    },
}

const FAMILY_NAME: &str = "継続";
const FAMILY_KANA: &str = "ケイゾク";
const GIVEN_KANA: &str = "テスト";

fn address_of(tag: &str) -> String {
    format!("福島市中央一丁目 {tag}")
}

impl Sent {
    fn tag(&self) -> &str {
        match self {
            Sent::Person { tag, .. }
            | Sent::Consent { tag, .. }
            | Sent::Consultation { tag, .. } => tag,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Sent::Person { .. } => "createPerson",
            Sent::Consent { .. } => "recordConsent",
            Sent::Consultation { .. } => "recordConsultation",
        }
    }

    fn person(tag: String, n: usize) -> Sent {
        Sent::Person {
            birth_date: NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
                + chrono::Duration::days((n * 37 % 20_000) as i64),
            sex: ["MALE", "FEMALE", "OTHER", "UNKNOWN"][n % 4],
            district: ["中央", "北部", "南部"][n % 3],
            care_level: n.is_multiple_of(2).then(|| format!("要介護{}", n % 5 + 1)),
            disability_certificate: n.is_multiple_of(3).then(|| format!("身体{}級", n % 6 + 1)),
            public_assistance: [Some(true), Some(false), None][n % 3],
            tag,
        }
    }

    fn consent(tag: String, n: usize, person_id: String) -> Sent {
        let mut categories: BTreeSet<String> = ["IDENTITY", "CONTACT"]
            .map(str::to_owned)
            .into_iter()
            .collect();
        let mut kinds: BTreeSet<String> = ["COMPREHENSIVE_CARE".to_owned()].into();
        if n % 2 == 1 {
            categories.insert("HEALTH".to_owned());
            kinds.insert("SELF_RELIANCE".to_owned());
        }
        Sent::Consent {
            tag,
            person_id,
            categories,
            kinds,
            valid_from: whole_seconds(Utc::now() - chrono::Duration::days(1)),
        }
    }

    fn consultation(tag: String, n: usize, subjects: BTreeSet<String>) -> Sent {
        let issues = if n.is_multiple_of(2) {
            [("HOUSING".to_owned(), true), ("HEALTH".to_owned(), false)].into()
        } else {
            [("OTHER".to_owned(), true)].into()
        };
        Sent::Consultation {
            tag,
            subjects,
            issues,
            received_at: whole_seconds(Utc::now() - chrono::Duration::hours(1)),
            channel: ["PHONE", "VISIT", "OUTREACH"][n % 3],
            urgency: ["NORMAL", "HIGH"][n % 2],
        }
    }

    /// The GraphQL request.
    fn request(&self) -> Value {
        match self {
            Sent::Person {
                tag,
                birth_date,
                sex,
                district,
                care_level,
                disability_certificate,
                public_assistance,
            } => json!({
                "query": "mutation($input: CreatePersonInput!) { createPerson(input: $input) { id } }",
                "variables": { "input": {
                    "familyName": FAMILY_NAME, "givenName": tag,
                    "familyNameKana": FAMILY_KANA, "givenNameKana": GIVEN_KANA,
                    "birthDate": birth_date.to_string(), "sex": sex,
                    "address": address_of(tag), "district": district,
                    "careLevel": care_level, "disabilityCertificate": disability_certificate,
                    "publicAssistance": public_assistance,
                }},
            }),
            Sent::Consent {
                tag,
                person_id,
                categories,
                kinds,
                valid_from,
            } => json!({
                "query": "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
                "variables": { "input": {
                    "personId": person_id, "givenBy": "SELF",
                    "categories": categories, "recipientAgencyKinds": kinds,
                    "purpose": "SUPPORT", "validFrom": rfc3339(valid_from),
                    "method": "WRITTEN", "evidenceRef": tag,
                }},
            }),
            Sent::Consultation {
                tag,
                subjects,
                issues,
                received_at,
                channel,
                urgency,
            } => json!({
                "query": "mutation($input: RecordConsultationInput!) { recordConsultation(input: $input) { id } }",
                "variables": { "input": {
                    "receivedAt": rfc3339(received_at), "channel": channel,
                    "subjectPersonIds": subjects,
                    "issues": issues.iter().map(|(code, main)| json!({"code": code, "main": main})).collect::<Vec<_>>(),
                    "summary": tag, "urgency": urgency,
                }},
            }),
        }
    }
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("timestamp")
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Clone, Debug)]
enum Outcome {
    /// HTTP 200, no errors, the new record's id.
    Acked(String),
    /// No answer (connection refused or cut, or the client gave up).
    Lost(String),
    /// An answer that is not a success: HTTP status and the first error's code.
    Failed { status: u16, code: String },
}

#[derive(Clone, Debug)]
struct Attempt {
    login: &'static str,
    sent: Sent,
    outcome: Outcome,
    started: Instant,
    took: Duration,
}

impl Attempt {
    fn acked(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Acked(id) => Some(id),
            _ => None,
        }
    }
}

async fn send(client: &reqwest::Client, base: &str, token: &str, sent: &Sent) -> Outcome {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&sent.request())
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Outcome::Lost(e.to_string()),
    };
    let status = response.status().as_u16();
    let body: Value = match response.json().await {
        Ok(b) => b,
        Err(e) => return Outcome::Lost(format!("HTTP {status}, body cut: {e}")),
    };
    let id = body["data"][sent.kind()]["id"].as_str();
    match (status, body.get("errors"), id) {
        (200, None, Some(id)) => Outcome::Acked(id.to_owned()),
        _ => Outcome::Failed {
            status,
            code: body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("(none)")
                .to_owned(),
        },
    }
}

/// The shared state of one load: who writes where, what happened.
#[derive(Clone)]
struct Load {
    client: reqwest::Client,
    base: String,
    tokens: Arc<HashMap<&'static str, String>>,
    acks: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Attempt>>>,
}

impl Load {
    fn new(base: &str, tokens: &Arc<HashMap<&'static str, String>>) -> Load {
        Load {
            client: reqwest::Client::builder()
                .timeout(ANSWER_BOUND + Duration::from_secs(15))
                .build()
                .expect("client"),
            base: base.to_owned(),
            tokens: tokens.clone(),
            acks: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.log.lock().expect("log").clone()
    }

    async fn attempt(&self, login: &'static str, sent: Sent) -> Outcome {
        let started = Instant::now();
        let outcome = send(&self.client, &self.base, &self.tokens[login], &sent).await;
        if matches!(outcome, Outcome::Acked(_)) {
            self.acks.fetch_add(1, Ordering::SeqCst);
        }
        self.log.lock().expect("log").push(Attempt {
            login,
            sent,
            outcome: outcome.clone(),
            started,
            took: started.elapsed(),
        });
        outcome
    }

    /// Start every writer. Each loops person → consent → consultation (about the new person
    /// and the writer's previous one). With `keep_going` false a writer stops at its first
    /// write that is not acknowledged (the server is gone); otherwise it pauses and goes on.
    fn start(&self, round: &str, keep_going: bool) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();
        for (a, login) in ACCOUNTS.iter().enumerate() {
            for w in 0..WRITERS_PER_ACCOUNT {
                let load = self.clone();
                let prefix = format!("{round}a{a}w{w}");
                handles.push(tokio::spawn(load.writer(login, prefix, keep_going)));
            }
        }
        handles
    }

    async fn writer(self, login: &'static str, prefix: String, keep_going: bool) {
        let mut n = 0usize;
        let mut previous: Option<String> = None;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let tag = |what: &str| format!("{prefix}n{n}{what}");
            let person = match self.attempt(login, Sent::person(tag("p"), n)).await {
                Outcome::Acked(id) => id,
                _ if keep_going => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                _ => return,
            };
            let consent = Sent::consent(tag("c"), n, person.clone());
            if !matches!(self.attempt(login, consent).await, Outcome::Acked(_)) && !keep_going {
                return;
            }
            let mut subjects: BTreeSet<String> = [person.clone()].into();
            subjects.extend(previous.replace(person));
            let consultation = Sent::consultation(tag("s"), n, subjects);
            if !matches!(self.attempt(login, consultation).await, Outcome::Acked(_)) && !keep_going
            {
                return;
            }
        }
    }

    /// Wait until `count` writes have been acknowledged in total.
    async fn wait_acks(&self, count: usize, what: &str) {
        let start = Instant::now();
        while self.acks.load(Ordering::SeqCst) < count {
            assert!(
                start.elapsed() < BOUND,
                "{what}: only {} of {count} writes acknowledged within {BOUND:?}; attempts: {:?}",
                self.acks.load(Ordering::SeqCst),
                self.attempts().iter().rev().take(5).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The database after the fact

/// Records that existed before any writer ran (the demo data set).
#[derive(Default)]
struct Baseline {
    persons: BTreeSet<String>,
    consents: BTreeSet<String>,
    consultations: BTreeSet<String>,
}

async fn baseline(db: &DatabaseConnection) -> Baseline {
    Baseline {
        persons: person::Entity::find()
            .all(db)
            .await
            .expect("persons")
            .into_iter()
            .map(|p| p.id)
            .collect(),
        consents: consent::Entity::find()
            .all(db)
            .await
            .expect("consents")
            .into_iter()
            .map(|c| c.id)
            .collect(),
        consultations: consultation::Entity::find()
            .all(db)
            .await
            .expect("consultations")
            .into_iter()
            .map(|c| c.id)
            .collect(),
    }
}

/// Writer accounts: login → (account id, agency id).
async fn writer_accounts(db: &DatabaseConnection) -> HashMap<&'static str, (String, String)> {
    let mut out = HashMap::new();
    for login in ACCOUNTS {
        let a = account::Entity::find()
            .filter(account::Column::Login.eq(login))
            .one(db)
            .await
            .expect("account")
            .expect("demo account");
        out.insert(login, (a.id, a.agency_id));
    }
    out
}

#[derive(Debug, Default)]
struct Tally {
    acked: usize,
    unanswered_present: usize,
    unanswered_absent: usize,
}

/// Every claim about the database after a crash; returns the problems found.
async fn check_database(
    db: &DatabaseConnection,
    attempts: &[Attempt],
    base: &Baseline,
    accounts: &HashMap<&'static str, (String, String)>,
) -> (Tally, Vec<String>) {
    let mut problems = Vec::new();
    let persons: BTreeMap<String, person::Model> = person::Entity::find()
        .all(db)
        .await
        .expect("persons")
        .into_iter()
        .filter(|p| !base.persons.contains(&p.id))
        .map(|p| (p.id.clone(), p))
        .collect();
    let consents: BTreeMap<String, consent::Model> = consent::Entity::find()
        .all(db)
        .await
        .expect("consents")
        .into_iter()
        .filter(|c| !base.consents.contains(&c.id))
        .map(|c| (c.id.clone(), c))
        .collect();
    let consultations: BTreeMap<String, consultation::Model> = consultation::Entity::find()
        .all(db)
        .await
        .expect("consultations")
        .into_iter()
        .filter(|c| !base.consultations.contains(&c.id))
        .map(|c| (c.id.clone(), c))
        .collect();
    let all_consents: BTreeSet<String> = consents.keys().chain(&base.consents).cloned().collect();
    let all_consultations: BTreeSet<String> = consultations
        .keys()
        .chain(&base.consultations)
        .cloned()
        .collect();
    let mut categories: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in consent_category::Entity::find()
        .all(db)
        .await
        .expect("categories")
    {
        if !all_consents.contains(&c.consent_id) {
            problems.push(format!("orphan consent_category for {}", c.consent_id));
        }
        categories
            .entry(c.consent_id)
            .or_default()
            .insert(c.category);
    }
    let mut recipients: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in consent_recipient::Entity::find()
        .all(db)
        .await
        .expect("recipients")
    {
        if !all_consents.contains(&r.consent_id) {
            problems.push(format!("orphan consent_recipient for {}", r.consent_id));
        }
        recipients
            .entry(r.consent_id)
            .or_default()
            .insert((r.recipient_type, r.recipient_value));
    }
    let mut subjects: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in consultation_subject::Entity::find()
        .all(db)
        .await
        .expect("subjects")
    {
        if !all_consultations.contains(&s.consultation_id) {
            problems.push(format!(
                "orphan consultation_subject for {}",
                s.consultation_id
            ));
        }
        subjects
            .entry(s.consultation_id)
            .or_default()
            .insert(s.person_id);
    }
    let mut issues: BTreeMap<String, BTreeSet<(String, bool)>> = BTreeMap::new();
    for i in consultation_issue::Entity::find()
        .all(db)
        .await
        .expect("issues")
    {
        if !all_consultations.contains(&i.consultation_id) {
            problems.push(format!(
                "orphan consultation_issue for {}",
                i.consultation_id
            ));
        }
        issues
            .entry(i.consultation_id)
            .or_default()
            .insert((i.issue_code, i.is_main));
    }
    // Ledger WRITE entries of the three operations: (operation, record id) → entries.
    let mut ledger: BTreeMap<(String, String), Vec<audit_event::Model>> = BTreeMap::new();
    for e in audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("WRITE"))
        .all(db)
        .await
        .expect("ledger")
    {
        let ours = ["createPerson", "recordConsent", "recordConsultation"];
        if let (true, Some(id)) = (ours.contains(&e.operation.as_str()), e.record_id.clone()) {
            // The demo's own records are loaded through these mutations too, so they have
            // WRITE entries; they are the baseline, not the writers' work.
            if base.persons.contains(&id)
                || base.consents.contains(&id)
                || base.consultations.contains(&id)
            {
                continue;
            }
            let present = match e.operation.as_str() {
                "createPerson" => persons.contains_key(&id),
                "recordConsent" => consents.contains_key(&id),
                _ => consultations.contains_key(&id),
            };
            if !present {
                problems.push(format!(
                    "ledger {} entry for {id}, but no such row",
                    e.operation
                ));
            }
            ledger.entry((e.operation.clone(), id)).or_default().push(e);
        }
    }

    // Rows by the tag their writer put in them.
    let mut by_tag: BTreeMap<String, Vec<(&'static str, String)>> = BTreeMap::new();
    for p in persons.values() {
        by_tag
            .entry(p.given_name.clone())
            .or_default()
            .push(("createPerson", p.id.clone()));
    }
    for c in consents.values() {
        let tag = c.evidence_ref.clone().unwrap_or_default();
        by_tag
            .entry(tag)
            .or_default()
            .push(("recordConsent", c.id.clone()));
    }
    for c in consultations.values() {
        by_tag
            .entry(c.summary.clone())
            .or_default()
            .push(("recordConsultation", c.id.clone()));
    }
    let sent_tags: BTreeSet<&str> = attempts.iter().map(|a| a.sent.tag()).collect();
    for (tag, rows) in &by_tag {
        if !sent_tags.contains(tag.as_str()) {
            problems.push(format!("rows {rows:?} that no writer sent (tag {tag:?})"));
        }
    }

    let mut tally = Tally::default();
    for a in attempts {
        let rows = by_tag.get(a.sent.tag()).cloned().unwrap_or_default();
        let what = format!("{} {} ({:?})", a.sent.kind(), a.sent.tag(), a.outcome);
        if rows.len() > 1 || rows.iter().any(|(kind, _)| *kind != a.sent.kind()) {
            problems.push(format!("{what}: rows {rows:?}"));
            continue;
        }
        let row = rows.first().map(|(_, id)| id.clone());
        match (a.acked(), &row) {
            (Some(id), Some(found)) if id == found => tally.acked += 1,
            (Some(id), found) => {
                problems.push(format!("{what}: acknowledged as {id}, found {found:?}"));
                continue;
            }
            (None, Some(_)) => tally.unanswered_present += 1,
            (None, None) => tally.unanswered_absent += 1,
        }
        let Some(id) = row else { continue };
        let (account_id, agency_id) = &accounts[a.login];
        let entries = ledger
            .get(&(a.sent.kind().to_owned(), id.clone()))
            .cloned()
            .unwrap_or_default();
        let ledger_subjects: Vec<String> = entries
            .iter()
            .filter_map(|e| e.subject_person_id.clone())
            .collect();
        if entries
            .iter()
            .any(|e| e.account_id.as_ref() != Some(account_id))
        {
            problems.push(format!("{what}: ledger entries by another account"));
        }
        match &a.sent {
            Sent::Person {
                tag,
                birth_date,
                sex,
                district,
                care_level,
                disability_certificate,
                public_assistance,
            } => {
                let p = &persons[&id];
                let stored = (
                    p.family_name.as_str(),
                    p.given_name.as_str(),
                    p.family_name_kana.as_str(),
                    p.given_name_kana.as_str(),
                    p.birth_date,
                    p.sex.as_str(),
                    (
                        p.address.clone(),
                        p.phone.clone(),
                        p.district.as_deref(),
                        p.address_confidential,
                        p.care_level.clone(),
                        p.disability_certificate.clone(),
                        p.public_assistance,
                        (p.owner_agency_id.as_str(), p.created_by.as_str(), p.version),
                    ),
                );
                let expected = (
                    FAMILY_NAME,
                    tag.as_str(),
                    FAMILY_KANA,
                    GIVEN_KANA,
                    Some(*birth_date),
                    *sex,
                    (
                        Some(address_of(tag)),
                        None,
                        Some(*district),
                        false,
                        care_level.clone(),
                        disability_certificate.clone(),
                        *public_assistance,
                        (agency_id.as_str(), account_id.as_str(), 1),
                    ),
                );
                if stored != expected {
                    problems.push(format!("{what}: stored {stored:?}, sent {expected:?}"));
                }
                if ledger_subjects != [id.clone()] {
                    problems.push(format!("{what}: ledger entries {ledger_subjects:?}"));
                }
            }
            Sent::Consent {
                tag,
                person_id,
                categories: sent_categories,
                kinds,
                valid_from,
            } => {
                let c = &consents[&id];
                let stored = (
                    c.subject_person_id.as_str(),
                    c.given_by.as_str(),
                    c.purpose.as_str(),
                    c.valid_from,
                    c.valid_until,
                    c.method.as_str(),
                    c.evidence_ref.as_deref(),
                    (c.recorded_by.as_str(), c.recorded_agency_id.as_str()),
                    c.withdrawn_at,
                    categories.get(&id).cloned().unwrap_or_default(),
                    recipients.get(&id).cloned().unwrap_or_default(),
                );
                let expected = (
                    person_id.as_str(),
                    "SELF",
                    "SUPPORT",
                    *valid_from,
                    None,
                    "WRITTEN",
                    Some(tag.as_str()),
                    (account_id.as_str(), agency_id.as_str()),
                    None,
                    sent_categories.clone(),
                    kinds
                        .iter()
                        .map(|k| ("AGENCY_KIND".to_owned(), k.clone()))
                        .collect::<BTreeSet<_>>(),
                );
                if stored != expected {
                    problems.push(format!("{what}: stored {stored:?}, sent {expected:?}"));
                }
                if ledger_subjects != [person_id.clone()] {
                    problems.push(format!("{what}: ledger entries {ledger_subjects:?}"));
                }
            }
            Sent::Consultation {
                tag,
                subjects: sent_subjects,
                issues: sent_issues,
                received_at,
                channel,
                urgency,
            } => {
                let c = &consultations[&id];
                let stored = (
                    c.receiving_agency_id.as_str(),
                    c.received_at,
                    c.channel.as_str(),
                    c.household_id.clone(),
                    c.summary.as_str(),
                    c.urgency.as_str(),
                    c.status.as_str(),
                    (c.created_by.as_str(), c.version),
                    subjects.get(&id).cloned().unwrap_or_default(),
                    issues.get(&id).cloned().unwrap_or_default(),
                );
                let expected = (
                    agency_id.as_str(),
                    *received_at,
                    *channel,
                    None,
                    tag.as_str(),
                    *urgency,
                    "OPEN",
                    (account_id.as_str(), 1),
                    sent_subjects.clone(),
                    sent_issues.clone(),
                );
                if stored != expected {
                    problems.push(format!("{what}: stored {stored:?}, sent {expected:?}"));
                }
                let mut ledger_subjects = ledger_subjects;
                ledger_subjects.sort();
                if ledger_subjects != sent_subjects.iter().cloned().collect::<Vec<_>>() {
                    problems.push(format!("{what}: ledger entries {ledger_subjects:?}"));
                }
            }
        }
    }
    (tally, problems)
}

// ---------------------------------------------------------------------------------------
// Running the binary

/// One database the binary runs on, with the environment every command gets.
struct Site {
    label: &'static str,
    dir: PathBuf,
    url: String,
    env: Vec<(String, String)>,
}

impl Site {
    fn new(label: &'static str, dir: &Path, url: String) -> Site {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Site {
            label,
            dir: dir.to_owned(),
            env: vec![
                ("DATABASE_URL".to_owned(), url.clone()),
                ("TSUNAGI_JWT_SECRET".to_owned(), secret),
                // Thousands of writes a minute from two accounts: not what this tests.
                ("TSUNAGI_RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned()),
            ],
            url,
        }
    }

    async fn serve(&self, client: &reqwest::Client, demo: bool) -> ServerProcess {
        let args: &[&str] = if demo {
            &["serve", "--demo"]
        } else {
            &["serve"]
        };
        let server = ServerProcess::spawn(&self.dir, args, &self.env);
        assert!(
            server.wait_ready(client, BOUND).await,
            "{}: the server did not become ready; log:\n{}",
            self.label,
            server.log_text()
        );
        server
    }

    fn tokens(&self) -> Arc<HashMap<&'static str, String>> {
        let mut tokens = HashMap::new();
        for login in ACCOUNTS {
            let out = tsunagi_with(&self.dir, &["token", "--account", login], &self.env);
            assert!(
                out.status.success(),
                "token: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokens.insert(
                login,
                String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            );
        }
        Arc::new(tokens)
    }

    /// `tsunagi audit verify` exits 0 and says ok.
    fn audit_verify(&self) {
        let out = tsunagi_with(&self.dir, &["audit", "verify"], &self.env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.starts_with("ok: "),
            "{}: audit verify failed: {stdout}{}",
            self.label,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn connect(&self) -> DatabaseConnection {
        tsunagi_api::store::connect(&self.url, &Default::default())
            .await
            .expect("connect to the test database")
    }

    /// Check the database against everything the writers sent so far; panic on a problem.
    async fn check(
        &self,
        attempts: &[Attempt],
        base: &Baseline,
        accounts: &HashMap<&'static str, (String, String)>,
        when: &str,
    ) -> Tally {
        let db = self.connect().await;
        let (tally, problems) = check_database(&db, attempts, base, accounts).await;
        db.close().await.ok();
        assert!(
            problems.is_empty(),
            "{} {when}: {} problem(s):\n{}",
            self.label,
            problems.len(),
            problems.join("\n")
        );
        self.audit_verify();
        tally
    }
}

/// Kill rounds on one database: serve (with the demo data the first time), stream writes,
/// SIGKILL after a random number of acknowledgements, check; then a last restart must take
/// writes again.
async fn kill_rounds(site: &Site, rounds: usize) {
    let client = reqwest::Client::new();
    let mut server = site.serve(&client, true).await;
    let tokens = site.tokens();
    let (base, accounts) = {
        let db = site.connect().await;
        let out = (baseline(&db).await, writer_accounts(&db).await);
        db.close().await.ok();
        out
    };
    let mut attempts: Vec<Attempt> = Vec::new();
    for round in 1..=rounds {
        if round > 1 {
            server = site.serve(&client, false).await;
        }
        let load = Load::new(&server.base, &tokens);
        let writers = load.start(&format!("k{round}"), false);
        let kill_after = rand::rng().random_range(5..60);
        load.wait_acks(kill_after, site.label).await;
        server.kill();
        for w in writers {
            w.await.expect("writer");
        }
        let these = load.attempts();
        let failed: Vec<&Attempt> = these
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Failed { .. }))
            .collect();
        assert!(
            failed.is_empty(),
            "{}: writes refused before the kill: {failed:?}",
            site.label
        );
        attempts.extend(these);
        let tally = site
            .check(&attempts, &base, &accounts, &format!("after kill {round}"))
            .await;
        println!(
            "{}: kill {round} after {kill_after}+ acks: {tally:?} (all rounds so far)",
            site.label
        );
    }
    // The restarted server takes writes again, and they are whole too.
    let server = site.serve(&client, false).await;
    let load = Load::new(&server.base, &tokens);
    let writers = load.start("after", true);
    load.wait_acks(3 * ACCOUNTS.len() * WRITERS_PER_ACCOUNT, site.label)
        .await;
    load.stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let after = load.attempts();
    assert!(
        after.iter().all(|a| a.acked().is_some()),
        "{}: writes refused after the restart: {after:?}",
        site.label
    );
    attempts.extend(after);
    drop(server);
    let tally = site
        .check(&attempts, &base, &accounts, "after the last restart")
        .await;
    println!("{}: done: {tally:?}", site.label);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_stream_loses_no_acknowledged_write() {
    let dir = fresh_dir("tsunagi-crash");
    let url = format!("sqlite://{}?mode=rwc", dir.join("crash.db").display());
    kill_rounds(&Site::new("SQLite", &dir, url), 3).await;
    let _ = std::fs::remove_dir_all(&dir);

    let Some((url, db)) = common::scratch_postgres("crash safety").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-crash");
    let site = Site::new("PostgreSQL", &dir, url);
    // Run it as a task so the database is dropped even when a check fails.
    let outcome = tokio::spawn(async move { kill_rounds(&site, 2).await }).await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// SIGTERM mid-stream: the server stops taking connections, answers every request it had
/// taken, and exits 0 within the grace period; every acknowledged write is there, whole;
/// nothing was refused; the restarted server serves the same data.
#[cfg(unix)]
async fn term_round(site: &Site) {
    let client = reqwest::Client::new();
    let mut server = site.serve(&client, true).await;
    let tokens = site.tokens();
    let (base, accounts) = {
        let db = site.connect().await;
        let out = (baseline(&db).await, writer_accounts(&db).await);
        db.close().await.ok();
        out
    };
    let load = Load::new(&server.base, &tokens);
    let writers = load.start("t", false);
    let after = rand::rng().random_range(10..40);
    load.wait_acks(after, site.label).await;
    let signalled = Instant::now();
    let status = tokio::task::block_in_place(|| server.terminate(BOUND));
    let log = server.log_text();
    for w in writers {
        w.await.expect("writer");
    }
    let status = status.unwrap_or_else(|| {
        panic!(
            "{}: still running {BOUND:?} after SIGTERM; log:\n{log}",
            site.label
        )
    });
    assert!(
        status.success(),
        "{}: SIGTERM exit {status}; log:\n{log}",
        site.label
    );
    assert!(
        log.contains("SIGTERM"),
        "{}: the shutdown is logged: {log}",
        site.label
    );
    let attempts = load.attempts();
    let failed: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Failed { .. }))
        .collect();
    assert!(
        failed.is_empty(),
        "{}: refused while draining: {failed:?}",
        site.label
    );
    // Requests taken before the signal were answered after it: the drain, not a cut.
    let drained = attempts
        .iter()
        .filter(|a| a.acked().is_some() && a.started < signalled && a.started + a.took > signalled)
        .count();
    assert!(
        drained > 0,
        "{}: no request in flight at SIGTERM was answered: {attempts:?}",
        site.label
    );
    let tally = site
        .check(&attempts, &base, &accounts, "after SIGTERM")
        .await;
    let again = site.serve(&client, false).await;
    drop(again);
    println!(
        "{}: SIGTERM drained {drained} request(s) in flight; {tally:?}",
        site.label
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_requests_in_flight_and_exits_0() {
    let dir = fresh_dir("tsunagi-term");
    let url = format!("sqlite://{}?mode=rwc", dir.join("term.db").display());
    term_round(&Site::new("SQLite", &dir, url)).await;
    let _ = std::fs::remove_dir_all(&dir);
    let Some((url, db)) = common::scratch_postgres("SIGTERM").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-term");
    let site = Site::new("PostgreSQL", &dir, url);
    let outcome = tokio::spawn(async move { term_round(&site).await }).await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------
// SIGKILL with idempotent writes in flight (issue 15 item 2)

/// One createPerson sent with its own `Idempotency-Key`, and its first answer (None: lost).
#[derive(Clone, Debug)]
struct KeyedWrite {
    login: &'static str,
    key: String,
    sent: Sent,
    body: String,
    first: Option<(u16, Vec<u8>)>,
}

/// POST the exact `body` with `key`: (status, `Idempotent-Replayed`, body bytes), or why
/// there was no answer.
async fn send_keyed(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    body: &str,
) -> Result<(u16, bool, Vec<u8>), String> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, replayed, bytes.to_vec()))
}

fn person_id_in(bytes: &[u8]) -> Option<String> {
    let body: Value = serde_json::from_slice(bytes).ok()?;
    body["data"]["createPerson"]["id"]
        .as_str()
        .map(str::to_owned)
}

/// Writers send keyed createPerson until the server is SIGKILLed (after a random number of
/// answers, with writes in flight); the server is restarted and every key is sent again
/// with its body. For every key: if its first request committed (answered, or lost after
/// its commit), the retry is a byte-identical replay of that answer; if not, the retry runs
/// it (once). Then there is exactly one person per key, whole with its ledger rows
/// ([`check_database`]), and the chain verifies.
async fn idempotent_kill_round(site: &Site) {
    let client = reqwest::Client::builder()
        .timeout(ANSWER_BOUND)
        .build()
        .expect("client");
    let server = site.serve(&client, true).await;
    let tokens = site.tokens();
    let (base, accounts) = {
        let db = site.connect().await;
        let out = (baseline(&db).await, writer_accounts(&db).await);
        db.close().await.ok();
        out
    };
    let log: Arc<Mutex<Vec<KeyedWrite>>> = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for (a, login) in ACCOUNTS.iter().enumerate() {
        for w in 0..WRITERS_PER_ACCOUNT {
            let (client, url, tokens) = (client.clone(), server.base.clone(), tokens.clone());
            let (log, answered) = (log.clone(), answered.clone());
            writers.push(tokio::spawn(async move {
                for n in 1.. {
                    let tag = format!("ia{a}w{w}n{n}p");
                    let key = format!("crash-{a}-{w}-{n}");
                    let sent = Sent::person(tag, n);
                    let body = sent.request().to_string();
                    let outcome = send_keyed(&client, &url, &tokens[login], &key, &body).await;
                    let first = outcome.ok().map(|(status, replayed, bytes)| {
                        assert!(!replayed, "a first request replayed: {key}");
                        (status, bytes)
                    });
                    let lost = first.is_none();
                    log.lock().expect("log").push(KeyedWrite {
                        login,
                        key,
                        sent,
                        body,
                        first,
                    });
                    if lost {
                        return;
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
    }
    let kill_after = rand::rng().random_range(10..60);
    let start = Instant::now();
    while answered.load(Ordering::SeqCst) < kill_after {
        assert!(start.elapsed() < BOUND, "{}: too few answers", site.label);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut server = server;
    server.kill();
    for w in writers {
        w.await.expect("writer");
    }
    let writes = log.lock().expect("log").clone();
    for w in &writes {
        if let Some((status, bytes)) = &w.first {
            assert!(
                *status == 200 && person_id_in(bytes).is_some(),
                "{}: {} answered {status}: {}",
                site.label,
                w.key,
                String::from_utf8_lossy(bytes)
            );
        }
    }
    // Which first requests committed: their person is there.
    let present: HashMap<String, String> = {
        let db = site.connect().await;
        let persons = person::Entity::find()
            .filter(person::Column::FamilyName.eq(FAMILY_NAME))
            .all(&db)
            .await
            .expect("persons");
        db.close().await.ok();
        let mut by_tag = HashMap::new();
        for p in persons {
            assert!(
                by_tag.insert(p.given_name.clone(), p.id).is_none(),
                "{}: two persons for {}",
                site.label,
                p.given_name
            );
        }
        by_tag
    };

    let server = site.serve(&client, false).await;
    let (mut replayed, mut ran, mut lost_committed) = (0, 0, 0);
    let mut attempts = Vec::new();
    for w in &writes {
        let tag = w.sent.tag();
        let (status, was_replayed, bytes) =
            send_keyed(&client, &server.base, &tokens[w.login], &w.key, &w.body)
                .await
                .unwrap_or_else(|e| panic!("{}: retry of {}: {e}", site.label, w.key));
        assert_eq!(status, 200, "{}: retry of {}", site.label, w.key);
        let id = person_id_in(&bytes).unwrap_or_else(|| {
            panic!(
                "{}: retry of {}: {}",
                site.label,
                w.key,
                String::from_utf8_lossy(&bytes)
            )
        });
        match (&w.first, present.get(tag)) {
            (Some((_, first)), Some(stored)) => {
                assert!(
                    was_replayed,
                    "{}: an answered key ran again: {}",
                    site.label, w.key
                );
                assert_eq!(
                    &bytes, first,
                    "{}: the replay of {} differs",
                    site.label, w.key
                );
                assert_eq!(&id, stored);
                replayed += 1;
            }
            (Some(_), None) => panic!(
                "{}: {} was answered but its person is missing",
                site.label, w.key
            ),
            (None, Some(stored)) => {
                assert!(
                    was_replayed,
                    "{}: {} committed, and ran again",
                    site.label, w.key
                );
                assert_eq!(&id, stored);
                lost_committed += 1;
            }
            (None, None) => {
                assert!(
                    !was_replayed,
                    "{}: {} replayed an answer never committed",
                    site.label, w.key
                );
                ran += 1;
            }
        }
        // Once more: now it is a replay whatever happened before.
        let (_, again, again_bytes) =
            send_keyed(&client, &server.base, &tokens[w.login], &w.key, &w.body)
                .await
                .expect("second retry");
        assert!(
            again && again_bytes == bytes,
            "{}: second retry of {}",
            site.label,
            w.key
        );
        attempts.push(Attempt {
            login: w.login,
            sent: w.sent.clone(),
            outcome: Outcome::Acked(id),
            started: Instant::now(),
            took: Duration::ZERO,
        });
    }
    drop(server);
    // One person per key, whole, with its ledger rows; the chain verifies.
    let tally = site
        .check(&attempts, &base, &accounts, "after the idempotent retries")
        .await;
    assert_eq!(tally.acked, writes.len(), "{}: {tally:?}", site.label);
    println!(
        "{}: SIGKILL after {kill_after}+ answers: {} keys; {replayed} answered and replayed, \
         {lost_committed} lost after their commit and replayed, {ran} lost before it and run by the retry",
        site.label,
        writes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_with_idempotent_writes_in_flight_then_each_key_runs_once() {
    let dir = fresh_dir("tsunagi-crash-idem");
    let url = format!("sqlite://{}?mode=rwc", dir.join("crash.db").display());
    idempotent_kill_round(&Site::new("SQLite", &dir, url)).await;
    let _ = std::fs::remove_dir_all(&dir);

    let Some((url, db)) = common::scratch_postgres("idempotent crash safety").await else {
        return;
    };
    let dir = fresh_dir("tsunagi-crash-idem");
    let site = Site::new("PostgreSQL", &dir, url);
    let outcome = tokio::spawn(async move { idempotent_kill_round(&site).await }).await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL restart under load, on a private cluster

/// A throwaway PostgreSQL cluster in a temp dir owned by `postgres`, on a free port with
/// trust auth, so restarting it disturbs nobody. Stopped and removed when dropped.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    /// Why it cannot be created here, if it cannot.
    fn create() -> Result<Cluster, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run `id -u`: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not running as root (needed to run PostgreSQL as `postgres`)".to_owned());
        }
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no /usr/lib/postgresql: {e}"))?
            .filter_map(|d| d.ok().map(|d| d.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .collect();
        bins.sort_by_key(|b| {
            b.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        let bin = bins
            .pop()
            .ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
        let dir = fresh_dir("tsunagi-pgcluster");
        let cluster = Cluster {
            dir,
            bin,
            port: common::free_port(),
        };
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&cluster.dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !chown.success() {
            return Err("cannot chown the cluster directory to postgres".to_owned());
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        cluster.start()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A PostgreSQL program as the `postgres` user.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .output()
            .map_err(|e| format!("runuser {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        )
    }

    /// `pg_ctl stop -m immediate` (a crash: no checkpoint, recovery on start) or `fast`.
    fn stop(&self, mode: &str) -> Result<(), String> {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Poll /readyz until it answers `want`; every answer must come within [`READYZ_BOUND`].
async fn wait_readyz(client: &reqwest::Client, server: &ServerProcess, want: u16, what: &str) {
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        let status = client
            .get(server.url("/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert!(
            asked.elapsed() < READYZ_BOUND,
            "{what}: /readyz took {:?} to answer",
            asked.elapsed()
        );
        match status {
            Ok(s) if s == want => return,
            Ok(200 | 503) => {}
            other => panic!("{what}: /readyz answered {other:?}"),
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: /readyz did not answer {want} within {BOUND:?}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_load_recovers_by_itself() {
    let cluster = match Cluster::create() {
        Ok(c) => c,
        Err(why) => {
            assert!(
                !in_ci(),
                "PostgreSQL restart NOT TESTED, and CI is set: {why}"
            );
            println!("WARNING: PostgreSQL restart NOT TESTED: {why}");
            return;
        }
    };
    let dir = fresh_dir("tsunagi-pgrestart");
    let site = Site::new("PostgreSQL restart", &dir, cluster.url());
    let client = reqwest::Client::builder()
        .timeout(ANSWER_BOUND + Duration::from_secs(15))
        .build()
        .expect("client");
    let server = site.serve(&client, true).await;
    let tokens = site.tokens();
    let (base, accounts) = {
        let db = site.connect().await;
        let out = (baseline(&db).await, writer_accounts(&db).await);
        db.close().await.ok();
        out
    };
    let load = Load::new(&server.base, &tokens);
    let writers = load.start("pg", true);
    load.wait_acks(20, "before the restart").await;
    for mode in ["immediate", "fast"] {
        let what = format!("pg_ctl stop -m {mode}");
        cluster.stop(mode).expect("stop PostgreSQL");
        let down = Instant::now();
        wait_readyz(&client, &server, 503, &what).await;
        let not_ready = down.elapsed();
        // A write sent while the database is down is answered with a clean error.
        loop {
            let refused = load
                .attempts()
                .iter()
                .any(|a| a.started >= down && matches!(a.outcome, Outcome::Failed { .. }));
            if refused {
                break;
            }
            assert!(
                down.elapsed() < BOUND,
                "{what}: no write was answered while down"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let refused_after = down.elapsed();
        cluster.start().expect("start PostgreSQL");
        let up = Instant::now();
        wait_readyz(&client, &server, 200, &format!("{what}, started again")).await;
        let ready_again = up.elapsed();
        let acked = load.acks.load(Ordering::SeqCst);
        load.wait_acks(acked + 10, &format!("{what}, started again"))
            .await;
        println!(
            "{}: {what}: /readyz 503 after {not_ready:?}, a write refused after {refused_after:?}; \
             started again: /readyz 200 after {ready_again:?}, writing again after {:?}",
            site.label,
            up.elapsed()
        );
    }
    load.stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let attempts = load.attempts();
    let mut refused = 0;
    let slowest = attempts.iter().map(|a| a.took).max().unwrap_or_default();
    for a in &attempts {
        assert!(
            a.took < ANSWER_BOUND,
            "a write took {:?} to be answered: {a:?}",
            a.took
        );
        match &a.outcome {
            Outcome::Acked(_) => {}
            Outcome::Failed { status, code } => {
                refused += 1;
                // No pooled connection in time (the database down, a new connection being
                // retried until the acquire timeout) is shed: 503 UNAVAILABLE. A statement
                // that fails on a connection that died under it is INTERNAL.
                let clean = (code == "INTERNAL" && (*status == 200 || *status >= 500))
                    || (code == "UNAVAILABLE" && *status == 503);
                assert!(
                    clean,
                    "a write failed with HTTP {status} {code}, not a clean INTERNAL or UNAVAILABLE error: {a:?}"
                );
            }
            Outcome::Lost(why) => panic!("a write got no answer ({why}): {a:?}"),
        }
    }
    let tally = site
        .check(&attempts, &base, &accounts, "after two restarts")
        .await;
    println!(
        "{}: {refused} writes refused while down (slowest answer {slowest:?}); {tally:?}",
        site.label
    );
    drop(server);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
