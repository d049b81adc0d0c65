//! `meeting` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub household_id: String,
    #[sea_orm(column_type = "Text")]
    pub case_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub owner_agency_id: String,
    pub held_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub minutes: Option<String>,
    pub period_from: Option<DateTimeUtc>,
    pub period_until: Option<DateTimeUtc>,
    pub version: i32,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
