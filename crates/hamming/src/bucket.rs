//! A growable bucket: the entries inserted into one key of a substring table after it was
//! built, and the residual scan shared with the table's flat part.
//!
//! Each entry is the other 16 bits of its 32-bit substring (the *residual*, used to filter
//! before touching the full hash) and the row of the hash in the index's arrays. Both live in
//! one `Vec<u16>` laid out as `[residual; n][row low, row high; n]`: the residuals a query
//! scans are contiguous, and a bucket costs a single heap allocation and a 24-byte header.

/// Residuals and rows of the entries sharing one 16-bit key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    data: Vec<u16>,
}

/// Entries examined per step of the scan; a whole group is tested with vector instructions
/// before any single entry is looked at, since almost every group has no match.
const GROUP: usize = 16;

impl Bucket {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.data.len() / 3
    }

    /// Heap bytes reserved by this bucket.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.data.capacity() * std::mem::size_of::<u16>()
    }

    fn row(&self, n: usize, i: usize) -> u32 {
        u32::from(self.data[n + 2 * i]) | (u32::from(self.data[n + 2 * i + 1]) << 16)
    }

    /// Adds an entry. Growth is geometric but by an eighth, so an incrementally grown bucket
    /// wastes at most 12.5 % while insertion stays amortised O(bucket length).
    pub(crate) fn push(&mut self, residual: u16, row: u32) {
        let n = self.len();
        if self.data.len() + 3 > self.data.capacity() {
            self.data.reserve_exact(3 * (n / 8 + 1));
        }
        self.data.insert(n, residual);
        self.data.push(row as u16);
        self.data.push((row >> 16) as u16);
    }

    /// Removes the entry for `row`, if present (order is not kept).
    pub(crate) fn remove_row(&mut self, row: u32) -> bool {
        let n = self.len();
        let Some(i) = (0..n).find(|&i| self.row(n, i) == row) else {
            return false;
        };
        let last = n - 1;
        self.data[i] = self.data[last];
        self.data[n + 2 * i] = self.data[n + 2 * last];
        self.data[n + 2 * i + 1] = self.data[n + 2 * last + 1];
        // Drop the last residual (shifting the rows down by one), then the last row pair.
        self.data.remove(last);
        self.data.truncate(3 * last);
        if self.data.capacity() > 2 * self.data.len() + 48 {
            self.data.shrink_to_fit();
        }
        true
    }

    /// Calls `hit(row)` for every entry whose residual differs from `residual` in at most
    /// `within` bits.
    #[inline]
    pub(crate) fn scan(&self, residual: u16, within: u32, hit: &mut impl FnMut(u32)) {
        let n = self.len();
        scan_residuals(&self.data[..n], residual, within, &mut |i| {
            hit(self.row(n, i))
        });
    }
}

/// Calls `on_index(i)` for every `residuals[i]` within `within` bits of `residual`.
#[inline]
pub(crate) fn scan_residuals(
    residuals: &[u16],
    residual: u16,
    within: u32,
    on_index: &mut impl FnMut(usize),
) {
    // Small thresholds avoid popcount (not in the x86-64 baseline): clearing the lowest set
    // bit `t` times leaves zero exactly when at most `t` bits were set.
    match within {
        0 => scan_with(residuals, |r| r == residual, on_index),
        1 => scan_with(
            residuals,
            |r| {
                let x = r ^ residual;
                x & x.wrapping_sub(1) == 0
            },
            on_index,
        ),
        2 => scan_with(
            residuals,
            |r| {
                let x = r ^ residual;
                let x = x & x.wrapping_sub(1);
                x & x.wrapping_sub(1) == 0
            },
            on_index,
        ),
        3 => scan_with(
            residuals,
            |r| {
                let x = r ^ residual;
                let x = x & x.wrapping_sub(1);
                let x = x & x.wrapping_sub(1);
                x & x.wrapping_sub(1) == 0
            },
            on_index,
        ),
        t if t >= 16 => (0..residuals.len()).for_each(on_index),
        t => scan_with(residuals, |r| (r ^ residual).count_ones() <= t, on_index),
    }
}

#[inline(always)]
fn scan_with(residuals: &[u16], pred: impl Fn(u16) -> bool, on_index: &mut impl FnMut(usize)) {
    let mut groups = residuals.chunks_exact(GROUP);
    let mut base = 0;
    for group in &mut groups {
        // `fold` without early exit lets the compiler test the group with SIMD lanes.
        if group.iter().fold(false, |any, &r| any | pred(r)) {
            for (i, &r) in group.iter().enumerate() {
                if pred(r) {
                    on_index(base + i);
                }
            }
        }
        base += GROUP;
    }
    for (i, &r) in groups.remainder().iter().enumerate() {
        if pred(r) {
            on_index(base + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_within(bucket: &Bucket, residual: u16, within: u32) -> Vec<u32> {
        let mut rows = Vec::new();
        bucket.scan(residual, within, &mut |row| rows.push(row));
        rows.sort_unstable();
        rows
    }

    #[test]
    fn push_scan_remove() {
        let mut bucket = Bucket::default();
        // 40 entries so both the grouped path and the remainder path are used.
        for row in 0..40u32 {
            bucket.push((row as u16) << 3, row * 100_003);
        }
        assert_eq!(bucket.len(), 40);
        assert_eq!(rows_within(&bucket, 5 << 3, 0), vec![500_015]);
        // 5 = 0b101; within 1 bit among 0..40: 1, 4, 7, 13, 21, 37 and itself.
        let expected: Vec<u32> = [1, 4, 5, 7, 13, 21, 37]
            .iter()
            .map(|r| r * 100_003)
            .collect();
        assert_eq!(rows_within(&bucket, 5 << 3, 1), expected);
        for within in 0..=16 {
            let expected: Vec<u32> = (0..40u32)
                .filter(|row| (((*row as u16) << 3) ^ (9 << 3)).count_ones() <= within)
                .map(|row| row * 100_003)
                .collect();
            assert_eq!(rows_within(&bucket, 9 << 3, within), expected, "{within}");
        }
        assert!(bucket.remove_row(500_015));
        assert!(!bucket.remove_row(500_015));
        assert_eq!(bucket.len(), 39);
        assert!(rows_within(&bucket, 5 << 3, 0).is_empty());
        assert_eq!(rows_within(&bucket, 39 << 3, 0), vec![39 * 100_003]);
        for row in 0..40u32 {
            bucket.remove_row(row * 100_003);
        }
        assert_eq!(bucket.len(), 0);
        assert!(rows_within(&bucket, 0, 16).is_empty());
    }

    #[test]
    fn rows_above_u16_survive_layout() {
        let mut bucket = Bucket::default();
        bucket.push(1, u32::MAX);
        bucket.push(2, 65_536);
        assert_eq!(rows_within(&bucket, 1, 0), vec![u32::MAX]);
        assert_eq!(rows_within(&bucket, 2, 0), vec![65_536]);
    }
}
