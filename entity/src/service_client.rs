//! `service_client` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub account_id: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// argon2id PHC string of the current secret; the secret itself is never stored.
    #[sea_orm(column_type = "Text")]
    pub secret_hash: String,
    /// Comma-separated role names.
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub secret_rotated_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub revoked_by: Option<String>,
    pub version: i32,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
