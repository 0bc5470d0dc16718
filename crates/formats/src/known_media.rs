//! The format-agnostic record of known material, and the hash types the known-material formats
//! share.
//!
//! VICS, ICSE and hash lists each carry a different subset of what is known about a piece of
//! media. [`KnownMediaRecord`] is the union, so that an importer can be written once: every format
//! module converts its own record into a `KnownMediaRecord` (and back, for export). Which format
//! carries which field is tabulated in `docs/known-material-formats.md`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use safeguard_domain::digest::{Md5, Sha1, Sha256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// A hash string that is not valid for its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {kind} hash: {reason} (got {got:?})")]
pub struct HashParseError {
    /// Which kind of hash was expected.
    pub kind: HashKind,
    /// Why it was refused.
    pub reason: &'static str,
    /// The start of the offending text (at most 80 characters).
    pub got: String,
}

impl HashParseError {
    fn new(kind: HashKind, reason: &'static str, text: &str) -> Self {
        Self {
            kind,
            reason,
            got: text.chars().take(80).collect(),
        }
    }
}

/// A PDQ perceptual hash (256 bits), written as 64 hexadecimal characters.
///
/// The perceptual crate has its own `Pdq` type with the distance arithmetic; this one only
/// validates and carries the value through the formats (the lead unifies them).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PdqHex([u8; 32]);

impl PdqHex {
    /// Wraps the 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal characters in either case, surrounding white space ignored.
    pub fn parse(text: &str) -> Result<Self, HashParseError> {
        let trimmed = text.trim();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(trimmed, &mut bytes).map_err(|_| {
            HashParseError::new(HashKind::Pdq, "expected 64 hexadecimal characters", trimmed)
        })?;
        Ok(Self(bytes))
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A PhotoDNA hash: 144 bytes, exchanged as 192 base64 characters (VICS, ICSE) or, in some
/// exports, 288 hexadecimal characters. Always written back as base64.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoDna(Box<[u8; 144]>);

impl PhotoDna {
    /// Length of the hash in bytes.
    pub const LEN: usize = 144;

    /// Wraps the 144 raw bytes.
    pub fn from_bytes(bytes: [u8; 144]) -> Self {
        Self(Box::new(bytes))
    }

    /// The 144 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 144] {
        &self.0
    }

    /// Parses base64 (192 characters, standard alphabet) or hexadecimal (288 characters).
    pub fn parse(text: &str) -> Result<Self, HashParseError> {
        let trimmed = text.trim();
        let mut bytes = [0u8; 144];
        match trimmed.len() {
            288 => hex::decode_to_slice(trimmed, &mut bytes).map_err(|_| {
                HashParseError::new(HashKind::PhotoDna, "invalid hexadecimal", trimmed)
            })?,
            192 => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(trimmed)
                    .map_err(|_| {
                        HashParseError::new(HashKind::PhotoDna, "invalid base64", trimmed)
                    })?;
                if decoded.len() != Self::LEN {
                    return Err(HashParseError::new(
                        HashKind::PhotoDna,
                        "base64 does not decode to 144 bytes",
                        trimmed,
                    ));
                }
                bytes.copy_from_slice(&decoded);
            }
            _ => {
                return Err(HashParseError::new(
                    HashKind::PhotoDna,
                    "expected 192 base64 or 288 hexadecimal characters",
                    trimmed,
                ))
            }
        }
        Ok(Self(Box::new(bytes)))
    }

    /// Standard base64 (192 characters), the form VICS and ICSE carry.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0[..])
    }
}

macro_rules! text_hash_impls {
    ($name:ident, $display:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.$display())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.$display())
            }
        }
        impl FromStr for $name {
            type Err = HashParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.$display())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
text_hash_impls!(PdqHex, to_hex);
text_hash_impls!(PhotoDna, to_base64);

/// The kinds of hash the known-material formats exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HashKind {
    /// MD5 (32 hexadecimal characters).
    Md5,
    /// SHA-1 (40 hexadecimal characters).
    Sha1,
    /// SHA-256 (64 hexadecimal characters).
    Sha256,
    /// PDQ (64 hexadecimal characters: same length as SHA-256, so it needs a hint in plain lists).
    Pdq,
    /// PhotoDNA (192 base64 or 288 hexadecimal characters).
    PhotoDna,
}

impl HashKind {
    /// Every kind, in a stable order (the order hash lists are written in).
    pub const ALL: [HashKind; 5] = [
        HashKind::Md5,
        HashKind::Sha1,
        HashKind::Sha256,
        HashKind::Pdq,
        HashKind::PhotoDna,
    ];

    /// The canonical name written in hash lists (`MD5`, `SHA1`, `SHA256`, `PDQ`, `PhotoDNA`).
    pub const fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "MD5",
            HashKind::Sha1 => "SHA1",
            HashKind::Sha256 => "SHA256",
            HashKind::Pdq => "PDQ",
            HashKind::PhotoDna => "PhotoDNA",
        }
    }

    /// Recognises a hash-type name as written by the tools in the field: case-insensitive, with
    /// or without a dash or underscore (`sha-1`, `SHA_256`, `photo_dna`, `pdna`).
    pub fn from_name(name: &str) -> Option<Self> {
        let folded: String = name
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "md5" => Some(HashKind::Md5),
            "sha1" => Some(HashKind::Sha1),
            "sha256" => Some(HashKind::Sha256),
            "pdq" => Some(HashKind::Pdq),
            "photodna" | "pdna" => Some(HashKind::PhotoDna),
            _ => None,
        }
    }

    /// Parses `text` as a hash of this kind.
    pub fn parse(self, text: &str) -> Result<HashValue, HashParseError> {
        let digest_err = |e: safeguard_domain::digest::DigestParseError| {
            HashParseError::new(self, "wrong length or not hexadecimal", &e.got)
        };
        Ok(match self {
            HashKind::Md5 => HashValue::Md5(Md5::parse(text).map_err(digest_err)?),
            HashKind::Sha1 => HashValue::Sha1(Sha1::parse(text).map_err(digest_err)?),
            HashKind::Sha256 => HashValue::Sha256(Sha256::parse(text).map_err(digest_err)?),
            HashKind::Pdq => HashValue::Pdq(PdqHex::parse(text)?),
            HashKind::PhotoDna => HashValue::PhotoDna(PhotoDna::parse(text)?),
        })
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One hash of a known kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashValue {
    /// An MD5 digest.
    Md5(Md5),
    /// A SHA-1 digest.
    Sha1(Sha1),
    /// A SHA-256 digest.
    Sha256(Sha256),
    /// A PDQ hash.
    Pdq(PdqHex),
    /// A PhotoDNA hash.
    PhotoDna(PhotoDna),
}

impl HashValue {
    /// The kind of this hash.
    pub fn kind(&self) -> HashKind {
        match self {
            HashValue::Md5(_) => HashKind::Md5,
            HashValue::Sha1(_) => HashKind::Sha1,
            HashValue::Sha256(_) => HashKind::Sha256,
            HashValue::Pdq(_) => HashKind::Pdq,
            HashValue::PhotoDna(_) => HashKind::PhotoDna,
        }
    }

    /// The canonical text: lower-case hexadecimal, base64 for PhotoDNA.
    pub fn to_text(&self) -> String {
        match self {
            HashValue::Md5(h) => h.to_hex(),
            HashValue::Sha1(h) => h.to_hex(),
            HashValue::Sha256(h) => h.to_hex(),
            HashValue::Pdq(h) => h.to_hex(),
            HashValue::PhotoDna(h) => h.to_base64(),
        }
    }
}

/// The hashes known for one piece of media, at most one of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KnownHashes {
    /// MD5 of the file.
    pub md5: Option<Md5>,
    /// SHA-1 of the file.
    pub sha1: Option<Sha1>,
    /// SHA-256 of the file.
    pub sha256: Option<Sha256>,
    /// PDQ of the image.
    pub pdq: Option<PdqHex>,
    /// PhotoDNA of the image.
    pub photodna: Option<PhotoDna>,
}

impl KnownHashes {
    /// True when no hash is set.
    pub fn is_empty(&self) -> bool {
        self.md5.is_none()
            && self.sha1.is_none()
            && self.sha256.is_none()
            && self.pdq.is_none()
            && self.photodna.is_none()
    }

    /// The hash of `kind`, if set.
    pub fn get(&self, kind: HashKind) -> Option<HashValue> {
        match kind {
            HashKind::Md5 => self.md5.map(HashValue::Md5),
            HashKind::Sha1 => self.sha1.map(HashValue::Sha1),
            HashKind::Sha256 => self.sha256.map(HashValue::Sha256),
            HashKind::Pdq => self.pdq.map(HashValue::Pdq),
            HashKind::PhotoDna => self.photodna.clone().map(HashValue::PhotoDna),
        }
    }

    /// Sets a hash, returning the previous one of the same kind if it differed.
    pub fn set(&mut self, value: HashValue) -> Option<HashValue> {
        let previous = self.get(value.kind());
        match value.clone() {
            HashValue::Md5(h) => self.md5 = Some(h),
            HashValue::Sha1(h) => self.sha1 = Some(h),
            HashValue::Sha256(h) => self.sha256 = Some(h),
            HashValue::Pdq(h) => self.pdq = Some(h),
            HashValue::PhotoDna(h) => self.photodna = Some(h),
        }
        previous.filter(|p| *p != value)
    }

    /// Every hash that is set, in [`HashKind::ALL`] order.
    pub fn values(&self) -> Vec<HashValue> {
        HashKind::ALL.iter().filter_map(|k| self.get(*k)).collect()
    }
}

/// Which format a [`KnownMediaRecord`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceFormat {
    /// Project VIC VICS JSON (1.x or 2.0).
    Vics,
    /// INTERPOL ICSE export CSV.
    Icse,
    /// A plain or CSV hash list.
    HashList,
    /// Built in memory, not read from a file.
    Other,
}

/// Where a record came from in its source file, for error messages and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The format of the source file.
    pub format: SourceFormat,
    /// 1-based ordinal of the record in its file (the first media entry or data row is 1).
    pub ordinal: u64,
    /// 1-based line where the record starts, when known.
    pub line: Option<u64>,
}

/// The union of what VICS, ICSE and hash lists say about one piece of known media.
///
/// `None` always means "the source did not say", never "false".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownMediaRecord {
    /// Where the record was read.
    pub source: SourceRef,
    /// The hashes of the media.
    pub hashes: KnownHashes,
    /// VICS category number; its meaning depends on [`Self::category_scheme`] (VICS only).
    pub category: Option<u32>,
    /// The VICS region of the file (`Default`, `US`, `UK`, `CUSTOM`), which fixes what
    /// `category` means; set by [`crate::known_stream::KnownMediaReader`] from the envelope.
    pub category_scheme: Option<String>,
    /// Series name (VICS `Series`, ICSE `Series name`), as written: some VICS writers put a comma
    /// list here, see [`KnownMediaRecord::series_names`].
    pub series: Option<String>,
    /// The victim has been identified.
    pub victim_identified: Option<bool>,
    /// The offender has been identified.
    pub offender_identified: Option<bool>,
    /// The media is known to circulate.
    pub is_distributed: Option<bool>,
    /// ICSE `Baseline`: on the INTERPOL baseline list (illegal in every member country).
    pub baseline: Option<bool>,
    /// ICSE `File Available`: the database holds a copy of the file.
    pub file_available: Option<bool>,
    /// ICSE `Number of submissions`.
    pub submissions: Option<u64>,
    /// MIME type (VICS `MimeType`, e.g. `image/jpeg`).
    pub mime_type: Option<String>,
    /// ICSE `Media Type` (free text such as `Image` or `Video`; not a MIME type).
    pub media_type: Option<String>,
    /// Size in bytes (VICS `MediaSize`).
    pub media_size: Option<u64>,
    /// The identifier the source gives the media (VICS `MediaID`, ICSE `Image ID`).
    pub external_id: Option<String>,
    /// When the source last updated the record (VICS `DateUpdated`, when it parses as RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// File names the media was seen under (VICS `MediaFiles[].FileName`).
    pub file_names: Vec<String>,
    /// Free tags (VICS `Tags`, a comma list).
    pub tags: Option<String>,
    /// Free comments (VICS `Comments`) or the label of a hash-list line.
    pub comments: Option<String>,
}

impl KnownMediaRecord {
    /// An empty record (no hash, nothing known) from `source`.
    pub fn new(source: SourceRef) -> Self {
        Self {
            source,
            hashes: KnownHashes::default(),
            category: None,
            category_scheme: None,
            series: None,
            victim_identified: None,
            offender_identified: None,
            is_distributed: None,
            baseline: None,
            file_available: None,
            submissions: None,
            mime_type: None,
            media_type: None,
            media_size: None,
            external_id: None,
            updated_at: None,
            file_names: Vec::new(),
            tags: None,
            comments: None,
        }
    }

    /// The series names, splitting the comma lists some VICS writers emit; blanks dropped.
    pub fn series_names(&self) -> Vec<&str> {
        self.series
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reads a yes/no flag as the field writes it: `true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`
/// (any case, surrounding white space ignored). Empty means "not said" (`Ok(None)`).
pub fn parse_flag(text: &str) -> Result<Option<bool>, InvalidFlag> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.eq_ignore_ascii_case("true")
        || t == "1"
        || t.eq_ignore_ascii_case("yes")
        || t.eq_ignore_ascii_case("y")
    {
        Ok(Some(true))
    } else if t.eq_ignore_ascii_case("false")
        || t == "0"
        || t.eq_ignore_ascii_case("no")
        || t.eq_ignore_ascii_case("n")
    {
        Ok(Some(false))
    } else {
        Err(InvalidFlag {
            got: t.chars().take(40).collect(),
        })
    }
}

/// A flag that is none of the accepted spellings of yes or no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a yes/no flag: {got:?} (expected true/false, 1/0 or yes/no)")]
pub struct InvalidFlag {
    /// The start of the offending text.
    pub got: String,
}

/// Parses the date-times VICS writers emit (RFC 3339 with 0 to 9 fractional digits); `None` if
/// it does not parse, since the raw text is kept by the format record anyway.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photodna_accepts_base64_and_hex_and_writes_base64() {
        let bytes: [u8; 144] = std::array::from_fn(|i| i as u8);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(b64.len(), 192);
        let a = PhotoDna::parse(&b64).expect("base64");
        let b = PhotoDna::parse(&hex::encode(bytes)).expect("hex");
        assert_eq!(a, b);
        assert_eq!(a.to_base64(), b64);
        assert!(PhotoDna::parse("abcd").is_err());
        assert!(PhotoDna::parse(&"!".repeat(192)).is_err());
    }

    #[test]
    fn hash_kind_names_are_forgiving() {
        assert_eq!(HashKind::from_name("SHA-1"), Some(HashKind::Sha1));
        assert_eq!(HashKind::from_name(" sha_256 "), Some(HashKind::Sha256));
        assert_eq!(HashKind::from_name("PhotoDNA"), Some(HashKind::PhotoDna));
        assert_eq!(HashKind::from_name("crc32"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag(" TRUE "), Ok(Some(true)));
        assert_eq!(parse_flag("0"), Ok(Some(false)));
        assert_eq!(parse_flag("No"), Ok(Some(false)));
        assert_eq!(parse_flag(""), Ok(None));
        assert!(parse_flag("maybe").is_err());
    }

    #[test]
    fn timestamps_with_many_fraction_digits() {
        assert!(parse_timestamp("2023-12-01T10:00:00.0000000Z").is_some());
        assert!(parse_timestamp("2024-01-02T03:04:05.8300Z").is_some());
        assert!(parse_timestamp("2024-01-02T03:04:05+00:00").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
