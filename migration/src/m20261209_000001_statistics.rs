//! Statistics (issue 17): a random key on every unit record the tables count, the 実施目標
//! per fiscal year, and the city's switches for groups of measures.
//!
//! `stat_key` is the record key of the cell-key method (`api::policy::statistics`): drawn
//! once, uniformly in 0..256, when the row is written, and never shown by any API. It is not
//! in the entities, so no resolver can read it; only `store::statistics` sums it in SQL.
//! - PostgreSQL: a volatile column default, which `ADD COLUMN` evaluates per existing row
//!   and every later insert evaluates again.
//! - SQLite: `ADD COLUMN` takes no volatile default, so existing rows are filled by an
//!   UPDATE and new rows by an AFTER INSERT trigger.
//!
//! A restore or a replica copies the column like any other, so a record keeps its key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// The tables whose rows are counted as units.
pub const KEYED: &[&str] = &[
    "person",
    "household",
    "consultation",
    "referral",
    "support_case",
    "case_decision",
    "support_plan",
    "meeting",
    "activity",
    "participation_placement",
    "consent",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in KEYED {
            match manager.get_database_backend() {
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD COLUMN stat_key INTEGER NOT NULL \
                         DEFAULT (floor(random() * 256))::integer"
                    ))
                    .await?;
                }
                _ => {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD COLUMN stat_key INTEGER"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "UPDATE {table} SET stat_key = abs(random() % 256)"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER trg_{table}_stat_key AFTER INSERT ON {table} \
                         WHEN NEW.stat_key IS NULL BEGIN \
                         UPDATE {table} SET stat_key = abs(random() % 256) WHERE rowid = NEW.rowid; \
                         END"
                    ))
                    .await?;
                }
            }
        }
        manager
            .create_table(
                Table::create()
                    .table("evaluation_target")
                    .col(integer("fiscal_year"))
                    .col(text("indicator"))
                    .col(double("value"))
                    .col(text_null("note"))
                    .col(text("set_by"))
                    .col(timestamp_with_time_zone("set_at"))
                    .col(integer("version"))
                    .primary_key(Index::create().col("fiscal_year").col("indicator"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("statistics_setting")
                    .col(text("measure_group"))
                    .col(boolean("enabled"))
                    .col(text("changed_by"))
                    .col(timestamp_with_time_zone("changed_at"))
                    .primary_key(Index::create().col("measure_group"))
                    .to_owned(),
            )
            .await?;
        // What the tables group and filter by, read off an index rather than the rows.
        // On PostgreSQL the consultations' index carries what a table of consultations by
        // year, agency or household reads, so a year's rows come from an index-only range
        // scan (two years: about a sixth of the table's size) instead of every page of the
        // table, over which a year's consultations are spread (README §12).
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_consultation_received_at ON consultation \
                 (received_at) INCLUDE (id, receiving_agency_id, household_id, stat_key)",
            )
            .await?;
        }
        for (name, table, cols) in [
            (
                "idx_consultation_received_at",
                "consultation",
                &["received_at"][..],
            ),
            ("idx_referral_created_at", "referral", &["created_at"][..]),
            (
                "idx_activity_kind_occurred_on",
                "activity",
                &["kind", "occurred_on"][..],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table).if_not_exists();
            for c in cols {
                index.col(*c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("statistics_setting").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("evaluation_target").to_owned())
            .await?;
        let db = manager.get_connection();
        for (name, table) in [
            ("idx_consultation_received_at", "consultation"),
            ("idx_referral_created_at", "referral"),
            ("idx_activity_kind_occurred_on", "activity"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).if_exists().to_owned())
                .await?;
        }
        for table in KEYED {
            if manager.get_database_backend() != DbBackend::Postgres {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS trg_{table}_stat_key"))
                    .await?;
            }
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN stat_key"))
                .await?;
        }
        Ok(())
    }
}
