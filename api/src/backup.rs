//! Backups (docs/operations.md): an online copy of an SQLite database, and the ledger's
//! anchor — the latest `seq` and `hash` — that an officer records outside the hub and
//! compares after a restore.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump -Fc`, base backup + WAL archiving):
//! [`sqlite_backup`] refuses it and says so.

use std::fmt;
use std::path::Path;

use anyhow::Context;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{ConnectOptions, Connection};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// The statement an officer runs (psql, sqlite3) to read the anchor; docs/operations.md
/// quotes it.
pub const ANCHOR_SQL: &str = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1";

/// The ledger's newest row: what to record outside the hub (README §8). `audit verify`
/// cannot see rows cut from the tail; a restored ledger whose newest row is not the anchor
/// recorded for that backup (or that lacks an older anchor's row) has lost rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} hash {}", self.seq, self.hash)
    }
}

/// The anchor of a database: its ledger's newest row ([`ANCHOR_SQL`]); None for an empty
/// ledger.
pub async fn ledger_anchor<C: ConnectionTrait>(db: &C) -> anyhow::Result<Option<Anchor>> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, ANCHOR_SQL.to_owned()))
        .await
        .context("read the ledger's newest row")?;
    Ok(match row {
        None => None,
        Some(row) => Some(Anchor {
            seq: row.try_get_by_index::<i64>(0)?,
            hash: row.try_get_by_index::<String>(1)?,
        }),
    })
}

/// Whether the ledger still holds an anchor recorded earlier: the row at its `seq` has its
/// `hash`. Rows after it may exist (the hub kept writing); together with `audit verify`
/// (every row chains to the one before), this shows nothing up to the anchor was cut or
/// rewritten.
pub async fn ledger_holds<C: ConnectionTrait>(db: &C, anchor: &Anchor) -> anyhow::Result<bool> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT hash FROM audit_event WHERE seq = $1",
        _ => "SELECT hash FROM audit_event WHERE seq = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [anchor.seq.into()],
        ))
        .await
        .context("read the ledger row at the anchor")?;
    Ok(match row {
        None => false,
        Some(row) => row.try_get_by_index::<String>(0)? == anchor.hash,
    })
}

/// Copy the SQLite database behind `db` to the new file `to`, online: `VACUUM INTO` reads
/// one consistent snapshot (a running hub keeps serving and writing; its later writes are
/// not in the copy). The copy is flushed to disk and passes `PRAGMA quick_check` before this
/// returns; a copy that fails is removed.
///
/// Refuses a target that exists (never overwrites a backup) and PostgreSQL (use `pg_dump`).
/// Restore = stop the hub, put the copy where DATABASE_URL points (with no `-wal` / `-shm`
/// file of the old database beside it), `tsunagi audit verify`, compare the anchor.
pub async fn sqlite_backup(db: &DatabaseConnection, to: &Path) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {}
        DatabaseBackend::Postgres => anyhow::bail!(
            "PostgreSQL はこのコマンドではバックアップしません。pg_dump -Fc（毎晩）とベースバックアップ + WAL アーカイブを使ってください（docs/operations.md）/ \
             `tsunagi backup` copies SQLite only: back PostgreSQL up with `pg_dump -Fc` (nightly) and a base backup with WAL archiving (docs/operations.md)"
        ),
        other => anyhow::bail!("unsupported database backend {other:?}"),
    }
    // `exists` follows symlinks; a dangling link is refused too.
    if to.exists() || to.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} はすでにあります。既存のバックアップは上書きしません / {} already exists: a backup is never overwritten",
            to.display(),
            to.display()
        );
    }
    // A copy of a database that is not the hub's (a wrong DATABASE_URL made an empty file)
    // would pass for a backup: refuse it.
    let ledger = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_event'",
        ))
        .await
        .context("read the database's tables")?;
    if ledger.is_none() {
        anyhow::bail!(
            "Tsunagi のデータベースではありません（台帳 audit_event がない）。DATABASE_URL を確かめてください / not a Tsunagi database (no audit_event ledger): check DATABASE_URL"
        );
    }
    let Some(target) = to.to_str() else {
        anyhow::bail!(
            "バックアップ先のパスが UTF-8 ではありません / the backup path is not UTF-8: {}",
            to.display()
        );
    };
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            anyhow::bail!(
                "バックアップ先のディレクトリがありません / no such directory: {}",
                dir.display()
            );
        }
    }
    // The copy holds residents' records: create it empty and owner-only first (VACUUM INTO
    // writes into an empty file), so that no umask makes it readable by others, and so that
    // a file appearing since the check above is not overwritten (create_new).
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create
        .open(to)
        .with_context(|| format!("create {}", to.display()))?;
    let copied = db
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "VACUUM INTO ?",
            [target.into()],
        ))
        .await;
    if let Err(e) = copied {
        // VACUUM INTO may leave a partial file behind; it was not there before.
        let _ = std::fs::remove_file(to);
        return Err(anyhow::Error::new(e).context(format!("VACUUM INTO {}", to.display())));
    }
    if let Err(e) = settle(to).await {
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

/// Flush the new copy (and its directory entry) to disk, then check it as SQLite reads it.
async fn settle(to: &Path) -> anyhow::Result<()> {
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("flush {}", to.display()))?;
    #[cfg(unix)]
    if let Some(dir) = to.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("flush {}", dir.display()))?;
    }
    let mut conn = open_read_only(to).await?;
    let result: Vec<(String,)> = sea_orm::sqlx::query_as("PRAGMA quick_check")
        .fetch_all(&mut conn)
        .await
        .with_context(|| format!("PRAGMA quick_check on {}", to.display()))?;
    let _ = conn.close().await;
    match result.as_slice() {
        [(ok,)] if ok == "ok" => Ok(()),
        problems => anyhow::bail!(
            "バックアップの検査に失敗しました / the copy failed PRAGMA quick_check: {:?}",
            problems.iter().map(|(p,)| p.as_str()).collect::<Vec<_>>()
        ),
    }
}

/// The anchor of an SQLite file, read without writing to it (for a backup just made: the
/// anchor to record beside it).
pub async fn sqlite_file_anchor(path: &Path) -> anyhow::Result<Option<Anchor>> {
    let mut conn = open_read_only(path).await?;
    let row: Option<(i64, String)> = sea_orm::sqlx::query_as(ANCHOR_SQL)
        .fetch_optional(&mut conn)
        .await
        .with_context(|| format!("read the anchor of {}", path.display()))?;
    let _ = conn.close().await;
    Ok(row.map(|(seq, hash)| Anchor { seq, hash }))
}

async fn open_read_only(path: &Path) -> anyhow::Result<sea_orm::sqlx::SqliteConnection> {
    if !path.is_file() {
        anyhow::bail!("no such file: {}", path.display());
    }
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("open {} read-only", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tsunagi-backup-unit-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn an_sqlite_copy_has_the_ledger_and_a_target_is_never_overwritten() {
        let dir = temp_dir();
        let url = format!("sqlite://{}?mode=rwc", dir.join("live.db").display());
        let db = crate::store::connect(&url, &Default::default())
            .await
            .unwrap();
        let refused = sqlite_backup(&db, &dir.join("empty.db"))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("not a Tsunagi database"), "{refused}");
        assert!(!dir.join("empty.db").exists());
        db.execute_unprepared(
            "CREATE TABLE audit_event (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL);
             INSERT INTO audit_event VALUES (1, 'aa'), (2, 'bb');",
        )
        .await
        .unwrap();
        let anchor = ledger_anchor(&db).await.unwrap().unwrap();
        assert_eq!(anchor.to_string(), "seq 2 hash bb");
        let to = dir.join("copy.db");
        sqlite_backup(&db, &to).await.unwrap();
        assert_eq!(sqlite_file_anchor(&to).await.unwrap(), Some(anchor.clone()));
        let again = sqlite_backup(&db, &to).await.unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        let nowhere = sqlite_backup(&db, &dir.join("no/such/dir.db"))
            .await
            .unwrap_err()
            .to_string();
        assert!(nowhere.contains("no such directory"), "{nowhere}");
        // The anchor comparison sees a cut tail; an older anchor is still held.
        db.execute_unprepared("DELETE FROM audit_event WHERE seq = 2")
            .await
            .unwrap();
        assert_ne!(ledger_anchor(&db).await.unwrap(), Some(anchor.clone()));
        assert!(!ledger_holds(&db, &anchor).await.unwrap());
        let older = Anchor {
            seq: 1,
            hash: "aa".into(),
        };
        assert!(ledger_holds(&db, &older).await.unwrap());
        db.close().await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
