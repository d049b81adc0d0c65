//! `activity` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub person_id: String,
    #[sea_orm(column_type = "Text")]
    pub case_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub placement_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub agency_id: String,
    #[sea_orm(column_type = "Text")]
    pub account_id: String,
    pub occurred_on: Date,
    #[sea_orm(column_type = "Text")]
    pub result: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub stage: Option<String>,
    pub next_planned_on: Option<Date>,
    #[sea_orm(column_type = "Text")]
    pub note: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
