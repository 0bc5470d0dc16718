//! Synthetic scenes for the victim-identification demo: rooms, shop bags and landscapes with
//! visible clues (a coloured sign with text, a logo, a road sign), drawn from rectangles,
//! discs, polygons and a small built-in 5×7 bitmap font. Nothing of a person is ever drawn.
//!
//! Each scene is encoded as a JPEG carrying fictional EXIF (camera make, model and serial
//! number, capture time, GPS position), written with `kamadak-exif`, so the workspace reads it
//! back like a real photograph's.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use time::OffsetDateTime;

/// Width and height of a demo scene.
pub const SCENE_SIZE: (u32, u32) = (640, 480);

/// What a scene shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SceneKind {
    /// A room with a coloured sign on the wall.
    RoomWithSign,
    /// A shop bag with a logo on a table.
    ShopBag,
    /// Hills, a road and a road sign.
    Landscape,
}

/// A scene to draw, and the clue that is visible in it (in 1/10000 of width and height).
#[derive(Debug, Clone)]
pub struct Scene {
    pub kind: SceneKind,
    /// The sign's or bag's text (A–Z, 0–9, space and `-.!&'%`).
    pub text: &'static str,
    /// Main colour of the sign, bag or sky.
    pub colour: [u8; 3],
    /// A small variation (camera moved a little), 0..=9.
    pub variant: u8,
}

impl Scene {
    /// The region of the scene's clue (sign, bag or road sign), in 1/10000 units.
    pub fn clue_region(&self) -> (u32, u32, u32, u32) {
        let (w, h) = SCENE_SIZE;
        let (x, y, cw, ch) = self.clue_pixels();
        let s = |v: u32, side: u32| v * 10_000 / side;
        (s(x, w), s(y, h), s(cw, w), s(ch, h))
    }

    fn shift(&self) -> i32 {
        i32::from(self.variant % 10) * 6 - 27
    }

    fn clue_pixels(&self) -> (u32, u32, u32, u32) {
        let dx = self.shift();
        let at = |x: i32| u32::try_from(x + dx).unwrap_or(0);
        match self.kind {
            SceneKind::RoomWithSign => (at(180) - 10, 70, 300, 110),
            SceneKind::ShopBag => (at(230) - 10, 150, 200, 250),
            SceneKind::Landscape => (at(430) - 10, 170, 150, 200),
        }
    }
}

// 5×7 glyphs, one row per line, `#` set.
const GLYPHS: &[(char, [&str; 7])] = &[
    (
        'A',
        [
            " ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #",
        ],
    ),
    (
        'B',
        [
            "#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### ",
        ],
    ),
    (
        'C',
        [
            " ####", "#    ", "#    ", "#    ", "#    ", "#    ", " ####",
        ],
    ),
    (
        'D',
        [
            "#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### ",
        ],
    ),
    (
        'E',
        [
            "#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####",
        ],
    ),
    (
        'F',
        [
            "#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    ",
        ],
    ),
    (
        'G',
        [
            " ####", "#    ", "#    ", "#  ##", "#   #", "#   #", " ####",
        ],
    ),
    (
        'H',
        [
            "#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #",
        ],
    ),
    (
        'I',
        [
            "#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "#####",
        ],
    ),
    (
        'J',
        [
            "  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  ",
        ],
    ),
    (
        'K',
        [
            "#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #",
        ],
    ),
    (
        'L',
        [
            "#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####",
        ],
    ),
    (
        'M',
        [
            "#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #",
        ],
    ),
    (
        'N',
        [
            "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #",
        ],
    ),
    (
        'O',
        [
            " ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### ",
        ],
    ),
    (
        'P',
        [
            "#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    ",
        ],
    ),
    (
        'Q',
        [
            " ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #",
        ],
    ),
    (
        'R',
        [
            "#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #",
        ],
    ),
    (
        'S',
        [
            " ####", "#    ", "#    ", " ### ", "    #", "    #", "#### ",
        ],
    ),
    (
        'T',
        [
            "#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ",
        ],
    ),
    (
        'U',
        [
            "#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### ",
        ],
    ),
    (
        'V',
        [
            "#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  ",
        ],
    ),
    (
        'W',
        [
            "#   #", "#   #", "#   #", "# # #", "# # #", "## ##", "#   #",
        ],
    ),
    (
        'X',
        [
            "#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #",
        ],
    ),
    (
        'Y',
        [
            "#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  ",
        ],
    ),
    (
        'Z',
        [
            "#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####",
        ],
    ),
    (
        '0',
        [
            " ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### ",
        ],
    ),
    (
        '1',
        [
            "  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### ",
        ],
    ),
    (
        '2',
        [
            " ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####",
        ],
    ),
    (
        '3',
        [
            "#### ", "    #", "    #", " ### ", "    #", "    #", "#### ",
        ],
    ),
    (
        '4',
        [
            "   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # ",
        ],
    ),
    (
        '5',
        [
            "#####", "#    ", "#### ", "    #", "    #", "#   #", " ### ",
        ],
    ),
    (
        '6',
        [
            " ### ", "#    ", "#    ", "#### ", "#   #", "#   #", " ### ",
        ],
    ),
    (
        '7',
        [
            "#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   ",
        ],
    ),
    (
        '8',
        [
            " ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### ",
        ],
    ),
    (
        '9',
        [
            " ### ", "#   #", "#   #", " ####", "    #", "    #", " ### ",
        ],
    ),
    (
        '-',
        [
            "     ", "     ", "     ", "#####", "     ", "     ", "     ",
        ],
    ),
    (
        '.',
        [
            "     ", "     ", "     ", "     ", "     ", " ##  ", " ##  ",
        ],
    ),
    (
        '!',
        [
            "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "     ", "  #  ",
        ],
    ),
    (
        '&',
        [
            " ##  ", "#  # ", " ##  ", " ##  ", "#  ##", "#  # ", " ## #",
        ],
    ),
    (
        '\'',
        [
            "  #  ", "  #  ", "     ", "     ", "     ", "     ", "     ",
        ],
    ),
    (
        '%',
        [
            "##  #", "##  #", "   # ", "  #  ", " #   ", "#  ##", "#  ##",
        ],
    ),
];

fn glyph(c: char) -> Option<&'static [&'static str; 7]> {
    let c = c.to_ascii_uppercase();
    GLYPHS.iter().find(|(g, _)| *g == c).map(|(_, rows)| rows)
}

/// A canvas with the few drawing operations scenes need.
struct Canvas(RgbImage);

impl Canvas {
    fn put(&mut self, x: i32, y: i32, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as u32) < self.0.width() && (y as u32) < self.0.height() {
            self.0.put_pixel(x as u32, y as u32, Rgb(c));
        }
    }

    fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.put(xx, yy, c);
            }
        }
    }

    fn disc(&mut self, cx: i32, cy: i32, r: i32, c: [u8; 3]) {
        for yy in cy - r..=cy + r {
            for xx in cx - r..=cx + r {
                if (xx - cx).pow(2) + (yy - cy).pow(2) <= r * r {
                    self.put(xx, yy, c);
                }
            }
        }
    }

    /// Fills a polygon (even-odd rule, scanline).
    fn polygon(&mut self, points: &[(i32, i32)], c: [u8; 3]) {
        let (Some(min_y), Some(max_y)) = (
            points.iter().map(|p| p.1).min(),
            points.iter().map(|p| p.1).max(),
        ) else {
            return;
        };
        for y in min_y..=max_y {
            let yc = y as f32 + 0.5;
            let mut xs: Vec<f32> = Vec::new();
            for i in 0..points.len() {
                let (a, b) = (points[i], points[(i + 1) % points.len()]);
                let (ya, yb) = (a.1 as f32, b.1 as f32);
                if (ya <= yc && yb > yc) || (yb <= yc && ya > yc) {
                    xs.push(a.0 as f32 + (yc - ya) / (yb - ya) * (b.0 - a.0) as f32);
                }
            }
            xs.sort_by(|a, b| a.total_cmp(b));
            for pair in xs.chunks(2) {
                if let [x0, x1] = pair {
                    for x in x0.round() as i32..x1.round() as i32 {
                        self.put(x, y, c);
                    }
                }
            }
        }
    }

    /// Text at `scale` pixels a dot; returns the width drawn.
    fn text(&mut self, x: i32, y: i32, text: &str, scale: i32, c: [u8; 3]) -> i32 {
        let mut cx = x;
        for ch in text.chars() {
            if let Some(rows) = glyph(ch) {
                for (ry, row) in rows.iter().enumerate() {
                    for (rx, bit) in row.bytes().enumerate() {
                        if bit == b'#' {
                            self.rect(
                                cx + rx as i32 * scale,
                                y + ry as i32 * scale,
                                scale,
                                scale,
                                c,
                            );
                        }
                    }
                }
            }
            cx += 6 * scale;
        }
        cx - x
    }

    fn text_width(text: &str, scale: i32) -> i32 {
        text.chars().count() as i32 * 6 * scale - scale
    }

    /// Light deterministic grain so scenes are not flat (and PDQ has texture to work with).
    fn grain(&mut self, seed: u32) {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        for p in self.0.pixels_mut() {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let d = (s % 9) as i16 - 4;
            for ch in p.0.iter_mut() {
                *ch = (i16::from(*ch) + d).clamp(0, 255) as u8;
            }
        }
    }
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let m = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t) as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

/// Draws a scene.
pub fn render(scene: &Scene) -> RgbImage {
    let (w, h) = SCENE_SIZE;
    let mut c = Canvas(RgbImage::new(w, h));
    let dx = scene.shift();
    let (wi, hi) = (w as i32, h as i32);
    match scene.kind {
        SceneKind::RoomWithSign => {
            // Wall, skirting, wooden floor with boards, a window, a shelf with a plant pot.
            c.rect(0, 0, wi, 330, [214, 203, 180]);
            c.rect(0, 330, wi, 8, [120, 100, 80]);
            for k in 0..8 {
                let shade = if k % 2 == 0 {
                    [150, 110, 70]
                } else {
                    [139, 100, 62]
                };
                c.rect(0, 338 + k * 18, wi, 18, shade);
            }
            c.rect(500 + dx, 60, 110, 150, [90, 80, 70]);
            c.rect(506 + dx, 66, 98, 138, [170, 205, 235]);
            c.rect(553 + dx, 66, 4, 138, [90, 80, 70]);
            c.rect(40 + dx, 230, 130, 10, [100, 70, 40]);
            c.polygon(
                &[
                    (70 + dx, 230),
                    (110 + dx, 230),
                    (104 + dx, 200),
                    (76 + dx, 200),
                ],
                [180, 90, 50],
            );
            c.disc(90 + dx, 185, 18, [60, 140, 60]);
            // The clue: a coloured sign with text.
            let (x, y, sw, sh) = scene.clue_pixels();
            let (x, y, sw, sh) = (x as i32, y as i32, sw as i32, sh as i32);
            c.rect(x - 4, y - 4, sw + 8, sh + 8, [60, 50, 40]);
            c.rect(x, y, sw, sh, scene.colour);
            let scale = 4;
            let tw = Canvas::text_width(scene.text, scale).min(sw - 10);
            c.text(
                x + (sw - tw) / 2,
                y + (sh - 7 * scale) / 2,
                scene.text,
                scale,
                [255, 255, 255],
            );
            // A table in front.
            c.rect(260 + dx, 360, 260, 16, [110, 75, 45]);
            c.rect(280 + dx, 376, 12, 80, [110, 75, 45]);
            c.rect(490 + dx, 376, 12, 80, [110, 75, 45]);
        }
        SceneKind::ShopBag => {
            // A tiled wall, a table, and a paper bag with handles and a logo.
            for ty in 0..(hi / 40 + 1) {
                for tx in 0..(wi / 40 + 1) {
                    let shade = if (tx + ty) % 2 == 0 {
                        [225, 228, 230]
                    } else {
                        [210, 214, 218]
                    };
                    c.rect(tx * 40, ty * 40, 39, 39, shade);
                }
            }
            c.rect(0, 390, wi, 90, [125, 90, 60]);
            let (x, y, bw, bh) = scene.clue_pixels();
            let (x, y, bw, bh) = (x as i32, y as i32, bw as i32, bh as i32);
            // Handles.
            for hx in [x + 45, x + bw - 65] {
                c.rect(hx, y, 20, 8, [60, 40, 30]);
                c.rect(hx, y, 6, 50, [60, 40, 30]);
                c.rect(hx + 14, y, 6, 50, [60, 40, 30]);
            }
            c.rect(x, y + 45, bw, bh - 45, scene.colour);
            c.rect(x, y + 45, bw, 10, mix(scene.colour, [0, 0, 0], 0.25));
            // Logo: a sun with rays, and the shop's name.
            let (lx, ly) = (x + bw / 2, y + 120);
            for k in 0..12 {
                let a = k as f32 * std::f32::consts::PI / 6.0;
                let (s, co) = a.sin_cos();
                c.polygon(
                    &[
                        (lx + (co * 22.0) as i32, ly + (s * 22.0) as i32),
                        (
                            lx + (co * 40.0 - s * 5.0) as i32,
                            ly + (s * 40.0 + co * 5.0) as i32,
                        ),
                        (
                            lx + (co * 40.0 + s * 5.0) as i32,
                            ly + (s * 40.0 - co * 5.0) as i32,
                        ),
                    ],
                    [250, 200, 40],
                );
            }
            c.disc(lx, ly, 24, [250, 200, 40]);
            c.disc(lx, ly, 16, [240, 120, 30]);
            let scale = 3;
            let tw = Canvas::text_width(scene.text, scale).min(bw - 8);
            c.text(
                x + (bw - tw) / 2,
                y + 185,
                scene.text,
                scale,
                [255, 255, 255],
            );
        }
        SceneKind::Landscape => {
            // Sky gradient, sun, hills, a road, and a road sign on a post.
            for yy in 0..260 {
                let t = yy as f32 / 260.0;
                c.rect(0, yy, wi, 1, mix(scene.colour, [235, 240, 245], t));
            }
            c.disc(90 - dx, 70, 30, [255, 235, 150]);
            c.polygon(
                &[
                    (0, 260),
                    (120, 150),
                    (260, 250),
                    (400, 140),
                    (640, 250),
                    (640, 300),
                    (0, 300),
                ],
                [90, 130, 80],
            );
            c.rect(0, 260, wi, hi - 260, [110, 160, 90]);
            c.polygon(
                &[
                    (250 + dx, hi),
                    (390 + dx, hi),
                    (330 + dx, 262),
                    (310 + dx, 262),
                ],
                [90, 90, 95],
            );
            for k in 0..6 {
                let yy = 280 + k * 34;
                c.rect(317 + dx + k, yy, 6, 14, [240, 240, 240]);
            }
            for (tx, ty) in [(60, 300), (150, 320), (560, 310)] {
                c.rect(tx + dx - 4, ty, 8, 40, [90, 60, 40]);
                c.disc(tx + dx, ty - 10, 22, [40, 100, 50]);
            }
            let (x, y, sw, _sh) = scene.clue_pixels();
            let (x, y, sw) = (x as i32, y as i32, sw as i32);
            c.rect(x + sw / 2 - 4, y + 90, 8, 110, [120, 120, 120]);
            // A yellow diamond sign with a flower, and a name plate under it.
            let (cx, cy) = (x + sw / 2, y + 45);
            c.polygon(
                &[(cx, cy - 45), (cx + 45, cy), (cx, cy + 45), (cx - 45, cy)],
                [40, 40, 40],
            );
            c.polygon(
                &[(cx, cy - 40), (cx + 40, cy), (cx, cy + 40), (cx - 40, cy)],
                [250, 210, 30],
            );
            for k in 0..10 {
                let a = k as f32 * std::f32::consts::PI / 5.0;
                let (s, co) = a.sin_cos();
                c.disc(
                    cx + (co * 14.0) as i32,
                    cy + (s * 14.0) as i32,
                    7,
                    [240, 150, 20],
                );
            }
            c.disc(cx, cy, 9, [100, 60, 20]);
            c.rect(x, y + 100, sw, 40, [30, 90, 160]);
            let scale = 2;
            let tw = Canvas::text_width(scene.text, scale).min(sw - 6);
            c.text(
                x + (sw - tw) / 2,
                y + 113,
                scene.text,
                scale,
                [255, 255, 255],
            );
        }
    }
    c.grain(u32::from(scene.variant) + scene.colour[0] as u32 * 7 + scene.text.len() as u32);
    c.0
}

/// Fictional camera facts written into a demo scene's EXIF.
#[derive(Debug, Clone)]
pub struct DemoExif {
    pub make: &'static str,
    pub model: &'static str,
    pub serial: &'static str,
    pub taken_at: OffsetDateTime,
    /// Latitude and longitude in degrees.
    pub gps: Option<(f64, f64)>,
}

fn dms(v: f64) -> Vec<Rational> {
    let v = v.abs();
    let d = v.trunc();
    let m = ((v - d) * 60.0).trunc();
    let s = ((v - d) * 60.0 - m) * 60.0;
    vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: (s * 1000.0).round() as u32,
            denom: 1000,
        },
    ]
}

fn ascii(text: &str) -> Value {
    Value::Ascii(vec![text.as_bytes().to_vec()])
}

/// The TIFF/EXIF block of the facts.
pub fn exif_block(facts: &DemoExif) -> Result<Vec<u8>, exif::Error> {
    let t = facts.taken_at;
    let when = format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let mut fields = vec![
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: ascii(facts.make),
        },
        Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: ascii(facts.model),
        },
        Field {
            tag: Tag::Software,
            ifd_num: In::PRIMARY,
            value: ascii("Safeguard demo scene"),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(&when),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: ascii(facts.serial),
        },
    ];
    if let Some((lat, lon)) = facts.gps {
        fields.extend([
            Field {
                tag: Tag::GPSLatitudeRef,
                ifd_num: In::PRIMARY,
                value: ascii(if lat < 0.0 { "S" } else { "N" }),
            },
            Field {
                tag: Tag::GPSLatitude,
                ifd_num: In::PRIMARY,
                value: Value::Rational(dms(lat)),
            },
            Field {
                tag: Tag::GPSLongitudeRef,
                ifd_num: In::PRIMARY,
                value: ascii(if lon < 0.0 { "W" } else { "E" }),
            },
            Field {
                tag: Tag::GPSLongitude,
                ifd_num: In::PRIMARY,
                value: Value::Rational(dms(lon)),
            },
        ]);
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false)?;
    Ok(out.into_inner())
}

/// Why a scene could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("EXIF: {0}")]
    Exif(#[from] exif::Error),
    #[error("JPEG: {0}")]
    Jpeg(#[from] image::ImageError),
    #[error("the EXIF block is too large for a JPEG segment")]
    TooLarge,
}

/// The scene as a JPEG with its EXIF (an APP1 segment right after the start-of-image marker).
pub fn scene_jpeg(scene: &Scene, facts: &DemoExif) -> Result<Vec<u8>, SceneError> {
    let img = render(scene);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 88).encode_image(&img)?;
    let tiff = exif_block(facts)?;
    let len = u16::try_from(tiff.len() + 8).map_err(|_| SceneError::TooLarge)?;
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::victim::media::{crop, extract_metadata};
    use safeguard_domain::victim::Region;
    use time::macros::datetime;

    fn facts() -> DemoExif {
        DemoExif {
            make: "DemoCam",
            model: "Fictional X1",
            serial: "DEMO-0001",
            taken_at: datetime!(2024-05-01 10:30:05 UTC),
            gps: Some((-33.8688, 151.2093)),
        }
    }

    #[test]
    fn scenes_carry_exif_that_reads_back() {
        let scene = Scene {
            kind: SceneKind::RoomWithSign,
            text: "BAKKERIJ ZON",
            colour: [200, 40, 60],
            variant: 2,
        };
        let jpeg = scene_jpeg(&scene, &facts()).expect("jpeg");
        let meta = extract_metadata(&jpeg);
        assert_eq!(meta.error, None);
        assert_eq!(meta.camera_make.as_deref(), Some("DemoCam"));
        assert_eq!(meta.camera_model.as_deref(), Some("Fictional X1"));
        assert_eq!(meta.camera_serial.as_deref(), Some("DEMO-0001"));
        assert_eq!(meta.captured_at, Some(facts().taken_at));
        let (lat, lon) = meta.gps.expect("gps");
        assert!(
            (lat + 33.8688).abs() < 1e-4 && (lon - 151.2093).abs() < 1e-4,
            "{lat} {lon}"
        );
        assert_eq!((meta.width, meta.height), (Some(640), Some(480)));
        assert!(meta.pdq.is_some());
    }

    #[test]
    fn the_crop_holds_the_sign_and_no_metadata() {
        for kind in [
            SceneKind::RoomWithSign,
            SceneKind::ShopBag,
            SceneKind::Landscape,
        ] {
            let scene = Scene {
                kind,
                text: "SUNMART",
                colour: [30, 120, 60],
                variant: 5,
            };
            let jpeg = scene_jpeg(&scene, &facts()).expect("jpeg");
            let (x, y, w, h) = scene.clue_region();
            let cut = crop(&jpeg, Region::new(x, y, w, h).expect("region")).expect("crop");
            let (pw, ph) = (w * 640 / 10_000, h * 480 / 10_000);
            assert!(cut.width.abs_diff(pw) <= 1 && cut.height.abs_diff(ph) <= 1);
            // Pixels only: no EXIF, no text chunk survives the re-encoding.
            let meta = extract_metadata(&cut.png);
            assert_eq!(meta.camera_make, None);
            assert_eq!(meta.gps, None);
            assert!(!cut
                .png
                .windows(4)
                .any(|w| w == b"eXIf" || w == b"tEXt" || w == b"iTXt"));
            assert!(!cut.png.windows(7).any(|w| w == b"DemoCam"));
        }
    }

    #[test]
    fn variants_of_a_scene_are_similar_and_kinds_differ() {
        let hash = |kind, variant| {
            let s = Scene {
                kind,
                text: "ZONNEBLOEM",
                colour: [90, 150, 220],
                variant,
            };
            let img = render(&s);
            safeguard_perceptual::hash_image(&img).hash
        };
        let a = hash(SceneKind::Landscape, 1);
        let b = hash(SceneKind::Landscape, 3);
        let c = hash(SceneKind::ShopBag, 1);
        let d = |x: &safeguard_perceptual::Pdq, y: &safeguard_perceptual::Pdq| {
            x.as_bytes()
                .iter()
                .zip(y.as_bytes())
                .map(|(p, q)| (p ^ q).count_ones())
                .sum::<u32>()
        };
        assert!(d(&a, &b) < d(&a, &c), "{} vs {}", d(&a, &b), d(&a, &c));
    }
}
