//! Agency-system sync (issue 15):
//!
//! - `external_ref`: an agency's own id for a hub record, `(system, external_id)`, owned by
//!   the agency that wrote it. One reference names one record (unique per agency, record type,
//!   system and external id), and a record has at most one id per agency and system. The
//!   unique index is what makes two concurrent upserts of one reference one record.
//! - `idempotency_key`: the stored answer of a mutation sent with an `Idempotency-Key`
//!   header, committed in the same transaction as the mutation's effect.
//! - `audit_event.client_id`: the service client a row was written under (NULL for staff
//!   tokens and for every row before this migration; the hash covers it only when set, so old
//!   rows still verify).
//! - A partial index on the ledger's WRITE rows in `seq` order: the change feed reads them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("external_ref")
                    .col(text("id").primary_key())
                    .col(text("agency_id"))
                    // PERSON, HOUSEHOLD, CONSULTATION, REFERRAL, CONSENT, ACTIVITY
                    .col(text("record_type"))
                    .col(text("record_id"))
                    .col(text("system"))
                    .col(text("external_id"))
                    // SHA-256 of the upsert's input, for records an upsert only creates
                    // (consultations, consents, households): the same reference with another
                    // input is refused rather than silently ignored. NULL for persons.
                    .col(text_null("input_hash"))
                    .col(text("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("external_ref", "agency_id")
                            .to("agency", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_ref_key")
                    .table("external_ref")
                    .col("agency_id")
                    .col("record_type")
                    .col("system")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_ref_record")
                    .table("external_ref")
                    .col("record_type")
                    .col("record_id")
                    .col("agency_id")
                    .col("system")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_key")
                    // ACCOUNT:<account id> or CLIENT:<client id>/<account id>
                    .col(text("scope"))
                    .col(text("key"))
                    // SHA-256 of the request body, hex
                    .col(text("request_hash"))
                    .col(integer("status_code"))
                    .col(text("content_type"))
                    .col(blob("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .primary_key(Index::create().col("scope").col("key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_key_expires")
                    .table("idempotency_key")
                    .col("expires_at")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_event")
                    .add_column(text_null("client_id"))
                    .to_owned(),
            )
            .await?;
        // The change feed: WRITE rows in commit (seq) order. Partial on both backends.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_audit_event_writes ON audit_event (seq) WHERE action = 'WRITE'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_audit_event_writes")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_event")
                    .drop_column("client_id")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("idempotency_key").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("external_ref").to_owned())
            .await
    }
}
