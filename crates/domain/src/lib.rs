//! The Safeguard domain: reports, identifiers, organisations, referrals, series and the rules
//! that act on them. Pure types and logic: nothing here knows about HTTP, SQL or file formats.

pub mod digest;
