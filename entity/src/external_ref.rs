//! `external_ref` table: an agency's own id `(system, external_id)` for a hub record, visible
//! only to that agency. Generated from the same column list as the migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "external_ref")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub agency_id: String,
    #[sea_orm(column_type = "Text")]
    pub record_type: String,
    #[sea_orm(column_type = "Text")]
    pub record_id: String,
    #[sea_orm(column_type = "Text")]
    pub system: String,
    #[sea_orm(column_type = "Text")]
    pub external_id: String,
    #[sea_orm(column_type = "Text")]
    pub input_hash: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
