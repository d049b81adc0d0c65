//! The visibility index (issue 12): who may know which person, under which category and
//! purpose, from when until when, on which basis and source record. Derived data: the store
//! rewrites a person's rows in the same transaction as every write that changes a basis, and
//! `tsunagi visibility rebuild` makes it again from the records. The rows of a person are
//! `policy::index::index_entries` of the person's facts.
//!
//! This migration makes the table empty; `serve` and `migrate` fill it when it is empty and
//! persons exist (a database made before this migration), so an upgrade needs no extra step.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("visibility")
                    .col(text("person_id"))
                    // AGENCY:<agency id>, AGENCY_KIND:<kind>, ACCOUNT:<account id>
                    .col(text("grantee"))
                    // A category, or '*' for every category.
                    .col(text("category"))
                    // A purpose, or '*' for every purpose.
                    .col(text("purpose"))
                    // OWN, CONSENT, SUPPORT_MEETING, EMERGENCY
                    .col(text("basis"))
                    // The person (OWN), the consent, the meeting, the grant.
                    .col(text("source_id"))
                    .col(timestamp_with_time_zone_null("valid_from"))
                    .col(timestamp_with_time_zone_null("valid_until"))
                    .primary_key(
                        Index::create()
                            .col("person_id")
                            .col("grantee")
                            .col("category")
                            .col("purpose")
                            .col("source_id"),
                    )
                    .to_owned(),
            )
            .await?;
        // A list's lookup: the reader's grantees and category, then the persons.
        manager
            .create_index(
                Index::create()
                    .name("idx_visibility_grantee")
                    .table("visibility")
                    .col("grantee")
                    .col("category")
                    .col("person_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("visibility").to_owned())
            .await
    }
}
