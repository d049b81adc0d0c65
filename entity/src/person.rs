//! `person` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "person")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub owner_agency_id: String,
    #[sea_orm(column_type = "Text")]
    pub family_name: String,
    #[sea_orm(column_type = "Text")]
    pub given_name: String,
    #[sea_orm(column_type = "Text")]
    pub family_name_kana: String,
    #[sea_orm(column_type = "Text")]
    pub given_name_kana: String,
    #[sea_orm(column_type = "Text")]
    pub kana_key: String,
    pub birth_date: Option<Date>,
    #[sea_orm(column_type = "Text")]
    pub sex: String,
    #[sea_orm(column_type = "Text")]
    pub address: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub phone: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub district: Option<String>,
    pub address_confidential: bool,
    #[sea_orm(column_type = "Text")]
    pub care_level: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub disability_certificate: Option<String>,
    pub public_assistance: Option<bool>,
    pub version: i32,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
