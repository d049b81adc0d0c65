//! `support_plan` table. Generated from the same column list as the migration; never a GraphQL type.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub case_id: String,
    pub plan_version: i32,
    #[sea_orm(column_type = "Text")]
    pub wishes: String,
    #[sea_orm(column_type = "Text")]
    pub long_term_goal: String,
    #[sea_orm(column_type = "Text")]
    pub short_term_goals: String,
    pub next_review_on: Option<Date>,
    pub agreed_on: Option<Date>,
    #[sea_orm(column_type = "Text")]
    pub agreement_method: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
