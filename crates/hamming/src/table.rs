//! One substring table: every stored hash filed under the 16-bit key of one of its 32-bit
//! substrings, with the substring's other 16 bits (the residual) kept beside the row.
//!
//! Layout: one flat array per table, ordered by key and, inside a key's bucket, by residual
//! (a two-pass radix sort at build time). Each bucket is followed by a little spare room
//! (1/32 of its length + 2 slots) so inserts land in place, keeping the order, with no
//! allocation and no rebuild. A bucket whose spare room is used up takes further inserts in a
//! small per-key overflow [`Bucket`]; [`HammingIndex::compact`](crate::HammingIndex::compact)
//! rebuilds with fresh room when the caller chooses. Removal shifts the bucket's tail left.
//!
//! Because residuals are sorted, the dominant probe (a key three bits away, where only an
//! identical residual can still be within radius 3) is an interpolation lookup, not a scan.

use crate::bucket::{scan_residuals, Bucket};
use crate::Hash256;

/// Buckets per table: one per value of the 16-bit key.
pub(crate) const KEYS: usize = 1 << 16;

/// Buckets whose first cache line is requested together before any is searched, so their
/// memory latencies overlap instead of adding up.
const TOUCH_BATCH: usize = 32;

/// 16-bit residuals per 64-byte cache line.
const RESIDUALS_PER_LINE: usize = 32;

/// Spare slots left after a bucket of `len` entries at build time.
fn spare_room(len: u32) -> u32 {
    len / 32 + 2
}

/// Where `residual` should sit in a sorted bucket of `len` uniformly spread residuals
/// (interpolation). The touch pass loads this line, so the search below usually stays in it.
#[inline]
fn guess(len: usize, residual: u16) -> usize {
    (len * usize::from(residual)) >> 16
}

/// First index of sorted `residuals` holding a value ≥ `residual`, walking from `from`. On
/// uniform data the walk is a few steps inside one cache line (a binary search would touch
/// four lines one after another); on skewed data it degrades to a scan, never to a wrong answer.
#[inline]
fn lower_bound_from(residuals: &[u16], residual: u16, from: usize) -> usize {
    let mut i = from.min(residuals.len());
    if i < residuals.len() && residuals[i] < residual {
        while i < residuals.len() && residuals[i] < residual {
            i += 1;
        }
    } else {
        while i > 0 && residuals[i - 1] >= residual {
            i -= 1;
        }
    }
    i
}

#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Which substring (0..8) this table files hashes under.
    substring: usize,
    /// `bounds[key] = [start, end]`: bucket `key` holds `start..end`; its room runs to
    /// `bounds[key + 1][0]`. One extra element closes the last bucket.
    bounds: Vec<[u32; 2]>,
    residuals: Vec<u16>,
    rows: Vec<u32>,
    /// Entries that found their bucket full; empty until first needed, then one per key.
    overflow: Vec<Bucket>,
    /// Bit `key` is set when `overflow[key]` is non-empty, so queries skip empty ones without
    /// touching their headers (8 KiB, stays in cache).
    overflow_keys: Vec<u64>,
    overflow_len: usize,
    /// Entries in the flat part.
    flat_len: usize,
}

impl Table {
    /// Builds table `substring` over `(row, hash)` entries, with spare room when `room`.
    pub(crate) fn build<'a>(
        substring: usize,
        entries: impl Iterator<Item = (u32, &'a Hash256)>,
        room: bool,
    ) -> Self {
        let mut chunks = Vec::new();
        let mut chunk_rows = Vec::new();
        for (row, hash) in entries {
            chunks.push(hash.chunk(substring));
            chunk_rows.push(row);
        }
        let total = chunks.len();
        // Pass 1: order by residual (counting sort on the low 16 bits).
        let mut residual_starts = vec![0u32; KEYS + 1];
        let mut key_counts = vec![0u32; KEYS];
        for &chunk in &chunks {
            residual_starts[(chunk & 0xffff) as usize + 1] += 1;
            key_counts[(chunk >> 16) as usize] += 1;
        }
        for i in 0..KEYS {
            residual_starts[i + 1] += residual_starts[i];
        }
        let mut by_residual = vec![(0u32, 0u32); total];
        for (&chunk, &row) in chunks.iter().zip(&chunk_rows) {
            let slot = &mut residual_starts[(chunk & 0xffff) as usize];
            by_residual[*slot as usize] = (chunk, row);
            *slot += 1;
        }
        drop((chunks, chunk_rows));
        // Pass 2: stable placement by key, leaving room after each bucket.
        let mut bounds = Vec::with_capacity(KEYS + 1);
        let mut next = 0u32;
        for &count in &key_counts {
            bounds.push([next, next]);
            next += count + if room { spare_room(count) } else { 0 };
        }
        bounds.push([next, next]);
        let mut residuals = vec![0u16; next as usize];
        let mut rows = vec![0u32; next as usize];
        for (chunk, row) in by_residual {
            let end = &mut bounds[(chunk >> 16) as usize][1];
            residuals[*end as usize] = chunk as u16;
            rows[*end as usize] = row;
            *end += 1;
        }
        Self {
            substring,
            bounds,
            residuals,
            rows,
            overflow: Vec::new(),
            overflow_keys: vec![0; KEYS / 64],
            overflow_len: 0,
            flat_len: total,
        }
    }

    /// An empty table (no spare room: inserts go to overflow buckets until compaction).
    pub(crate) fn empty(substring: usize) -> Self {
        Self::build(substring, std::iter::empty(), false)
    }

    fn key_and_residual(&self, hash: &Hash256) -> (usize, u16) {
        let chunk = hash.chunk(self.substring);
        ((chunk >> 16) as usize, chunk as u16)
    }

    /// Files `hash` (stored at `row`) in this table.
    pub(crate) fn insert(&mut self, row: u32, hash: &Hash256) {
        let (key, residual) = self.key_and_residual(hash);
        let [start, end] = self.bounds[key];
        let (start, end) = (start as usize, end as usize);
        if end < self.bounds[key + 1][0] as usize {
            let at = start + self.residuals[start..end].partition_point(|&r| r <= residual);
            self.residuals.copy_within(at..end, at + 1);
            self.rows.copy_within(at..end, at + 1);
            self.residuals[at] = residual;
            self.rows[at] = row;
            self.bounds[key][1] += 1;
            self.flat_len += 1;
            return;
        }
        if self.overflow.is_empty() {
            self.overflow = vec![Bucket::default(); KEYS];
        }
        self.overflow[key].push(residual, row);
        self.overflow_keys[key / 64] |= 1 << (key % 64);
        self.overflow_len += 1;
    }

    /// Removes the entry of `row`, whose hash is `hash`.
    pub(crate) fn remove(&mut self, row: u32, hash: &Hash256) {
        let (key, _) = self.key_and_residual(hash);
        let [start, end] = self.bounds[key];
        let (start, end) = (start as usize, end as usize);
        if let Some(i) = self.rows[start..end].iter().position(|&r| r == row) {
            self.residuals.copy_within(start + i + 1..end, start + i);
            self.rows.copy_within(start + i + 1..end, start + i);
            self.bounds[key][1] -= 1;
            self.flat_len -= 1;
            return;
        }
        if let Some(bucket) = self.overflow.get_mut(key) {
            if bucket.remove_row(row) {
                self.overflow_len -= 1;
            }
            if bucket.len() == 0 {
                self.overflow_keys[key / 64] &= !(1 << (key % 64));
            }
        }
    }

    /// Calls `hit(row)` for every entry whose key differs from the query's by one of `masks`
    /// and whose residual differs by at most `within` bits.
    pub(crate) fn probe(
        &self,
        query: &Hash256,
        masks: &[u16],
        within: u32,
        hit: &mut impl FnMut(u32),
    ) {
        let (key, residual) = self.key_and_residual(query);
        for batch in masks.chunks(TOUCH_BATCH) {
            // Touch the first line each bucket search will read (the middle for a binary
            // search). The loads are independent, so the processor keeps many in flight: a
            // safe stand-in for prefetch instructions.
            let mut touched = 0u16;
            for &mask in batch {
                let [start, end] = self.bounds[key ^ usize::from(mask)];
                let (start, end) = (start as usize, end as usize);
                if within == 0 {
                    touched ^= self
                        .residuals
                        .get(start + guess(end - start, residual))
                        .copied()
                        .unwrap_or(0);
                } else {
                    // A scan reads the whole bucket: request each of its cache lines.
                    for at in (start..end).step_by(RESIDUALS_PER_LINE) {
                        touched ^= self.residuals[at];
                    }
                }
            }
            std::hint::black_box(touched);
            for &mask in batch {
                let bucket_key = key ^ usize::from(mask);
                let [start, end] = self.bounds[bucket_key];
                let residuals = &self.residuals[start as usize..end as usize];
                let rows = &self.rows[start as usize..end as usize];
                if within == 0 {
                    let first =
                        lower_bound_from(residuals, residual, guess(residuals.len(), residual));
                    for (i, _) in residuals[first..]
                        .iter()
                        .enumerate()
                        .take_while(|(_, &r)| r == residual)
                    {
                        hit(rows[first + i]);
                    }
                } else {
                    scan_residuals(residuals, residual, within, &mut |i| hit(rows[i]));
                }
                if self.overflow_keys[bucket_key / 64] & (1 << (bucket_key % 64)) != 0 {
                    self.overflow[bucket_key].scan(residual, within, hit);
                }
            }
        }
    }

    /// Entries per bucket on average (for the cost model).
    pub(crate) fn mean_bucket_len(&self) -> usize {
        (self.flat_len + self.overflow_len) / KEYS
    }

    /// Entries that did not fit their bucket's spare room.
    pub(crate) fn overflow_len(&self) -> usize {
        self.overflow_len
    }

    /// Heap bytes and number of separate heap allocations.
    pub(crate) fn heap(&self) -> (usize, usize) {
        let overflow: usize = self.overflow.iter().map(Bucket::heap_bytes).sum();
        let allocations = 4 + self.overflow.iter().filter(|b| b.heap_bytes() > 0).count();
        (
            self.bounds.capacity() * 8
                + self.residuals.capacity() * 2
                + self.rows.capacity() * 4
                + self.overflow.capacity() * std::mem::size_of::<Bucket>()
                + overflow
                + self.overflow_keys.capacity() * 8,
            allocations,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_bound_from_any_start() {
        let residuals = [3u16, 3, 7, 9, 9, 9, 200, 65535];
        for from in 0..=residuals.len() + 2 {
            for probe in [0u16, 3, 4, 9, 10, 200, 65535] {
                let expected = residuals.partition_point(|&r| r < probe);
                assert_eq!(lower_bound_from(&residuals, probe, from), expected);
            }
        }
        assert_eq!(lower_bound_from(&[], 5, 0), 0);
        assert_eq!(guess(0, 65535), 0);
        assert!(guess(10, 65535) < 10);
    }
}
