//! Behaviour on generated images: PDQ survives benign edits and separates unrelated images;
//! hostile inputs (malformed, truncated, decompression bombs) give typed errors, never panics.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;

use image::{ImageEncoder, RgbImage};
use safeguard_perceptual::decode::{decode_bytes, DecodeError};
use safeguard_perceptual::{hash_bytes, hash_image, DecodeOptions, Error, Pdq};

/// Matching threshold used by python-threatexchange and HMA.
const MATCH_DISTANCE: u32 = 31;

/// A deterministic pseudo-random generator (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A synthetic "photo": a colour gradient, random soft blobs and a few sharp-edged rectangles,
/// so it has structure at all scales like a natural image.
fn scene(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = Lcg(seed);
    let blobs: Vec<[f32; 7]> = (0..25)
        .map(|_| {
            [
                rng.next() * width as f32,
                rng.next() * height as f32,
                (0.05 + rng.next() * 0.25) * width as f32,
                rng.next() * 255.0,
                rng.next() * 255.0,
                rng.next() * 255.0,
                rng.next() * 0.8 + 0.2,
            ]
        })
        .collect();
    let rects: Vec<[f32; 5]> = (0..30)
        .map(|_| {
            [
                rng.next() * width as f32,
                rng.next() * height as f32,
                rng.next() * width as f32 / 4.0,
                rng.next() * height as f32 / 4.0,
                rng.next() * 200.0 - 100.0,
            ]
        })
        .collect();
    let tilt = rng.next() * 2.0 - 1.0;
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let base =
            128.0 + 60.0 * tilt * (fx / width as f32 - 0.5) + 40.0 * (fy / height as f32 - 0.5);
        let mut c = [base, base * 0.9, base * 1.1];
        for b in &blobs {
            let d2 = ((fx - b[0]).powi(2) + (fy - b[1]).powi(2)) / (b[2] * b[2]);
            let w = b[6] * (-d2).exp();
            for (ch, target) in c.iter_mut().zip(&b[3..6]) {
                *ch = *ch * (1.0 - w) + target * w;
            }
        }
        for r in &rects {
            if fx >= r[0] && fx < r[0] + r[2] && fy >= r[1] && fy < r[1] + r[3] {
                for ch in c.iter_mut() {
                    *ch += r[4];
                }
            }
        }
        image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8))
    })
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

#[test]
fn benign_edits_stay_within_the_match_distance() {
    let opts = DecodeOptions::default();
    let mut worst = [0u32; 3];
    for seed in 1..=6 {
        let original = scene(seed, 640, 480);
        let h = hash_image(&original);
        assert!(h.quality >= 50, "seed {seed}: quality {}", h.quality);
        let recoded = hash_bytes(&jpeg(&original, 70), &opts).unwrap().hash;
        let halved = hash_image(&image::imageops::resize(
            &original,
            320,
            240,
            image::imageops::FilterType::Triangle,
        ))
        .hash;
        let mut brighter = original.clone();
        for p in brighter.pixels_mut() {
            p.0 = p.0.map(|v| v.saturating_add(12));
        }
        let brighter = hash_image(&brighter).hash;
        for (w, edited) in worst.iter_mut().zip([recoded, halved, brighter]) {
            *w = (*w).max(h.hash.distance(&edited));
        }
    }
    println!(
        "worst distances: JPEG q70 {}, half size {}, brightness +12 {}",
        worst[0], worst[1], worst[2]
    );
    assert!(worst.iter().all(|d| *d < MATCH_DISTANCE), "{worst:?}");
}

#[test]
fn unrelated_images_are_far_apart() {
    let hashes: Vec<Pdq> = (100..110)
        .map(|s| hash_image(&scene(s, 320, 240)).hash)
        .collect();
    let mut closest = u32::MAX;
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            closest = closest.min(a.distance(b));
        }
    }
    println!("closest pair of 10 unrelated images: {closest} bits");
    assert!(closest > 2 * MATCH_DISTANCE, "{closest}");
}

#[test]
fn every_format_decodes_to_the_same_pixels() {
    // Lossless formats must give exactly the PNG hash.
    let img = scene(7, 200, 150);
    let want = hash_image(&img);
    for format in [
        image::ImageFormat::Bmp,
        image::ImageFormat::Tiff,
        image::ImageFormat::WebP,
    ] {
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut Cursor::new(&mut bytes), format)
            .unwrap();
        let got = hash_bytes(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(got, want, "{format:?}");
    }
    assert_eq!(
        hash_bytes(&png(&img), &DecodeOptions::default()).unwrap(),
        want
    );
    // GIF is palettised: close, not equal.
    let mut gif = Vec::new();
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap();
    let got = hash_bytes(&gif, &DecodeOptions::default()).unwrap();
    assert!(got.hash.distance(&want.hash) < MATCH_DISTANCE);
}

/// Minimal CRC-32 (IEEE), to forge PNG chunks.
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

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

#[test]
fn decompression_bombs_are_refused_before_decoding() {
    // A PNG header announcing 100 000 × 100 000 RGB pixels (30 GB) over a tiny IDAT.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(chunk(b"IHDR", &ihdr));
    bomb.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bomb.extend(chunk(b"IEND", &[]));
    match decode_bytes(&bomb, &DecodeOptions::default()) {
        Err(DecodeError::TooManyPixels {
            width: 100_000,
            height: 100_000,
            ..
        }) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
    // The same guard, configured low, on a real image.
    let small = png(&scene(3, 100, 100));
    let strict = DecodeOptions {
        max_pixels: 5_000,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        hash_bytes(&small, &strict),
        Err(Error::Decode(DecodeError::TooManyPixels { .. }))
    ));
    // And the decoder's allocation limit.
    let stingy = DecodeOptions {
        max_alloc_bytes: 1_000,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        decode_bytes(&small, &stingy),
        Err(DecodeError::MemoryLimit(_))
    ));
    let tiny_files = DecodeOptions {
        max_file_bytes: 100,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        decode_bytes(&small, &tiny_files),
        Err(DecodeError::FileTooLarge { .. })
    ));
}

#[test]
fn malformed_and_truncated_inputs_give_typed_errors() {
    let opts = DecodeOptions::default();
    let img = scene(5, 120, 90);
    let png_bytes = png(&img);
    // Every truncation of a PNG is an error (its end is marked), never a panic.
    for len in (0..png_bytes.len() - 12).step_by(97) {
        let r = decode_bytes(&png_bytes[..len], &opts);
        assert!(r.is_err(), "PNG cut at {len} decoded");
    }
    // A valid signature followed by garbage.
    let mut junk = b"\x89PNG\r\n\x1a\n".to_vec();
    junk.extend(std::iter::repeat_n(0xAB, 200));
    assert!(matches!(
        decode_bytes(&junk, &opts),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        decode_bytes(b"GIF89a", &opts),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        decode_bytes(b"plain text", &opts),
        Err(DecodeError::UnknownFormat)
    ));
    // Truncated JPEGs may decode partially (as libjpeg does) or fail; neither may panic.
    let jpeg_bytes = jpeg(&img, 80);
    for len in (0..jpeg_bytes.len()).step_by(53) {
        let _ = decode_bytes(&jpeg_bytes[..len], &opts);
    }
    // Corrupted bytes in every format: errors or pixels, never a panic.
    let mut rng = Lcg(99);
    for format in [
        image::ImageFormat::Png,
        image::ImageFormat::Jpeg,
        image::ImageFormat::Gif,
        image::ImageFormat::Bmp,
        image::ImageFormat::Tiff,
        image::ImageFormat::WebP,
    ] {
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut Cursor::new(&mut bytes), format)
            .unwrap();
        for _ in 0..40 {
            let mut bad = bytes.clone();
            for _ in 0..4 {
                let i = (rng.next() * bad.len() as f32) as usize % bad.len();
                bad[i] = (rng.next() * 256.0) as u8;
            }
            let _ = hash_bytes(&bad, &opts);
        }
    }
    let missing =
        safeguard_perceptual::hash_file(std::path::Path::new("/nonexistent/x.png"), &opts);
    assert!(matches!(
        missing,
        Err(Error::Decode(DecodeError::Io { .. }))
    ));
}

#[test]
fn exif_orientation_is_applied_only_when_asked() {
    // Orientation 6 ("rotate 90° clockwise to display") in a PNG eXIf chunk.
    let exif: Vec<u8> = [
        &b"MM\x00\x2a\x00\x00\x00\x08"[..],
        &[
            0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
        ],
        &[0, 0, 0, 0],
    ]
    .concat();
    let img = scene(11, 160, 90);
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(img.as_raw(), 160, 90, image::ExtendedColorType::Rgb8)
        .unwrap();
    let raw = decode_bytes(&bytes, &DecodeOptions::default()).unwrap();
    assert_eq!(raw.dimensions(), (160, 90));
    let oriented = decode_bytes(
        &bytes,
        &DecodeOptions {
            apply_exif_orientation: true,
            ..DecodeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(oriented.dimensions(), (90, 160));
    assert_eq!(oriented, image::imageops::rotate90(&img));
}
