//! The GraphQL schema: types and resolvers per domain area, no SQL (that is in `store`),
//! no access decisions (those are in `policy`; personal fields go through
//! [`gate::reveal`]).

pub mod activity;
pub mod case;
pub mod case_decision;
pub mod case_mutation;
pub mod changes;
pub mod consent;
pub mod consent_mutation;
pub mod consultation;
pub mod consultation_mutation;
pub mod context;
pub mod disclosure;
pub mod emergency;
pub mod enums;
pub mod external_ref;
pub mod gate;
pub mod household;
pub mod household_mutation;
pub mod involvement;
pub mod keyed;
pub mod ledger;
pub mod links;
pub mod loaders;
pub mod matches;
pub mod meeting;
pub mod meeting_mutation;
pub mod person;
pub mod person_mutation;
pub mod plan;
pub mod prepare;
pub mod referral;
pub mod registry;
pub mod resource;
pub mod scalars;
pub mod service_client;
pub mod statistics;
pub mod subscription;
pub mod upsert;
pub mod validate;

use async_graphql::{MergedObject, Schema};
use sea_orm::DatabaseConnection;
use subscription::Subscription;

use crate::config::Limits;

#[derive(MergedObject, Default)]
pub struct Query(
    registry::RegistryQuery,
    person::PersonQuery,
    matches::MatchQuery,
    links::LinkQuery,
    household::HouseholdQuery,
    consultation::ConsultationQuery,
    referral::ReferralQuery,
    consent::ConsentQuery,
    ledger::LedgerQuery,
    emergency::EmergencyQuery,
    resource::ResourceQuery,
    case::CaseQuery,
    meeting::MeetingQuery,
    activity::ActivityQuery,
    service_client::ServiceClientQuery,
    external_ref::ExternalRefQuery,
    changes::ChangesQuery,
    disclosure::DisclosureQuery,
    statistics::StatisticsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    registry::RegistryMutation,
    person_mutation::PersonMutation,
    household_mutation::HouseholdMutation,
    consultation_mutation::ConsultationMutation,
    referral::ReferralMutation,
    consent_mutation::ConsentMutation,
    emergency::EmergencyMutation,
    resource::ResourceMutation,
    case_mutation::CaseMutation,
    involvement::InvolvementMutation,
    plan::PlanMutation,
    meeting_mutation::MeetingMutation,
    activity::ActivityMutation,
    service_client::ServiceClientMutation,
    upsert::UpsertMutation,
    links::LinkMutation,
    statistics::StatisticsMutation,
);

pub type TsunagiSchema = Schema<Query, Mutation, Subscription>;

/// Build the schema (no I/O). The database handle is schema data; the principal and the
/// ledger recorder are per-request data added by the HTTP layer.
pub fn schema(db: Option<DatabaseConnection>, limits: &Limits) -> TsunagiSchema {
    // Depth and complexity are checked by [`prepare::Prepare`] (introspection has its own
    // depth limit), which also puts async-graphql's own errors in the house style.
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .extension(prepare::Prepare {
            max_depth: limits.max_depth,
            max_complexity: limits.max_complexity,
            introspection: limits.introspection,
        })
        .limit_recursive_depth(32)
        .limit_directives(10);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder = builder.data(statistics::StatisticsThreshold(limits.statistics_threshold));
    if let Some(db) = db {
        builder = builder.data(crate::store::Db::Pool(db));
    }
    builder.finish()
}

/// The SDL of the schema, as checked in as `schema.graphql`.
pub fn sdl() -> String {
    schema(None, &Limits::default()).sdl()
}
