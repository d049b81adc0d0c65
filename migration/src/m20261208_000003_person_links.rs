//! 名寄せの結びつき / links between records of one person (issue 16, item 3).
//!
//! `person_link`: one row per pair of person records (`person_a_id` < `person_b_id`, unique),
//! its state (PROPOSED, CONFIRMED, REVOKED) and who last moved it. Never a merge: both
//! records stay as they are, and the access policy never reads this table (a link widens
//! no one's access). A revoked pair can be proposed again (the same row, the next version).
//!
//! `person_link_event`: the history, one row per proposal, confirmation, rejection or
//! revocation, with who (account and agency), when and the note given. Appended only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("person_link")
                    .col(text("id"))
                    .col(text("person_a_id"))
                    .col(text("person_b_id"))
                    .col(text("status"))
                    .col(text("proposed_by"))
                    .col(text("proposed_agency_id"))
                    .col(timestamp_with_time_zone("proposed_at"))
                    .col(text_null("decided_by"))
                    .col(text_null("decided_agency_id"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_person_link_pair")
                    .table("person_link")
                    .col("person_a_id")
                    .col("person_b_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_person_link_person_b_id")
                    .table("person_link")
                    .col("person_b_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("person_link_event")
                    .col(text("id"))
                    .col(text("link_id"))
                    .col(text("action"))
                    .col(text("account_id"))
                    .col(text("agency_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(text_null("note"))
                    .primary_key(Index::create().col("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_person_link_event_link_id")
                    .table("person_link_event")
                    .col("link_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("person_link_event").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("person_link").to_owned())
            .await
    }
}
