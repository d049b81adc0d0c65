//! The GraphQL schema: types and resolvers per domain area, no SQL (that is in `store`),
//! no access decisions (those are in `policy`; personal fields go through
//! [`context::reveal`]).

pub mod activity;
pub mod consent;
pub mod consultation;
pub mod context;
pub mod enums;
pub mod household;
pub mod ledger;
pub mod meeting;
pub mod meeting_mutation;
pub mod person;
pub mod referral;
pub mod registry;
pub mod scalars;
pub mod validate;

use async_graphql::{EmptySubscription, MergedObject, Schema};
use sea_orm::DatabaseConnection;

#[derive(MergedObject, Default)]
pub struct Query(
    registry::RegistryQuery,
    person::PersonQuery,
    household::HouseholdQuery,
    consultation::ConsultationQuery,
    referral::ReferralQuery,
    consent::ConsentQuery,
    ledger::LedgerQuery,
    meeting::MeetingQuery,
    activity::ActivityQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    registry::RegistryMutation,
    person::PersonMutation,
    household::HouseholdMutation,
    consultation::ConsultationMutation,
    referral::ReferralMutation,
    consent::ConsentMutation,
    meeting_mutation::MeetingMutation,
    activity::ActivityMutation,
);

pub type TsunagiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Build the schema (no I/O). The database handle is schema data; the principal and the
/// ledger recorder are per-request data added by the HTTP layer.
pub fn schema(db: Option<DatabaseConnection>) -> TsunagiSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(12)
        .limit_complexity(5_000);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The SDL of the schema, as checked in as `schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}
