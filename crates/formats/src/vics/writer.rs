//! Streaming VICS export, record by record, in the 2.0 or 1.x layout.

use std::io::Write;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::model::{AlternativeHash, Case, Exif, Extra, Media, MediaFile, Repository, Segment};
use super::{VicsError, VicsKind, VicsVersion};

/// How booleans are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoolStyle {
    /// `"true"` / `"false"`, as the Clees4All writer and most files in the field do (default).
    #[default]
    String,
    /// JSON `true` / `false`.
    Json,
}

/// The layout of a VICS file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicsLayout {
    /// Data-model version (2.0 by default).
    pub version: VicsVersion,
    /// 2.0 region segment of the context URL (`Default`, `US`, `UK`, `CUSTOM`); ignored by 1.x.
    pub region: String,
    /// Media list (hash set) or Cases (case export).
    pub kind: VicsKind,
    /// How booleans are written.
    pub bool_style: BoolStyle,
    /// Give Media without a `MediaID` their 1-based ordinal in the file (readers such as
    /// Griffeye expect one). On by default.
    pub number_missing_media_ids: bool,
}

impl Default for VicsLayout {
    fn default() -> Self {
        Self {
            version: VicsVersion::V2_0,
            region: "Default".into(),
            kind: VicsKind::Media,
            bool_style: BoolStyle::String,
            number_missing_media_ids: true,
        }
    }
}

impl VicsLayout {
    /// The 2.0 hash-set layout (`…/2.0.xml/Default/$metadata#Media`).
    pub fn v2_media() -> Self {
        Self::default()
    }

    /// The 1.2 hash-set layout (`…/1.2.xml#Media`), with OData annotations.
    pub fn v1_2_media() -> Self {
        Self {
            version: VicsVersion::V1_2,
            ..Self::default()
        }
    }

    /// The context key and URL of this layout.
    pub fn context(&self) -> (&'static str, String) {
        let fragment = match self.kind {
            VicsKind::Media => "Media",
            VicsKind::Cases => "Cases",
        };
        if self.version.is_v1() {
            (
                "odata.metadata",
                format!(
                    "http://github.com/ICMEC/ProjectVic/DataModels/{}.xml#{fragment}",
                    self.version.number()
                ),
            )
        } else {
            (
                "@odata.context",
                format!(
                    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/{}.xml/{}/$metadata#{fragment}",
                    self.version.number(),
                    self.region
                ),
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Inside the top-level `value` array, `n` items written.
    Value(u64),
    /// Inside a Case's `Media` array, `n` items written.
    CaseMedia(u64),
}

/// Writes a VICS document one record at a time: constant memory whatever the size.
///
/// ```
/// use safeguard_formats::vics::{Media, VicsLayout, VicsWriter};
/// use safeguard_domain::digest::Md5;
/// let mut w = VicsWriter::new(Vec::new(), VicsLayout::v2_media()).unwrap();
/// w.write_media(&Media::new(Md5::from_bytes([1; 16]))).unwrap();
/// let bytes = w.finish().unwrap();
/// assert!(String::from_utf8(bytes).unwrap().contains("\"MD5\":\"0101"));
/// ```
pub struct VicsWriter<W: Write> {
    out: W,
    layout: VicsLayout,
    open: Open,
    media_written: u64,
}

impl<W: Write> VicsWriter<W> {
    /// Writes the envelope and opens the `value` array.
    pub fn new(out: W, layout: VicsLayout) -> Result<Self, VicsError> {
        Self::with_envelope(out, layout, &Extra::new())
    }

    /// Writes the envelope with extra top-level keys (those a reader kept in
    /// [`super::VicsHeader::extra`]) and opens the `value` array.
    pub fn with_envelope(mut out: W, layout: VicsLayout, extra: &Extra) -> Result<Self, VicsError> {
        let (key, context) = layout.context();
        out.write_all(b"{")?;
        serde_json::to_writer(&mut out, key).map_err(io_error)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut out, &context).map_err(io_error)?;
        for (k, v) in extra {
            if k == "value" || k == "@odata.context" || k == "odata.metadata" {
                continue;
            }
            out.write_all(b",")?;
            serde_json::to_writer(&mut out, k).map_err(io_error)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut out, v).map_err(io_error)?;
        }
        out.write_all(b",\"value\":[")?;
        Ok(Self {
            out,
            layout,
            open: Open::Value(0),
            media_written: 0,
        })
    }

    /// Number of Media written so far.
    pub fn media_written(&self) -> u64 {
        self.media_written
    }

    fn separator(&mut self) -> Result<(), VicsError> {
        let n = match &mut self.open {
            Open::Value(n) | Open::CaseMedia(n) => n,
        };
        if *n > 0 {
            self.out.write_all(b",")?;
        }
        *n += 1;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes one Media: into the `value` array of a `#Media` layout, or into the open case.
    pub fn write_media(&mut self, media: &Media) -> Result<(), VicsError> {
        if self.layout.kind == VicsKind::Cases && matches!(self.open, Open::Value(_)) {
            return Err(VicsError::Usage(
                "a #Cases layout writes Media inside a case: call begin_case first".into(),
            ));
        }
        self.separator()?;
        self.media_written += 1;
        let out = MediaOut {
            media,
            layout: &self.layout,
            ordinal: self.media_written,
        };
        serde_json::to_writer(&mut self.out, &out).map_err(io_error)?;
        Ok(())
    }

    /// Opens a case of a `#Cases` layout: writes its header fields (its `media` are not
    /// written: pass them to [`Self::write_media`]) and opens its `Media` array.
    pub fn begin_case(&mut self, case: &Case) -> Result<(), VicsError> {
        if self.layout.kind != VicsKind::Cases {
            return Err(VicsError::Usage("begin_case needs a #Cases layout".into()));
        }
        if !matches!(self.open, Open::Value(_)) {
            return Err(VicsError::Usage("a case is already open".into()));
        }
        self.separator()?;
        let header = serde_json::to_string(&CaseHeaderOut(case)).map_err(io_error)?;
        // `header` is a JSON object: reopen it to append the Media array.
        let body = header.strip_suffix('}').unwrap_or(&header);
        self.out.write_all(body.as_bytes())?;
        if body.len() > 1 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\"Media\":[")?;
        self.open = Open::CaseMedia(0);
        Ok(())
    }

    /// Closes the open case.
    pub fn end_case(&mut self) -> Result<(), VicsError> {
        if !matches!(self.open, Open::CaseMedia(_)) {
            return Err(VicsError::Usage("no case is open".into()));
        }
        self.out.write_all(b"\n]}")?;
        self.open = Open::Value(1);
        // `Value(1)`: at least this case was written, so the next item needs a separator.
        Ok(())
    }

    /// Writes a whole case with its media.
    pub fn write_case(&mut self, case: &Case) -> Result<(), VicsError> {
        self.begin_case(case)?;
        for m in &case.media {
            self.write_media(m)?;
        }
        self.end_case()
    }

    /// Closes the document and returns the output (flushed).
    pub fn finish(mut self) -> Result<W, VicsError> {
        if matches!(self.open, Open::CaseMedia(_)) {
            self.end_case()?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn io_error(e: serde_json::Error) -> VicsError {
    VicsError::Io(std::io::Error::other(e))
}

struct MediaOut<'a> {
    media: &'a Media,
    layout: &'a VicsLayout,
    ordinal: u64,
}

struct Flag(bool, BoolStyle);

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            BoolStyle::Json => s.serialize_bool(self.0),
            BoolStyle::String => s.serialize_str(if self.0 { "true" } else { "false" }),
        }
    }
}

fn opt<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    v: &Option<T>,
) -> Result<(), M::Error> {
    match v {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

fn flag<M: SerializeMap>(
    map: &mut M,
    key: &str,
    v: Option<bool>,
    style: BoolStyle,
) -> Result<(), M::Error> {
    match v {
        Some(b) => map.serialize_entry(key, &Flag(b, style)),
        None => Ok(()),
    }
}

fn extra<M: SerializeMap>(map: &mut M, extra: &Extra) -> Result<(), M::Error> {
    for (k, v) in extra {
        map.serialize_entry(k, v)?;
    }
    Ok(())
}

/// OData key literal: single quotes doubled.
fn odata_literal(s: &str) -> String {
    s.replace('\'', "''")
}

impl Serialize for MediaOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.media;
        let style = self.layout.bool_style;
        let v1 = self.layout.version.is_v1();
        let md5 = m.md5.to_hex();
        let ctx = Ctx { style, v1 };
        let mut map = s.serialize_map(None)?;
        if v1 {
            map.serialize_entry("odata.id", &format!("Media(\"{md5}\")"))?;
        }
        let id = m
            .media_id
            .or(self.layout.number_missing_media_ids.then_some(self.ordinal));
        opt(&mut map, "MediaID", &id)?;
        opt(&mut map, "Category", &m.category)?;
        map.serialize_entry("MD5", &md5)?;
        opt(&mut map, "SHA1", &m.sha1)?;
        opt(&mut map, "MediaSize", &m.media_size)?;
        opt(&mut map, "MimeType", &m.mime_type)?;
        opt(&mut map, "DateUpdated", &m.date_updated)?;
        opt(&mut map, "RelativeFilePath", &m.relative_file_path)?;
        flag(&mut map, "IsPrecategorized", m.is_precategorized, style)?;
        opt(
            &mut map,
            "PrecategorizationSource",
            &m.precategorization_source,
        )?;
        flag(&mut map, "IsSuspected", m.is_suspected, style)?;
        flag(&mut map, "VictimIdentified", m.victim_identified, style)?;
        flag(&mut map, "OffenderIdentified", m.offender_identified, style)?;
        flag(&mut map, "IsDistributed", m.is_distributed, style)?;
        opt(&mut map, "Series", &m.series)?;
        opt(&mut map, "Tags", &m.tags)?;
        opt(&mut map, "Comments", &m.comments)?;
        if !v1 {
            opt(&mut map, "PhotoDNA", &m.photodna)?;
        }
        if !m.media_files.is_empty() {
            if v1 {
                map.serialize_entry(
                    "MediaFiles@odata.navigationLinkUrl",
                    &format!("/Media({md5})/MediaFiles"),
                )?;
            }
            map.serialize_entry("MediaFiles", &Children::new(&m.media_files, &md5, ctx))?;
        }
        if !m.exifs.is_empty() {
            map.serialize_entry("Exifs", &Children::new(&m.exifs, &md5, ctx))?;
        }
        let mut alternative: Vec<AlternativeHash> = Vec::new();
        let named = |name: &str, value: String| AlternativeHash {
            hash_name: Some(name.to_owned()),
            hash_value: Some(value),
            extra: Extra::new(),
        };
        if let Some(h) = &m.sha256 {
            alternative.push(named("SHA256", h.to_hex()));
        }
        if let Some(h) = &m.pdq {
            alternative.push(named("PDQ", h.to_hex()));
        }
        if v1 {
            if let Some(h) = &m.photodna {
                alternative.push(named("PhotoDNA", h.to_base64()));
            }
        }
        alternative.extend(m.alternative_hashes.iter().cloned());
        if !alternative.is_empty() {
            map.serialize_entry("AlternativeHashes", &Children::new(&alternative, &md5, ctx))?;
        }
        if !m.segments.is_empty() {
            map.serialize_entry("Segments", &Children::new(&m.segments, &md5, ctx))?;
        }
        if !m.repositories.is_empty() {
            map.serialize_entry("Repositories", &Children::new(&m.repositories, &md5, ctx))?;
        }
        extra(&mut map, &m.extra)?;
        map.end()
    }
}

/// What child objects need to know of the layout.
#[derive(Clone, Copy)]
struct Ctx {
    style: BoolStyle,
    v1: bool,
}

/// A child object of a Media (`MediaFiles[]`, `Exifs[]`, …): written with its parent's MD5.
trait Child {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, ctx: Ctx) -> Result<(), M::Error>;
}

/// A JSON array of children of one Media.
struct Children<'a, T> {
    items: &'a [T],
    md5: &'a str,
    ctx: Ctx,
}

impl<'a, T> Children<'a, T> {
    fn new(items: &'a [T], md5: &'a str, ctx: Ctx) -> Self {
        Self { items, md5, ctx }
    }
}

struct ChildOut<'a, T> {
    item: &'a T,
    md5: &'a str,
    ctx: Ctx,
}

impl<T: Child> Serialize for Children<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.items.len()))?;
        for item in self.items {
            seq.serialize_element(&ChildOut {
                item,
                md5: self.md5,
                ctx: self.ctx,
            })?;
        }
        seq.end()
    }
}

impl<T: Child> Serialize for ChildOut<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.item.write(&mut map, self.md5, self.ctx)?;
        map.end()
    }
}

impl Child for MediaFile {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, ctx: Ctx) -> Result<(), M::Error> {
        let f = self;
        if ctx.v1 && (f.file_name.is_some() || f.file_path.is_some()) {
            map.serialize_entry(
                "Media@odata.navigationLinkUrl",
                &format!(
                    "/MediaFiles(FileName='{}',FilePath='{}',MD5={})",
                    odata_literal(f.file_name.as_deref().unwrap_or("")),
                    odata_literal(f.file_path.as_deref().unwrap_or("")),
                    md5
                ),
            )?;
        }
        map.serialize_entry("MD5", md5)?;
        opt(map, "FileName", &f.file_name)?;
        opt(map, "FilePath", &f.file_path)?;
        opt(map, "Created", &f.created)?;
        opt(map, "Written", &f.written)?;
        opt(map, "Accessed", &f.accessed)?;
        flag(map, "Deleted", f.deleted, ctx.style)?;
        flag(map, "Unallocated", f.unallocated, ctx.style)?;
        opt(map, "SourceID", &f.source_id)?;
        opt(map, "PhysicalLocation", &f.physical_location)?;
        opt(map, "ParentMD5", &f.parent_md5)?;
        opt(map, "ParentFileName", &f.parent_file_name)?;
        opt(map, "ParentFilePath", &f.parent_file_path)?;
        opt(map, "ParentPhysicalLocation", &f.parent_physical_location)?;
        extra(map, &f.extra)
    }
}

impl Child for Exif {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, _: Ctx) -> Result<(), M::Error> {
        map.serialize_entry("MD5", md5)?;
        opt(map, "PropertyName", &self.property_name)?;
        opt(map, "PropertyValue", &self.property_value)?;
        extra(map, &self.extra)
    }
}

impl Child for AlternativeHash {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, _: Ctx) -> Result<(), M::Error> {
        map.serialize_entry("MD5", md5)?;
        opt(map, "HashName", &self.hash_name)?;
        opt(map, "HashValue", &self.hash_value)?;
        extra(map, &self.extra)
    }
}

impl Child for Segment {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, _: Ctx) -> Result<(), M::Error> {
        map.serialize_entry("MD5", md5)?;
        opt(map, "SegmentIndex", &self.segment_index)?;
        opt(map, "Start", &self.start)?;
        opt(map, "End", &self.end)?;
        opt(map, "Category", &self.category)?;
        extra(map, &self.extra)
    }
}

impl Child for Repository {
    fn write<M: SerializeMap>(&self, map: &mut M, md5: &str, _: Ctx) -> Result<(), M::Error> {
        map.serialize_entry("MD5", md5)?;
        opt(map, "RepositoryName", &self.repository_name)?;
        extra(map, &self.extra)
    }
}

struct CaseHeaderOut<'a>(&'a Case);

impl Serialize for CaseHeaderOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(None)?;
        opt(&mut map, "CaseID", &c.case_id)?;
        opt(&mut map, "CaseNumber", &c.case_number)?;
        opt(&mut map, "ContactName", &c.contact_name)?;
        opt(&mut map, "ContactOrganization", &c.contact_organization)?;
        opt(&mut map, "ContactEmail", &c.contact_email)?;
        opt(&mut map, "ContactPhone", &c.contact_phone)?;
        opt(&mut map, "ContactTitle", &c.contact_title)?;
        opt(
            &mut map,
            "SourceApplicationName",
            &c.source_application_name,
        )?;
        opt(
            &mut map,
            "SourceApplicationVersion",
            &c.source_application_version,
        )?;
        opt(&mut map, "TotalMediaFiles", &c.total_media_files)?;
        opt(&mut map, "TotalPrecategorized", &c.total_precategorized)?;
        opt(&mut map, "SeizureDate", &c.seizure_date)?;
        for (k, v) in &c.extra {
            if !k.eq_ignore_ascii_case("media") {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}
