//! `community_resource` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "community_resource")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub district: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub schedule: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub target_groups: Option<String>,
    pub capacity: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub contact: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub agency_id: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
