//! Synthetic test images shared by the engine's integration tests: gradients, stripes, a
//! checkerboard patch, rectangles and discs drawn from a seed. Nothing here is real media.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A small deterministic generator, so every run draws the same patterns.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// Pattern `seed`: a gradient background in a seed-dependent direction and colours, a
/// checkerboard patch, rectangles and discs.
pub fn pattern(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
    let (c0, c1) = (
        [
            rng.below(256) as f32,
            rng.below(256) as f32,
            rng.below(256) as f32,
        ],
        [
            rng.below(256) as f32,
            rng.below(256) as f32,
            rng.below(256) as f32,
        ],
    );
    let angle = rng.below(360) as f32 * std::f32::consts::PI / 180.0;
    let (dx, dy) = (angle.cos(), angle.sin());
    // Stripes over the gradient give every region texture (PDQ's quality is its gradients).
    let (fx, fy) = (
        (2 + rng.below(12)) as f32 / width as f32,
        (2 + rng.below(12)) as f32 / height as f32,
    );
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let t =
            ((x as f32 / width as f32 - 0.5) * dx + (y as f32 / height as f32 - 0.5) * dy + 0.75)
                .clamp(0.0, 1.0);
        let stripe = 45.0 * (std::f32::consts::TAU * (fx * x as f32 + fy * y as f32)).sin();
        Rgb([0, 1, 2].map(|i| (c0[i] * (1.0 - t) + c1[i] * t + stripe).clamp(0.0, 255.0) as u8))
    });
    // Checkerboard patch.
    let cell = 8 + rng.below(40);
    let (px, py) = (rng.below(width / 2), rng.below(height / 2));
    let (pw, ph) = (
        width / 4 + rng.below(width / 4),
        height / 4 + rng.below(height / 4),
    );
    let (a, b) = (
        Rgb([rng.below(256) as u8, 20, 200]),
        Rgb([240, rng.below(256) as u8, 10]),
    );
    for y in py..(py + ph).min(height) {
        for x in px..(px + pw).min(width) {
            let on = ((x - px) / cell + (y - py) / cell).is_multiple_of(2);
            img.put_pixel(x, y, if on { a } else { b });
        }
    }
    // Rectangles and discs.
    for _ in 0..(6 + rng.below(6)) {
        let colour = Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ]);
        let (cx, cy) = (rng.below(width), rng.below(height));
        let r = 10 + rng.below(height / 6);
        let disc = rng.below(2) == 0;
        for y in cy.saturating_sub(r)..(cy + r).min(height) {
            for x in cx.saturating_sub(r)..(cx + r).min(width) {
                let (ddx, ddy) = (x as i64 - cx as i64, y as i64 - cy as i64);
                if !disc || ddx * ddx + ddy * ddy <= i64::from(r) * i64::from(r) {
                    img.put_pixel(x, y, colour);
                }
            }
        }
    }
    img
}

pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).expect("png");
    out.into_inner()
}

pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg");
    out
}
