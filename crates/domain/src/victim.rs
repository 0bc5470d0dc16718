//! Victim identification: clues marked on series media, the "Trace an Object" public objects cut
//! from them (two-person approval), the public's tips and their local spam checks, and the
//! taskforce editions that bring specialists of several organisations together.
//!
//! Pure types and rules. Storage is in `safeguard-store` (`victim.rs`), use cases in
//! `safeguard-engine` (`victim.rs`); the design is in `docs/victim-identification.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a victim-identification value given at the edge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VictimError {
    #[error("unknown {what} {value:?} (expected one of: {expected})")]
    Unknown {
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error("invalid region: {0}")]
    InvalidRegion(&'static str),
    #[error("not a two-letter country code: {0:?}")]
    InvalidCountry(String),
    #[error("{what} {why}")]
    InvalidText {
        what: &'static str,
        why: &'static str,
    },
}

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// A label for people.
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl FromStr for $name {
            type Err = VictimError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| VictimError::Unknown {
                        what: $what,
                        value: t.chars().take(40).collect(),
                        expected: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// What kind of clue a region shows (or, for `LanguageHeard`, what is heard in a video).
    ClueCategory, "clue category" {
        Object => "object" / "Object",
        Text => "text" / "Text or sign",
        Logo => "logo" / "Logo or brand",
        Clothing => "clothing" / "Clothing or uniform",
        Landscape => "landscape" / "Landscape or view",
        LanguageHeard => "language_heard" / "Language heard",
    }
);

word_enum!(
    /// Where the work on a clue stands.
    ClueStatus, "clue status" {
        /// Marked, not yet worked on.
        Open => "open" / "Open",
        /// Someone has a lead (a place, a shop, a maker).
        Lead => "lead" / "Lead",
        /// The clue was placed: it says where the picture was taken.
        Identified => "identified" / "Identified",
        /// Not useful after all.
        Dismissed => "dismissed" / "Dismissed",
    }
);

word_enum!(
    /// Where a Trace-an-Object candidate stands.
    ObjectState, "object state" {
        /// Cut, awaiting two approvals.
        Pending => "pending" / "Awaiting approval",
        /// Approved by two people: on the public site.
        Published => "published" / "Published",
        /// Traced: shown as solved on the public site.
        Traced => "traced" / "Traced",
        /// Taken off the public site (or never published).
        Withdrawn => "withdrawn" / "Withdrawn",
    }
);

word_enum!(
    /// A specialist's verdict on a public tip.
    TipStatus, "tip status" {
        New => "new" / "New",
        Useful => "useful" / "Useful",
        NotUseful => "not_useful" / "Not useful",
        Spam => "spam" / "Spam",
    }
);

word_enum!(
    /// What happened in a taskforce edition (its timeline).
    TaskforceEventKind, "taskforce event" {
        Created => "created" / "Edition opened",
        OrgJoined => "org_joined" / "Organisation joined",
        Assigned => "assigned" / "Series assigned",
        Reviewed => "reviewed" / "Series reviewed",
        Note => "note" / "Note",
        CountrySuggested => "country" / "Country suggested",
        Lead => "lead" / "Lead disseminated",
        Clue => "clue" / "Clue marked",
    }
);

/// Number of approvals a crop needs before it is published.
pub const APPROVALS_NEEDED: usize = 2;

/// Region coordinates are in units of 1/10000 of the image's width and height, so a region
/// stays right whatever size the picture is shown or decoded at.
pub const REGION_SCALE: u32 = 10_000;

/// A rectangle of an image, in 1/10000 of its width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Region {
    /// Checks a region: inside the image, at least 1% wide and high.
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Result<Self, VictimError> {
        if w < 100 || h < 100 {
            return Err(VictimError::InvalidRegion(
                "it must be at least 1% of the picture wide and high",
            ));
        }
        if x.checked_add(w).is_none_or(|r| r > REGION_SCALE)
            || y.checked_add(h).is_none_or(|b| b > REGION_SCALE)
        {
            return Err(VictimError::InvalidRegion("it reaches outside the picture"));
        }
        Ok(Self { x, y, w, h })
    }

    /// The region in pixels of a `width` × `height` picture (never empty, never outside).
    pub fn pixels(&self, width: u32, height: u32) -> (u32, u32, u32, u32) {
        let scale =
            |v: u32, side: u32| (u64::from(v) * u64::from(side) / u64::from(REGION_SCALE)) as u32;
        let x = scale(self.x, width).min(width.saturating_sub(1));
        let y = scale(self.y, height).min(height.saturating_sub(1));
        let w = scale(self.w, width).clamp(1, width - x);
        let h = scale(self.h, height).clamp(1, height - y);
        (x, y, w, h)
    }

    /// Percentages for display (`left`, `top`, `width`, `height`).
    pub fn percent(&self) -> (f32, f32, f32, f32) {
        let p = |v: u32| v as f32 / 100.0;
        (p(self.x), p(self.y), p(self.w), p(self.h))
    }
}

/// Parses an ISO 3166-1 alpha-2 code (two ASCII letters, either case) to upper case.
pub fn country_code(text: &str) -> Result<String, VictimError> {
    let t = text.trim();
    match t.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Ok(t.to_ascii_uppercase()),
        _ => Err(VictimError::InvalidCountry(t.chars().take(16).collect())),
    }
}

/// Checks a piece of free text: trimmed, within `min..=max` characters, no control characters
/// other than line breaks and tabs.
pub fn checked_text(
    what: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, VictimError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min {
        return Err(VictimError::InvalidText {
            what,
            why: if min <= 1 { "is empty" } else { "is too short" },
        });
    }
    if n > max {
        return Err(VictimError::InvalidText {
            what,
            why: "is too long",
        });
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(VictimError::InvalidText {
            what,
            why: "contains control characters",
        });
    }
    Ok(t.replace("\r\n", "\n"))
}

/// Shortest tip accepted, in characters.
pub const TIP_MIN_CHARS: usize = 10;
/// Longest tip accepted, in characters.
pub const TIP_MAX_CHARS: usize = 4_000;
/// Most links a tip may contain (people do name a shop's web page; spam names many).
pub const TIP_MAX_LINKS: usize = 2;

/// A tip as sent by the public, before checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TipForm<'a> {
    pub text: &'a str,
    pub country: &'a str,
    pub contact: &'a str,
    /// A field hidden from people (by the stylesheet); only robots fill it in.
    pub honeypot: &'a str,
}

/// A tip that passed the local checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTip {
    pub text: String,
    pub country: Option<String>,
    pub contact: Option<String>,
    /// SHA-256 of the normalised text (lower case, whitespace collapsed), to refuse duplicates.
    pub digest: [u8; 32],
}

/// Why a tip was refused by the local spam checks (nothing is sent to any third party).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TipRefusal {
    #[error("the tip could not be accepted")]
    Honeypot,
    #[error("please write at least {TIP_MIN_CHARS} characters")]
    TooShort,
    #[error("please keep the tip under {TIP_MAX_CHARS} characters")]
    TooLong,
    #[error("the tip contains too many links (at most {TIP_MAX_LINKS})")]
    TooManyLinks,
    #[error("the tip contains characters that cannot be accepted")]
    ControlCharacters,
    #[error("the country or contact field is too long")]
    FieldTooLong,
    #[error("this tip was already received, thank you")]
    Duplicate,
}

/// Number of links (`http://`, `https://`, `www.`) in a text.
pub fn link_count(text: &str) -> usize {
    let lower = text.to_lowercase();
    lower.matches("http://").count()
        + lower.matches("https://").count()
        + lower
            .split(|c: char| c.is_whitespace() || c == '(' || c == '<')
            .filter(|w| w.starts_with("www."))
            .count()
}

/// The normalised form of a tip's text that duplicates are compared on.
pub fn normalised(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies the local checks (honeypot, length, links, control characters) to a tip.
/// Duplicates are checked by storage against the object's earlier tips, with `digest`.
pub fn check_tip(form: &TipForm<'_>) -> Result<CheckedTip, TipRefusal> {
    if !form.honeypot.trim().is_empty() {
        return Err(TipRefusal::Honeypot);
    }
    let text = form.text.trim();
    let n = text.chars().count();
    if n < TIP_MIN_CHARS {
        return Err(TipRefusal::TooShort);
    }
    if n > TIP_MAX_CHARS {
        return Err(TipRefusal::TooLong);
    }
    let control = |s: &str| {
        s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    };
    if control(text) || control(form.country) || control(form.contact) {
        return Err(TipRefusal::ControlCharacters);
    }
    if link_count(text) > TIP_MAX_LINKS {
        return Err(TipRefusal::TooManyLinks);
    }
    let opt = |s: &str, max: usize| -> Result<Option<String>, TipRefusal> {
        let t = s.trim();
        if t.chars().count() > max {
            return Err(TipRefusal::FieldTooLong);
        }
        Ok((!t.is_empty()).then(|| t.to_owned()))
    };
    let country = opt(form.country, 80)?;
    let contact = opt(form.contact, 200)?;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(normalised(text).as_bytes()).into();
    Ok(CheckedTip {
        text: text.replace("\r\n", "\n"),
        country,
        contact,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_refuse() {
        assert_eq!(
            "LANGUAGE_HEARD".parse::<ClueCategory>(),
            Ok(ClueCategory::LanguageHeard)
        );
        assert!(matches!(
            "sofa".parse::<ClueCategory>(),
            Err(VictimError::Unknown { .. })
        ));
        assert_eq!("traced".parse::<ObjectState>(), Ok(ObjectState::Traced));
    }

    #[test]
    fn regions_stay_inside_the_picture() {
        assert!(Region::new(0, 0, 10_000, 10_000).is_ok());
        assert!(Region::new(9_500, 0, 600, 1_000).is_err());
        assert!(Region::new(0, 0, 50, 1_000).is_err());
        assert!(Region::new(u32::MAX, 0, 500, 500).is_err());
        let r = Region::new(2_500, 5_000, 5_000, 2_500).expect("region");
        assert_eq!(r.pixels(400, 200), (100, 100, 200, 50));
        // Tiny pictures never give an empty or outside rectangle.
        let (x, y, w, h) = Region::new(9_900, 9_900, 100, 100)
            .expect("region")
            .pixels(3, 3);
        assert!(w >= 1 && h >= 1 && x + w <= 3 && y + h <= 3);
    }

    #[test]
    fn tips_are_checked_locally() {
        let ok = TipForm {
            text: "This bag is from a bakery in Exampletown.",
            country: "NL",
            contact: "",
            honeypot: "",
        };
        let tip = check_tip(&ok).expect("accepted");
        assert_eq!(tip.country.as_deref(), Some("NL"));
        assert_eq!(tip.contact, None);
        let same = check_tip(&TipForm {
            text: "  this BAG is from a   bakery in exampletown. ",
            ..ok.clone()
        })
        .expect("accepted");
        assert_eq!(tip.digest, same.digest, "duplicates compare normalised");
        assert_eq!(
            check_tip(&TipForm {
                honeypot: "x",
                ..ok.clone()
            }),
            Err(TipRefusal::Honeypot)
        );
        assert_eq!(
            check_tip(&TipForm {
                text: "short",
                ..ok.clone()
            }),
            Err(TipRefusal::TooShort)
        );
        let long = "a".repeat(TIP_MAX_CHARS + 1);
        assert_eq!(
            check_tip(&TipForm {
                text: &long,
                ..ok.clone()
            }),
            Err(TipRefusal::TooLong)
        );
        assert_eq!(
            check_tip(&TipForm {
                text: "buy http://a.example https://b.example www.c.example now",
                ..ok.clone()
            }),
            Err(TipRefusal::TooManyLinks)
        );
        assert_eq!(
            check_tip(&TipForm {
                text: "a text with a \u{0} nul in it",
                ..ok
            }),
            Err(TipRefusal::ControlCharacters)
        );
    }

    #[test]
    fn country_codes_are_two_letters() {
        assert_eq!(country_code(" nl "), Ok("NL".into()));
        assert!(country_code("NLD").is_err());
        assert!(country_code("1A").is_err());
    }
}
