//! `household_member` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "household_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub household_id: String,
    #[sea_orm(column_type = "Text")]
    pub person_id: String,
    #[sea_orm(column_type = "Text")]
    pub relationship: String,
    pub is_head: bool,
    pub joined_on: Option<Date>,
    pub left_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
