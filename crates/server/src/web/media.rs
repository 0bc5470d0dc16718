//! Media in the web application: thumbnails are blurred (and greyscale unless the user chose
//! otherwise) when generated on the server, so unblurred bytes never reach the browser before a
//! reveal; a reveal is a CSRF-checked POST that writes a `media.view` audit entry and only then
//! answers with the unblurred image, one file at a time.
//!
//! Where the pictures come from is behind [`MediaSource`]: the evidence vault plugs in there.
//! Until it does, [`PlaceholderMedia`] draws a pattern derived from the file's SHA-256.

use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use image::{imageops, DynamicImage, ImageFormat, Rgb, RgbImage};
use safeguard_domain::account::perm;
use safeguard_domain::digest::Sha256;
use safeguard_domain::report::ReportId;

use super::error::WebError;
use super::session::{CsrfForm, WebCaller};
use crate::state::AppState;

/// How a thumbnail is to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailLook {
    /// Blur radius; `None` only after a reveal.
    pub blur: Option<u8>,
    pub greyscale: bool,
    /// Longest side in pixels.
    pub max_px: u16,
}

/// A picture to send: PNG or JPEG bytes and their media type.
#[derive(Debug, Clone)]
pub struct Picture {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no stored content with SHA-256 {0}")]
    Missing(String),
    #[error("the content cannot be shown as a picture: {0}")]
    Undecodable(String),
}

/// The future a [`MediaSource`] answers with.
pub type MediaFuture<'a> = Pin<Box<dyn Future<Output = Result<Picture, MediaError>> + Send + 'a>>;

/// Where thumbnails come from: the evidence vault, keyed by SHA-256.
pub trait MediaSource: Send + Sync + 'static {
    /// A picture of the content with this SHA-256, scaled to `look.max_px`, blurred and greyscale
    /// as asked. A vault must apply the blur before the bytes leave it.
    fn thumbnail<'a>(&'a self, sha256: &'a Sha256, look: ThumbnailLook) -> MediaFuture<'a>;

    /// The stored bytes of the content, for server-side work only (metadata extraction, crops
    /// for Trace an Object); never sent to a browser as they are.
    fn source<'a>(&'a self, sha256: &'a Sha256) -> SourceFuture<'a>;
}

/// The future [`MediaSource::source`] answers with.
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, MediaError>> + Send + 'a>>;

/// Turns a picture into a blurred (and greyscale, as asked) PNG of at most `look.max_px`.
pub fn blurred_png(bytes: &[u8], look: ThumbnailLook) -> Result<Picture, MediaError> {
    let decoded =
        image::load_from_memory(bytes).map_err(|e| MediaError::Undecodable(e.to_string()))?;
    let side = u32::from(look.max_px.clamp(16, 2048));
    render(decoded.thumbnail(side, side), look)
}

/// A stand-in for the vault: a pattern of stripes and discs whose colours come from the SHA-256,
/// so each file has its own recognisable picture and nothing real is ever shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceholderMedia;

impl MediaSource for PlaceholderMedia {
    fn thumbnail<'a>(&'a self, sha256: &'a Sha256, look: ThumbnailLook) -> MediaFuture<'a> {
        Box::pin(async move {
            let seed = *sha256.as_bytes();
            tokio::task::spawn_blocking(move || placeholder(seed, look))
                .await
                .map_err(|e| MediaError::Undecodable(e.to_string()))?
        })
    }

    fn source<'a>(&'a self, sha256: &'a Sha256) -> SourceFuture<'a> {
        Box::pin(async move {
            let seed = *sha256.as_bytes();
            let look = ThumbnailLook {
                blur: None,
                greyscale: false,
                max_px: 512,
            };
            let picture = tokio::task::spawn_blocking(move || placeholder(seed, look))
                .await
                .map_err(|e| MediaError::Undecodable(e.to_string()))??;
            Ok(picture.bytes)
        })
    }
}

fn placeholder(seed: [u8; 32], look: ThumbnailLook) -> Result<Picture, MediaError> {
    let side = u32::from(look.max_px.clamp(16, 1024));
    let colour = |i: usize| Rgb([seed[i], seed[i + 1], seed[i + 2]]);
    let (a, b, c) = (colour(0), colour(3), colour(6));
    let stripes = u32::from(seed[9] % 6) + 3;
    let discs: Vec<(i64, i64, i64)> = (0..3)
        .map(|k| {
            let s = i64::from(side);
            let x = i64::from(seed[10 + k * 3]) * s / 255;
            let y = i64::from(seed[11 + k * 3]) * s / 255;
            let r = (i64::from(seed[12 + k * 3]) % (s / 3).max(1)) + s / 10;
            (x, y, r)
        })
        .collect();
    let img = RgbImage::from_fn(side, side, |x, y| {
        let inside = discs.iter().any(|&(cx, cy, r)| {
            let (dx, dy) = (i64::from(x) - cx, i64::from(y) - cy);
            dx * dx + dy * dy <= r * r
        });
        if inside {
            c
        } else if ((x + y) * stripes / side) % 2 == 0 {
            a
        } else {
            b
        }
    });
    render(DynamicImage::ImageRgb8(img), look)
}

/// Largest stored file decoded for a thumbnail.
const MAX_THUMBNAIL_SOURCE: u64 = 64 * 1024 * 1024;

/// Thumbnails from the evidence vault: the file is decrypted, decoded within pixel and memory
/// bounds (a decompression bomb is refused, not decoded), scaled, and blurred before any byte
/// leaves the server.
#[derive(Debug, Clone)]
pub struct VaultMedia {
    vault: std::sync::Arc<safeguard_vault::Vault>,
}

impl VaultMedia {
    pub fn new(vault: std::sync::Arc<safeguard_vault::Vault>) -> Self {
        Self { vault }
    }
}

impl MediaSource for VaultMedia {
    fn thumbnail<'a>(&'a self, sha256: &'a Sha256, look: ThumbnailLook) -> MediaFuture<'a> {
        Box::pin(async move {
            let bytes = match self
                .vault
                .read_to_vec_async(sha256, MAX_THUMBNAIL_SOURCE)
                .await
            {
                Ok(bytes) => bytes,
                Err(safeguard_vault::VaultError::NotFound { .. }) => {
                    return Err(MediaError::Missing(sha256.to_hex()))
                }
                Err(e) => return Err(MediaError::Undecodable(e.to_string())),
            };
            tokio::task::spawn_blocking(move || {
                let decoded = decode_bounded(&bytes)?;
                let side = u32::from(look.max_px.clamp(16, 2048));
                render(decoded.thumbnail(side, side), look)
            })
            .await
            .map_err(|e| MediaError::Undecodable(e.to_string()))?
        })
    }

    fn source<'a>(&'a self, sha256: &'a Sha256) -> SourceFuture<'a> {
        Box::pin(async move {
            match self
                .vault
                .read_to_vec_async(sha256, MAX_THUMBNAIL_SOURCE)
                .await
            {
                Ok(bytes) => Ok(bytes),
                Err(safeguard_vault::VaultError::NotFound { .. }) => {
                    Err(MediaError::Missing(sha256.to_hex()))
                }
                Err(e) => Err(MediaError::Undecodable(e.to_string())),
            }
        })
    }
}

/// Most pixels decoded for a thumbnail (a 48-megapixel photograph fits; 144 MiB as RGB).
pub const MAX_THUMBNAIL_PIXELS: u64 = 48 * 1024 * 1024;
/// Most bytes the decoder may allocate for one thumbnail.
const MAX_THUMBNAIL_ALLOC: u64 = 256 * 1024 * 1024;

/// Decodes a stored file within pixel and memory bounds: the dimensions are read from the header
/// and checked before any pixel is decoded, so a decompression bomb (a few bytes announcing
/// gigapixels) is refused with a clear error instead of exhausting memory.
pub fn decode_bounded(bytes: &[u8]) -> Result<DynamicImage, MediaError> {
    use image::ImageDecoder as _;
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_THUMBNAIL_ALLOC);
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_THUMBNAIL_PIXELS {
        return Err(MediaError::Undecodable(format!(
            "the image announces {width}x{height} pixels, more than the {MAX_THUMBNAIL_PIXELS} \
             allowed (possible decompression bomb); it was not decoded"
        )));
    }
    if decoder.total_bytes() > MAX_THUMBNAIL_ALLOC {
        return Err(MediaError::Undecodable(format!(
            "decoding would need {} bytes, more than the {MAX_THUMBNAIL_ALLOC} allowed",
            decoder.total_bytes()
        )));
    }
    DynamicImage::from_decoder(decoder).map_err(|e| MediaError::Undecodable(e.to_string()))
}

/// Blurs (unless revealed) and greys a picture as asked, and encodes it as PNG.
fn render(mut image: DynamicImage, look: ThumbnailLook) -> Result<Picture, MediaError> {
    if let Some(radius) = look.blur {
        image = DynamicImage::ImageRgb8(imageops::fast_blur(
            &image.to_rgb8(),
            f32::from(radius.max(1)),
        ));
    }
    if look.greyscale {
        image = DynamicImage::ImageLuma8(image.to_luma8());
    }
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    Ok(Picture {
        media_type: "image/png",
        bytes,
    })
}

pub(crate) fn picture_response(picture: Picture) -> Response {
    (
        [
            (CONTENT_TYPE, picture.media_type),
            (CACHE_CONTROL, "private, no-store"),
        ],
        picture.bytes,
    )
        .into_response()
}

pub(crate) fn media_failure(e: MediaError) -> WebError {
    match e {
        MediaError::Missing(_) => WebError::NotFound,
        MediaError::Undecodable(m) => {
            tracing::warn!(error = %m, "thumbnail failed");
            WebError::Internal
        }
    }
}

/// `GET /reports/{id}/files/{file_id}/thumbnail`: always blurred, with the user's settings.
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: WebCaller<perm::ViewMedia>,
    Path((id, file_id)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let file = safeguard_engine::triage::report_file(
        &state.store,
        &caller.granted,
        ReportId(id),
        &file_id,
    )
    .await?;
    let w = state
        .store
        .wellness_settings(caller.user.principal.user)
        .await?;
    let look = ThumbnailLook {
        blur: Some(w.blur_strength),
        greyscale: w.greyscale,
        max_px: w.thumbnail_px,
    };
    let picture = state
        .media
        .thumbnail(&file.digests.sha256, look)
        .await
        .map_err(media_failure)?;
    Ok(picture_response(picture))
}

/// `POST /reports/{id}/files/{file_id}/reveal`: writes `media.view`, then answers with the
/// unblurred picture (greyscale still as the user chose).
pub async fn reveal(
    State(state): State<AppState>,
    Path((id, file_id)): Path<(i64, String)>,
    form: CsrfForm<WebCaller<perm::ViewMedia>>,
) -> Result<Response, WebError> {
    let caller = form.caller;
    let file = safeguard_engine::triage::record_media_view(
        &state.store,
        &caller.granted,
        ReportId(id),
        &file_id,
    )
    .await?;
    let w = state
        .store
        .wellness_settings(caller.user.principal.user)
        .await?;
    let look = ThumbnailLook {
        blur: None,
        greyscale: w.greyscale,
        max_px: w.thumbnail_px.saturating_mul(2),
    };
    let picture = state
        .media
        .thumbnail(&file.digests.sha256, look)
        .await
        .map_err(media_failure)?;
    Ok(picture_response(picture))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(data.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    /// A PNG whose header announces `side`×`side` RGB pixels over an empty compressed stream.
    fn png_bomb(side: u32) -> Vec<u8> {
        let mut ihdr = side.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&side.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(png_chunk(b"IHDR", &ihdr));
        out.extend(png_chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        out.extend(png_chunk(b"IEND", &[]));
        out
    }

    /// A baseline JPEG header announcing `side`×`side` pixels (three components), no image data.
    fn jpeg_bomb(side: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        // DQT: one table of ones.
        out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
        out.extend_from_slice(&[1u8; 64]);
        // SOF0.
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        out.extend_from_slice(&side.to_be_bytes());
        out.extend_from_slice(&side.to_be_bytes());
        out.extend_from_slice(&[0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00]);
        // DHT: a DC and an AC table with one code each.
        for class in [0x00u8, 0x10] {
            out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class]);
            let mut counts = [0u8; 16];
            counts[0] = 1;
            out.extend_from_slice(&counts);
            out.push(0x00);
        }
        // SOS.
        out.extend_from_slice(&[
            0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x3F, 0x00,
        ]);
        out.extend_from_slice(&[0x00; 16]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn decompression_bombs_are_refused_with_a_clear_error_before_decoding() {
        for (name, bomb) in [("png", png_bomb(100_000)), ("jpeg", jpeg_bomb(65_000))] {
            match decode_bounded(&bomb) {
                Err(MediaError::Undecodable(why)) => {
                    assert!(why.contains("decompression bomb"), "{name}: {why}");
                }
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
        }
        // A real picture of ordinary size still decodes.
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([9, 99, 199])))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let decoded = decode_bounded(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
        // Garbage is a clear error too, not a panic.
        assert!(matches!(
            decode_bounded(b"not an image at all"),
            Err(MediaError::Undecodable(_))
        ));
    }

    fn decode(p: &Picture) -> DynamicImage {
        image::load_from_memory(&p.bytes).expect("a PNG")
    }

    #[test]
    fn blur_and_greyscale_change_the_picture() {
        let seed = [7u8; 32];
        let mut seed = seed;
        seed[0] = 200;
        seed[4] = 30;
        let look = ThumbnailLook {
            blur: None,
            greyscale: false,
            max_px: 64,
        };
        let sharp = decode(&placeholder(seed, look).expect("sharp")).to_rgb8();
        let grey = decode(
            &placeholder(
                seed,
                ThumbnailLook {
                    greyscale: true,
                    ..look
                },
            )
            .expect("grey"),
        );
        assert!(matches!(grey, DynamicImage::ImageLuma8(_)));
        let blurred = decode(
            &placeholder(
                seed,
                ThumbnailLook {
                    blur: Some(12),
                    ..look
                },
            )
            .expect("blurred"),
        )
        .to_rgb8();
        assert_eq!(sharp.dimensions(), (64, 64));
        // Blurring smooths edges: neighbouring pixels differ far less in total.
        let edges = |img: &RgbImage| -> u64 {
            img.enumerate_pixels()
                .filter(|(x, _, _)| *x + 1 < img.width())
                .map(|(x, y, p)| {
                    let q = img.get_pixel(x + 1, y);
                    (0..3).map(|i| u64::from(p[i].abs_diff(q[i]))).sum::<u64>()
                })
                .sum()
        };
        assert!(
            edges(&blurred) * 2 < edges(&sharp),
            "blur must smooth edges"
        );
    }
}
