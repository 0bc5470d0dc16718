//! The multi-index hashing table set: exact radius and nearest-neighbour queries.

use std::collections::HashSet;

use crate::matches::{best_k, best_per_id};
use crate::probe::{substring_radii, MasksByWeight, SUBSTRINGS};
use crate::table::Table;
use crate::{HammingError, Hash256, Match};

/// Most rows an index can address (rows are `u32` in the tables).
const MAX_ROWS: usize = u32::MAX as usize;

/// How a radius search finds its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Probe the tables unless the estimated cost exceeds a linear scan (the default).
    #[default]
    Auto,
    /// Always probe the substring tables.
    Probe,
    /// Always scan every stored hash.
    Scan,
}

/// Search radius used by callers that have no better idea (the PDQ match threshold).
pub const DEFAULT_MAX_DISTANCE: u32 = 31;

// Cost model, in units of one residual comparison (~1 ns): measured at 10 M hashes on the
// 2-core benchmark machine (docs/benchmarks.md), a bucket visit costs ~60 ns (a cache miss,
// overlapped with others) and a linear scan ~2.2 ns per stored hash.
/// Cost of reaching a bucket at a random place in memory.
const BUCKET_VISIT_COST: usize = 60;
/// Cost of comparing one stored hash during a linear scan.
const SCAN_ROW_COST: usize = 2;

/// An exact Hamming-distance index over 256-bit hashes (multi-index hashing, 8 tables).
///
/// Every hash is cut into 8 substrings of 32 bits. Table `j` files each hash under the high
/// 16 bits of its substring `j` and keeps the low 16 bits (the residual) next to the row, so a
/// query rejects almost every entry without reading the full hash. See `docs/hamming-index.md`
/// for the correctness argument.
///
/// Queries take `&self` and the type is `Send + Sync`: a server shares it behind an
/// `RwLock` (or an `Arc` when it never changes). Inserts and removals take `&mut self`.
///
/// An id may hold several hashes (e.g. the frames of a video or several crops); queries report
/// each id once with its smallest distance.
#[derive(Debug, Clone)]
pub struct HammingIndex {
    /// Hash of each row (removed rows keep a stale value until reused).
    hashes: Vec<Hash256>,
    /// Caller id of each row.
    ids: Vec<u64>,
    /// Bit `row` is set when the row holds a live entry.
    live: Vec<u64>,
    /// Rows freed by removals, reused by inserts.
    free: Vec<u32>,
    /// Number of live entries.
    len: usize,
    /// One table per substring.
    tables: Vec<Table>,
}

/// Heap bytes held by an index, by purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Live entries.
    pub entries: usize,
    /// The stored hashes (32 bytes per row, including spare capacity).
    pub hashes: usize,
    /// The ids (8 bytes per row) and the live-row bitmap and free list.
    pub ids_and_bookkeeping: usize,
    /// The substring tables (6 bytes per entry per table, plus bucket starts).
    pub tables: usize,
    /// Estimated allocator overhead: 16 bytes per heap allocation.
    pub allocator_estimate: usize,
}

impl MemoryUsage {
    /// Total bytes.
    pub fn total(&self) -> usize {
        self.hashes + self.ids_and_bookkeeping + self.tables + self.allocator_estimate
    }

    /// Total bytes divided by the live entries (0 when empty).
    pub fn bytes_per_hash(&self) -> f64 {
        if self.entries == 0 {
            0.0
        } else {
            self.total() as f64 / self.entries as f64
        }
    }
}

impl Default for HammingIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl HammingIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            hashes: Vec::new(),
            ids: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            len: 0,
            tables: (0..SUBSTRINGS).map(Table::empty).collect(),
        }
    }

    /// Builds an index over these entries in one pass per table (a counting sort), each
    /// bucket sized exactly. Much faster than inserting one by one; tables are built on all
    /// available cores.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (u64, Hash256)>,
    ) -> Result<Self, HammingError> {
        let (ids, hashes): (Vec<u64>, Vec<Hash256>) = entries.into_iter().unzip();
        if hashes.len() > MAX_ROWS {
            return Err(HammingError::Capacity {
                max: MAX_ROWS as u64,
            });
        }
        let len = hashes.len();
        let mut live = vec![u64::MAX; len.div_ceil(64)];
        if len % 64 != 0 {
            if let Some(last) = live.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        let tables = build_tables(&hashes, |_| true);
        Ok(Self {
            hashes,
            ids,
            live,
            free: Vec::new(),
            len,
            tables,
        })
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `hash` under `id`. O(8 × bucket length); never rebuilds.
    pub fn insert(&mut self, id: u64, hash: Hash256) -> Result<(), HammingError> {
        let row = match self.free.pop() {
            Some(row) => {
                self.hashes[row as usize] = hash;
                self.ids[row as usize] = id;
                row
            }
            None => {
                let row = u32::try_from(self.hashes.len()).map_err(|_| HammingError::Capacity {
                    max: MAX_ROWS as u64,
                })?;
                // Grow by an eighth rather than doubling: at 10 M hashes doubling would reserve
                // 400 MB that may never be used.
                if self.hashes.len() == self.hashes.capacity() {
                    let more = (self.hashes.len() / 8).max(1024);
                    self.hashes.reserve_exact(more);
                    self.ids.reserve_exact(more);
                }
                self.hashes.push(hash);
                self.ids.push(id);
                if self.live.len() * 64 <= row as usize {
                    self.live.push(0);
                }
                row
            }
        };
        self.live[row as usize / 64] |= 1 << (row % 64);
        self.len += 1;
        for table in &mut self.tables {
            table.insert(row, &hash);
        }
        Ok(())
    }

    /// Inserts several entries (one by one; use [`HammingIndex::from_entries`] for a fresh
    /// index).
    pub fn insert_many(
        &mut self,
        entries: impl IntoIterator<Item = (u64, Hash256)>,
    ) -> Result<(), HammingError> {
        entries
            .into_iter()
            .try_for_each(|(id, hash)| self.insert(id, hash))
    }

    /// Removes every hash stored under `id`; returns how many were removed.
    ///
    /// Finding the rows of an id is a linear scan of the ids (about 6 ms of CPU at 10 M entries):
    /// keeping an id → rows map would cost 20–40 bytes per hash for an operation that is rare
    /// next to queries. Use [`HammingIndex::remove_all`] to remove many ids in one scan.
    pub fn remove(&mut self, id: u64) -> usize {
        self.remove_rows_where(|stored| stored == id)
    }

    /// Removes every hash stored under any of `ids` in one scan; returns how many were removed.
    pub fn remove_all(&mut self, ids: impl IntoIterator<Item = u64>) -> usize {
        let ids: HashSet<u64> = ids.into_iter().collect();
        // A 64 Ki-bit sketch of the doomed ids rejects almost every stored id with one bit
        // test, so the hash set is consulted only for likely members.
        let slot = |id: u64| (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize;
        let mut sketch = vec![0u64; 1 << 10];
        for &id in &ids {
            sketch[slot(id) / 64] |= 1 << (slot(id) % 64);
        }
        self.remove_rows_where(|stored| {
            sketch[slot(stored) / 64] & (1 << (slot(stored) % 64)) != 0 && ids.contains(&stored)
        })
    }

    fn remove_rows_where(&mut self, doomed: impl Fn(u64) -> bool) -> usize {
        let rows: Vec<u32> = self
            .live_rows()
            .filter(|&row| doomed(self.ids[row as usize]))
            .collect();
        for &row in &rows {
            let hash = self.hashes[row as usize];
            for table in &mut self.tables {
                table.remove(row, &hash);
            }
            self.live[row as usize / 64] &= !(1 << (row % 64));
            self.free.push(row);
        }
        self.len -= rows.len();
        rows.len()
    }

    /// True when enough inserts overflowed their buckets' spare room (more than 1/16 of the
    /// entries) that [`HammingIndex::compact`] would make queries noticeably faster.
    pub fn needs_compaction(&self) -> bool {
        self.tables
            .iter()
            .any(|table| table.overflow_len() * 16 > self.len)
    }

    /// Rebuilds the tables from the live entries with fresh spare room in every bucket,
    /// folding in overflowed inserts. Optional: inserts and removals never need it; it
    /// restores the bulk-built layout (a few seconds per 10 M hashes on 2 cores).
    pub fn compact(&mut self) {
        let live = &self.live;
        self.tables = build_tables(&self.hashes, |row| {
            live[row as usize / 64] & (1 << (row % 64)) != 0
        });
    }

    fn live_rows(&self) -> impl Iterator<Item = u32> + '_ {
        self.live.iter().enumerate().flat_map(|(block, &bits)| {
            let base = block as u32 * 64;
            BitIter(bits).map(move |bit| base + bit)
        })
    }

    /// Every id with a hash within `max_distance` (clamped to 256) of `query`, by distance
    /// then id. Exact: never misses such a hash, never reports one further away.
    pub fn search(&self, query: &Hash256, max_distance: u32) -> Vec<Match> {
        self.search_many(std::slice::from_ref(query), max_distance)
    }

    /// Every id with a hash within `max_distance` of any of `queries` (e.g. the 8 dihedral
    /// variants of an image's hash), with its best distance over all queries.
    pub fn search_many(&self, queries: &[Hash256], max_distance: u32) -> Vec<Match> {
        self.search_many_with(queries, max_distance, Strategy::Auto)
    }

    /// [`HammingIndex::search_many`] with a chosen [`Strategy`] (for tests and benchmarks;
    /// every strategy returns the same result).
    pub fn search_many_with(
        &self,
        queries: &[Hash256],
        max_distance: u32,
        strategy: Strategy,
    ) -> Vec<Match> {
        let max_distance = max_distance.min(Hash256::BITS);
        if self.len == 0 || queries.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        let scan = match strategy {
            Strategy::Auto => {
                self.probe_cost(max_distance) * queries.len() > self.scan_cost(queries.len())
            }
            Strategy::Probe => false,
            Strategy::Scan => true,
        };
        if scan {
            self.scan(queries, max_distance, &mut found);
        } else {
            for query in queries {
                self.probe(query, max_distance, &mut found);
            }
        }
        best_per_id(found)
    }

    /// The `k` ids nearest to `query`, by distance then id.
    pub fn nearest(&self, query: &Hash256, k: usize) -> Vec<Match> {
        self.nearest_many(std::slice::from_ref(query), k)
    }

    /// The `k` ids nearest to any of `queries`, by best distance then id.
    ///
    /// Searches with growing radii (15, 31, 63, …) until `k` ids are found; a radius search is
    /// exact, so the `k` best inside the radius are the `k` best overall. Past the radius where
    /// probing costs more than scanning it scans, so far-away neighbours (random data is ~128
    /// bits from everything) cost one linear scan.
    pub fn nearest_many(&self, queries: &[Hash256], k: usize) -> Vec<Match> {
        if k == 0 || self.len == 0 || queries.is_empty() {
            return Vec::new();
        }
        let mut radius = 15;
        while radius < Hash256::BITS
            && self.probe_cost(radius) * queries.len() <= self.scan_cost(queries.len())
        {
            let found = self.search_many_with(queries, radius, Strategy::Probe);
            if found.len() >= k {
                return best_k(found, k);
            }
            radius = radius * 2 + 1;
        }
        self.scan_nearest(queries, k)
    }

    /// Heap bytes held, by purpose.
    pub fn memory_usage(&self) -> MemoryUsage {
        let (table_heap, allocations) = self
            .tables
            .iter()
            .map(Table::heap)
            .fold((0, 4), |(bytes, allocs), (b, a)| (bytes + b, allocs + a));
        MemoryUsage {
            entries: self.len,
            hashes: self.hashes.capacity() * std::mem::size_of::<Hash256>(),
            ids_and_bookkeeping: self.ids.capacity() * 8
                + self.live.capacity() * 8
                + self.free.capacity() * 4,
            tables: self.tables.capacity() * std::mem::size_of::<Table>() + table_heap,
            allocator_estimate: allocations * 16,
        }
    }

    /// Estimated work of probing the tables for one query.
    fn probe_cost(&self, max_distance: u32) -> usize {
        let masks = MasksByWeight::get();
        substring_radii(max_distance)
            .iter()
            .zip(&self.tables)
            .filter_map(|(radius, table)| {
                let visits = masks.count_within((*radius)?);
                Some(visits * (BUCKET_VISIT_COST + table.mean_bucket_len()))
            })
            .sum()
    }

    /// Estimated work of a linear scan for `queries` queries.
    fn scan_cost(&self, queries: usize) -> usize {
        self.hashes.len() * SCAN_ROW_COST * queries
    }

    /// Multi-index probe: for each substring with radius `r`, visit every key within `r` of
    /// the query's key and keep entries whose residual brings the substring within `r`.
    fn probe(&self, query: &Hash256, max_distance: u32, found: &mut Vec<Match>) {
        let masks = MasksByWeight::get();
        let mut verify = |row: u32| {
            let distance = self.hashes[row as usize].distance(query);
            if distance <= max_distance {
                found.push(Match {
                    id: self.ids[row as usize],
                    distance,
                });
            }
        };
        for (table, radius) in self.tables.iter().zip(substring_radii(max_distance)) {
            let Some(radius) = radius else { continue };
            for weight in 0..=radius.min(16) {
                table.probe(query, masks.of_weight(weight), radius - weight, &mut verify);
            }
        }
    }

    /// Linear scan over the live rows (used when probing would visit most buckets).
    fn scan(&self, queries: &[Hash256], max_distance: u32, found: &mut Vec<Match>) {
        for row in self.live_rows() {
            let hash = &self.hashes[row as usize];
            let distance = queries
                .iter()
                .map(|q| q.distance(hash))
                .min()
                .unwrap_or(u32::MAX);
            if distance <= max_distance {
                found.push(Match {
                    id: self.ids[row as usize],
                    distance,
                });
            }
        }
    }
}

impl HammingIndex {
    /// Top-`k` linear scan: keeps only candidates that can still be among the `k` best, so
    /// memory stays O(k) even when every hash is far away.
    fn scan_nearest(&self, queries: &[Hash256], k: usize) -> Vec<Match> {
        let mut kept: Vec<Match> = Vec::new();
        let mut threshold = Hash256::BITS;
        let limit = k.saturating_mul(4).max(1024);
        for row in self.live_rows() {
            let hash = &self.hashes[row as usize];
            let distance = queries
                .iter()
                .map(|q| q.distance(hash))
                .min()
                .unwrap_or(u32::MAX);
            // Equal distances stay: a smaller id may still win the tie.
            if distance <= threshold {
                kept.push(Match {
                    id: self.ids[row as usize],
                    distance,
                });
                if kept.len() >= limit {
                    kept = best_k(kept, k);
                    if kept.len() == k {
                        threshold = kept[k - 1].distance;
                    }
                }
            }
        }
        best_k(kept, k)
    }
}

/// Positions of the set bits of a word, lowest first.
struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(bit)
    }
}

/// Builds the 8 tables over the rows accepted by `keep`, spreading them over the cores.
fn build_tables(hashes: &[Hash256], keep: impl Fn(u32) -> bool + Sync) -> Vec<Table> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, SUBSTRINGS);
    let keep = &keep;
    // Rows fit in u32: `from_entries` and `insert` refuse more than `MAX_ROWS` rows.
    let entries = move || {
        hashes
            .iter()
            .enumerate()
            .map(|(row, hash)| (row as u32, hash))
            .filter(move |(row, _)| keep(*row))
    };
    let mut built: Vec<Option<Table>> = (0..SUBSTRINGS).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..SUBSTRINGS)
                        .step_by(threads)
                        .map(|j| (j, Table::build(j, entries(), true)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            // A panic inside a builder thread is a bug in this crate; re-raise it here.
            let tables = match handle.join() {
                Ok(tables) => tables,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for (j, table) in tables {
                built[j] = Some(table);
            }
        }
    });
    built
        .into_iter()
        .enumerate()
        .map(|(j, table)| table.unwrap_or_else(|| Table::empty(j)))
        .collect()
}
