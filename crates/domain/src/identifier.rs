//! Identifiers normalised at the edge, so that two spellings of one address compare equal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("not an e-mail address: {0}")]
    Email(&'static str),
}

/// An e-mail address, trimmed, with the domain in lower case. The local part keeps its case
/// (RFC 5321 lets servers treat it as case-sensitive) but is compared case-insensitively for
/// linking by [`NormalisedEmail::link_key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NormalisedEmail(String);

impl NormalisedEmail {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let text = raw.trim();
        if text.len() > 255 {
            return Err(IdentifierError::Email("longer than 255 characters"));
        }
        let (local, domain) = text
            .rsplit_once('@')
            .ok_or(IdentifierError::Email("no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(IdentifierError::Email(
                "the part before @ must be 1 to 64 characters",
            ));
        }
        if domain.is_empty()
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(IdentifierError::Email(
                "the domain must have a dot between labels",
            ));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdentifierError::Email(
                "contains white space or control characters",
            ));
        }
        if !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        {
            return Err(IdentifierError::Email(
                "the domain has characters other than letters, digits, - and .",
            ));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key two reports must share to be linked through this address: lower case throughout.
    pub fn link_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for NormalisedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NormalisedEmail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lower_cased_local_part_kept() {
        let e = NormalisedEmail::parse(" Jane.Doe@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Jane.Doe@example.com");
        assert_eq!(e.link_key(), "jane.doe@example.com");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            "a@.com",
            "a@b..com",
        ] {
            assert!(NormalisedEmail::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
