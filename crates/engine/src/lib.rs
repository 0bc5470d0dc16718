//! The use cases that tie the domain, formats, geolocation, hashing and storage together. Each
//! module is one capability with a narrow API; callers (the server, the command line) pass proof
//! of permission ([`safeguard_domain::account::Granted`]) and get typed errors back.

pub mod accounts;
pub mod audit_seal;
pub mod cluster_view;
pub mod demo;
pub mod dissemination;
mod error;
pub mod intake;
pub mod known;
pub mod linking;
pub mod package_flow;
pub mod packages;
pub mod pipeline;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod series_media;
pub mod triage;
pub mod victim;

pub use error::EngineError;
