//! PDQ as Meta's reference C++ (`pdq/cpp/hashing/pdqhashing.cpp`) computes it, bit for bit.
//!
//! Every step uses IEEE binary32 arithmetic in the reference's evaluation order (Rust never
//! contracts `a*b+c` into a fused multiply-add, so the roundings are the same). What changes is
//! only the *order in which independent values are computed*: the reference's column-wise box
//! filter walks each column with a stride of a whole row, which thrashes the cache; here the
//! column pass runs over rows, keeping one running sum per column, so every column sees exactly
//! the same sequence of additions, subtractions and divisions as in the reference. The row pass
//! runs 8 interleaved rows in SIMD lanes, the passes are streamed through small buffers instead
//! of full-size planes, and the last two passes only keep what the 64×64 decimation reads. None
//! of this changes a bit (tested against a literal transcription of the reference).

use std::sync::OnceLock;

use crate::hash::Pdq;

/// Images with fewer rows or columns than this get the all-zero hash and quality 0, as in the
/// reference (`MIN_HASHABLE_DIM`).
pub const MIN_HASHABLE_DIM: usize = 5;

/// Side of the decimated luma square the DCT runs on.
const SIDE: usize = 64;
/// Number of DCT frequencies kept along each axis.
const FREQS: usize = 16;
/// Rows interleaved by the row-wise box filter: independent running sums for the CPU to overlap.
const ROW_BLOCK: usize = 8;

/// A PDQ hash with its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PdqResult {
    /// The 256-bit hash.
    pub hash: Pdq,
    /// The reference's quality metric, 0..=100: the sum of the luma gradients of the 64×64
    /// image. Meta's guidance is to distrust hashes of quality below 50 (flat, featureless images).
    pub quality: u8,
}

/// The eight symmetries of the square, named as in the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Dihedral {
    /// The image as given.
    Original,
    /// Rotated 90° counter-clockwise.
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 90° clockwise.
    Rotate270,
    /// Top and bottom swapped.
    FlipX,
    /// Left and right swapped (mirror image).
    FlipY,
    /// Transposed (upper-left and lower-right corners stay).
    FlipPlus1,
    /// Anti-transposed (upper-right and lower-left corners stay).
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference's output order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];
}

/// The hashes of the eight dihedral transforms of one image, with its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralHashes {
    /// Hashes in the order of [`Dihedral::ALL`].
    pub hashes: [Pdq; 8],
    /// Quality of the image (the same for every transform).
    pub quality: u8,
}

impl DihedralHashes {
    /// The hash of one transform.
    pub fn get(&self, which: Dihedral) -> Pdq {
        let index = Dihedral::ALL
            .iter()
            .position(|d| *d == which)
            .unwrap_or_default();
        self.hashes[index]
    }
}

/// A pixel buffer that does not fit its stated size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdqError {
    /// The buffer length is not `width × height × channels`.
    #[error(
        "pixel buffer of {got} values does not match {width}x{height} with {channels} channel(s)"
    )]
    BufferSize {
        /// Stated width.
        width: usize,
        /// Stated height.
        height: usize,
        /// Values per pixel expected.
        channels: usize,
        /// Values given.
        got: usize,
    },
}

/// Luma (BT.601 weights, f32) of 8-bit RGB pixels, exactly as `fillFloatLumaFromRGB`.
pub fn luma_from_rgb(
    width: usize,
    height: usize,
    rgb: &[u8],
    luma: &mut Vec<f32>,
) -> Result<(), PdqError> {
    check_len(width, height, 3, rgb.len())?;
    luma.clear();
    luma.extend(rgb.chunks_exact(3).map(luma_of));
    Ok(())
}

fn check_len(width: usize, height: usize, channels: usize, got: usize) -> Result<(), PdqError> {
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels));
    if expected == Some(got) {
        Ok(())
    } else {
        Err(PdqError::BufferSize {
            width,
            height,
            channels,
            got,
        })
    }
}

/// PDQ of an 8-bit RGB buffer (row-major, 3 bytes a pixel, no padding).
pub fn hash_rgb(width: usize, height: usize, rgb: &[u8]) -> Result<PdqResult, PdqError> {
    PdqHasher::new().hash_rgb(width, height, rgb)
}

/// PDQ of a luma buffer (row-major, one f32 a pixel).
pub fn hash_luma(width: usize, height: usize, luma: &[f32]) -> Result<PdqResult, PdqError> {
    PdqHasher::new().hash_luma(width, height, luma)
}

/// The eight dihedral hashes of an 8-bit RGB buffer, derived from one DCT.
pub fn dihedral_rgb(width: usize, height: usize, rgb: &[u8]) -> Result<DihedralHashes, PdqError> {
    PdqHasher::new().dihedral_rgb(width, height, rgb)
}

/// Where the luma rows come from: computed on the fly from RGB, or read from a luma plane.
#[derive(Clone, Copy)]
enum Source<'a> {
    Luma(&'a [f32]),
    Rgb(&'a [u8]),
}

impl Source<'_> {
    fn fill_row(&self, r: usize, cols: usize, out: &mut [f32]) {
        match self {
            Source::Luma(luma) => out.copy_from_slice(&luma[r * cols..(r + 1) * cols]),
            Source::Rgb(rgb) => {
                for (o, p) in out
                    .iter_mut()
                    .zip(rgb[r * cols * 3..(r + 1) * cols * 3].chunks_exact(3))
                {
                    *o = luma_of(p);
                }
            }
        }
    }
}

impl Source<'_> {
    /// Rows `first..first + ROW_BLOCK` interleaved: `out[j * ROW_BLOCK + k]` is column `j` of
    /// row `first + k`, so that the row filter can run the block's rows in SIMD lanes.
    fn fill_interleaved(&self, first: usize, cols: usize, out: &mut [f32]) {
        for k in 0..ROW_BLOCK {
            let r = first + k;
            let lanes = out.iter_mut().skip(k).step_by(ROW_BLOCK);
            match self {
                Source::Luma(luma) => {
                    for (o, v) in lanes.zip(&luma[r * cols..(r + 1) * cols]) {
                        *o = *v;
                    }
                }
                Source::Rgb(rgb) => {
                    for (o, p) in lanes.zip(rgb[r * cols * 3..(r + 1) * cols * 3].chunks_exact(3)) {
                        *o = luma_of(p);
                    }
                }
            }
        }
    }
}

/// ((cR*R) + (cG*G)) + (cB*B), each product rounded to f32, as `fillFloatLumaFromRGB`.
fn luma_of(p: &[u8]) -> f32 {
    0.299f32 * f32::from(p[0]) + 0.587f32 * f32::from(p[1]) + 0.114f32 * f32::from(p[2])
}

/// A PDQ hasher that keeps its working buffers between images (useful for video frames).
///
/// Memory is O(rows × 64 + window × columns) floats: the four blur passes are streamed, so no
/// full-size float plane is ever allocated.
#[derive(Debug, Default, Clone)]
pub struct PdqHasher {
    /// Pass-1 output rows still needed by pass 2 (a ring of `ring_rows` rows).
    ring: Vec<f32>,
    /// Luma rows waiting for pass 1, and pass 1's output for them.
    luma_block: Vec<f32>,
    pass1_block: Vec<f32>,
    /// Pass-2 output rows waiting for pass 3, and pass 3's full-width output for them.
    pass2_block: Vec<f32>,
    pass3_block: Vec<f32>,
    /// Pass-3 output at the 64 sampled columns (rows × 64), and pass 4's output.
    narrow: Vec<f32>,
    narrow_blurred: Vec<f32>,
    sums: Vec<f32>,
}

impl PdqHasher {
    /// A hasher with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// PDQ of an 8-bit RGB buffer (row-major, 3 bytes a pixel, no padding).
    pub fn hash_rgb(
        &mut self,
        width: usize,
        height: usize,
        rgb: &[u8],
    ) -> Result<PdqResult, PdqError> {
        check_len(width, height, 3, rgb.len())?;
        Ok(self.hash_source(width, height, Source::Rgb(rgb)))
    }

    /// PDQ of a luma buffer (row-major, one f32 a pixel).
    pub fn hash_luma(
        &mut self,
        width: usize,
        height: usize,
        luma: &[f32],
    ) -> Result<PdqResult, PdqError> {
        check_len(width, height, 1, luma.len())?;
        Ok(self.hash_source(width, height, Source::Luma(luma)))
    }

    fn hash_source(&mut self, width: usize, height: usize, source: Source<'_>) -> PdqResult {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqResult {
                hash: Pdq::default(),
                quality: 0,
            };
        }
        let square = if width == SIDE && height == SIDE {
            // The reference's plain hash copies a 64×64 input without blurring it.
            let mut square = [0f32; SIDE * SIDE];
            for (r, row) in square.chunks_exact_mut(SIDE).enumerate() {
                source.fill_row(r, SIDE, row);
            }
            square
        } else {
            self.downsample(width, height, source)
        };
        let quality = quality(&square);
        let dct = dct16(&square);
        PdqResult {
            hash: threshold(&dct),
            quality,
        }
    }

    /// The eight dihedral hashes of an 8-bit RGB buffer.
    pub fn dihedral_rgb(
        &mut self,
        width: usize,
        height: usize,
        rgb: &[u8],
    ) -> Result<DihedralHashes, PdqError> {
        check_len(width, height, 3, rgb.len())?;
        Ok(self.dihedral_source(width, height, Source::Rgb(rgb)))
    }

    /// The eight dihedral hashes of a luma buffer, as `pdqDihedralHash256esFromFloatLuma`: one
    /// DCT, each variant a sign/transpose pattern of its coefficients, thresholded at its own
    /// median. Unlike the plain hash, a 64×64 input is blurred (window 1) like any other size.
    pub fn dihedral_luma(
        &mut self,
        width: usize,
        height: usize,
        luma: &[f32],
    ) -> Result<DihedralHashes, PdqError> {
        check_len(width, height, 1, luma.len())?;
        Ok(self.dihedral_source(width, height, Source::Luma(luma)))
    }

    fn dihedral_source(
        &mut self,
        width: usize,
        height: usize,
        source: Source<'_>,
    ) -> DihedralHashes {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return DihedralHashes {
                hashes: [Pdq::default(); 8],
                quality: 0,
            };
        }
        let square = self.downsample(width, height, source);
        let quality = quality(&square);
        let dct = dct16(&square);
        let mut hashes = [Pdq::default(); 8];
        for (hash, which) in hashes.iter_mut().zip(Dihedral::ALL) {
            *hash = threshold(&transform_dct(&dct, which));
        }
        DihedralHashes { hashes, quality }
    }

    /// Two Jarosz passes (box along rows, then along columns, twice) and decimation to 64×64,
    /// streamed: luma rows are made and row-filtered (pass 1) in blocks just before the column
    /// filter (pass 2) needs them; each pass-2 row goes on to the second row filter (pass 3),
    /// which keeps only the 64 sampled columns; pass 4 filters those 64 columns.
    fn downsample(
        &mut self,
        width: usize,
        height: usize,
        source: Source<'_>,
    ) -> [f32; SIDE * SIDE] {
        let (rows, cols) = (height, width);
        let wr = jarosz_window(cols);
        let wc = jarosz_window(rows);
        let sample_rows: Vec<usize> = (0..SIDE).map(|o| sample_index(o, rows)).collect();
        let sample_cols: Vec<usize> = (0..SIDE).map(|o| sample_index(o, cols)).collect();

        // Pass 2 reads rows li..=ri with ri - li <= wc; pass 1 runs up to ROW_BLOCK rows ahead.
        let ring_rows = wc + ROW_BLOCK + 1;
        self.ring.resize(ring_rows * cols, 0.0);
        self.luma_block.resize(ROW_BLOCK * cols, 0.0);
        self.pass1_block.resize(ROW_BLOCK * cols, 0.0);
        self.pass2_block.resize(ROW_BLOCK * cols, 0.0);
        self.pass3_block.resize(ROW_BLOCK * cols, 0.0);
        self.narrow.resize(rows * SIDE, 0.0);
        self.sums.clear();
        self.sums.resize(cols, 0.0);

        let mut produced = 0usize;
        // Makes pass-1 output rows available in the ring up to and including row `r`.
        let mut ensure = |r: usize, ring: &mut [f32], luma: &mut [f32], out: &mut [f32]| {
            while produced <= r {
                let n = ROW_BLOCK.min(rows - produced);
                if n == ROW_BLOCK {
                    source.fill_interleaved(produced, cols, luma);
                    box_rows_interleaved(luma, out, cols, wr);
                    for k in 0..n {
                        let slot = (produced + k) % ring_rows;
                        let lanes = out.iter().skip(k).step_by(ROW_BLOCK);
                        for (dst, v) in ring[slot * cols..(slot + 1) * cols].iter_mut().zip(lanes) {
                            *dst = *v;
                        }
                    }
                } else {
                    for k in 0..n {
                        let span = k * cols..(k + 1) * cols;
                        source.fill_row(produced + k, cols, &mut luma[span.clone()]);
                        box_rows_block::<1>(&luma[span.clone()], &mut out[span.clone()], cols, wr);
                        let slot = (produced + k) % ring_rows;
                        ring[slot * cols..(slot + 1) * cols].copy_from_slice(&out[span]);
                    }
                }
                produced += n;
            }
        };
        // Runs pass 3 on the first `n` rows of the pass-2 block, whose first row is `first`.
        let flush = |first: usize,
                     n: usize,
                     block: &[f32],
                     inter: &mut [f32],
                     full: &mut [f32],
                     narrow: &mut [f32]| {
            if n == ROW_BLOCK {
                for (k, row) in block.chunks_exact(cols).enumerate() {
                    for (dst, v) in inter.iter_mut().skip(k).step_by(ROW_BLOCK).zip(row) {
                        *dst = *v;
                    }
                }
                box_rows_interleaved(inter, full, cols, wr);
                for k in 0..n {
                    let dst = &mut narrow[(first + k) * SIDE..(first + k + 1) * SIDE];
                    for (d, &j) in dst.iter_mut().zip(&sample_cols) {
                        *d = full[j * ROW_BLOCK + k];
                    }
                }
            } else {
                for k in 0..n {
                    let span = k * cols..(k + 1) * cols;
                    box_rows_block::<1>(&block[span.clone()], &mut full[span.clone()], cols, wr);
                    let full_row = &full[span];
                    let dst = &mut narrow[(first + k) * SIDE..(first + k + 1) * SIDE];
                    for (d, &j) in dst.iter_mut().zip(&sample_cols) {
                        *d = full_row[j];
                    }
                }
            }
        };

        // Pass 2: the reference's box1DFloat down every column, all columns at once.
        let ph = phases(rows, wc);
        let (mut cnt, mut ri, mut li, mut oi) = (0usize, 0usize, 0usize, 0usize);
        let sums = &mut self.sums;
        let ring = &mut self.ring;
        let row_of = |r: usize| {
            let slot = r % ring_rows;
            slot * cols..(slot + 1) * cols
        };
        for _ in 0..ph.fill {
            ensure(ri, ring, &mut self.luma_block, &mut self.pass1_block);
            for (s, x) in sums.iter_mut().zip(&ring[row_of(ri)]) {
                *s += *x;
            }
            cnt += 1;
            ri += 1;
        }
        let total = ph.grow + ph.slide + ph.shrink;
        for step in 0..total {
            let slot = oi % ROW_BLOCK;
            let dst = &mut self.pass2_block[slot * cols..(slot + 1) * cols];
            if step < ph.grow {
                ensure(ri, ring, &mut self.luma_block, &mut self.pass1_block);
                cnt += 1;
                let c = cnt as f32;
                for ((s, x), o) in sums.iter_mut().zip(&ring[row_of(ri)]).zip(dst) {
                    *s += *x;
                    *o = *s / c;
                }
                ri += 1;
            } else if step < ph.grow + ph.slide {
                ensure(ri, ring, &mut self.luma_block, &mut self.pass1_block);
                let c = cnt as f32;
                let (add, sub) = (&ring[row_of(ri)], &ring[row_of(li)]);
                for (((s, a), b), o) in sums.iter_mut().zip(add).zip(sub).zip(dst) {
                    *s += *a;
                    *s -= *b;
                    *o = *s / c;
                }
                ri += 1;
                li += 1;
            } else {
                cnt -= 1;
                let c = cnt as f32;
                for ((s, b), o) in sums.iter_mut().zip(&ring[row_of(li)]).zip(dst) {
                    *s -= *b;
                    *o = *s / c;
                }
                li += 1;
            }
            oi += 1;
            if oi % ROW_BLOCK == 0 || oi == rows {
                let n = (oi - 1) % ROW_BLOCK + 1;
                flush(
                    oi - n,
                    n,
                    &self.pass2_block[..n * cols],
                    &mut self.luma_block,
                    &mut self.pass3_block,
                    &mut self.narrow,
                );
            }
        }

        // Pass 4: columns of the 64 kept columns; then keep the 64 sampled rows.
        self.narrow_blurred.resize(rows * SIDE, 0.0);
        box_cols(
            &self.narrow,
            &mut self.narrow_blurred,
            rows,
            SIDE,
            wc,
            &mut self.sums,
        );
        let mut square = [0f32; SIDE * SIDE];
        for (out_row, &in_row) in square.chunks_exact_mut(SIDE).zip(&sample_rows) {
            out_row.copy_from_slice(&self.narrow_blurred[in_row * SIDE..(in_row + 1) * SIDE]);
        }
        square
    }
}

/// `computeJaroszFilterWindowSize(old, 64)` = ceil(old / 128).
fn jarosz_window(old: usize) -> usize {
    old.div_ceil(2 * SIDE)
}

/// Index of the input sample the reference keeps for output `out` of 64:
/// `(int)(((out + 0.5) * n) / 64)`, computed exactly in integers.
fn sample_index(out: usize, n: usize) -> usize {
    ((2 * out + 1) * n) / (2 * SIDE)
}

/// The four phases of the reference's running-sum box filter (`box1DFloat`) over `n` samples
/// with window `w`: fill without output, grow with output, slide, shrink.
#[derive(Debug, Clone, Copy)]
struct Phases {
    fill: usize,
    grow: usize,
    slide: usize,
    shrink: usize,
}

fn phases(n: usize, w: usize) -> Phases {
    let half = (w + 2) / 2;
    Phases {
        fill: half - 1,
        grow: w - half + 1,
        slide: n.saturating_sub(w),
        shrink: half - 1,
    }
}

/// The reference's `box1DFloat` on one contiguous line, operation for operation. Kept as the
/// obviously-correct model the fast versions are tested against.
#[cfg(test)]
fn box_1d(input: &[f32], out: &mut [f32], w: usize) {
    let ph = phases(input.len(), w);
    let (mut sum, mut cnt) = (0f32, 0usize);
    let (mut ri, mut li, mut oi) = (0, 0, 0);
    for _ in 0..ph.fill {
        sum += input[ri];
        cnt += 1;
        ri += 1;
    }
    for _ in 0..ph.grow {
        sum += input[ri];
        cnt += 1;
        out[oi] = sum / cnt as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..ph.slide {
        sum += input[ri];
        sum -= input[li];
        out[oi] = sum / cnt as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..ph.shrink {
        sum -= input[li];
        cnt -= 1;
        out[oi] = sum / cnt as f32;
        li += 1;
        oi += 1;
    }
}

/// `box1DFloat` along every row of `input` (rows of `cols` values), `N` rows at a time so that
/// `N` independent running sums are in flight.
fn box_rows_block<const N: usize>(input: &[f32], out: &mut [f32], cols: usize, w: usize) {
    let ph = phases(cols, w);
    let mut sum = [0f32; N];
    let mut cnt = 0usize;
    let (mut ri, mut li, mut oi) = (0, 0, 0);
    for _ in 0..ph.fill {
        for r in 0..N {
            sum[r] += input[r * cols + ri];
        }
        cnt += 1;
        ri += 1;
    }
    for _ in 0..ph.grow {
        cnt += 1;
        let c = cnt as f32;
        for r in 0..N {
            sum[r] += input[r * cols + ri];
            out[r * cols + oi] = sum[r] / c;
        }
        ri += 1;
        oi += 1;
    }
    let c = cnt as f32;
    for _ in 0..ph.slide {
        for r in 0..N {
            sum[r] += input[r * cols + ri];
            sum[r] -= input[r * cols + li];
            out[r * cols + oi] = sum[r] / c;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..ph.shrink {
        cnt -= 1;
        let c = cnt as f32;
        for r in 0..N {
            sum[r] -= input[r * cols + li];
            out[r * cols + oi] = sum[r] / c;
        }
        li += 1;
        oi += 1;
    }
}

/// `box1DFloat` along the `ROW_BLOCK` rows of an interleaved block (`x[j * ROW_BLOCK + r]` is
/// column `j` of row `r`): each lane runs the reference's sequence for its row, and the lanes
/// map onto SIMD registers.
fn box_rows_interleaved(input: &[f32], out: &mut [f32], cols: usize, w: usize) {
    const L: usize = ROW_BLOCK;
    let lane = |x: &[f32], i: usize| {
        let mut a = [0f32; L];
        a.copy_from_slice(&x[i * L..(i + 1) * L]);
        a
    };
    let ph = phases(cols, w);
    let mut sum = [0f32; L];
    let (mut cnt, mut ri, mut li, mut oi) = (0usize, 0usize, 0usize, 0usize);
    for _ in 0..ph.fill {
        let a = lane(input, ri);
        for r in 0..L {
            sum[r] += a[r];
        }
        cnt += 1;
        ri += 1;
    }
    for _ in 0..ph.grow {
        let a = lane(input, ri);
        cnt += 1;
        let c = cnt as f32;
        for (r, o) in out[oi * L..(oi + 1) * L].iter_mut().enumerate() {
            sum[r] += a[r];
            *o = sum[r] / c;
        }
        ri += 1;
        oi += 1;
    }
    let c = cnt as f32;
    for _ in 0..ph.slide {
        let (a, b) = (lane(input, ri), lane(input, li));
        for (r, o) in out[oi * L..(oi + 1) * L].iter_mut().enumerate() {
            sum[r] += a[r];
            sum[r] -= b[r];
            *o = sum[r] / c;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..ph.shrink {
        let b = lane(input, li);
        cnt -= 1;
        let c = cnt as f32;
        for (r, o) in out[oi * L..(oi + 1) * L].iter_mut().enumerate() {
            sum[r] -= b[r];
            *o = sum[r] / c;
        }
        li += 1;
        oi += 1;
    }
}

/// Box filter along every row, full output (the model the streamed pass 1 is tested with).
#[cfg(test)]
fn box_rows(input: &[f32], out: &mut [f32], cols: usize, w: usize) {
    let block = ROW_BLOCK * cols;
    let mut in_blocks = input.chunks_exact(block);
    let mut out_blocks = out.chunks_exact_mut(block);
    for (i, o) in (&mut in_blocks).zip(&mut out_blocks) {
        box_rows_block::<ROW_BLOCK>(i, o, cols, w);
    }
    for (i, o) in in_blocks
        .remainder()
        .chunks_exact(cols)
        .zip(out_blocks.into_remainder().chunks_exact_mut(cols))
    {
        box_rows_block::<1>(i, o, cols, w);
    }
}

/// `box1DFloat` down every column, computed row by row: `sums[j]` is column `j`'s running sum
/// and goes through exactly the reference's sequence of operations.
fn box_cols(
    input: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    w: usize,
    sums: &mut Vec<f32>,
) {
    let ph = phases(rows, w);
    sums.clear();
    sums.resize(cols, 0.0);
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    let (mut cnt, mut ri, mut li, mut oi) = (0usize, 0, 0, 0);
    for _ in 0..ph.fill {
        for (s, x) in sums.iter_mut().zip(row(ri)) {
            *s += *x;
        }
        cnt += 1;
        ri += 1;
    }
    for _ in 0..ph.grow {
        cnt += 1;
        let c = cnt as f32;
        let dst = &mut out[oi * cols..(oi + 1) * cols];
        for ((s, x), o) in sums.iter_mut().zip(row(ri)).zip(dst) {
            *s += *x;
            *o = *s / c;
        }
        ri += 1;
        oi += 1;
    }
    let c = cnt as f32;
    for _ in 0..ph.slide {
        let dst = &mut out[oi * cols..(oi + 1) * cols];
        for (((s, add), sub), o) in sums.iter_mut().zip(row(ri)).zip(row(li)).zip(dst) {
            *s += *add;
            *s -= *sub;
            *o = *s / c;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..ph.shrink {
        cnt -= 1;
        let c = cnt as f32;
        let dst = &mut out[oi * cols..(oi + 1) * cols];
        for ((s, sub), o) in sums.iter_mut().zip(row(li)).zip(dst) {
            *s -= *sub;
            *o = *s / c;
        }
        li += 1;
        oi += 1;
    }
}

/// The reference's quality metric on the 64×64 buffer (integer truncation as in C++).
fn quality(a: &[f32; SIDE * SIDE]) -> u8 {
    let mut gradient_sum: i32 = 0;
    let grad = |u: f32, v: f32| ((((u - v) * 100f32) / 255f32) as i32).abs();
    for i in 0..SIDE - 1 {
        for j in 0..SIDE {
            gradient_sum += grad(a[i * SIDE + j], a[(i + 1) * SIDE + j]);
        }
    }
    for i in 0..SIDE {
        for j in 0..SIDE - 1 {
            gradient_sum += grad(a[i * SIDE + j], a[i * SIDE + j + 1]);
        }
    }
    let q = (gradient_sum / 90).clamp(0, 100);
    u8::try_from(q).unwrap_or(100)
}

/// The 16×64 DCT matrix without the DC row, built in f64 and stored in f32 as the reference does.
fn dct_matrix() -> &'static [f32; FREQS * SIDE] {
    static MATRIX: OnceLock<[f32; FREQS * SIDE]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [0f32; FREQS * SIDE];
        for i in 0..FREQS {
            for j in 0..SIDE {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                d[i * SIDE + j] = (f64::from(scale) * angle.cos()) as f32;
            }
        }
        d
    })
}

/// B = D · A · Dᵀ, f32 products and sums with k ascending from 0.0, as the reference.
fn dct16(a: &[f32; SIDE * SIDE]) -> [f32; FREQS * FREQS] {
    let d = dct_matrix();
    let mut t = [0f32; FREQS * SIDE];
    for i in 0..FREQS {
        let t_row = &mut t[i * SIDE..(i + 1) * SIDE];
        for k in 0..SIDE {
            let dik = d[i * SIDE + k];
            // Looping k outside j keeps each T[i][j]'s additions in k order; the j loop vectorises.
            for (tij, akj) in t_row.iter_mut().zip(&a[k * SIDE..(k + 1) * SIDE]) {
                *tij += dik * *akj;
            }
        }
    }
    let mut b = [0f32; FREQS * FREQS];
    for i in 0..FREQS {
        for j in 0..FREQS {
            let mut sum = 0f32;
            for k in 0..SIDE {
                sum += t[i * SIDE + k] * d[j * SIDE + k];
            }
            b[i * FREQS + j] = sum;
        }
    }
    b
}

/// Bit `16i + j` set iff `B[i][j]` is strictly above the lower median (the 128th smallest, as
/// Torben's method returns for 256 values).
fn threshold(b: &[f32; FREQS * FREQS]) -> Pdq {
    let mut sorted = *b;
    let (_, median, _) = sorted.select_nth_unstable_by(127, |x, y| x.total_cmp(y));
    let median = *median;
    let mut hash = Pdq::default();
    for (k, v) in b.iter().enumerate() {
        if *v > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// The DCT of a dihedral transform of the image, from the DCT of the image: a transform of the
/// pixels multiplies each coefficient by ±1 (odd basis functions change sign under a flip) and
/// possibly transposes the matrix.
fn transform_dct(b: &[f32; FREQS * FREQS], which: Dihedral) -> [f32; FREQS * FREQS] {
    let odd = |n: usize| n % 2 == 1;
    let sign = |negate: bool, v: f32| if negate { -v } else { v };
    let mut out = [0f32; FREQS * FREQS];
    for i in 0..FREQS {
        for j in 0..FREQS {
            let v = b[i * FREQS + j];
            let same = i * FREQS + j;
            let transposed = j * FREQS + i;
            match which {
                Dihedral::Original => out[same] = v,
                Dihedral::Rotate90 => out[transposed] = sign(!odd(j), v),
                Dihedral::Rotate180 => out[same] = sign(odd(i + j), v),
                Dihedral::Rotate270 => out[transposed] = sign(!odd(i), v),
                Dihedral::FlipX => out[same] = sign(!odd(i), v),
                Dihedral::FlipY => out[same] = sign(!odd(j), v),
                Dihedral::FlipPlus1 => out[transposed] = v,
                Dihedral::FlipMinus1 => out[transposed] = sign(odd(i + j), v),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator so the tests need no extra dependency.
    fn noise(seed: u64, n: usize) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 25600) as f32 / 100.0
            })
            .collect()
    }

    /// The reference's algorithm, literally: full buffers, a strided column pass.
    fn reference_downsample(rows: usize, cols: usize, luma: &[f32]) -> [f32; SIDE * SIDE] {
        let mut buf1 = luma.to_vec();
        let mut buf2 = vec![0f32; rows * cols];
        let (wr, wc) = (jarosz_window(cols), jarosz_window(rows));
        for _ in 0..2 {
            for r in 0..rows {
                box_1d(
                    &buf1[r * cols..(r + 1) * cols],
                    &mut buf2[r * cols..(r + 1) * cols],
                    wr,
                );
            }
            for c in 0..cols {
                let column: Vec<f32> = (0..rows).map(|r| buf2[r * cols + c]).collect();
                let mut filtered = vec![0f32; rows];
                box_1d(&column, &mut filtered, wc);
                for r in 0..rows {
                    buf1[r * cols + c] = filtered[r];
                }
            }
        }
        let mut out = [0f32; SIDE * SIDE];
        for oi in 0..SIDE {
            let ini = (((oi as f64 + 0.5) * rows as f64) / 64.0) as usize;
            for oj in 0..SIDE {
                let inj = (((oj as f64 + 0.5) * cols as f64) / 64.0) as usize;
                out[oi * SIDE + oj] = buf1[ini * cols + inj];
            }
        }
        out
    }

    #[test]
    fn window_sizes_match_the_reference_table() {
        for (old, w) in [
            (5, 1),
            (128, 1),
            (129, 2),
            (256, 2),
            (257, 3),
            (512, 4),
            (1004, 8),
            (1600, 13),
            (4032, 32),
        ] {
            assert_eq!(jarosz_window(old), w, "dimension {old}");
        }
    }

    #[test]
    fn sample_index_equals_the_double_formula() {
        for n in [5usize, 26, 28, 63, 64, 65, 127, 1004, 1600, 4032] {
            for o in 0..SIDE {
                let double = (((o as f64 + 0.5) * n as f64) / 64.0) as usize;
                assert_eq!(sample_index(o, n), double);
            }
        }
    }

    #[test]
    fn box_filter_centres_window_as_documented() {
        // With W = 3 each output averages in[i-1..=i+1], shrinking at the edges.
        let input = [1f32, 2.0, 3.0, 4.0, 5.0];
        let mut out = [0f32; 5];
        box_1d(&input, &mut out, 3);
        assert_eq!(out, [1.5, 2.0, 3.0, 4.0, 4.5]);
        // Even W = 2: one extra sample on the right.
        box_1d(&input, &mut out, 2);
        assert_eq!(out, [1.5, 2.5, 3.5, 4.5, 5.0]);
    }

    #[test]
    fn row_and_column_passes_equal_the_one_dimensional_filter() {
        for (rows, cols) in [(5, 7), (9, 300), (37, 129), (130, 41)] {
            let input = noise((rows * cols) as u64, rows * cols);
            // In use the window, ceil(n / 128), never exceeds the line length.
            for w in [1, 2, 3, 5, 8, 13, 40]
                .into_iter()
                .filter(|w| *w <= rows.min(cols))
            {
                let mut fast = vec![0f32; rows * cols];
                box_rows(&input, &mut fast, cols, w);
                for r in 0..rows {
                    let mut slow = vec![0f32; cols];
                    box_1d(&input[r * cols..(r + 1) * cols], &mut slow, w);
                    assert_eq!(&fast[r * cols..(r + 1) * cols], &slow[..], "rows w={w}");
                }
                let mut sums = Vec::new();
                box_cols(&input, &mut fast, rows, cols, w, &mut sums);
                for c in 0..cols {
                    let column: Vec<f32> = (0..rows).map(|r| input[r * cols + c]).collect();
                    let mut slow = vec![0f32; rows];
                    box_1d(&column, &mut slow, w);
                    let got: Vec<f32> = (0..rows).map(|r| fast[r * cols + c]).collect();
                    assert_eq!(got, slow, "cols w={w}");
                }
            }
        }
    }

    #[test]
    fn fast_downsample_is_bit_identical_to_the_literal_algorithm() {
        for (rows, cols) in [
            (5, 5),
            (28, 26),
            (64, 64),
            (100, 300),
            (257, 130),
            (600, 401),
        ] {
            let luma = noise(rows as u64 * 7 + cols as u64, rows * cols);
            let fast = PdqHasher::new().downsample(cols, rows, Source::Luma(&luma));
            let slow = reference_downsample(rows, cols, &luma);
            assert!(
                fast.iter()
                    .zip(slow.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{rows}x{cols}"
            );
        }
    }

    #[test]
    fn dct_matrix_follows_the_formula() {
        let d = dct_matrix();
        let scale = (2.0f64 / 64.0).sqrt();
        for i in 0..FREQS {
            for j in 0..SIDE {
                let expected = scale
                    * ((i + 1) as f64 * (2 * j + 1) as f64 * std::f64::consts::PI / 128.0).cos();
                assert!((f64::from(d[i * SIDE + j]) - expected).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn threshold_uses_the_lower_median() {
        // 0..256 shuffled: lower median 127, so exactly the values 128..=255 are set.
        let mut b = [0f32; 256];
        for (k, v) in b.iter_mut().enumerate() {
            *v = ((k * 97) % 256) as f32;
        }
        let h = threshold(&b);
        assert_eq!(h.count_ones(), 128);
        for (k, v) in b.iter().enumerate() {
            assert_eq!(h.bit(k), *v > 127.0);
        }
    }

    #[test]
    fn tiny_images_hash_to_zero() {
        let r = hash_rgb(4, 10, &[200u8; 4 * 10 * 3]).expect("sizes match");
        assert_eq!((r.hash, r.quality), (Pdq::default(), 0));
        assert!(matches!(
            hash_rgb(10, 10, &[0u8; 10]),
            Err(PdqError::BufferSize { .. })
        ));
        assert!(hash_rgb(usize::MAX, 3, &[]).is_err());
    }

    #[test]
    fn flat_images_have_quality_zero() {
        let r = hash_rgb(100, 80, &vec![128u8; 100 * 80 * 3]).expect("sizes match");
        assert_eq!(r.quality, 0);
    }
}
