//! The index the disclosure report (開示請求) reads a person's ledger through: a person's rows
//! newest first, `WHERE subject_person_id = ? ORDER BY seq DESC LIMIT n`, read straight off
//! the index (no sort of every row about the person) — also what `accessLog` and
//! `auditEvents(personId:)` ask.
//!
//! `idx_audit_event_subject_seq` starts with `subject_person_id`, so it serves every query
//! `idx_audit_event_subject_person_id` did, and replaces it: the ledger (appended on every
//! request) keeps the same number of indexes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_subject_seq")
                    .table("audit_event")
                    .col("subject_person_id")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_event_subject_person_id")
                    .table("audit_event")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_subject_person_id")
                    .table("audit_event")
                    .col("subject_person_id")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_event_subject_seq")
                    .table("audit_event")
                    .to_owned(),
            )
            .await
    }
}
