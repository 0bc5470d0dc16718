//! Known material: hash sets ("banks") of media already known to hotlines and law enforcement,
//! the series that group them, and the verdict a report file gets from matching against them.
//!
//! Pure types and rules. Storage is in `safeguard-store`, import/export and matching in
//! `safeguard-engine`; the design is in `docs/known-material.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::account::OrgId;
use crate::digest::{Md5, Sha1, Sha256};

/// PDQ's usual match threshold: two hashes within this Hamming distance show the same image
/// (HMA and python-threatexchange use the same value).
pub const PDQ_MATCH_DISTANCE: u32 = 31;

/// PDQ hashes of lower quality (flat, featureless images) are not matched perceptually.
pub const PDQ_MIN_QUALITY: u8 = 50;

/// Why a known-material value given at the edge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnownError {
    #[error("unknown series status {0:?} (expected new, under_investigation, victim_identified or offender_identified)")]
    UnknownSeriesStatus(String),
    #[error("unknown verdict {0:?} (expected known, unknown or known_good)")]
    UnknownVerdict(String),
    #[error("unknown match method {0:?} (expected exact or perceptual)")]
    UnknownMethod(String),
    #[error("unknown hash kind {0:?} (expected md5, sha1, sha256, pdq or vpdq)")]
    UnknownHashKind(String),
    #[error("unknown hash-set purpose {0:?} (expected known or known_good)")]
    UnknownPurpose(String),
    #[error("not a PDQ hash: expected 64 hexadecimal characters, got {0:?}")]
    InvalidPdq(String),
    #[error("invalid {what}: {why}")]
    InvalidName {
        what: &'static str,
        why: &'static str,
    },
}

/// A PDQ perceptual hash (256 bits). The perceptual crate computes it and has the same bytes;
/// this type only carries the value through storage and the API.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// Parses 64 hexadecimal characters in either case.
    pub fn parse(text: &str) -> Result<Self, KnownError> {
        let trimmed = text.trim();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(trimmed, &mut bytes)
            .map_err(|_| KnownError::InvalidPdq(trimmed.chars().take(80).collect()))?;
        Ok(Self(bytes))
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Number of differing bits.
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl FromStr for PdqHash {
    type Err = KnownError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PdqHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PdqHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PdqHash {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{64}$"))
            .description(Some("PDQ hash, lower-case hexadecimal"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PdqHash {}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $err:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        }

        impl FromStr for $name {
            type Err = KnownError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| KnownError::$err(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where the work on a series stands.
    SeriesStatus, UnknownSeriesStatus {
        /// Recorded, nobody working on it yet.
        New => "new",
        /// An organisation is working to identify the victim or offender.
        UnderInvestigation => "under_investigation",
        /// The victim has been identified (and, one hopes, safeguarded).
        VictimIdentified => "victim_identified",
        /// The offender has been identified.
        OffenderIdentified => "offender_identified",
    }
);

text_enum!(
    /// What a hash set is for.
    HashSetPurpose, UnknownPurpose {
        /// Known material of concern: matches make a file "known".
        Known => "known",
        /// Content known to be harmless (NSRL-like lists): a match suppresses perceptual hits.
        KnownGood => "known_good",
    }
);

text_enum!(
    /// How a file was found to match an entry.
    MatchMethod, UnknownMethod {
        /// A cryptographic digest is equal.
        Exact => "exact",
        /// A perceptual hash is within the match distance.
        Perceptual => "perceptual",
    }
);

text_enum!(
    /// Which hash matched.
    MatchHashKind, UnknownHashKind {
        Md5 => "md5",
        Sha1 => "sha1",
        Sha256 => "sha256",
        /// PDQ of an image (any of its eight rotations and mirror images).
        Pdq => "pdq",
        /// vPDQ frames of a video.
        Vpdq => "vpdq",
    }
);

text_enum!(
    /// What matching concluded about a file (or a report, from its files).
    Verdict, UnknownVerdict {
        /// Matches known material in a hash set the organisation may use.
        Known => "known",
        /// No match: new material, or nothing of concern.
        Unknown => "unknown",
        /// Matches only a known-good list.
        KnownGood => "known_good",
    }
);

impl Verdict {
    /// The verdict of a report from its files': known wins over known-good over unknown.
    pub fn combine(self, other: Verdict) -> Verdict {
        use Verdict::*;
        match (self, other) {
            (Known, _) | (_, Known) => Known,
            (KnownGood, _) | (_, KnownGood) => KnownGood,
            _ => Unknown,
        }
    }
}

/// Database id of a hash set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct HashSetId(pub i64);

/// Database id of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct SeriesId(pub i64);

/// Database id of a known entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EntryId(pub i64);

/// Checks a hash-set or series name: 1 to 200 characters, no control characters, trimmed.
pub fn check_name(what: &'static str, name: &str) -> Result<String, KnownError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(KnownError::InvalidName {
            what,
            why: "must not be empty",
        });
    }
    if trimmed.chars().count() > 200 {
        return Err(KnownError::InvalidName {
            what,
            why: "must be at most 200 characters",
        });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(KnownError::InvalidName {
            what,
            why: "must not contain control characters",
        });
    }
    Ok(trimmed.to_owned())
}

/// A hash set (a "bank" in HMA's words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashSet {
    pub id: HashSetId,
    /// Unique name.
    pub name: String,
    /// The organisation that owns (and curates) it.
    pub owner_org: OrgId,
    pub purpose: HashSetPurpose,
    /// Where the hashes come from (e.g. "Project VIC export 2024-03").
    pub source: Option<String>,
    /// Terms under which the hashes may be used.
    pub licence: Option<String>,
    /// What the entries' category numbers mean (VICS region: `US`, `UK`, `Default`…).
    pub category_scheme: Option<String>,
    /// Other organisations may match against it.
    pub shared: bool,
    /// Disabled sets are not matched.
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// Entries in the set (filled by listings).
    pub entries: i64,
}

impl HashSet {
    /// May `org` match against this set?
    pub fn usable_by(&self, org: OrgId) -> bool {
        self.enabled && (self.owner_org == org || self.shared)
    }
}

/// A series: media showing the same victim(s), or produced together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    pub id: SeriesId,
    /// Unique name.
    pub name: String,
    pub status: SeriesStatus,
    pub notes: Option<String>,
    /// Set when this series was merged into another one.
    pub merged_into: Option<SeriesId>,
    /// Organisations working on it.
    pub orgs: Vec<OrgId>,
    /// Entries in the series (filled by reads).
    pub entries: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// One change in a series' history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesEvent {
    pub series: SeriesId,
    /// `create`, `merge_in`, `merged_into`, `split_out`, `split_from`, `add_media`, `status`,
    /// `org_added`.
    pub action: String,
    pub other_series: Option<SeriesId>,
    /// Entries moved by this change.
    pub entries: i64,
    pub actor: String,
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
}

/// The hashes of a known entry: at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryHashes {
    pub md5: Option<Md5>,
    pub sha1: Option<Sha1>,
    pub sha256: Option<Sha256>,
    pub pdq: Option<PdqHash>,
    /// PhotoDNA as the formats carry it (base64); opaque here: Safeguard cannot compute it.
    pub photodna: Option<String>,
}

impl EntryHashes {
    /// True when no hash is set.
    pub fn is_empty(&self) -> bool {
        self.md5.is_none()
            && self.sha1.is_none()
            && self.sha256.is_none()
            && self.pdq.is_none()
            && self.photodna.is_none()
    }

    /// True when an exact (cryptographic) digest is set: the entry's identity in its set.
    pub fn has_exact(&self) -> bool {
        self.md5.is_some() || self.sha1.is_some() || self.sha256.is_some()
    }
}

/// What is known about one piece of media, independent of the file format it came in.
/// `None` always means "not said", never "no".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryFacts {
    /// Category number in the set's scheme.
    pub category: Option<u32>,
    pub victim_identified: Option<bool>,
    pub offender_identified: Option<bool>,
    /// Known to circulate.
    pub distributed: Option<bool>,
    /// ICSE baseline (illegal everywhere).
    pub baseline: Option<bool>,
    pub file_available: Option<bool>,
    pub submissions: Option<u64>,
    pub mime_type: Option<String>,
    pub media_type: Option<String>,
    pub media_size: Option<u64>,
    /// The source's id for the media (VICS MediaID, ICSE Image ID).
    pub external_id: Option<String>,
    pub file_names: Vec<String>,
    pub tags: Option<String>,
    pub comments: Option<String>,
    /// When the source last updated its record.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub source_updated_at: Option<OffsetDateTime>,
}

impl EntryFacts {
    /// Takes every fact `newer` states, keeping ours where it says nothing: a re-import never
    /// erases what an earlier one said.
    pub fn merge_from(&mut self, newer: &EntryFacts) {
        fn take<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        take(&mut self.category, &newer.category);
        take(&mut self.victim_identified, &newer.victim_identified);
        take(&mut self.offender_identified, &newer.offender_identified);
        take(&mut self.distributed, &newer.distributed);
        take(&mut self.baseline, &newer.baseline);
        take(&mut self.file_available, &newer.file_available);
        take(&mut self.submissions, &newer.submissions);
        take(&mut self.mime_type, &newer.mime_type);
        take(&mut self.media_type, &newer.media_type);
        take(&mut self.media_size, &newer.media_size);
        take(&mut self.external_id, &newer.external_id);
        take(&mut self.tags, &newer.tags);
        take(&mut self.comments, &newer.comments);
        take(&mut self.source_updated_at, &newer.source_updated_at);
        for name in &newer.file_names {
            if !self.file_names.contains(name) {
                self.file_names.push(name.clone());
            }
        }
    }
}

/// A known entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownEntry {
    pub id: EntryId,
    pub hash_set: HashSetId,
    pub hashes: EntryHashes,
    pub facts: EntryFacts,
    pub series: Option<SeriesId>,
    /// Name of the series (filled by reads).
    pub series_name: Option<String>,
    /// Disabled entries are not matched.
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_seen: OffsetDateTime,
    /// The import that last wrote it (none when added by hand).
    pub import_id: Option<i64>,
    /// The organisation that contributed it.
    pub org: OrgId,
}

/// One entry a file matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownMatch {
    pub entry: EntryId,
    pub hash_set: HashSetId,
    pub hash_set_name: String,
    pub purpose: HashSetPurpose,
    pub series: Option<SeriesId>,
    pub series_name: Option<String>,
    pub category: Option<u32>,
    pub victim_identified: Option<bool>,
    pub method: MatchMethod,
    pub hash_kind: MatchHashKind,
    /// Hamming distance for perceptual matches, 0 for exact ones.
    pub distance: u32,
}

/// What matching one file concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileVerdict {
    pub verdict: Verdict,
    /// Matches against known material that count, best first.
    pub matches: Vec<KnownMatch>,
    /// Matches against known-good lists (they explain a `known_good` verdict or suppressed
    /// perceptual hits).
    pub known_good: Vec<KnownMatch>,
    /// Perceptual matches dropped because the file matched a known-good list.
    pub suppressed: Vec<KnownMatch>,
    /// The series the counted matches belong to, without repeats, in match order.
    pub series: Vec<SeriesId>,
}

impl FileVerdict {
    /// Draws the verdict from the matches found, applying the known-good rule: an exact match
    /// to known material always counts; perceptual matches are suppressed when the file also
    /// matches a known-good list (the usual source of perceptual false positives).
    pub fn from_matches(found: Vec<KnownMatch>) -> Self {
        let (known_good, known): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|m| m.purpose == HashSetPurpose::KnownGood);
        let (mut matches, mut suppressed): (Vec<_>, Vec<_>) = if known_good.is_empty() {
            (known, Vec::new())
        } else {
            known
                .into_iter()
                .partition(|m| m.method == MatchMethod::Exact)
        };
        let order = |m: &KnownMatch| (m.distance, m.method != MatchMethod::Exact, m.entry);
        matches.sort_by_key(order);
        suppressed.sort_by_key(order);
        let mut series = Vec::new();
        for m in &matches {
            if let Some(s) = m.series {
                if !series.contains(&s) {
                    series.push(s);
                }
            }
        }
        let verdict = if !matches.is_empty() {
            Verdict::Known
        } else if !known_good.is_empty() {
            Verdict::KnownGood
        } else {
            Verdict::Unknown
        };
        Self {
            verdict,
            matches,
            known_good,
            suppressed,
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(
        entry: i64,
        purpose: HashSetPurpose,
        method: MatchMethod,
        series: Option<i64>,
    ) -> KnownMatch {
        KnownMatch {
            entry: EntryId(entry),
            hash_set: HashSetId(1),
            hash_set_name: "set".into(),
            purpose,
            series: series.map(SeriesId),
            series_name: None,
            category: None,
            victim_identified: None,
            method,
            hash_kind: if method == MatchMethod::Exact {
                MatchHashKind::Md5
            } else {
                MatchHashKind::Pdq
            },
            distance: if method == MatchMethod::Exact { 0 } else { 12 },
        }
    }

    #[test]
    fn verdicts_follow_the_known_good_rule() {
        use HashSetPurpose::*;
        use MatchMethod::*;
        assert_eq!(FileVerdict::from_matches(vec![]).verdict, Verdict::Unknown);
        let v = FileVerdict::from_matches(vec![
            m(1, Known, Perceptual, Some(7)),
            m(2, Known, Exact, Some(7)),
            m(3, Known, Exact, Some(9)),
        ]);
        assert_eq!(v.verdict, Verdict::Known);
        assert_eq!(v.series, vec![SeriesId(7), SeriesId(9)]);
        assert_eq!(v.matches[0].method, Exact);
        // Known-good suppresses perceptual hits only.
        let v = FileVerdict::from_matches(vec![
            m(1, Known, Perceptual, Some(7)),
            m(5, KnownGood, Exact, None),
        ]);
        assert_eq!(v.verdict, Verdict::KnownGood);
        assert_eq!(v.suppressed.len(), 1);
        assert!(v.series.is_empty());
        let v = FileVerdict::from_matches(vec![
            m(2, Known, Exact, Some(7)),
            m(5, KnownGood, Perceptual, None),
        ]);
        assert_eq!(v.verdict, Verdict::Known);
    }

    #[test]
    fn names_and_enums_parse() {
        assert_eq!(
            "Victim_Identified".parse::<SeriesStatus>(),
            Ok(SeriesStatus::VictimIdentified)
        );
        assert!("closed".parse::<SeriesStatus>().is_err());
        assert_eq!(Verdict::Unknown.combine(Verdict::Known), Verdict::Known);
        assert_eq!(
            Verdict::Unknown.combine(Verdict::KnownGood),
            Verdict::KnownGood
        );
        assert!(check_name("series", "  ").is_err());
        assert!(check_name("series", "a\u{7}b").is_err());
        assert_eq!(
            check_name("series", " Blue Room ").as_deref(),
            Ok("Blue Room")
        );
        let h = PdqHash::parse(&"f".repeat(64)).expect("hex");
        assert_eq!(h.distance(&PdqHash::default()), 256);
        assert!(PdqHash::parse("abc").is_err());
    }

    #[test]
    fn merging_facts_keeps_what_the_newer_record_does_not_say() {
        let mut a = EntryFacts {
            category: Some(1),
            victim_identified: Some(false),
            file_names: vec!["a.jpg".into()],
            ..EntryFacts::default()
        };
        a.merge_from(&EntryFacts {
            victim_identified: Some(true),
            file_names: vec!["a.jpg".into(), "b.jpg".into()],
            ..EntryFacts::default()
        });
        assert_eq!(a.category, Some(1));
        assert_eq!(a.victim_identified, Some(true));
        assert_eq!(a.file_names, vec!["a.jpg", "b.jpg"]);
    }
}
