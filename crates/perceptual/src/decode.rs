//! Bounded image decoding to 8-bit RGB, converted the way Pillow's `convert("RGB")` does.
//!
//! The PDQ hashes that hotlines exchange come from python-threatexchange / HMA, which decode with
//! Pillow. To land on the same pixels we convert every pixel format as Pillow would:
//! grey is replicated to three channels, alpha is dropped (never composited), 16-bit *grey* is
//! clipped to 255 (Pillow's `I;16` → `RGB`), 16-bit *colour* and grey+alpha keep their high byte
//! (Pillow reads those PNGs/TIFFs with `;16B` raw modes), palettes are expanded. No colour
//! management, no gamma, and EXIF orientation only when asked for (no reference applies it).

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};

/// Limits and options for decoding untrusted images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest accepted `width × height`. Checked from the header before any pixel is decoded.
    /// Decoding needs 3 bytes a pixel for RGB (more for 16-bit or alpha formats); PDQ adds little.
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate at once (`image::Limits::max_alloc`).
    pub max_alloc_bytes: u64,
    /// Largest accepted encoded file, in bytes.
    pub max_file_bytes: u64,
    /// Rotate/flip the pixels as the EXIF orientation tag says. Off by default, because neither
    /// Meta's reference nor python-threatexchange does it, and hashes must interoperate.
    pub apply_exif_orientation: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_pixels: 64 * 1024 * 1024,
            max_alloc_bytes: 1024 * 1024 * 1024,
            max_file_bytes: 256 * 1024 * 1024,
            apply_exif_orientation: false,
        }
    }
}

/// Why an image could not be turned into RGB pixels.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not any image format this build decodes.
    #[error("not a recognised image format (JPEG, PNG, GIF, WebP, BMP or TIFF)")]
    UnknownFormat,
    /// A recognised format using a feature the decoder does not support.
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// Corrupt or truncated data.
    #[error("malformed or truncated image: {0}")]
    Malformed(String),
    /// The header announces more pixels than allowed (decompression-bomb guard).
    #[error("image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The configured limit.
        max_pixels: u64,
    },
    /// The encoded file is larger than allowed.
    #[error("file of {size} bytes exceeds the limit of {max_file_bytes} bytes")]
    FileTooLarge {
        /// Size of the input.
        size: u64,
        /// The configured limit.
        max_file_bytes: u64,
    },
    /// Decoding would need more memory than allowed.
    #[error("decoding exceeds the memory limit: {0}")]
    MemoryLimit(String),
}

impl DecodeError {
    fn from_image(err: ImageError) -> Self {
        match err {
            ImageError::Limits(e) => DecodeError::MemoryLimit(e.to_string()),
            ImageError::Unsupported(e) => match e.kind() {
                image::error::UnsupportedErrorKind::Format(
                    image::error::ImageFormatHint::Unknown,
                ) => DecodeError::UnknownFormat,
                _ => DecodeError::Unsupported(e.to_string()),
            },
            ImageError::IoError(e) => DecodeError::Malformed(e.to_string()),
            other => DecodeError::Malformed(other.to_string()),
        }
    }
}

/// The image format of some bytes, from their signature, if it is one this crate decodes.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    let format = image::guess_format(bytes).ok()?;
    matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Tiff
    )
    .then_some(format)
}

/// Reads a file (refusing files over the size limit) and decodes it.
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    let bytes = read_bounded(path, options.max_file_bytes)?;
    decode_bytes(&bytes, options)
}

/// Reads a whole file, refusing it if it is larger than `max_bytes`.
pub fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, DecodeError> {
    let io_err = |source| DecodeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size > max_bytes {
        return Err(DecodeError::FileTooLarge {
            size,
            max_file_bytes: max_bytes,
        });
    }
    std::fs::read(path).map_err(io_err)
}

/// Decodes encoded image bytes to 8-bit RGB within the limits of `options`. A GIF gives its
/// first frame, as Pillow's `Image.open` does.
pub fn decode_bytes(bytes: &[u8], options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    if bytes.len() as u64 > options.max_file_bytes {
        return Err(DecodeError::FileTooLarge {
            size: bytes.len() as u64,
            max_file_bytes: options.max_file_bytes,
        });
    }
    let format = sniff_format(bytes).ok_or(DecodeError::UnknownFormat)?;
    // Decoders are complex parsers of hostile input; a bug in one must become an error for this
    // file, not bring down a batch job.
    catch_unwind(AssertUnwindSafe(|| decode_format(bytes, format, options))).unwrap_or_else(|_| {
        Err(DecodeError::Malformed(
            "the image decoder failed on this input".to_owned(),
        ))
    })
}

fn decode_format(
    bytes: &[u8],
    format: ImageFormat,
    options: &DecodeOptions,
) -> Result<RgbImage, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(options.max_alloc_bytes);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(DecodeError::from_image)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > options.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max_pixels: options.max_pixels,
        });
    }
    // `image` passes `max_alloc` to some decoders only; the decoded buffer itself is checked here
    // for every format, as `ImageReader::decode` would.
    let needed = decoder.total_bytes();
    if needed > options.max_alloc_bytes {
        return Err(DecodeError::MemoryLimit(format!(
            "the decoded image needs {needed} bytes, the limit is {}",
            options.max_alloc_bytes
        )));
    }
    let orientation = if options.apply_exif_orientation {
        // A broken EXIF block only loses the rotation, it does not make the pixels unusable.
        decoder.orientation().ok()
    } else {
        None
    };
    let mut image = DynamicImage::from_decoder(decoder).map_err(DecodeError::from_image)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(to_rgb8_like_pillow(image))
}

/// Converts any decoded pixel format to 8-bit RGB as Pillow's `convert("RGB")` would (see the
/// module documentation for the rules and why).
pub fn to_rgb8_like_pillow(image: DynamicImage) -> RgbImage {
    let (width, height) = (image.width(), image.height());
    let from_fn = |f: &dyn Fn(u32, u32) -> [u8; 3]| {
        RgbImage::from_fn(width, height, |x, y| image::Rgb(f(x, y)))
    };
    let high_byte = |v: u16| (v >> 8) as u8;
    let clip = |v: u16| v.min(255) as u8;
    let float = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    match &image {
        DynamicImage::ImageRgb8(_) => image.into_rgb8(),
        DynamicImage::ImageRgba8(rgba) => from_fn(&|x, y| {
            let p = rgba.get_pixel(x, y).0;
            [p[0], p[1], p[2]]
        }),
        DynamicImage::ImageLuma8(l) => from_fn(&|x, y| [l.get_pixel(x, y).0[0]; 3]),
        DynamicImage::ImageLumaA8(la) => from_fn(&|x, y| [la.get_pixel(x, y).0[0]; 3]),
        DynamicImage::ImageLuma16(l) => from_fn(&|x, y| [clip(l.get_pixel(x, y).0[0]); 3]),
        DynamicImage::ImageLumaA16(la) => from_fn(&|x, y| [high_byte(la.get_pixel(x, y).0[0]); 3]),
        DynamicImage::ImageRgb16(rgb) => from_fn(&|x, y| rgb.get_pixel(x, y).0.map(high_byte)),
        DynamicImage::ImageRgba16(rgba) => from_fn(&|x, y| {
            let p = rgba.get_pixel(x, y).0;
            [high_byte(p[0]), high_byte(p[1]), high_byte(p[2])]
        }),
        DynamicImage::ImageRgb32F(rgb) => from_fn(&|x, y| rgb.get_pixel(x, y).0.map(float)),
        DynamicImage::ImageRgba32F(rgba) => from_fn(&|x, y| {
            let p = rgba.get_pixel(x, y).0;
            [float(p[0]), float(p[1]), float(p[2])]
        }),
        // `DynamicImage` is non-exhaustive: any future format goes through image's own
        // conversion, which drops alpha and scales to 8 bits.
        _ => image.into_rgb8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_grey_is_clipped_and_colour_keeps_the_high_byte() {
        let grey = image::ImageBuffer::from_raw(2, 1, vec![100u16, 4000]).expect("2 pixels");
        let rgb = to_rgb8_like_pillow(DynamicImage::ImageLuma16(grey));
        assert_eq!(rgb.as_raw(), &[100, 100, 100, 255, 255, 255]);
        let colour =
            image::ImageBuffer::from_raw(1, 1, vec![0x1234u16, 0xff00, 0x00ff]).expect("1");
        let rgb = to_rgb8_like_pillow(DynamicImage::ImageRgb16(colour));
        assert_eq!(rgb.as_raw(), &[0x12, 0xff, 0x00]);
    }

    #[test]
    fn alpha_is_dropped_not_composited() {
        let rgba = image::RgbaImage::from_raw(1, 1, vec![10, 20, 30, 0]).expect("1 pixel");
        let rgb = to_rgb8_like_pillow(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.as_raw(), &[10, 20, 30]);
        let la = image::GrayAlphaImage::from_raw(1, 1, vec![77, 0]).expect("1 pixel");
        let rgb = to_rgb8_like_pillow(DynamicImage::ImageLumaA8(la));
        assert_eq!(rgb.as_raw(), &[77, 77, 77]);
    }

    #[test]
    fn garbage_is_an_unknown_format() {
        assert!(matches!(
            decode_bytes(b"hello world", &DecodeOptions::default()),
            Err(DecodeError::UnknownFormat)
        ));
        assert!(matches!(
            decode_bytes(&[], &DecodeOptions::default()),
            Err(DecodeError::UnknownFormat)
        ));
    }
}
