//! 監査ログ (ledger): an append-only, hash-chained record of every read of personal fields
//! and every write. Each row's hash covers its content and the previous row's hash, so an
//! edited, deleted or reordered row breaks the chain at that row.
//!
//! Appends are serialised: on PostgreSQL with a transaction-scoped advisory lock, on SQLite
//! by its single writer. Writes append inside the same transaction as the change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use sha2::{Digest, Sha256};

use crate::policy::{Category, Decision, Principal, Role, POLICY_VERSION};
use entity::audit_event;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Ledger rows per INSERT statement.
const APPEND_CHUNK: usize = 500;
const PG_LEDGER_LOCK: i64 = 0x0074_7375_6e61_6769; // "tsunagi"

/// One ledger row before it is chained.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub account_id: Option<String>,
    pub agency_id: Option<String>,
    pub roles: String,
    /// READ or WRITE.
    pub action: &'static str,
    pub operation: String,
    pub record_type: String,
    pub record_id: Option<String>,
    pub subject_person_id: Option<String>,
    pub shown: Vec<String>,
    pub withheld: Vec<String>,
    pub bases: serde_json::Value,
    pub detail: serde_json::Value,
}

impl Entry {
    /// A write by `principal`: which record, which fields changed (names, never values).
    pub fn write(
        principal: &Principal,
        operation: &str,
        record_type: &str,
        record_id: &str,
        subject_person_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Self {
        Entry {
            account_id: Some(principal.account_id.clone()),
            agency_id: Some(principal.agency_id.clone()),
            roles: Role::format_set(&principal.roles),
            action: "WRITE",
            operation: operation.to_owned(),
            record_type: record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            subject_person_id: subject_person_id.map(str::to_owned),
            bases: serde_json::json!({}),
            detail,
            ..Entry::default()
        }
    }
}

/// Timestamps in the ledger are kept to the microsecond, which both databases store exactly.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(now)
}

fn canonical(row: &audit_event::Model) -> String {
    serde_json::json!([
        row.seq,
        row.id,
        row.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        row.account_id,
        row.agency_id,
        row.roles,
        row.action,
        row.operation,
        row.record_type,
        row.record_id,
        row.subject_person_id,
        row.shown,
        row.withheld,
        row.bases,
        row.detail,
        row.policy_version,
        row.prev_hash,
    ])
    .to_string()
}

fn hash_of(row: &audit_event::Model) -> String {
    hex::encode(Sha256::digest(canonical(row).as_bytes()))
}

/// The chain's last seq and hash as seen inside `txn`, after taking the append lock (on
/// PostgreSQL; SQLite has a single writer). For bulk loaders that chain rows themselves.
pub async fn tail(txn: &DatabaseTransaction) -> Result<(i64, String), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({PG_LEDGER_LOCK})"),
        ))
        .await?;
    }
    let last = audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Seq)
        .one(txn)
        .await?;
    Ok(match last {
        Some(row) => (row.seq, row.hash),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// Set a row's hash over its content (including `prev_hash`), as `append` does.
pub fn seal(row: &mut audit_event::Model) {
    row.hash = hash_of(row);
}

/// Append entries to the chain inside `txn`.
pub async fn append(txn: &DatabaseTransaction, entries: Vec<Entry>) -> Result<(), DbErr> {
    // Benchmark builds only: measure the cost of the ledger (see bench_switches).
    #[cfg(feature = "bench-switches")]
    if crate::bench_switches::no_ledger() {
        return Ok(());
    }
    if entries.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev) = tail(txn).await?;
    let at = now_micros();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let mut row = audit_event::Model {
            seq,
            id: uuid::Uuid::now_v7().to_string(),
            at,
            account_id: e.account_id,
            agency_id: e.agency_id,
            roles: e.roles,
            action: e.action.to_owned(),
            operation: e.operation,
            record_type: e.record_type,
            record_id: e.record_id,
            subject_person_id: e.subject_person_id,
            shown: serde_json::to_string(&e.shown).unwrap_or_default(),
            withheld: serde_json::to_string(&e.withheld).unwrap_or_default(),
            bases: e.bases.to_string(),
            detail: e.detail.to_string(),
            policy_version: POLICY_VERSION,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        row.hash = hash_of(&row);
        prev = row.hash.clone();
        rows.push(audit_event::ActiveModel::from(row));
    }
    // One statement per request's worth of rows (chunked to stay under the databases' bind
    // parameter limits: 18 columns × 500 rows).
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(APPEND_CHUNK));
        audit_event::Entity::insert_many(std::mem::replace(&mut rows, rest))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Most requests' read rows taken into one ledger transaction.
const GROUP_MAX_REQUESTS: usize = 256;

/// Group commit for the read rows of requests (http.rs). Each request hands its rows to one
/// writer task and waits until they are committed; the writer appends every request that
/// is waiting in ONE transaction (one lock, one chain-tail read, one INSERT per 500 rows,
/// one commit and so one WAL flush), then answers each. Without it every request took the
/// chain lock for its own commit, and the ledger capped the whole hub at one WAL flush per
/// request. Nothing changes for a caller: its response still waits until its rows are
/// durable, a failed commit fails every request in the group (their responses are
/// withheld), and the chain is the same chain. Writes keep appending inside their own
/// transaction, as before, under the same lock.
pub struct GroupCommit {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

struct Job {
    entries: Vec<Entry>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl GroupCommit {
    /// Start the writer task (needs a tokio runtime). It ends when the last handle is dropped.
    pub fn start(db: sea_orm::DatabaseConnection) -> Self {
        use sea_orm::TransactionTrait as _;
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut group = vec![first];
                while group.len() < GROUP_MAX_REQUESTS {
                    match queue.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                let entries: Vec<Entry> = group
                    .iter_mut()
                    .flat_map(|j| std::mem::take(&mut j.entries))
                    .collect();
                // Each group in its own task: should one ever panic, that group's requests
                // fail (their responses are withheld) and the writer goes on serving.
                let db = db.clone();
                let result = match tokio::spawn(async move {
                    let txn = db.begin().await?;
                    append(&txn, entries).await?;
                    txn.commit().await
                })
                .await
                {
                    Ok(done) => done.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("ledger group failed: {e}")),
                };
                for job in group {
                    let _ = job.done.send(result.clone());
                }
            }
        });
        GroupCommit { jobs }
    }

    /// Append `entries` and wait until they are committed.
    pub async fn append(&self, entries: Vec<Entry>) -> Result<(), String> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job { entries, done })
            .map_err(|_| "ledger writer stopped".to_owned())?;
        committed
            .await
            .map_err(|_| "ledger writer stopped".to_owned())?
    }
}

/// Result of walking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: i64,
    /// The first row that does not verify (its seq, or the seq that was expected there).
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

/// Walk the whole chain in order and report the first broken row.
pub async fn verify<C: ConnectionTrait>(db: &C) -> Result<ChainReport, DbErr> {
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_owned();
    let mut after = 0i64;
    let mut checked = 0i64;
    loop {
        let page = audit_event::Entity::find()
            .filter(sea_orm::ColumnTrait::gt(&audit_event::Column::Seq, after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        if page.is_empty() {
            return Ok(ChainReport {
                checked,
                first_broken_seq: None,
                problem: None,
            });
        }
        for row in page {
            let problem = if row.seq != expected_seq {
                Some(format!(
                    "row {expected_seq} is missing (next is {})",
                    row.seq
                ))
            } else if row.prev_hash != prev {
                Some("prev_hash does not match the previous row".to_owned())
            } else if hash_of(&row) != row.hash {
                Some("hash does not match the row's content".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(ChainReport {
                    checked,
                    first_broken_seq: Some(expected_seq.min(row.seq)),
                    problem: Some(problem),
                });
            }
            checked += 1;
            expected_seq += 1;
            after = row.seq;
            prev = row.hash;
        }
    }
}

/// What one request read, gathered while the response is resolved and written to the ledger
/// before the response leaves (one row per subject person).
#[derive(Default)]
pub struct AccessRecorder {
    reads: Mutex<Vec<Read>>,
    notes: Mutex<Vec<Entry>>,
}

struct Read {
    subject: String,
    record_type: &'static str,
    record_id: String,
    category: Category,
    decision: Decision,
}

impl AccessRecorder {
    pub fn record(
        &self,
        subject: &str,
        record_type: &'static str,
        record_id: &str,
        category: Category,
        decision: &Decision,
    ) {
        if let Ok(mut reads) = self.reads.lock() {
            reads.push(Read {
                subject: subject.to_owned(),
                record_type,
                record_id: record_id.to_owned(),
                category,
                decision: decision.clone(),
            });
        }
    }

    /// A ledger entry that is not a field read (e.g. a read of the ledger itself).
    pub fn note(&self, entry: Entry) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(entry);
        }
    }

    /// Ledger entries for everything recorded: reads grouped by subject, then notes. None if
    /// the recorder's lock was poisoned (a panic mid-request): the caller must then fail the
    /// request rather than answer unledgered.
    pub fn entries(&self, principal: &Principal, operation: &str) -> Option<Vec<Entry>> {
        let reads = std::mem::take(&mut *self.reads.lock().ok()?);
        let notes = std::mem::take(&mut *self.notes.lock().ok()?);
        #[derive(Default)]
        struct Group {
            shown: BTreeSet<&'static str>,
            withheld: BTreeSet<&'static str>,
            bases: BTreeMap<&'static str, BTreeSet<String>>,
            denials: BTreeMap<&'static str, BTreeSet<&'static str>>,
            records: BTreeSet<(&'static str, String)>,
        }
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for r in reads {
            let g = groups.entry(r.subject).or_default();
            let cat = r.category.as_str();
            g.records.insert((r.record_type, r.record_id));
            match &r.decision {
                Ok(basis) => {
                    g.shown.insert(cat);
                    let text = match basis.reference() {
                        Some(reference) => format!("{}:{reference}", basis.kind()),
                        None => basis.kind().to_owned(),
                    };
                    g.bases.entry(cat).or_default().insert(text);
                }
                Err(denial) => {
                    g.withheld.insert(cat);
                    g.denials.entry(cat).or_default().insert(denial.kind());
                }
            }
        }
        groups
            .into_iter()
            .map(|(subject, g)| Entry {
                account_id: Some(principal.account_id.clone()),
                agency_id: Some(principal.agency_id.clone()),
                roles: Role::format_set(&principal.roles),
                action: "READ",
                operation: operation.to_owned(),
                record_type: "person".to_owned(),
                record_id: Some(subject.clone()),
                subject_person_id: Some(subject),
                shown: g.shown.iter().map(|s| s.to_string()).collect(),
                withheld: g.withheld.iter().map(|s| s.to_string()).collect(),
                bases: serde_json::json!(g.bases),
                detail: serde_json::json!({
                    "denials": g.denials,
                    "records": g.records.iter().map(|(t, id)| serde_json::json!({"type": t, "id": id})).collect::<Vec<_>>(),
                }),
            })
            .chain(notes.into_iter().map(|mut n| {
                if n.operation.is_empty() {
                    n.operation = operation.to_owned();
                }
                n
            }))
            .collect::<Vec<_>>()
            .into()
    }
}
