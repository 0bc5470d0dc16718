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
                let mut reader = image::ImageReader::new(Cursor::new(bytes))
                    .with_guessed_format()
                    .map_err(|e| MediaError::Undecodable(e.to_string()))?;
                let mut limits = image::Limits::default();
                limits.max_image_width = Some(16_384);
                limits.max_image_height = Some(16_384);
                limits.max_alloc = Some(256 * 1024 * 1024);
                reader.limits(limits);
                let decoded = reader
                    .decode()
                    .map_err(|e| MediaError::Undecodable(e.to_string()))?;
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
mod tests {
    use super::*;

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
