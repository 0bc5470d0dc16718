//! The typed VICS model and its lenient conversion from the JSON objects real files contain.
//!
//! Real-world files disagree on types (booleans as `"true"`, `"1"` or `true`; numbers as `488`
//! or `"488"`), on key case (`MD5`, `Md5`) and on where PhotoDNA lives (on the Media in 2.0, in
//! `AlternativeHashes` in 1.x). Reading accepts all of these; the typed model holds one canonical
//! value per field; unknown keys are kept in `extra` so that export does not lose them.

use safeguard_domain::digest::{Md5, Sha1, Sha256};
use serde_json::{Map, Value};

use crate::known_media::{parse_flag, HashKind, PdqHex, PhotoDna};

/// Unknown keys of a JSON object, kept so that export writes them back.
pub type Extra = Map<String, Value>;

/// A field of a record that could not be read: `path` names it (`MediaFiles[1].Deleted`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{path}`: {message}")]
pub struct FieldError {
    /// JSON path of the field inside the record.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// One piece of media (one distinct content, keyed by MD5) in a VICS file.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// `MediaID`: unique within its file only (NSRL files set 0 everywhere); never a key.
    pub media_id: Option<u64>,
    /// `MD5`: the primary key of the media and of its child entities.
    pub md5: Md5,
    /// `SHA1`.
    pub sha1: Option<Sha1>,
    /// SHA-256: a `SHA256` key on the Media or an `AlternativeHashes` entry named SHA256.
    pub sha256: Option<Sha256>,
    /// PDQ: a `PDQ` key on the Media or an `AlternativeHashes` entry named PDQ.
    pub pdq: Option<PdqHex>,
    /// PhotoDNA: `PhotoDNA` on the Media (2.0) or an `AlternativeHashes` entry (1.x).
    pub photodna: Option<PhotoDna>,
    /// `Category`: its meaning depends on the category scheme of the file (region).
    pub category: Option<u32>,
    /// `MediaSize` in bytes.
    pub media_size: Option<u64>,
    /// `MimeType`.
    pub mime_type: Option<String>,
    /// `DateUpdated`, kept as written (writers disagree on the fraction digits and zone form);
    /// parse with [`crate::known_media::parse_timestamp`].
    pub date_updated: Option<String>,
    /// `RelativeFilePath` of an exported copy (Windows separators).
    pub relative_file_path: Option<String>,
    /// `IsPrecategorized` (unreliable in practice).
    pub is_precategorized: Option<bool>,
    /// `PrecategorizationSource`.
    pub precategorization_source: Option<String>,
    /// `IsSuspected`: suspected, not yet categorised.
    pub is_suspected: Option<bool>,
    /// `VictimIdentified`.
    pub victim_identified: Option<bool>,
    /// `OffenderIdentified`.
    pub offender_identified: Option<bool>,
    /// `IsDistributed`: known to circulate.
    pub is_distributed: Option<bool>,
    /// `Series`: the series name (a comma list in some writers).
    pub series: Option<String>,
    /// `Tags` (a comma list).
    pub tags: Option<String>,
    /// `Comments`.
    pub comments: Option<String>,
    /// `MediaFiles`: every on-disk instance of this content.
    pub media_files: Vec<MediaFile>,
    /// `Exifs` (also spelled `MediaMetadata`).
    pub exifs: Vec<Exif>,
    /// `AlternativeHashes` other than the SHA-256, PDQ and PhotoDNA lifted into typed fields.
    pub alternative_hashes: Vec<AlternativeHash>,
    /// `Segments` of a video.
    pub segments: Vec<Segment>,
    /// `Repositories` (names).
    pub repositories: Vec<Repository>,
    /// Keys this model does not know, written back on export.
    pub extra: Extra,
}

impl Media {
    /// A Media with only its MD5 set.
    pub fn new(md5: Md5) -> Self {
        Self {
            media_id: None,
            md5,
            sha1: None,
            sha256: None,
            pdq: None,
            photodna: None,
            category: None,
            media_size: None,
            mime_type: None,
            date_updated: None,
            relative_file_path: None,
            is_precategorized: None,
            precategorization_source: None,
            is_suspected: None,
            victim_identified: None,
            offender_identified: None,
            is_distributed: None,
            series: None,
            tags: None,
            comments: None,
            media_files: Vec::new(),
            exifs: Vec::new(),
            alternative_hashes: Vec::new(),
            segments: Vec::new(),
            repositories: Vec::new(),
            extra: Extra::new(),
        }
    }
}

/// One on-disk instance of a Media (`MediaFiles[]`). The child `MD5` is the parent's and is not
/// stored; export writes the parent's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFile {
    /// `FileName`.
    pub file_name: Option<String>,
    /// `FilePath`.
    pub file_path: Option<String>,
    /// `Created`, as written.
    pub created: Option<String>,
    /// `Written`, as written.
    pub written: Option<String>,
    /// `Accessed`, as written.
    pub accessed: Option<String>,
    /// `Deleted`.
    pub deleted: Option<bool>,
    /// `Unallocated`.
    pub unallocated: Option<bool>,
    /// `SourceID` (evidence item).
    pub source_id: Option<String>,
    /// `PhysicalLocation` (byte offset).
    pub physical_location: Option<u64>,
    /// `ParentMD5` of the containing archive.
    pub parent_md5: Option<Md5>,
    /// `ParentFileName`.
    pub parent_file_name: Option<String>,
    /// `ParentFilePath`.
    pub parent_file_path: Option<String>,
    /// `ParentPhysicalLocation`.
    pub parent_physical_location: Option<u64>,
    /// Unknown keys.
    pub extra: Extra,
}

/// One metadata property (`Exifs[]` / `MediaMetadata[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    /// `PropertyName`.
    pub property_name: Option<String>,
    /// `PropertyValue` (numbers and booleans are kept as their JSON text).
    pub property_value: Option<String>,
    /// Unknown keys.
    pub extra: Extra,
}

/// One `AlternativeHashes[]` entry that is not lifted into a typed hash field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlternativeHash {
    /// `HashName` (e.g. `EDK`).
    pub hash_name: Option<String>,
    /// `HashValue`.
    pub hash_value: Option<String>,
    /// Unknown keys.
    pub extra: Extra,
}

/// One video segment (`Segments[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    /// `SegmentIndex`.
    pub segment_index: Option<u64>,
    /// `Start` (time code as written).
    pub start: Option<String>,
    /// `End` (time code as written).
    pub end: Option<String>,
    /// `Category` of the segment.
    pub category: Option<u32>,
    /// Unknown keys.
    pub extra: Extra,
}

/// One `Repositories[]` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repository {
    /// `RepositoryName`.
    pub repository_name: Option<String>,
    /// Unknown keys.
    pub extra: Extra,
}

/// A case of a 2.0 (or 1.3) `#Cases` export: the submitting officer and application, and the
/// media of the case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    /// `CaseID` (a GUID, kept as written).
    pub case_id: Option<String>,
    /// `CaseNumber`.
    pub case_number: Option<String>,
    /// `ContactName`.
    pub contact_name: Option<String>,
    /// `ContactOrganization`.
    pub contact_organization: Option<String>,
    /// `ContactPhone`.
    pub contact_phone: Option<String>,
    /// `ContactEmail`.
    pub contact_email: Option<String>,
    /// `ContactTitle`.
    pub contact_title: Option<String>,
    /// `SourceApplicationName`.
    pub source_application_name: Option<String>,
    /// `SourceApplicationVersion`.
    pub source_application_version: Option<String>,
    /// `TotalMediaFiles` as declared (unreliable: count `media` instead).
    pub total_media_files: Option<u64>,
    /// `TotalPrecategorized` as declared.
    pub total_precategorized: Option<u64>,
    /// `SeizureDate`, as written.
    pub seizure_date: Option<String>,
    /// The media of the case (empty in the headers a streaming reader exposes).
    pub media: Vec<Media>,
    /// Unknown keys.
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Lenient readers of single JSON values.

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn flex_string(path: FieldPath<'_>, v: Value) -> Result<Option<String>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(FieldError::new(
            path,
            format!("expected a string, got {}", describe(&other)),
        )),
    }
}

fn flex_bool(path: FieldPath<'_>, v: Value) -> Result<Option<bool>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) => parse_flag(&s).map_err(|e| FieldError::new(path, e.to_string())),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(FieldError::new(
                path,
                format!("expected a boolean, got the number {n}"),
            )),
        },
        other => Err(FieldError::new(
            path,
            format!("expected a boolean, got {}", describe(&other)),
        )),
    }
}

fn flex_u64(path: FieldPath<'_>, v: Value) -> Result<Option<u64>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| {
            FieldError::new(path, format!("expected a non-negative integer, got {n}"))
        }),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<u64>().map(Some).map_err(|_| {
                FieldError::new(
                    path,
                    format!(
                        "expected a non-negative integer, got {:?}",
                        t.chars().take(40).collect::<String>()
                    ),
                )
            })
        }
        other => Err(FieldError::new(
            path,
            format!("expected an integer, got {}", describe(&other)),
        )),
    }
}

fn flex_u32(path: FieldPath<'_>, v: Value) -> Result<Option<u32>, FieldError> {
    match flex_u64(path, v)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| FieldError::new(path, format!("{n} is out of range"))),
    }
}

fn hash_text(path: FieldPath<'_>, v: Value) -> Result<Option<String>, FieldError> {
    match flex_string(path, v)? {
        Some(s) if s.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn parse_md5(path: FieldPath<'_>, v: Value) -> Result<Option<Md5>, FieldError> {
    hash_text(path, v)?
        .map(|s| Md5::parse(&s).map_err(|e| FieldError::new(path, e.to_string())))
        .transpose()
}

fn parse_sha1(path: FieldPath<'_>, v: Value) -> Result<Option<Sha1>, FieldError> {
    hash_text(path, v)?
        .map(|s| Sha1::parse(&s).map_err(|e| FieldError::new(path, e.to_string())))
        .transpose()
}

fn parse_sha256(path: FieldPath<'_>, v: Value) -> Result<Option<Sha256>, FieldError> {
    hash_text(path, v)?
        .map(|s| Sha256::parse(&s).map_err(|e| FieldError::new(path, e.to_string())))
        .transpose()
}

fn parse_pdq(path: FieldPath<'_>, v: Value) -> Result<Option<PdqHex>, FieldError> {
    hash_text(path, v)?
        .map(|s| PdqHex::parse(&s).map_err(|e| FieldError::new(path, e.to_string())))
        .transpose()
}

fn parse_photodna(path: FieldPath<'_>, v: Value) -> Result<Option<PhotoDna>, FieldError> {
    hash_text(path, v)?
        .map(|s| PhotoDna::parse(&s).map_err(|e| FieldError::new(path, e.to_string())))
        .transpose()
}

/// OData annotations (`odata.id`, `MediaFiles@odata.navigationLinkUrl`, …) are derived from the
/// keys; the 1.x writer regenerates them, so reading drops them.
fn is_odata_annotation(key: &str) -> bool {
    key.starts_with("odata.") || key.starts_with("@odata.") || key.contains("@odata.")
}

fn object(path: FieldPath<'_>, v: Value) -> Result<Map<String, Value>, FieldError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(FieldError::new(
            path,
            format!("expected an object, got {}", describe(&other)),
        )),
    }
}

/// A JSON object with its path inside the record.
type PathedObject = (String, Map<String, Value>);

fn objects(path: FieldPath<'_>, v: Value) -> Result<Vec<PathedObject>, FieldError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("{path}[{i}]");
                object(
                    FieldPath {
                        parent: &p,
                        key: "",
                    },
                    item,
                )
                .map(|m| (p, m))
            })
            .collect(),
        other => Err(FieldError::new(
            path,
            format!("expected an array, got {}", describe(&other)),
        )),
    }
}

/// Lower-cases a key into `buf` without allocating; keys longer than the buffer are returned as
/// they are (no known key is that long, so they fall through to `extra`).
fn fold_key<'a>(key: &'a str, buf: &'a mut [u8; 32]) -> &'a str {
    let bytes = key.as_bytes();
    if bytes.len() > buf.len() || !key.is_ascii() {
        return key;
    }
    let out = &mut buf[..bytes.len()];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).unwrap_or(key)
}

/// Where a field is inside a record, built into a string only when an error names it.
#[derive(Clone, Copy)]
struct FieldPath<'a> {
    parent: &'a str,
    key: &'a str,
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.parent.is_empty(), self.key.is_empty()) {
            (true, _) => f.write_str(self.key),
            (false, true) => f.write_str(self.parent),
            (false, false) => write!(f, "{}.{}", self.parent, self.key),
        }
    }
}

impl From<FieldPath<'_>> for String {
    fn from(p: FieldPath<'_>) -> String {
        p.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Objects.

impl MediaFile {
    fn from_json(path: &str, map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut f = MediaFile::default();
        for (key, v) in map {
            let p = FieldPath {
                parent: path,
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => {
                    parse_md5(p, v)?;
                }
                "filename" => f.file_name = flex_string(p, v)?,
                "filepath" => f.file_path = flex_string(p, v)?,
                "created" => f.created = flex_string(p, v)?,
                "written" => f.written = flex_string(p, v)?,
                "accessed" => f.accessed = flex_string(p, v)?,
                "deleted" => f.deleted = flex_bool(p, v)?,
                "unallocated" => f.unallocated = flex_bool(p, v)?,
                "sourceid" => f.source_id = flex_string(p, v)?,
                "physicallocation" => f.physical_location = flex_u64(p, v)?,
                "parentmd5" => f.parent_md5 = parse_md5(p, v)?,
                "parentfilename" => f.parent_file_name = flex_string(p, v)?,
                "parentfilepath" => f.parent_file_path = flex_string(p, v)?,
                "parentphysicallocation" => f.parent_physical_location = flex_u64(p, v)?,
                _ if is_odata_annotation(&key) => {}
                _ => {
                    f.extra.insert(key, v);
                }
            }
        }
        Ok(f)
    }
}

impl Exif {
    fn from_json(path: &str, map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut e = Exif::default();
        for (key, v) in map {
            let p = FieldPath {
                parent: path,
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => {
                    parse_md5(p, v)?;
                }
                "propertyname" => e.property_name = flex_string(p, v)?,
                "propertyvalue" => e.property_value = flex_string(p, v)?,
                _ if is_odata_annotation(&key) => {}
                _ => {
                    e.extra.insert(key, v);
                }
            }
        }
        Ok(e)
    }
}

impl AlternativeHash {
    fn from_json(path: &str, map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut h = AlternativeHash::default();
        for (key, v) in map {
            let p = FieldPath {
                parent: path,
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => {
                    parse_md5(p, v)?;
                }
                "hashname" => h.hash_name = flex_string(p, v)?,
                "hashvalue" => h.hash_value = flex_string(p, v)?,
                _ if is_odata_annotation(&key) => {}
                _ => {
                    h.extra.insert(key, v);
                }
            }
        }
        Ok(h)
    }
}

impl Segment {
    fn from_json(path: &str, map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut s = Segment::default();
        for (key, v) in map {
            let p = FieldPath {
                parent: path,
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => {
                    parse_md5(p, v)?;
                }
                "segmentindex" => s.segment_index = flex_u64(p, v)?,
                "start" => s.start = flex_string(p, v)?,
                "end" => s.end = flex_string(p, v)?,
                "category" => s.category = flex_u32(p, v)?,
                _ if is_odata_annotation(&key) => {}
                _ => {
                    s.extra.insert(key, v);
                }
            }
        }
        Ok(s)
    }
}

impl Repository {
    fn from_json(path: &str, map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut r = Repository::default();
        for (key, v) in map {
            let p = FieldPath {
                parent: path,
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => {
                    parse_md5(p, v)?;
                }
                "repositoryname" => r.repository_name = flex_string(p, v)?,
                _ if is_odata_annotation(&key) => {}
                _ => {
                    r.extra.insert(key, v);
                }
            }
        }
        Ok(r)
    }
}

impl Media {
    /// The typed hash of `kind` (MD5, SHA-1, SHA-256, PDQ, PhotoDNA), if set.
    pub fn typed_hash(&self, kind: HashKind) -> Option<crate::known_media::HashValue> {
        use crate::known_media::HashValue;
        match kind {
            HashKind::Md5 => Some(HashValue::Md5(self.md5)),
            HashKind::Sha1 => self.sha1.map(HashValue::Sha1),
            HashKind::Sha256 => self.sha256.map(HashValue::Sha256),
            HashKind::Pdq => self.pdq.map(HashValue::Pdq),
            HashKind::PhotoDna => self.photodna.clone().map(HashValue::PhotoDna),
        }
    }

    /// Reads one Media object, accepting the variants real files contain.
    pub fn from_json(map: Map<String, Value>) -> Result<Self, FieldError> {
        let mut md5 = None;
        let mut m = Media::new(Md5::from_bytes([0; 16]));
        let mut alternative = Vec::new();
        for (key, v) in map {
            let p = FieldPath {
                parent: "",
                key: &key,
            };
            match fold_key(&key, &mut [0u8; 32]) {
                "md5" => md5 = parse_md5(p, v)?,
                "mediaid" => m.media_id = flex_u64(p, v)?,
                "sha1" => m.sha1 = parse_sha1(p, v)?,
                "sha256" => m.sha256 = parse_sha256(p, v)?,
                "pdq" => m.pdq = parse_pdq(p, v)?,
                "photodna" => m.photodna = parse_photodna(p, v)?,
                "category" => m.category = flex_u32(p, v)?,
                "mediasize" => m.media_size = flex_u64(p, v)?,
                "mimetype" => m.mime_type = flex_string(p, v)?,
                "dateupdated" => m.date_updated = flex_string(p, v)?,
                "relativefilepath" => m.relative_file_path = flex_string(p, v)?,
                "isprecategorized" => m.is_precategorized = flex_bool(p, v)?,
                "precategorizationsource" => m.precategorization_source = flex_string(p, v)?,
                "issuspected" => m.is_suspected = flex_bool(p, v)?,
                "victimidentified" => m.victim_identified = flex_bool(p, v)?,
                "offenderidentified" => m.offender_identified = flex_bool(p, v)?,
                "isdistributed" => m.is_distributed = flex_bool(p, v)?,
                "series" => m.series = flex_string(p, v)?,
                "tags" => m.tags = flex_string(p, v)?,
                "comments" => m.comments = flex_string(p, v)?,
                "mediafiles" => {
                    for (cp, o) in objects(p, v)? {
                        m.media_files.push(MediaFile::from_json(&cp, o)?);
                    }
                }
                "exifs" | "mediametadata" => {
                    for (cp, o) in objects(p, v)? {
                        m.exifs.push(Exif::from_json(&cp, o)?);
                    }
                }
                "alternativehashes" => {
                    for (cp, o) in objects(p, v)? {
                        alternative.push((cp.clone(), AlternativeHash::from_json(&cp, o)?));
                    }
                }
                "segments" => {
                    for (cp, o) in objects(p, v)? {
                        m.segments.push(Segment::from_json(&cp, o)?);
                    }
                }
                "repositories" => {
                    for (cp, o) in objects(p, v)? {
                        m.repositories.push(Repository::from_json(&cp, o)?);
                    }
                }
                _ if is_odata_annotation(&key) => {}
                _ => {
                    m.extra.insert(key, v);
                }
            }
        }
        m.md5 = md5.ok_or_else(|| FieldError::new("MD5", "missing: every Media needs an MD5"))?;
        // Lift the hashes the model types out of AlternativeHashes; keep the rest (and any
        // second value of a kind already set) as they are.
        for (path, alt) in alternative {
            let kind = alt.hash_name.as_deref().and_then(HashKind::from_name);
            let value = alt.hash_value.clone().unwrap_or_default();
            let plain = alt.extra.is_empty() && !value.trim().is_empty();
            let vpath = FieldPath {
                parent: &path,
                key: "HashValue",
            };
            let lifted = match kind {
                Some(HashKind::Sha256) if plain && m.sha256.is_none() => {
                    m.sha256 = parse_sha256(vpath, Value::String(value))?;
                    true
                }
                Some(HashKind::Pdq) if plain && m.pdq.is_none() => {
                    m.pdq = parse_pdq(vpath, Value::String(value))?;
                    true
                }
                Some(HashKind::PhotoDna) if plain && m.photodna.is_none() => {
                    m.photodna = parse_photodna(vpath, Value::String(value))?;
                    true
                }
                // The same hash given twice (on the Media and in AlternativeHashes): once is
                // enough.
                Some(k) if plain => {
                    let same = k.parse(&value).ok();
                    same.is_some() && same == m.typed_hash(k)
                }
                _ => false,
            };
            if !lifted {
                m.alternative_hashes.push(alt);
            }
        }
        Ok(m)
    }
}

impl Case {
    /// Reads one case-header field; returns `false` if `key` is not a case-header field (then
    /// the caller decides: `Media` is streamed, anything else goes to `extra`).
    pub(crate) fn read_field(&mut self, key: &str, v: Value) -> Result<(), FieldError> {
        let p = FieldPath { parent: "", key };
        match fold_key(key, &mut [0u8; 32]) {
            "caseid" => self.case_id = flex_string(p, v)?,
            "casenumber" => self.case_number = flex_string(p, v)?,
            "contactname" => self.contact_name = flex_string(p, v)?,
            "contactorganization" => self.contact_organization = flex_string(p, v)?,
            "contactphone" => self.contact_phone = flex_string(p, v)?,
            "contactemail" => self.contact_email = flex_string(p, v)?,
            "contacttitle" => self.contact_title = flex_string(p, v)?,
            "sourceapplicationname" => self.source_application_name = flex_string(p, v)?,
            "sourceapplicationversion" => self.source_application_version = flex_string(p, v)?,
            "totalmediafiles" => self.total_media_files = flex_u64(p, v)?,
            "totalprecategorized" => self.total_precategorized = flex_u64(p, v)?,
            "seizuredate" => self.seizure_date = flex_string(p, v)?,
            _ if is_odata_annotation(key) => {}
            _ => {
                self.extra.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }
}
