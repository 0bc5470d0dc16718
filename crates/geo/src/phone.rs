//! Phone numbers: the country of an E.164 number, from libphonenumber's metadata (the
//! `phonenumber` crate). A number is parsed once, at the edge, into [`E164Phone`].

use std::fmt;

use phonenumber::{country, Mode, PhoneNumber};

use crate::country::CountryCode;

/// Longest input accepted: E.164 has at most 15 digits; room is left for spaces, punctuation
/// and an extension.
const MAX_INPUT: usize = 64;

/// Why text is not a usable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// No `+` and no region hint: the country calling code is unknown.
    #[error("no country: write the number in international form (+CC...) or give a region")]
    NoCountry,
    /// Longer than any phone number.
    #[error("too long for a phone number")]
    TooLong,
    /// The text is not a phone number.
    #[error("not a phone number: {0}")]
    Unparsable(String),
    /// It parses, but no numbering plan has such a number.
    #[error("not a valid number in any numbering plan")]
    Invalid,
    /// The region hint is not a region the numbering metadata knows.
    #[error("unknown region {0}")]
    UnknownRegion(CountryCode),
}

/// A valid phone number in international (E.164) form.
#[derive(Clone, PartialEq)]
pub struct E164Phone(PhoneNumber);

impl E164Phone {
    /// Parses a number written in international form (`+44 20 7946 0958`, `tel:+1-202-...`).
    /// Without a leading `+` the country is unknown and this fails: use
    /// [`E164Phone::parse_with_region`] when the report says which country the number is from.
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let trimmed = text.trim();
        if trimmed.len() > MAX_INPUT {
            return Err(PhoneError::TooLong);
        }
        let body = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
        if !body.starts_with('+') {
            return Err(PhoneError::NoCountry);
        }
        Self::finish(phonenumber::parse(None, trimmed))
    }

    /// Parses a number that may be in national form, dialled from `region`.
    pub fn parse_with_region(text: &str, region: CountryCode) -> Result<Self, PhoneError> {
        let trimmed = text.trim();
        if trimmed.len() > MAX_INPUT {
            return Err(PhoneError::TooLong);
        }
        let id: country::Id = region
            .as_str()
            .parse()
            .map_err(|_| PhoneError::UnknownRegion(region))?;
        Self::finish(phonenumber::parse(Some(id), trimmed))
    }

    fn finish(parsed: Result<PhoneNumber, phonenumber::ParseError>) -> Result<Self, PhoneError> {
        let number = parsed.map_err(|e| PhoneError::Unparsable(e.to_string()))?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(number))
    }

    /// The country whose numbering plan the number belongs to; `None` for non-geographic
    /// numbers (`+800` freephone, `+882`/`+883` international networks, `+881` satellite).
    pub fn country(&self) -> Option<CountryCode> {
        let id = self.0.country().id()?;
        CountryCode::parse(id.as_ref()).ok()
    }

    /// The country calling code (`44` for +44).
    pub fn calling_code(&self) -> u16 {
        self.0.code().value()
    }

    /// The number in E.164 form (`+442079460958`).
    pub fn e164(&self) -> String {
        self.0.format().mode(Mode::E164).to_string()
    }
}

impl fmt::Display for E164Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164())
    }
}

impl fmt::Debug for E164Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164Phone({})", self.e164())
    }
}
