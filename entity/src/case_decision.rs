//! `case_decision` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_decision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub case_id: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub decided_on: Date,
    #[sea_orm(column_type = "Text")]
    pub decider: String,
    #[sea_orm(column_type = "Text")]
    pub basis: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub meeting_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub plan_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
