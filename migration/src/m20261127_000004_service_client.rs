//! Service clients (OAuth 2.0 client credentials, RFC 6749 §4.4): credentials an admin issues
//! to a SERVICE account so agency software can obtain short-lived hub tokens. Only an argon2id
//! hash of each secret is stored. Never deleted: revocation stamps `revoked_at`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("service_client")
                    .col(text("id"))
                    .col(text("account_id"))
                    .col(text("name"))
                    // argon2id PHC string; never the secret itself.
                    .col(text("secret_hash"))
                    // Comma-separated role names, a subset of the account's roles.
                    .col(text("scopes"))
                    // When the current secret was set (creation or last rotation); tokens
                    // carry it, so a rotation ends the tokens issued under the old secret.
                    .col(timestamp_with_time_zone("secret_rotated_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(text_null("revoked_by"))
                    .col(integer("version"))
                    .col(text("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_service_client_account_id")
                    .table("service_client")
                    .col("account_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("service_client").to_owned())
            .await
    }
}
