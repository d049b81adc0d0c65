//! 合成データ生成 (`tsunagi seed --scale <demo|small|town|city> [--seed N]`): a deterministic
//! synthetic city for benchmarks and load tests. The same seed gives the same rows (ids,
//! names, dates, ledger hashes) on SQLite and PostgreSQL.
//!
//! Rows are stored the way the API stores them: kana normalised, `kana_key` from
//! `kana::match_key`, every stored enum from the API's own enum (`Sex::Female.as_str()`,
//! `AgreementMethod::Signed`), plan texts through `PlanTexts` (the same checks and JSON
//! encoding as `createPlanVersion`), so the API can read every row back. (The seed writes
//! rows in bulk rather than through the mutations, for speed; the demo set goes through the
//! mutations themselves, see `demo`.) Every created record has a
//! chained WRITE row in the ledger, so `tsunagi audit verify` passes. Everything goes in one
//! transaction with multi-row INSERTs; a database that already has persons is refused.
//!
//! The steps, in the order they draw from the generator: [`registry`] (agencies and staff),
//! [`people`] (households and persons), [`records`] (consultations and referrals),
//! [`consents`], [`cases`] (cases with their plan and 支援会議).

mod cases;
mod consents;
mod names;
mod people;
mod records;
mod registry;

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    Iterable, PaginatorTrait, TransactionTrait,
};

use crate::audit;
use entity::{audit_event, person};

/// How much to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub name: &'static str,
    pub staff_per_agency: usize,
    pub persons: usize,
    pub households: usize,
    pub consultations: usize,
    pub referrals: usize,
    pub cases: usize,
    pub consents: usize,
}

pub const CITY: Scale = Scale {
    name: "city",
    staff_per_agency: 8,
    persons: 150_000,
    households: 60_000,
    consultations: 500_000,
    referrals: 50_000,
    cases: 5_000,
    consents: 200_000,
};

impl Scale {
    /// `demo` is not a generated scale (it is the hand-written demo set): None.
    pub fn parse(name: &str) -> Option<Scale> {
        let (name, div) = match name {
            "city" => ("city", 1),
            "town" => ("town", 10),
            "small" => ("small", 100),
            _ => return None,
        };
        Some(Scale {
            name,
            staff_per_agency: if div == 1 { 8 } else { 2 },
            persons: CITY.persons / div,
            households: CITY.households / div,
            consultations: CITY.consultations / div,
            referrals: CITY.referrals / div,
            cases: CITY.cases / div,
            consents: CITY.consents / div,
        })
    }
}

/// The fixed "today" of the synthetic city, so the same seed gives the same rows whatever
/// day it runs. Consents marked active are valid until well after it.
fn reference() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// One agency of the synthetic city.
struct Agency {
    id: String,
    kind: &'static str,
    /// Its share of new consultations (0: it takes none in).
    weight: u32,
    /// The issues its consultations are about.
    issues: &'static [&'static str],
    /// Its staff accounts' ids.
    staff: Vec<String>,
}

/// The agencies of the synthetic city, and those that take in new cases.
struct City {
    agencies: Vec<Agency>,
    intake: Vec<usize>,
}

impl City {
    fn new(agencies: Vec<Agency>) -> City {
        let intake = (0..agencies.len())
            .filter(|&i| agencies[i].weight > 0)
            .collect();
        City { agencies, intake }
    }

    /// An agency that takes in new cases, by its weight (its index).
    fn pick(&self, rng: &mut StdRng) -> usize {
        self.intake[weighted(rng, &self.intake, |&i| self.agencies[i].weight)]
    }
}

/// What every step shares: the generator (drawn from in a fixed order, so the same seed
/// gives the same rows), where the rows go, the city's agencies (once there are any), the
/// scale and the synthetic "today".
struct Run<'t> {
    rng: StdRng,
    out: Sink<'t>,
    city: City,
    scale: Scale,
    today: DateTime<Utc>,
}

impl<'t> Run<'t> {
    /// The generator, the sink and the city, borrowed apart; the scale and today.
    fn parts(&mut self) -> (&mut StdRng, &mut Sink<'t>, &City, Scale, DateTime<Utc>) {
        (
            &mut self.rng,
            &mut self.out,
            &self.city,
            self.scale,
            self.today,
        )
    }
}

/// Where the rows go: the transaction, and the ledger rows chained so far.
struct Sink<'t> {
    txn: &'t DatabaseTransaction,
    ledger: Ledger,
}

/// How many rows of a step's first table are inserted at once (with its other tables and
/// the ledger rows so far).
const BATCH: usize = 20_000;

impl Sink<'_> {
    /// Insert the waiting rows of `tables` and then the ledger's, once the first table holds
    /// a batch or when `last`.
    async fn batch(&mut self, tables: &mut [&mut dyn Pending], last: bool) -> anyhow::Result<()> {
        if !last && tables.first().is_none_or(|t| t.len() < BATCH) {
            return Ok(());
        }
        for table in tables.iter_mut() {
            table.flush(self.txn).await?;
        }
        self.flush_ledger().await
    }

    async fn flush_ledger(&mut self) -> anyhow::Result<()> {
        insert::<audit_event::Entity>(self.txn, std::mem::take(&mut self.ledger.rows)).await
    }
}

/// Who writes a record, as the ledger row says.
#[derive(Clone, Copy)]
struct Actor<'a> {
    account: &'a str,
    agency: &'a str,
    roles: &'static str,
}

impl<'a> Actor<'a> {
    fn new(account: &'a str, agency: &'a str, roles: &'static str) -> Self {
        Actor {
            account,
            agency,
            roles,
        }
    }
}

/// What is written, as the ledger row says: the operation and the record type.
struct Op {
    operation: &'static str,
    record_type: &'static str,
}

impl Op {
    const fn new(operation: &'static str, record_type: &'static str) -> Self {
        Op {
            operation,
            record_type,
        }
    }
}

/// The ledger rows being chained (seq and previous hash carried across batches).
struct Ledger {
    seq: i64,
    prev: String,
    rows: Vec<audit_event::Model>,
}

impl Ledger {
    /// The WRITE row of `op` on `record_id` by `by` at `at` (its id drawn from `rng`).
    fn write(
        &mut self,
        rng: &mut StdRng,
        by: Actor<'_>,
        op: Op,
        record_id: &str,
        subject: Option<&str>,
        at: DateTime<Utc>,
    ) {
        self.seq += 1;
        let mut row = audit_event::Model {
            seq: self.seq,
            id: id(rng),
            at,
            account_id: Some(by.account.to_owned()),
            agency_id: Some(by.agency.to_owned()),
            roles: by.roles.to_owned(),
            action: "WRITE".to_owned(),
            operation: op.operation.to_owned(),
            record_type: op.record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            subject_person_id: subject.map(str::to_owned),
            shown: "[]".to_owned(),
            withheld: "[]".to_owned(),
            bases: "{}".to_owned(),
            detail: r#"{"seed":true}"#.to_owned(),
            policy_version: crate::policy::POLICY_VERSION,
            prev_hash: std::mem::take(&mut self.prev),
            hash: String::new(),
            client_id: None,
        };
        audit::seal(&mut row);
        self.prev = row.hash.clone();
        self.rows.push(row);
    }
}

/// Ids handed out so far in this run (reset by [`run`]).
static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A deterministic id in the layout the hub itself uses (UUID v7: time-ordered), its 48-bit
/// "time" a counter from 2016-04-01 and the rest from the generator. Ordered ids are both
/// what real data looks like and what makes a bulk load fast: every primary-key index is
/// appended to instead of written at random pages (SQLite's city load took over four
/// minutes with random ids).
fn id(rng: &mut StdRng) -> String {
    const FROM_MS: u64 = 1_459_468_800_000; // 2016-04-01T00:00:00Z
    let n = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(FROM_MS + n, &random)
        .into_uuid()
        .to_string()
}

/// Pick an index with the given weights.
fn weighted<T>(rng: &mut StdRng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, item) in items.iter().enumerate() {
        let w = weight(item);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// A table's rows waiting for the next batch, and how many were inserted.
struct Table<E: EntityTrait> {
    name: &'static str,
    rows: Vec<E::Model>,
    written: usize,
}

impl<E: EntityTrait> Table<E> {
    fn new(name: &'static str) -> Self {
        Table {
            name,
            rows: Vec::new(),
            written: 0,
        }
    }

    fn push(&mut self, row: E::Model) {
        self.rows.push(row);
    }
}

/// A [`Table`] of any entity, for [`Sink::batch`].
trait Pending {
    fn len(&self) -> usize;
    fn flush<'a>(
        &'a mut self,
        txn: &'a DatabaseTransaction,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
    /// Print how many rows were inserted, and the time since `started`.
    fn report(&self, started: Instant);
}

impl<E> Pending for Table<E>
where
    E: EntityTrait,
    E::Model: Into<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn flush<'a>(
        &'a mut self,
        txn: &'a DatabaseTransaction,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
        let rows = std::mem::take(&mut self.rows);
        self.written += rows.len();
        Box::pin(insert::<E>(txn, rows))
    }

    fn report(&self, started: Instant) {
        progress(self.name, self.written, started);
    }
}

/// Insert rows with multi-row INSERTs, in chunks that stay under SQLite's 32766 bound
/// parameters (and PostgreSQL's 65535).
async fn insert<E>(txn: &DatabaseTransaction, rows: Vec<E::Model>) -> anyhow::Result<()>
where
    E: EntityTrait,
    E::Model: Into<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let per_row = E::Column::iter().count().max(1);
    let chunk = (30_000 / per_row).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<E::ActiveModel> = rows.by_ref().take(chunk).map(Into::into).collect();
        E::insert_many(batch).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Print how many rows of each of `tables` were inserted, and the time since `started`.
fn report(started: Instant, tables: &[&dyn Pending]) {
    for table in tables {
        table.report(started);
    }
}

fn progress(table: &str, count: usize, started: Instant) {
    eprintln!(
        "  {table:<24} {count:>9} rows  {:>7.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Generate and load `scale` with `seed`. Refuses a database that already has persons.
pub async fn run(db: &DatabaseConnection, scale: Scale, seed: u64) -> anyhow::Result<()> {
    let existing = person::Entity::find().count(db).await?;
    if existing > 0 {
        anyhow::bail!(
            "このデータベースには既に個人が {existing} 件あります。空のデータベースにのみ投入できます / the database already has {existing} persons; seed only an empty database"
        );
    }
    let all = Instant::now();
    eprintln!("seeding scale {} with seed {seed}", scale.name);
    IDS.store(0, std::sync::atomic::Ordering::Relaxed);
    let txn = db.begin().await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // A 256 MB page cache for this connection while it loads (the default 2 MB makes
        // every index insert a page read once the tables outgrow it).
        txn.execute_unprepared("PRAGMA cache_size = -262144")
            .await?;
    }
    let (seq, prev) = audit::tail(&txn).await?;
    let mut run = Run {
        rng: StdRng::seed_from_u64(seed),
        out: Sink {
            txn: &txn,
            ledger: Ledger {
                seq,
                prev,
                rows: Vec::new(),
            },
        },
        city: City::new(Vec::new()),
        scale,
        today: reference(),
    };
    run.city = City::new(registry::agencies_and_staff(&mut run).await?);
    let people = people::households_and_persons(&mut run).await?;
    let consulted = records::consultations(&mut run, &people.households).await?;
    records::referrals(&mut run, &consulted).await?;
    consents::consents(&mut run, &people.persons).await?;
    cases::cases(&mut run, &people.households).await?;

    let t = Instant::now();
    let last_seq = run.out.ledger.seq;
    run.out.flush_ledger().await?;
    progress("audit_event (total)", (last_seq - seq) as usize, t);
    let t = Instant::now();
    txn.commit().await?;
    progress("commit", 0, t);
    // Planner statistics for the new rows, so the first queries after a load get the plans
    // they will get in production (PostgreSQL's autovacuum would get there, later). Before
    // the visibility index, whose policy facts reads otherwise plan on the statistics of
    // empty tables (city scale: the index step 95 s → 84 s, the seed 218 s → 199 s).
    let t = Instant::now();
    db.execute_unprepared("ANALYZE").await?;
    progress("analyze", 0, t);
    // The seed writes rows in bulk, not through the store's write functions: the visibility
    // index is made from them at the end, as `tsunagi visibility rebuild` would.
    let t = Instant::now();
    let entries = crate::store::visibility::rebuild(db).await?;
    db.execute_unprepared("ANALYZE visibility").await?;
    progress("visibility", entries as usize, t);
    eprintln!(
        "seeded scale {} in {:.1}s",
        scale.name,
        all.elapsed().as_secs_f64()
    );
    Ok(())
}
