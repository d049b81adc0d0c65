//! Group commit for the read rows of requests (http.rs).

use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, SqlErr};

use super::{chain_rows, rows, Entry};

/// Most requests' read rows taken into one ledger transaction.
const GROUP_MAX_REQUESTS: usize = 256;

/// How often a group is chained optimistically before it falls back to the locked
/// transaction (which cannot be overtaken).
const GROUP_ATTEMPTS: usize = 3;

/// Group commit for the read rows of requests (http.rs). Each request hands its rows to one
/// writer task and waits until they are committed; the writer appends every request that
/// is waiting in ONE transaction, then answers each. Without it every request took the
/// chain lock for its own commit, and the ledger capped the whole hub at one WAL flush per
/// request. Nothing changes for a caller: its response still waits until its rows are
/// durable, a failed commit fails every request in the group (their responses are
/// withheld), and the chain is the same chain. Writes keep appending inside their own
/// transaction (`audit::append`), under the same lock.
///
/// On PostgreSQL a group is ONE statement in autocommit, one round trip instead of five
/// (BEGIN, lock, read the tail, INSERT, COMMIT): the writer remembers the chain's tail as
/// its own last group left it and sends ONE statement that takes the chain lock, inserts the
/// group chained onto that tail and commits ([`rows::PG_INSERT_LOCKED`]). If a write (or
/// another hub process) appended in between, the group's first `seq` is taken: the primary
/// key refuses the whole statement (a unique index sees committed rows whatever the
/// snapshot), nothing of the group is stored, and the writer reads the tail, re-chains the
/// group and tries again; after [`GROUP_ATTEMPTS`] it takes the locked transaction, which
/// cannot be overtaken. A write never fails because of this: it takes the lock before it
/// reads the tail, and the group's statement holds the lock until it commits. The first
/// group, and the first after a refusal or an error, read the tail first (two statements).
/// Remembering the tail saved a round trip per group, measured at city scale (README §12);
/// under many writes a group is refused once after each write and pays one more statement.
pub struct GroupCommit {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

struct Job {
    entries: Vec<Entry>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl GroupCommit {
    /// Start the writer task (needs a tokio runtime). It ends when the last handle is dropped.
    pub fn start(db: DatabaseConnection) -> Self {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            // The chain's tail as this writer's last group left it (None: read it first).
            let mut tail: Option<(i64, String)> = None;
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
                let (requests, rows) = (group.len(), entries.len());
                let started = std::time::Instant::now();
                // Each group in its own task: should one ever panic, that group's requests
                // fail (their responses are withheld) and the writer goes on serving.
                let db = db.clone();
                let known = tail.take();
                let result = match tokio::spawn(
                    async move { append_group(&db, entries, known).await },
                )
                .await
                {
                    Ok(Ok(after)) => {
                        tail = after;
                        Ok(())
                    }
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(format!("ledger group failed: {e}")),
                };
                crate::observe::ledger_group(requests, rows, started.elapsed(), result.is_ok());
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

/// Append one group and wait for its commit, chained onto `known` (the tail this writer
/// last left) if given. Returns the tail after the group when it is known for certain (the
/// group's own last row, inserted by one statement that held the lock), else None.
async fn append_group(
    db: &DatabaseConnection,
    entries: Vec<Entry>,
    mut known: Option<(i64, String)>,
) -> Result<Option<(i64, String)>, DbErr> {
    use sea_orm::TransactionTrait as _;
    #[cfg(feature = "bench-switches")]
    if crate::bench_switches::no_ledger() {
        return Ok(None);
    }
    if entries.is_empty() {
        return Ok(known);
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        for _ in 0..GROUP_ATTEMPTS {
            // Outside the lock: a stale tail only costs another attempt.
            let (seq, prev) = match known.take() {
                Some(t) => t,
                None => super::tail_unlocked(db).await?,
            };
            let chained = chain_rows(seq, prev, &entries);
            match rows::pg_insert(db, rows::PG_INSERT_LOCKED, &chained).await {
                Ok(()) => return Ok(chained.last().map(|r| (r.seq, r.hash.clone()))),
                // Someone appended after the tail we chained onto: read it again.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
                Err(e) => return Err(e),
            }
        }
    }
    // SQLite (a single writer), or a chain that kept moving: the locked transaction.
    let txn = db.begin().await?;
    super::append(&txn, entries).await?;
    txn.commit().await?;
    Ok(None)
}
