//! ISO 3166-1 alpha-2 country codes as they appear in geolocation data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A two-letter country code, always upper case (`GB`, `US`, `DE`).
///
/// The check is syntactic (two ASCII letters): data sets carry a few codes that are not current
/// ISO 3166-1 assignments (`AN`, `CS`, `XK`) and the jurisdiction layer decides what to do
/// with them. Continental pseudo-codes (`EU`, `AP`) are refused at import time because they
/// name no jurisdiction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

/// A string that is not a two-letter country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a two-letter country code: {0:?}")]
pub struct InvalidCountryCode(pub String);

impl CountryCode {
    /// Parses two ASCII letters, in either case.
    pub fn parse(text: &str) -> Result<Self, InvalidCountryCode> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(InvalidCountryCode(text.chars().take(16).collect())),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A dense number in `0..676`, used by the compact range tables.
    pub(crate) fn to_index(self) -> u32 {
        u32::from(self.0[0] - b'A') * 26 + u32::from(self.0[1] - b'A')
    }

    /// The inverse of [`CountryCode::to_index`]; `None` past `675`.
    pub(crate) fn from_index(index: u32) -> Option<Self> {
        if index >= 26 * 26 {
            return None;
        }
        // Both quotients are below 26, so the casts cannot truncate.
        let first = b'A' + (index / 26) as u8;
        let second = b'A' + (index % 26) as u8;
        Some(Self([first, second]))
    }

    /// Codes some data sets use for a continent or "somewhere": they name no jurisdiction.
    pub(crate) fn is_pseudo_region(text: &str) -> bool {
        matches!(text, "EU" | "AP" | "??" | "--" | "ZZ" | "A1" | "A2" | "A3")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = InvalidCountryCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_case() {
        assert_eq!(
            CountryCode::parse("gb").map(|c| c.to_string()),
            Ok("GB".to_string())
        );
        assert!(CountryCode::parse("G").is_err());
        assert!(CountryCode::parse("GBR").is_err());
        assert!(CountryCode::parse("G1").is_err());
        assert!(CountryCode::parse("ÉÉ").is_err());
    }

    #[test]
    fn index_round_trips() {
        for text in ["AA", "ZZ", "GB", "US", "DE"] {
            let code = CountryCode::parse(text).expect("valid code");
            assert_eq!(CountryCode::from_index(code.to_index()), Some(code));
        }
        assert_eq!(CountryCode::from_index(676), None);
    }
}
