//! sea-orm entities of the Tsunagi hub. Entities are storage only: GraphQL types live in
//! `tsunagi_api::graphql` and reach personal fields only through the policy.

pub mod account;
pub mod agency;
pub mod audit_event;
pub mod consent;
pub mod consent_category;
pub mod consent_recipient;
pub mod consultation;
pub mod consultation_issue;
pub mod consultation_subject;
pub mod household;
pub mod household_member;
pub mod issue_category;
pub mod person;
pub mod referral;
