//! Perceptual hashing: PDQ for images and vPDQ for videos, bit-compatible with Meta's reference
//! implementation (`facebook/ThreatExchange`) and with python-threatexchange / HMA.
//!
//! * [`Pdq`]: the 256-bit hash value (hex, serde, Hamming distance).
//! * [`hash_file`], [`hash_bytes`], [`hash_image`], [`hash_rgb`]: PDQ and quality of an image, at
//!   full size (no pre-resize), as python-threatexchange computes it.
//! * [`dihedral_image`]: the eight rotation/mirror hashes from one DCT.
//! * [`decode`]: bounded decoding with Pillow-compatible pixel conversion.
//! * [`vpdq`]: per-frame PDQ of videos decoded by the `ffmpeg` tool, the sample-hash file format
//!   and the bag-of-frames matcher.
//!
//! The Hamming-distance index lives in its own crate; it takes [`Pdq::as_bytes`].

pub mod decode;
pub mod hash;
pub mod pdq;
pub mod vpdq;

use std::path::Path;

pub use decode::{DecodeError, DecodeOptions};
pub use hash::{Pdq, PdqParseError};
pub use image::RgbImage;
pub use pdq::{
    dihedral_rgb, hash_luma, hash_rgb, Dihedral, DihedralHashes, PdqError, PdqHasher, PdqResult,
};

/// Any failure of the image entry points.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The pixels did not fit their stated size.
    #[error(transparent)]
    Pixels(#[from] PdqError),
}

/// PDQ of an already-decoded RGB image.
pub fn hash_image(image: &RgbImage) -> PdqResult {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // An `RgbImage` always holds exactly width × height × 3 bytes.
    hash_rgb(w, h, image.as_raw()).unwrap_or(PdqResult {
        hash: Pdq::default(),
        quality: 0,
    })
}

/// The eight dihedral hashes of an already-decoded RGB image.
pub fn dihedral_image(image: &RgbImage) -> DihedralHashes {
    let (w, h) = (image.width() as usize, image.height() as usize);
    dihedral_rgb(w, h, image.as_raw()).unwrap_or(DihedralHashes {
        hashes: [Pdq::default(); 8],
        quality: 0,
    })
}

/// Decodes encoded image bytes (JPEG, PNG, GIF, WebP, BMP, TIFF) and hashes them.
pub fn hash_bytes(bytes: &[u8], options: &DecodeOptions) -> Result<PdqResult, Error> {
    Ok(hash_image(&decode::decode_bytes(bytes, options)?))
}

/// Reads, decodes and hashes an image file.
pub fn hash_file(path: &Path, options: &DecodeOptions) -> Result<PdqResult, Error> {
    Ok(hash_image(&decode::decode_file(path, options)?))
}
