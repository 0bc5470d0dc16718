//! What victim identification reads from and cuts out of media: EXIF metadata (capture time,
//! camera make, model and serial number, GPS position) with `kamadak-exif`, the picture's size and
//! PDQ, crops of a clue's region re-encoded without any metadata, and groupings of a series'
//! media by capture day, camera and visual similarity.
//!
//! Every input is hostile: decoding is bounded (pixels, allocation, file size) and a file that
//! cannot be read gives metadata with an `error`, never a panic.

use std::collections::BTreeMap;
use std::io::Cursor;

use exif::{In, Reader, Tag, Value};
use image::{DynamicImage, ImageFormat};
use safeguard_domain::known::PdqHash;
use safeguard_domain::victim::Region;
use safeguard_perceptual::DecodeOptions;
use safeguard_store::{MediaMetadata, SeriesMedium};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Longest side of a crop published on Trace an Object.
pub const MAX_CROP_SIDE: u32 = 800;

/// Largest picture decoded for a crop or for metadata.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Why a crop could not be cut.
#[derive(Debug, thiserror::Error)]
pub enum CropError {
    #[error("the picture cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the picture is larger than {MAX_PIXELS} pixels")]
    TooLarge,
}

/// A crop ready to publish: PNG bytes (pixels only: no EXIF, no text chunks) and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crop {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn decode_bounded(bytes: &[u8]) -> Result<DynamicImage, CropError> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CropError::Undecodable(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| CropError::Undecodable(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(CropError::TooLarge);
    }
    reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CropError::Undecodable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| CropError::Undecodable(e.to_string()))
}

/// Cuts `region` out of the picture, scales it to at most [`MAX_CROP_SIDE`] and re-encodes it as
/// an RGB PNG: only pixels survive, so no EXIF, GPS, ICC profile or text travels with it.
pub fn crop(bytes: &[u8], region: Region) -> Result<Crop, CropError> {
    let img = decode_bounded(bytes)?;
    let (x, y, w, h) = region.pixels(img.width(), img.height());
    let mut cut = DynamicImage::ImageRgb8(img.crop_imm(x, y, w, h).to_rgb8());
    if cut.width().max(cut.height()) > MAX_CROP_SIDE {
        cut = cut.resize(
            MAX_CROP_SIDE,
            MAX_CROP_SIDE,
            image::imageops::FilterType::Triangle,
        );
    }
    let mut png = Vec::new();
    cut.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| CropError::Undecodable(e.to_string()))?;
    Ok(Crop {
        width: cut.width(),
        height: cut.height(),
        png,
    })
}

fn ascii(exif: &exif::Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    match &field.value {
        Value::Ascii(parts) => {
            let text: String = parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .filter(|c| !c.is_control())
                .take(120)
                .collect();
            let t = text.trim().to_owned();
            (!t.is_empty()).then_some(t)
        }
        _ => None,
    }
}

/// `YYYY:MM:DD HH:MM:SS` as written by cameras (their local time; read as UTC).
fn exif_datetime(text: &str) -> Option<OffsetDateTime> {
    let t = text.trim();
    let num = |range: std::ops::Range<usize>| t.get(range)?.parse::<u32>().ok();
    let date = Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn gps_coordinate(exif: &exif::Exif, value: Tag, reference: Tag) -> Option<f64> {
    let field = exif.get_field(value, In::PRIMARY)?;
    let Value::Rational(parts) = &field.value else {
        return None;
    };
    if parts.len() < 3 || parts.iter().any(|r| r.denom == 0) {
        return None;
    }
    let deg = parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0;
    let sign = match ascii(exif, reference).as_deref() {
        Some("S") | Some("W") => -1.0,
        _ => 1.0,
    };
    let v = sign * deg;
    v.is_finite().then_some(v)
}

/// Reads what a medium says about itself: size, EXIF capture time, camera, GPS, and its PDQ.
/// Files without EXIF give the rest; files that are not pictures give an `error`.
pub fn extract_metadata(bytes: &[u8]) -> MediaMetadata {
    let mut meta = MediaMetadata::default();
    match Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => {
            meta.camera_make = ascii(&exif, Tag::Make);
            meta.camera_model = ascii(&exif, Tag::Model);
            meta.camera_serial = ascii(&exif, Tag::BodySerialNumber);
            meta.software = ascii(&exif, Tag::Software);
            meta.captured_at = ascii(&exif, Tag::DateTimeOriginal)
                .or_else(|| ascii(&exif, Tag::DateTime))
                .and_then(|t| exif_datetime(&t));
            let lat = gps_coordinate(&exif, Tag::GPSLatitude, Tag::GPSLatitudeRef);
            let lon = gps_coordinate(&exif, Tag::GPSLongitude, Tag::GPSLongitudeRef);
            meta.gps = lat
                .zip(lon)
                .filter(|(a, b)| a.abs() <= 90.0 && b.abs() <= 180.0);
        }
        Err(exif::Error::NotFound(_)) => {}
        Err(e) => meta.error = Some(format!("EXIF: {e}")),
    }
    let options = DecodeOptions {
        max_pixels: MAX_PIXELS,
        ..DecodeOptions::default()
    };
    match safeguard_perceptual::decode::decode_bytes(bytes, &options) {
        Ok(img) => {
            meta.width = Some(img.width());
            meta.height = Some(img.height());
            let r = safeguard_perceptual::hash_image(&img);
            meta.pdq = Some(PdqHash(*r.hash.as_bytes()));
        }
        Err(e) => {
            let e = format!("picture: {e}");
            meta.error = Some(match meta.error.take() {
                Some(prev) => format!("{prev}; {e}"),
                None => e,
            });
        }
    }
    meta
}

/// How the media of a series are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arrangement {
    /// Grouped by capture day, oldest first (no capture time last).
    #[default]
    CaptureTime,
    /// Grouped by camera (make, model, serial number).
    Camera,
    /// Grouped by visual similarity (PDQ distance, single linkage).
    Similarity,
}

impl Arrangement {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "time" => Some(Self::CaptureTime),
            "camera" => Some(Self::Camera),
            "similarity" => Some(Self::Similarity),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaptureTime => "time",
            Self::Camera => "camera",
            Self::Similarity => "similarity",
        }
    }
}

/// Media within this PDQ distance are put in one similarity group (looser than the match
/// distance of 31: the same scene from another angle, not only the same picture).
pub const SIMILARITY_DISTANCE: u32 = 90;

/// A group of media (indexes into the list given) with its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub members: Vec<usize>,
}

fn camera_label(m: &SeriesMedium) -> Option<String> {
    let meta = m.metadata.as_ref()?;
    let parts: Vec<&str> = [meta.camera_make.as_deref(), meta.camera_model.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() && meta.camera_serial.is_none() {
        return None;
    }
    let mut label = parts.join(" ");
    if let Some(serial) = &meta.camera_serial {
        label.push_str(&format!(" (serial {serial})"));
    }
    Some(label.trim().to_owned())
}

fn captured(m: &SeriesMedium) -> Option<OffsetDateTime> {
    m.metadata.as_ref()?.captured_at
}

/// Arranges media in groups; within a group by capture time (then entry id), or for similarity
/// by distance to the group's first medium.
pub fn arrange(media: &[SeriesMedium], how: Arrangement) -> Vec<Group> {
    let by_time = |a: &usize, b: &usize| {
        let (ma, mb) = (&media[*a], &media[*b]);
        (captured(ma).is_none(), captured(ma), ma.entry).cmp(&(
            captured(mb).is_none(),
            captured(mb),
            mb.entry,
        ))
    };
    match how {
        Arrangement::CaptureTime => {
            let mut groups: BTreeMap<(bool, Option<Date>), Vec<usize>> = BTreeMap::new();
            for (i, m) in media.iter().enumerate() {
                let day = captured(m).map(|t| t.date());
                groups.entry((day.is_none(), day)).or_default().push(i);
            }
            groups
                .into_iter()
                .map(|((_, day), mut members)| {
                    members.sort_by(by_time);
                    Group {
                        label: day.map_or_else(|| "No capture time".to_owned(), |d| d.to_string()),
                        members,
                    }
                })
                .collect()
        }
        Arrangement::Camera => {
            let mut groups: BTreeMap<(bool, String), Vec<usize>> = BTreeMap::new();
            for (i, m) in media.iter().enumerate() {
                let label = camera_label(m);
                groups
                    .entry((
                        label.is_none(),
                        label.unwrap_or_else(|| "Unknown camera".into()),
                    ))
                    .or_default()
                    .push(i);
            }
            groups
                .into_iter()
                .map(|((_, label), mut members)| {
                    members.sort_by(by_time);
                    Group { label, members }
                })
                .collect()
        }
        Arrangement::Similarity => similarity_groups(media, SIMILARITY_DISTANCE),
    }
}

/// Single-linkage groups of media whose PDQ hashes are within `distance` of another member.
/// Media without a PDQ form a last group.
pub fn similarity_groups(media: &[SeriesMedium], distance: u32) -> Vec<Group> {
    let hashes: Vec<(usize, PdqHash)> = media
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.pdq().map(|p| (i, p)))
        .collect();
    let mut parent: Vec<usize> = (0..hashes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for a in 0..hashes.len() {
        for b in a + 1..hashes.len() {
            if hashes[a].1.distance(&hashes[b].1) <= distance {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for k in 0..hashes.len() {
        let r = root(&mut parent, k);
        groups.entry(r).or_default().push(k);
    }
    let mut out: Vec<Group> = groups
        .into_values()
        .map(|ks| {
            let first = hashes[ks[0]].1;
            let mut members: Vec<(u32, usize)> = ks
                .iter()
                .map(|&k| (first.distance(&hashes[k].1), hashes[k].0))
                .collect();
            members.sort();
            Group {
                label: String::new(),
                members: members.into_iter().map(|(_, i)| i).collect(),
            }
        })
        .collect();
    // Largest groups first.
    out.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members.cmp(&b.members))
    });
    let n = out.len();
    for (k, g) in out.iter_mut().enumerate() {
        g.label = format!("Similar group {} of {n} ({} media)", k + 1, g.members.len());
    }
    let without: Vec<usize> = media
        .iter()
        .enumerate()
        .filter(|(_, m)| m.pdq().is_none())
        .map(|(i, _)| i)
        .collect();
    if !without.is_empty() {
        out.push(Group {
            label: "No perceptual hash".into(),
            members: without,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeguard_domain::known::{EntryId, HashSetId};

    fn medium(id: i64, pdq: Option<PdqHash>, meta: Option<MediaMetadata>) -> SeriesMedium {
        SeriesMedium {
            entry: EntryId(id),
            hash_set: HashSetId(1),
            sha256: None,
            entry_pdq: pdq,
            file_name: None,
            mime_type: None,
            metadata: meta,
            clues: 0,
        }
    }

    #[test]
    fn similarity_links_near_hashes_and_keeps_far_ones_apart() {
        let base = PdqHash([0; 32]);
        let mut near = [0u8; 32];
        near[0] = 0xff; // distance 8
        let mut chained = near;
        chained[1] = 0xff; // 8 from `near`, 16 from base: linked through `near`
        let far = PdqHash([0xff; 32]);
        let media = vec![
            medium(1, Some(base), None),
            medium(2, Some(far), None),
            medium(3, Some(PdqHash(near)), None),
            medium(4, None, None),
            medium(5, Some(PdqHash(chained)), None),
        ];
        let groups = similarity_groups(&media, 10);
        let members: Vec<Vec<usize>> = groups.iter().map(|g| g.members.clone()).collect();
        assert_eq!(members, vec![vec![0, 2, 4], vec![1], vec![3]]);
        assert_eq!(groups[2].label, "No perceptual hash");
    }

    #[test]
    fn capture_time_groups_by_day_and_camera_by_serial() {
        let meta = |day: u8, serial: &str| MediaMetadata {
            captured_at: Some(
                PrimitiveDateTime::new(
                    Date::from_calendar_date(2024, Month::May, day).expect("date"),
                    Time::MIDNIGHT,
                )
                .assume_utc(),
            ),
            camera_make: Some("DemoCam".into()),
            camera_serial: Some(serial.into()),
            ..MediaMetadata::default()
        };
        let media = vec![
            medium(1, None, Some(meta(3, "A"))),
            medium(2, None, None),
            medium(3, None, Some(meta(1, "B"))),
            medium(4, None, Some(meta(3, "B"))),
        ];
        let days = arrange(&media, Arrangement::CaptureTime);
        let labels: Vec<&str> = days.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["2024-05-01", "2024-05-03", "No capture time"]);
        assert_eq!(days[1].members, vec![0, 3]);
        let cams = arrange(&media, Arrangement::Camera);
        let labels: Vec<&str> = cams.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            ["DemoCam (serial A)", "DemoCam (serial B)", "Unknown camera"]
        );
        assert_eq!(cams[1].members, vec![2, 3], "by time within a camera");
    }

    #[test]
    fn exif_dates_parse_and_garbage_does_not() {
        assert_eq!(
            exif_datetime("2024:05:01 10:30:05").map(|t| t.unix_timestamp()),
            Some(1_714_559_405)
        );
        assert_eq!(exif_datetime("2024:13:01 10:30:05"), None);
        assert_eq!(exif_datetime("    :  :     :  :  "), None);
        assert_eq!(exif_datetime("2024"), None);
    }

    #[test]
    fn hostile_bytes_give_an_error_not_a_panic() {
        let meta = extract_metadata(b"\xff\xd8\xff\xe1\x00\x10Exif\0\0garbage");
        assert!(meta.error.is_some());
        assert!(meta.width.is_none());
        assert!(crop(b"not a picture", Region::new(0, 0, 5000, 5000).expect("r")).is_err());
    }
}
