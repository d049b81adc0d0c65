//! `issue_category` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "issue_category")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    #[sea_orm(column_type = "Text")]
    pub parent_code: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub name_ja: String,
    #[sea_orm(column_type = "Text")]
    pub name_en: String,
    #[sea_orm(column_type = "Text")]
    pub sensitivity: String,
    #[sea_orm(column_type = "Text")]
    pub policy_category: String,
    pub sort_order: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
