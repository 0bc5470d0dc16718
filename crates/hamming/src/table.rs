//! One substring table: every stored hash filed under the 16-bit key of one of its 32-bit
//! substrings, with the substring's other 16 bits (the residual) kept beside the row.
//!
//! The bulk of a table is a flat, bucket-ordered array built by counting sort (no per-bucket
//! allocation or header, so a bucket visit is one memory access into `residuals`). Entries
//! inserted later go to small per-key [`Bucket`]s, so an insert never rebuilds anything;
//! [`Table::build`] (used by `HammingIndex::compact`) folds them back in when the caller wants.

use crate::bucket::Bucket;
use crate::Hash256;

/// Buckets per table: one per value of the 16-bit key.
pub(crate) const KEYS: usize = 1 << 16;

/// Row value of an entry whose hash was removed from the flat part.
pub(crate) const TOMBSTONE: u32 = u32::MAX;

/// Buckets whose first cache lines are requested together before any is scanned, so their
/// memory latencies overlap instead of adding up.
const TOUCH_BATCH: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Which substring (0..8) this table files hashes under.
    substring: usize,
    /// Bucket `key` of the flat part is `starts[key]..starts[key + 1]`.
    starts: Vec<u32>,
    residuals: Vec<u16>,
    rows: Vec<u32>,
    /// Entries inserted after the build; empty until the first insert, then one per key.
    inserted: Vec<Bucket>,
    /// Bit `key` is set when `inserted[key]` is non-empty, so queries skip empty ones without
    /// touching their headers (8 KiB, stays in cache).
    inserted_keys: Vec<u64>,
    /// Tombstones in the flat part.
    tombstones: usize,
}

impl Table {
    /// Builds the flat part of table `substring` over `(row, hash)` entries (called twice:
    /// a counting pass and a placing pass).
    pub(crate) fn build<'a, I>(substring: usize, entries: impl Fn() -> I) -> Self
    where
        I: Iterator<Item = (u32, &'a Hash256)>,
    {
        let mut starts = vec![0u32; KEYS + 1];
        for (_, hash) in entries() {
            starts[(hash.chunk(substring) >> 16) as usize + 1] += 1;
        }
        for key in 0..KEYS {
            starts[key + 1] += starts[key];
        }
        let total = starts[KEYS] as usize;
        let mut next = starts.clone();
        let mut residuals = vec![0u16; total];
        let mut rows = vec![0u32; total];
        for (row, hash) in entries() {
            let chunk = hash.chunk(substring);
            let slot = &mut next[(chunk >> 16) as usize];
            residuals[*slot as usize] = chunk as u16;
            rows[*slot as usize] = row;
            *slot += 1;
        }
        Self {
            substring,
            starts,
            residuals,
            rows,
            inserted: Vec::new(),
            inserted_keys: vec![0; KEYS / 64],
            tombstones: 0,
        }
    }

    /// An empty table.
    pub(crate) fn empty(substring: usize) -> Self {
        Self::build(substring, std::iter::empty)
    }

    fn key_and_residual(&self, hash: &Hash256) -> (usize, u16) {
        let chunk = hash.chunk(self.substring);
        ((chunk >> 16) as usize, chunk as u16)
    }

    /// Files `hash` (stored at `row`) in this table.
    pub(crate) fn insert(&mut self, row: u32, hash: &Hash256) {
        let (key, residual) = self.key_and_residual(hash);
        if self.inserted.is_empty() {
            self.inserted = vec![Bucket::default(); KEYS];
        }
        self.inserted[key].push(residual, row);
        self.inserted_keys[key / 64] |= 1 << (key % 64);
    }

    /// Removes the entry of `row`, whose hash is `hash`.
    pub(crate) fn remove(&mut self, row: u32, hash: &Hash256) {
        let (key, _) = self.key_and_residual(hash);
        let range = self.starts[key] as usize..self.starts[key + 1] as usize;
        if let Some(slot) = self.rows[range.clone()].iter().position(|&r| r == row) {
            self.rows[range.start + slot] = TOMBSTONE;
            self.tombstones += 1;
            return;
        }
        if let Some(bucket) = self.inserted.get_mut(key) {
            bucket.remove_row(row);
            if bucket.len() == 0 {
                self.inserted_keys[key / 64] &= !(1 << (key % 64));
            }
        }
    }

    /// Calls `hit(row)` (row may be [`TOMBSTONE`]) for every entry whose key differs from the
    /// query's by one of `masks` and whose residual differs by at most `within` bits.
    pub(crate) fn probe(
        &self,
        query: &Hash256,
        masks: &[u16],
        within: u32,
        hit: &mut impl FnMut(u32),
    ) {
        let (key, residual) = self.key_and_residual(query);
        for batch in masks.chunks(TOUCH_BATCH) {
            // Touch the start of every bucket of the batch; the loads are independent, so the
            // processor keeps many of them in flight (a safe stand-in for prefetching).
            let mut touched = 0u16;
            for &mask in batch {
                let start = self.starts[key ^ usize::from(mask)] as usize;
                touched ^= self.residuals.get(start).copied().unwrap_or(0);
            }
            std::hint::black_box(touched);
            for &mask in batch {
                let bucket_key = key ^ usize::from(mask);
                let start = self.starts[bucket_key] as usize;
                let end = self.starts[bucket_key + 1] as usize;
                let rows = &self.rows[start..end];
                crate::bucket::scan_residuals(
                    &self.residuals[start..end],
                    residual,
                    within,
                    &mut |i| hit(rows[i]),
                );
                if self.inserted_keys[bucket_key / 64] & (1 << (bucket_key % 64)) != 0 {
                    self.inserted[bucket_key].scan(residual, within, hit);
                }
            }
        }
    }

    /// Average entries per bucket (for the cost model).
    pub(crate) fn mean_bucket_len(&self) -> usize {
        (self.residuals.len() - self.tombstones) / KEYS
            + self.inserted.iter().map(Bucket::len).sum::<usize>() / KEYS
    }

    /// Heap bytes and number of separate heap allocations.
    pub(crate) fn heap(&self) -> (usize, usize) {
        let inserted: usize = self.inserted.iter().map(Bucket::heap_bytes).sum();
        let allocations = 3 + self.inserted.iter().filter(|b| b.heap_bytes() > 0).count();
        (
            self.starts.capacity() * 4
                + self.residuals.capacity() * 2
                + self.rows.capacity() * 4
                + self.inserted.capacity() * std::mem::size_of::<Bucket>()
                + inserted
                + self.inserted_keys.capacity() * 8,
            allocations,
        )
    }
}
