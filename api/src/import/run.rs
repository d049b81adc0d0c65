//! One import, from a file's bytes to its report: read every row ([`super::rows`]), plan
//! every row against the database ([`super::persons::plan`]), then, only if no row is bad
//! (or `skip_bad_rows`) and not a dry run, write.
//!
//! The writes of one import are one transaction (a request transaction,
//! `store::handle::RequestTxn`): its batches are savepoints, their ledger rows are appended
//! just before the commit. So an import is stored whole with its ledger rows or not at all:
//! a crash, a conflicting write or a failed batch leaves nothing, and a re-run starts again
//! from the same state. On SQLite the import holds the database's one write lock while it
//! writes (other writers wait, up to the busy timeout); on PostgreSQL others' writes go on,
//! and the ledger's lock is taken only for the final append.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::columns::{Kind, Mapping};
use super::encoding::{decode, Encoding};
use super::rows::{read_persons_lenient, ReadOptions};
use super::{mutations, persons, records, RowError};
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::graphql::TsunagiSchema;
use crate::policy::{Action, Principal};
use crate::store::{self, Db, RequestTxn};

/// How to import a file.
#[derive(Clone, Debug)]
pub struct Options {
    pub kind: Kind,
    pub encoding: Encoding,
    pub mapping: Mapping,
    /// The agency system the file's ids belong to: the `system` of the external references
    /// the rows are stored under (the same as the agency's software sends to `upsertPerson`,
    /// so a record imported and a record synced are one).
    pub system: String,
    pub dry_run: bool,
    pub skip_bad_rows: bool,
}

/// Rows per write batch (one savepoint, a few multi-row statements).
const BATCH: usize = 500;

/// One problem of the report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did (or, in a dry run or when refused, would do).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The id of this import: the `import` of its ledger rows.
    pub import_id: String,
    pub kind: &'static str,
    /// The encoding the file was read as (`UTF-8` or `CP932`), when it could be read.
    pub encoding: Option<&'static str>,
    pub dry_run: bool,
    /// The file was refused for its problems (bad rows without `skipBadRows`, a header that
    /// cannot be read): nothing written.
    pub refused: bool,
    /// Something was stored: not a dry run, not refused, and a row to create or change.
    pub written: bool,
    /// Data rows read (blank rows are not counted).
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Bad rows left out (`skipBadRows`), or that stopped the import.
    pub bad_rows: usize,
    pub errors: Vec<Problem>,
}

impl Report {
    fn new(kind: Kind, dry_run: bool) -> Report {
        Report {
            import_id: store::new_id(),
            kind: kind.name(),
            encoding: None,
            dry_run,
            refused: false,
            written: false,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            bad_rows: 0,
            errors: Vec::new(),
        }
    }

    fn refuse(mut self, errors: Vec<RowError>) -> Report {
        self.refused = true;
        self.problems(errors)
    }

    fn problems(mut self, errors: Vec<RowError>) -> Report {
        self.bad_rows = distinct_lines(&errors);
        let mut errors = errors;
        errors.sort_by_key(|e| e.line);
        self.errors = errors
            .into_iter()
            .map(|e| Problem {
                line: e.line,
                column: e.column,
                reason: e.reason,
            })
            .collect();
        self
    }

    /// The report's problems as a CSV file (行,列,理由 / line,column,reason), UTF-8 with a
    /// BOM and CRLF line ends, so that Excel opens it as it is.
    pub fn errors_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = w.write_record(["行 / line", "列 / column", "理由 / reason"]);
        for e in &self.errors {
            let _ = w.write_record([
                e.line.to_string(),
                crate::export::guard(e.column.as_deref().unwrap_or_default()),
                crate::export::guard(&e.reason),
            ]);
        }
        let body = w.into_inner().unwrap_or_default();
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend(body);
        out
    }

    /// A few lines for a terminal: the counts, then every problem.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} ({}): {} 行 / rows, 作成 {} created, 更新 {} updated, 変更なし {} unchanged, 不正 {} bad{}{}\n",
            self.kind,
            self.encoding.unwrap_or("?"),
            self.rows,
            self.created,
            self.updated,
            self.unchanged,
            self.bad_rows,
            if self.dry_run { " — 試行のみ / dry run" } else { "" },
            if self.refused { " — 取り込みを中止、書き込みなし / refused, nothing written" } else if self.written { "" } else { " — 書き込みなし / nothing written" },
        );
        for e in &self.errors {
            let column = e
                .column
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} 行目 / line {}{column}: {}\n",
                e.line, e.line, e.reason
            ));
        }
        out
    }
}

/// The action a kind of import needs (the role its mutations need).
fn action(kind: Kind) -> Action {
    match kind {
        Kind::Persons | Kind::Households | Kind::Memberships => Action::RecordPerson,
        Kind::Consultations => Action::RecordConsultation,
        Kind::Consents => Action::RecordConsent,
    }
}

/// Import `bytes` as `principal` (its agency owns what is created), at `now`. Refusals of the
/// whole file (an unknown kind, header problems, bad rows without `skip_bad_rows`) are in the
/// report, with nothing written; an error is a failure of the database or the ledger, and
/// nothing was written then either.
pub async fn run(
    schema: &TsunagiSchema,
    db: &DatabaseConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    bytes: &[u8],
    options: &Options,
) -> ApiResult<Report> {
    if !crate::policy::may(principal, action(options.kind)) {
        return Err(ApiError::forbidden(format!(
            "import {}",
            options.kind.name()
        )));
    }
    let mut report = Report::new(options.kind, options.dry_run);
    let decoded = match decode(bytes, options.encoding) {
        Ok(d) => d,
        Err(e) => {
            return Ok(report.refuse(vec![RowError::new(e.line() as u64, None, e.to_string())]))
        }
    };
    report.encoding = Some(decoded.encoding.name());
    if options.kind != Kind::Persons {
        return records(
            schema,
            db,
            principal,
            now,
            &decoded.text,
            options,
            report,
            bytes,
        )
        .await;
    }
    let read = ReadOptions {
        mapping: options.mapping.clone(),
        // createPerson's rule: a birth date after today (UTC, as the mutation reads it) is refused.
        today: now.date_naive(),
    };
    let (rows, mut errors) = match read_persons_lenient(&decoded.text, &read) {
        Ok(read) => read,
        Err(header) => return Ok(report.refuse(header)),
    };
    // Data rows: the good ones and those the reader refused (line 1 is the header's).
    report.rows = rows.len() + distinct_lines(&errors);
    let (planned, plan_errors) = persons::plan(db, principal, now, &options.system, rows).await?;
    errors.extend(plan_errors);
    for p in &planned {
        match p.planned {
            persons::Planned::Create(_) => report.created += 1,
            persons::Planned::Update(..) => report.updated += 1,
            persons::Planned::Unchanged => report.unchanged += 1,
        }
    }
    let refused = !errors.is_empty() && !options.skip_bad_rows;
    report = if refused {
        report.refuse(errors)
    } else {
        report.problems(errors)
    };
    // A re-run of the same file has nothing to write: nothing is, not even a ledger row.
    if refused || options.dry_run || report.created + report.updated == 0 {
        return Ok(report);
    }
    let request = RequestTxn::begin(db).await?;
    let handle = Db::Txn(request.clone());
    let mut planned = planned.into_iter().peekable();
    while planned.peek().is_some() {
        let batch: Vec<_> = planned.by_ref().take(BATCH).collect();
        persons::write(
            &handle,
            principal,
            &options.system,
            &report.import_id,
            batch,
        )
        .await?;
    }
    drop(handle);
    let (txn, mut entries) = RequestTxn::finish(request)
        .ok_or_else(|| ApiError::internal("import", "the import's transaction is still in use"))?;
    entries.push(Entry::write(
        principal,
        "importPersons",
        "import",
        &report.import_id,
        None,
        serde_json::json!({
            "kind": report.kind,
            "system": options.system,
            "encoding": report.encoding,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "badRows": report.bad_rows,
            "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
        }),
    ));
    audit::append(&txn, entries).await?;
    txn.commit().await?;
    report.written = true;
    Ok(report)
}

/// The number of data rows (not the header, line 1) among the errors' lines.
fn distinct_lines(errors: &[RowError]) -> usize {
    let mut lines: Vec<u64> = errors.iter().map(|e| e.line).filter(|l| *l > 1).collect();
    lines.sort_unstable();
    lines.dedup();
    lines.len()
}

/// A consultations, consents or households import: read, find the persons (and households) by the
/// agency's references, then execute every row as its upsert ([`super::mutations`]).
#[allow(clippy::too_many_arguments)]
async fn records(
    schema: &TsunagiSchema,
    db: &DatabaseConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    text: &str,
    options: &Options,
    mut report: Report,
    bytes: &[u8],
) -> ApiResult<Report> {
    let (pending, mut errors, rows) = match records::read(text, options.kind, &options.mapping) {
        Ok(read) => read,
        Err(header) => return Ok(report.refuse(header)),
    };
    report.rows = rows;
    let agency = crate::policy::refs::agency_of(principal);
    let (person_refs, household_refs) = records::references(&pending);
    let persons =
        store::external_refs::find_many(db, agency, "PERSON", &options.system, &person_refs)
            .await?;
    let households =
        store::external_refs::find_many(db, agency, "HOUSEHOLD", &options.system, &household_refs)
            .await?;
    let rows = records::resolve(pending, &persons, &households, &mut errors);
    // With a bad row already, the rest are still tried (and rolled back), so that every
    // bad row is reported at once.
    let dry_run = options.dry_run || (!errors.is_empty() && !options.skip_bad_rows);
    let import_id = report.import_id.clone();
    let (kind, system, encoding) = (report.kind, options.system.clone(), report.encoding);
    let rows_read = report.rows;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let earlier = errors.clone();
    let applied = mutations::apply(
        schema,
        db,
        principal,
        now,
        options.kind,
        &options.system,
        rows,
        dry_run,
        options.skip_bad_rows,
        |created, unchanged, row_errors| {
            // Bad rows: distinct lines of every error, read or refused (as the report
            // counts them).
            let all: Vec<RowError> = earlier.iter().chain(row_errors).cloned().collect();
            let bad = distinct_lines(&all);
            Entry::write(
                principal,
                &format!("import{}", capitalised(kind)),
                "import",
                &import_id,
                None,
                serde_json::json!({
                    "kind": kind, "system": system, "encoding": encoding, "rows": rows_read,
                    "created": created, "updated": 0, "unchanged": unchanged, "badRows": bad,
                    "sha256": sha,
                }),
            )
        },
    )
    .await?;
    errors.extend(applied.errors);
    report.created = applied.created;
    report.unchanged = applied.unchanged;
    report.written = applied.written;
    errors.sort_by_key(|e| e.line);
    let refused = !errors.is_empty() && !options.skip_bad_rows;
    Ok(if refused {
        report.refuse(errors)
    } else {
        report.problems(errors)
    })
}

/// `persons` → `Persons` (the ledger's operation `importPersons`).
fn capitalised(kind: &str) -> String {
    let mut c = kind.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}
