//! 名寄せ keys (issue 16, item 3). The reading key `person.kana_key` changed definition: it
//! now also folds long vowels (サトー / サトオ → サトウ, オオノ / オーノ → オウノ), ヷヸヹヺ and
//! the iteration marks ヽヾ (`kana::match_key`). This recomputes it for every existing person
//! with the very function the API uses (its source files are compiled here too, see `kana`
//! below), in pages by id, updating only rows whose key changed (never `version` or
//! `updated_at`: the key is derived, not a change of the record). It also indexes
//! `person.birth_date`, which `personMatches` looks candidates up by.
//!
//! Down drops the index; the keys stay in the new definition (the old one is gone from the
//! code, and the new keys are a superset of its matches).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

// The API's own 名寄せ key source (api/src/kana, without its tests), compiled here so the
// stored keys are exactly the API's. Only `key::match_key` is used.
#[allow(dead_code, unreachable_pub)]
#[path = "../../api/src/kana/itaiji.rs"]
mod itaiji;
#[allow(dead_code, unreachable_pub)]
#[path = "../../api/src/kana/key.rs"]
mod key;
#[allow(dead_code, unreachable_pub)]
#[path = "../../api/src/kana/reading.rs"]
mod reading;

/// Persons read per page.
const PAGE: u64 = 1000;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_person_birth_date")
                    .table("person")
                    .col("birth_date")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        recompute_kana_keys(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_person_birth_date")
                    .table("person")
                    .to_owned(),
            )
            .await
    }
}

/// Recompute `person.kana_key` from the stored readings wherever it differs from
/// `kana::match_key` (also usable after a bulk load that wrote keys some other way).
pub async fn recompute_kana_keys<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let mut after: Option<String> = None;
    loop {
        let mut q = Query::select();
        q.columns(["id", "family_name_kana", "given_name_kana", "kana_key"])
            .from("person")
            .order_by("id", Order::Asc)
            .limit(PAGE);
        if let Some(a) = &after {
            q.and_where(Expr::col("id").gt(a.as_str()));
        }
        let rows = db.query_all(&q).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(last.try_get("", "id")?);
        for row in &rows {
            let id: String = row.try_get("", "id")?;
            let family: String = row.try_get("", "family_name_kana")?;
            let given: String = row.try_get("", "given_name_kana")?;
            let stored: String = row.try_get("", "kana_key")?;
            // A reading the API stored always has a key; one that somehow has none keeps its
            // old key rather than failing the upgrade.
            let Ok(fresh) = key::match_key(&format!("{family}{given}")) else {
                continue;
            };
            if fresh != stored {
                let mut u = Query::update();
                u.table("person")
                    .value("kana_key", fresh)
                    .and_where(Expr::col("id").eq(id));
                db.execute(&u).await?;
            }
        }
        if (rows.len() as u64) < PAGE {
            return Ok(());
        }
    }
}
