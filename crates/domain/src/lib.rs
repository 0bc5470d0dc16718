//! The Safeguard domain: reports, identifiers, organisations, referrals, series and the rules
//! that act on them. Pure types and logic: nothing here knows about HTTP, SQL or file formats.

pub mod account;
pub mod audit;
pub mod digest;
pub mod identifier;
pub mod jurisdiction;
pub mod known;
pub mod linking;
pub mod priority;
pub mod report;
pub mod routing;
pub mod victim;
