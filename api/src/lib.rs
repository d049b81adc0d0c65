//! Tsunagi (つなぎ): the data-exchange hub of a city's 包括的な支援体制.
//!
//! HTTP → [`auth`] → [`graphql`] → [`store`] → database; every personal field is decided by
//! [`policy`] and every read and write is written to the [`audit`] ledger.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod bench_switches;
pub mod config;
pub mod demo;
pub mod disclosure;
pub mod documents;
pub mod error;
pub mod export;
pub mod fhir;
pub mod graphql;
pub mod http;
pub mod import;
pub mod kana;
pub mod limits;
pub mod oauth;
pub mod observe;
pub mod operate;
pub mod policy;
pub mod seed;
pub mod shed;
pub mod statistics;
pub mod store;
