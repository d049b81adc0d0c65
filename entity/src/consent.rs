//! `consent` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub subject_person_id: String,
    #[sea_orm(column_type = "Text")]
    pub given_by: String,
    #[sea_orm(column_type = "Text")]
    pub proxy_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub proxy_relationship: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    pub valid_from: DateTimeUtc,
    pub valid_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub evidence_ref: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub explanation_version: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub recorded_by: String,
    #[sea_orm(column_type = "Text")]
    pub recorded_agency_id: String,
    pub recorded_at: DateTimeUtc,
    pub withdrawn_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub withdrawn_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub withdrawal_reason: Option<String>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
