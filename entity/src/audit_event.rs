//! `audit_event` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub account_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub agency_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub roles: String,
    #[sea_orm(column_type = "Text")]
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub operation: String,
    #[sea_orm(column_type = "Text")]
    pub record_type: String,
    #[sea_orm(column_type = "Text")]
    pub record_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub subject_person_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub shown: String,
    #[sea_orm(column_type = "Text")]
    pub withheld: String,
    #[sea_orm(column_type = "Text")]
    pub bases: String,
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub policy_version: i32,
    #[sea_orm(column_type = "Text")]
    pub prev_hash: String,
    #[sea_orm(column_type = "Text")]
    pub hash: String,
    /// The service client the row was written under (a client token's `cid`); None for staff
    /// tokens and for every row written before the column existed. Hashed only when set.
    #[sea_orm(column_type = "Text")]
    pub client_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
