//! `person_link` table: two records held to be one person (名寄せ), proposed, confirmed or
//! revoked. Never read by the access policy; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "person_link")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The smaller of the two person ids.
    #[sea_orm(column_type = "Text")]
    pub person_a_id: String,
    #[sea_orm(column_type = "Text")]
    pub person_b_id: String,
    /// PROPOSED, CONFIRMED or REVOKED.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub proposed_by: String,
    #[sea_orm(column_type = "Text")]
    pub proposed_agency_id: String,
    pub proposed_at: DateTimeUtc,
    /// Who confirmed or revoked it last.
    #[sea_orm(column_type = "Text")]
    pub decided_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub decided_agency_id: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
