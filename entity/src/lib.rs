//! sea-orm entities of the Tsunagi hub. Entities are storage only: GraphQL types live in
//! `tsunagi_api::graphql` and reach personal fields only through the policy.

pub mod account;
pub mod activity;
pub mod agency;
pub mod audit_event;
pub mod case_decision;
pub mod case_involvement;
pub mod community_resource;
pub mod consent;
pub mod consent_category;
pub mod consent_recipient;
pub mod consultation;
pub mod consultation_issue;
pub mod consultation_subject;
pub mod emergency_grant;
pub mod external_ref;
pub mod household;
pub mod household_member;
pub mod idempotency_key;
pub mod issue_category;
pub mod meeting;
pub mod meeting_category;
pub mod meeting_member;
pub mod participation_placement;
pub mod person;
pub mod person_link;
pub mod person_link_event;
pub mod plan_assignment;
pub mod referral;
pub mod service_client;
pub mod support_case;
pub mod support_plan;
pub mod visibility;
