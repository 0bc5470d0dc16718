//! Conversions between VICS Media and the format-agnostic [`KnownMediaRecord`].

use crate::known_media::{parse_timestamp, KnownHashes, KnownMediaRecord, SourceFormat, SourceRef};

use super::model::{Media, MediaFile};
use super::VicsRecord;

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl KnownMediaRecord {
    /// The known-media view of one VICS Media (`ordinal`/`line` say where it was read).
    pub fn from_vics_media(media: &Media, ordinal: u64, line: Option<u64>) -> Self {
        let mut r = KnownMediaRecord::new(SourceRef {
            format: SourceFormat::Vics,
            ordinal,
            line,
        });
        r.hashes = KnownHashes {
            md5: Some(media.md5),
            sha1: media.sha1,
            sha256: media.sha256,
            pdq: media.pdq,
            photodna: media.photodna.clone(),
        };
        r.category = media.category;
        r.series = non_empty(&media.series);
        r.victim_identified = media.victim_identified;
        r.offender_identified = media.offender_identified;
        r.is_distributed = media.is_distributed;
        r.mime_type = non_empty(&media.mime_type);
        r.media_size = media.media_size;
        r.external_id = media.media_id.map(|id| id.to_string());
        r.updated_at = media.date_updated.as_deref().and_then(parse_timestamp);
        r.file_names = media
            .media_files
            .iter()
            .filter_map(|f| non_empty(&f.file_name))
            .collect();
        r.tags = non_empty(&media.tags);
        r.comments = non_empty(&media.comments);
        r
    }
}

impl From<&VicsRecord> for KnownMediaRecord {
    fn from(record: &VicsRecord) -> Self {
        KnownMediaRecord::from_vics_media(&record.media, record.ordinal, Some(record.position.line))
    }
}

/// A record that cannot become a VICS Media: VICS keys every Media on its MD5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {ordinal} has no MD5, which every VICS Media needs")]
pub struct MissingMd5 {
    /// Ordinal of the record in its source.
    pub ordinal: u64,
}

impl TryFrom<&KnownMediaRecord> for Media {
    type Error = MissingMd5;

    /// The VICS Media for a known-media record. `MediaID` is taken from `external_id` when it
    /// is a number; file names become `MediaFiles` without paths.
    fn try_from(r: &KnownMediaRecord) -> Result<Self, Self::Error> {
        let md5 = r.hashes.md5.ok_or(MissingMd5 {
            ordinal: r.source.ordinal,
        })?;
        let mut m = Media::new(md5);
        m.media_id = r.external_id.as_deref().and_then(|s| s.trim().parse().ok());
        m.sha1 = r.hashes.sha1;
        m.sha256 = r.hashes.sha256;
        m.pdq = r.hashes.pdq;
        m.photodna = r.hashes.photodna.clone();
        m.category = r.category;
        m.media_size = r.media_size;
        m.mime_type = r.mime_type.clone();
        m.date_updated = r.updated_at.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
        m.victim_identified = r.victim_identified;
        m.offender_identified = r.offender_identified;
        m.is_distributed = r.is_distributed;
        m.series = r.series.clone();
        m.tags = r.tags.clone();
        m.comments = r.comments.clone();
        m.media_files = r
            .file_names
            .iter()
            .map(|name| MediaFile {
                file_name: Some(name.clone()),
                ..MediaFile::default()
            })
            .collect();
        Ok(m)
    }
}
