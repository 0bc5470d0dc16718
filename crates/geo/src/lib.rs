//! Geolocation of leads: IP addresses (bundled open data and MaxMind-format databases), reserved
//! ranges, network operators and phone numbers.
//!
//! The [`Geolocator`] layers its sources: special-purpose ranges first (they never get a
//! country), then each configured MMDB file in order, then the bundled tables (or the refreshed
//! copy in the data folder). See `docs/geo.md` for data sources, licences and confidence.

mod anonymiser;
mod bundled;
mod country;
mod geolocator;
pub mod import;
mod mmdb;
mod phone;
pub mod range_table;
pub mod reserved;

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

pub use anonymiser::AnonymiserList;
pub use bundled::{embedded_asn_table, embedded_country_table, BUNDLED_ASN, BUNDLED_COUNTRY};
pub use country::{CountryCode, InvalidCountryCode};
pub use geolocator::{preferred_table, refreshed_path, Geolocator, GeolocatorBuilder, DATA_SUBDIR};
pub use mmdb::{MmdbFacts, MmdbSource};
pub use phone::{E164Phone, PhoneError};
pub use range_table::{AsNames, RangeTable, TableKind};
pub use reserved::ReservedKind;

/// The `source` of an answer for a special-purpose address: the IANA registries, not a data set.
pub const RESERVED_SOURCE: &str = "iana-special-purpose";
/// The `source` of an answer nothing could locate.
pub const NO_SOURCE: &str = "none";

/// How far the country of an answer can be trusted as the person's jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// No country: a reserved range, or no data set knows the address.
    None,
    /// A country, but the address belongs to known anonymising infrastructure (VPN, proxy,
    /// Tor exit): the country is the exit's, not the person's.
    Low,
    /// A country from the bundled registry-level data (where the block is registered or
    /// announced; right for most residential and mobile addresses, wrong for some hosting and
    /// multinational networks).
    Medium,
    /// A country from a configured MMDB (commercial or open geolocation data, usually
    /// refined below the registration level).
    High,
}

/// What is known about one IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeoAnswer {
    /// The address looked up, as given (an IPv4-mapped IPv6 address stays in its IPv6 form;
    /// it is located as its IPv4 address).
    pub ip: IpAddr,
    /// Country, when a data set knows it and the address is not special-purpose.
    pub country: Option<CountryCode>,
    /// Autonomous system number of the network announcing the address.
    pub asn: Option<u32>,
    /// Name of that network operator.
    pub operator: Option<String>,
    /// The data set that gave the country (or, without a country, the AS number);
    /// [`RESERVED_SOURCE`] for special-purpose addresses, [`NO_SOURCE`] when nothing knew it.
    pub source: String,
    /// The data set that gave the AS number.
    pub asn_source: Option<String>,
    /// The special-purpose range the address is in.
    pub reserved: Option<ReservedKind>,
    /// Label of the anonymiser list entry that covers the address.
    pub anonymiser: Option<String>,
    /// IPv4 address embedded by 6to4, Teredo or NAT64 (see [`reserved::embedded_ipv4`]).
    pub embedded_ipv4: Option<Ipv4Addr>,
    /// How far `country` can be trusted as the person's jurisdiction.
    pub confidence: Confidence,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// Text that is not an IPv4 or IPv6 address.
    #[error("not an IP address: {0:?}")]
    InvalidAddress(String),
    /// A range table (bundled or refreshed) that does not decode.
    #[error("corrupt range table: {0}")]
    CorruptTable(String),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An MMDB file that cannot be opened or read.
    #[error("MMDB {name}: {source}")]
    Mmdb {
        /// The file's name.
        name: String,
        /// The reader's error.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// A line of an input data file (country list, AS list, anonymiser list) that does not
    /// parse.
    #[error("{file}:{line}: {why}")]
    Import {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// An input that has none of the data expected.
    #[error("{0}")]
    NoData(String),
}

impl GeoError {
    /// Wraps an I/O error with what was being done, for `map_err`.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> GeoError {
        let context = context.into();
        move |source| GeoError::Io { context, source }
    }
}

/// Parses an IP address from untrusted text (surrounding whitespace allowed; also accepts
/// `[v6]` brackets as found in logs and URLs).
pub fn parse_ip(text: &str) -> Result<IpAddr, GeoError> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    inner
        .parse()
        .map_err(|_| GeoError::InvalidAddress(text.chars().take(80).collect()))
}

// Checked at compile time: one geolocator is shared by every request handler and worker thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Geolocator>();
    assert_send_sync::<GeoAnswer>();
};

#[cfg(test)]
mod tests {
    #[test]
    fn parse_ip_accepts_brackets_and_spaces_only() {
        assert_eq!(
            crate::parse_ip(" [2001:db8::1] ").ok(),
            Some("2001:db8::1".parse().expect("literal"))
        );
        assert!(crate::parse_ip("[2001:db8::1").is_err());
        assert!(crate::parse_ip("1.2.3.4:80").is_err());
        let long = "9".repeat(10_000);
        let error = crate::parse_ip(&long).expect_err("not an address");
        // The error quotes a bounded prefix, not the whole hostile input.
        assert!(error.to_string().len() < 200);
    }
}
