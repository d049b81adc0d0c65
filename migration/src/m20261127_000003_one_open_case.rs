//! At most one open support case per household and agency, enforced by the database so two
//! concurrent `openCase` calls cannot both win (a partial unique index; SQLite and
//! PostgreSQL both support the same statement).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_support_case_open ON support_case (household_id, owner_agency_id) WHERE status <> 'CLOSED'",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS uq_support_case_open")
            .await
            .map(|_| ())
    }
}
