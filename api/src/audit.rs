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

mod group;
mod rows;

pub use group::GroupCommit;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
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
    /// The service client the caller's token was issued to (`cid`), if it is a client token.
    pub client_id: Option<String>,
    /// A WRITE's external reference: the writing agency's own `(system, external id)` for
    /// the record, stored by `store::write` in the write's transaction (never in the row).
    pub external_ref: Option<RefEntry>,
}

/// The external reference a WRITE entry carries (see [`Entry::external_ref`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefEntry {
    pub system: String,
    pub external_id: String,
    /// The upsert input's hash, for records an upsert only creates.
    pub input_hash: Option<String>,
}

impl Entry {
    /// An entry by `principal`: its account, agency, roles in effect and service client
    /// filled in, the rest empty. Every entry made on a caller's behalf starts here.
    pub fn by(principal: &Principal) -> Self {
        Entry {
            account_id: Some(principal.account_id.clone()),
            agency_id: Some(principal.agency_id.clone()),
            roles: Role::format_set(&principal.roles),
            client_id: principal.client_id.clone(),
            bases: serde_json::json!({}),
            ..Entry::default()
        }
    }

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
            action: "WRITE",
            operation: operation.to_owned(),
            record_type: record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            subject_person_id: subject_person_id.map(str::to_owned),
            detail,
            ..Entry::by(principal)
        }
    }
}

/// Timestamps in the ledger are kept to the microsecond, which both databases store exactly.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(now)
}

/// The hashed form of a row: a JSON array of its columns in order, `hash` left out. Written
/// straight into `out` (a hasher, or a buffer in the tests) element by element: the bytes are
/// exactly those of `serde_json::json!([...]).to_string()` over the same values, which is
/// what every existing row was hashed over, without building a JSON tree of copies first.
///
/// `client_id` (added later) is one more element at the end, and only when it is set: a row
/// without a client (every row written before the column existed, and every staff row) has
/// exactly the bytes, and so the hash, it always had, and the old chain still verifies.
fn write_canonical<W: std::io::Write>(
    row: &audit_event::Model,
    out: &mut W,
) -> std::io::Result<()> {
    fn item<W: std::io::Write, T: serde::Serialize + ?Sized>(
        out: &mut W,
        first: bool,
        v: &T,
    ) -> std::io::Result<()> {
        if !first {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, v).map_err(std::io::Error::other)
    }
    out.write_all(b"[")?;
    item(out, true, &row.seq)?;
    item(out, false, &row.id)?;
    item(
        out,
        false,
        &row.at.to_rfc3339_opts(SecondsFormat::Micros, true),
    )?;
    item(out, false, &row.account_id)?;
    item(out, false, &row.agency_id)?;
    item(out, false, &row.roles)?;
    item(out, false, &row.action)?;
    item(out, false, &row.operation)?;
    item(out, false, &row.record_type)?;
    item(out, false, &row.record_id)?;
    item(out, false, &row.subject_person_id)?;
    item(out, false, &row.shown)?;
    item(out, false, &row.withheld)?;
    item(out, false, &row.bases)?;
    item(out, false, &row.detail)?;
    item(out, false, &row.policy_version)?;
    item(out, false, &row.prev_hash)?;
    if let Some(client) = &row.client_id {
        item(out, false, client)?;
    }
    out.write_all(b"]")
}

fn hash_of(row: &audit_event::Model) -> String {
    let mut hasher = Sha256::new();
    // Writing into a hasher cannot fail (nor can serialising strings and integers).
    let _ = write_canonical(row, &mut hasher);
    hex::encode(hasher.finalize())
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
    // Only the two columns the chain needs (not the last row's detail and bases).
    tail_unlocked(txn).await
}

/// The chain's last seq and hash without taking the lock (a hint: the group commit checks
/// it through the primary key when it inserts after it).
async fn tail_unlocked<C: ConnectionTrait>(db: &C) -> Result<(i64, String), DbErr> {
    let last: Option<(i64, String)> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .column(audit_event::Column::Hash)
        .order_by_desc(audit_event::Column::Seq)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or_else(|| (0, GENESIS_HASH.to_owned())))
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
    let (seq, prev) = tail(txn).await?;
    let rows = chain_rows(seq, prev, &entries);
    rows::insert_rows(txn, rows).await
}

/// The entries as chained rows after the row `seq` whose hash is `prev`.
fn chain_rows(mut seq: i64, mut prev: String, entries: &[Entry]) -> Vec<audit_event::Model> {
    let at = now_micros();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let mut row = audit_event::Model {
            seq,
            id: uuid::Uuid::now_v7().to_string(),
            at,
            account_id: e.account_id.clone(),
            agency_id: e.agency_id.clone(),
            roles: e.roles.clone(),
            action: e.action.to_owned(),
            operation: e.operation.clone(),
            record_type: e.record_type.clone(),
            record_id: e.record_id.clone(),
            subject_person_id: e.subject_person_id.clone(),
            shown: serde_json::to_string(&e.shown).unwrap_or_default(),
            withheld: serde_json::to_string(&e.withheld).unwrap_or_default(),
            bases: e.bases.to_string(),
            detail: e.detail.to_string(),
            policy_version: POLICY_VERSION,
            prev_hash: prev,
            hash: String::new(),
            client_id: e.client_id.clone(),
        };
        row.hash = hash_of(&row);
        prev = row.hash.clone();
        rows.push(row);
    }
    rows
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
                client_id: principal.client_id.clone(),
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
                external_ref: None,
            })
            .chain(notes.into_iter().map(|mut n| {
                if n.operation.is_empty() {
                    n.operation = operation.to_owned();
                }
                // A note made for this caller names its service client too, however it was
                // built (`Entry::by` does it already).
                if n.client_id.is_none() && n.account_id.as_deref() == Some(&principal.account_id)
                {
                    n.client_id.clone_from(&principal.client_id);
                }
                n
            }))
            .collect::<Vec<_>>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How every row before this change was hashed: the canonical bytes must not change,
    /// or the whole existing chain would stop verifying.
    fn canonical_as_before(row: &audit_event::Model) -> String {
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

    fn row(account: Option<&str>, text: &str) -> audit_event::Model {
        audit_event::Model {
            seq: 42,
            id: "0193a0c0-0000-7000-8000-000000000001".into(),
            at: DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap(),
            account_id: account.map(str::to_owned),
            agency_id: None,
            roles: "CASEWORKER".into(),
            action: "READ".into(),
            operation: text.into(),
            record_type: "person".into(),
            record_id: Some("p\"1".into()),
            subject_person_id: Some("p\"1".into()),
            shown: r#"["IDENTITY"]"#.into(),
            withheld: "[]".into(),
            bases: r#"{"IDENTITY":["CONSENT:c1"]}"#.into(),
            detail: r#"{"denials":{},"records":[]}"#.into(),
            policy_version: 3,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
            client_id: None,
        }
    }

    #[test]
    fn the_canonical_form_is_byte_for_byte_the_old_one() {
        for r in [
            row(Some("a1"), "HouseholdOverview"),
            row(None, "改行\n\ttab \u{0} \u{1f} \\ / 😀 \u{2028}"),
        ] {
            let mut out = Vec::new();
            write_canonical(&r, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), canonical_as_before(&r));
            assert_eq!(
                hash_of(&r),
                hex::encode(Sha256::digest(canonical_as_before(&r).as_bytes()))
            );
        }
    }

    /// The service client is hashed when set (so it cannot be edited or removed unnoticed),
    /// and a row without one (every row before the column existed) hashes as it always did.
    #[test]
    fn a_client_is_hashed_when_set_and_old_rows_hash_as_before() {
        let old = row(Some("a1"), "HouseholdOverview");
        // Pinned: the hash this row had before `client_id` existed.
        assert_eq!(hash_of(&old), OLD_FORMAT_HASH);
        let with_client = audit_event::Model {
            client_id: Some("client-1".into()),
            ..old.clone()
        };
        assert_ne!(hash_of(&with_client), hash_of(&old));
        let mut bytes = Vec::new();
        write_canonical(&with_client, &mut bytes).unwrap();
        let before = canonical_as_before(&old);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            format!("{},\"client-1\"]", &before[..before.len() - 1]),
            "one more element at the end"
        );
        let other_client = audit_event::Model {
            client_id: Some("client-2".into()),
            ..old.clone()
        };
        assert_ne!(hash_of(&with_client), hash_of(&other_client));
    }

    /// SHA-256 of the row's canonical JSON as rows were hashed before `client_id` (checked
    /// independently of this code, with Python's `json.dumps` and `hashlib`).
    const OLD_FORMAT_HASH: &str =
        "2302d9d00bf56db8da1beb254abb5b9ce26f20a30bb1882d0a82a577525445ae";
}
