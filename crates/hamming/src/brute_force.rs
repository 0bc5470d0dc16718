//! The floor: a linear popcount scan over every stored hash.
//!
//! Used as the reference the index is tested against and as the baseline in benchmarks. It is
//! deliberately plain so that its correctness is evident.

use crate::matches::{best_k, best_per_id};
use crate::{Hash256, Match};

/// Every `(id, hash)` entry in insertion order, queried by scanning them all.
#[derive(Debug, Clone, Default)]
pub struct BruteForce {
    ids: Vec<u64>,
    hashes: Vec<Hash256>,
}

impl BruteForce {
    /// An empty scan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a scan over these entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (u64, Hash256)>) -> Self {
        let (ids, hashes) = entries.into_iter().unzip();
        Self { ids, hashes }
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Stores `hash` under `id` (an id may hold several hashes).
    pub fn insert(&mut self, id: u64, hash: Hash256) {
        self.ids.push(id);
        self.hashes.push(hash);
    }

    /// Removes every hash stored under `id`; returns how many were removed.
    pub fn remove(&mut self, id: u64) -> usize {
        let before = self.ids.len();
        let mut kept_ids = Vec::with_capacity(before);
        let mut kept_hashes = Vec::with_capacity(before);
        for (&stored, &hash) in self.ids.iter().zip(&self.hashes) {
            if stored != id {
                kept_ids.push(stored);
                kept_hashes.push(hash);
            }
        }
        self.ids = kept_ids;
        self.hashes = kept_hashes;
        before - self.ids.len()
    }

    /// Every id with a hash within `max_distance` of `query`, by distance then id.
    pub fn search(&self, query: &Hash256, max_distance: u32) -> Vec<Match> {
        self.search_many(std::slice::from_ref(query), max_distance)
    }

    /// Every id with a hash within `max_distance` of any query, with its best distance.
    pub fn search_many(&self, queries: &[Hash256], max_distance: u32) -> Vec<Match> {
        let found = self
            .ids
            .iter()
            .zip(&self.hashes)
            .filter_map(|(&id, hash)| {
                let distance = queries.iter().map(|q| q.distance(hash)).min()?;
                (distance <= max_distance).then_some(Match { id, distance })
            })
            .collect();
        best_per_id(found)
    }

    /// The `k` ids nearest to `query` (ties broken by smaller id).
    pub fn nearest(&self, query: &Hash256, k: usize) -> Vec<Match> {
        self.nearest_many(std::slice::from_ref(query), k)
    }

    /// The `k` ids nearest to any of the queries.
    pub fn nearest_many(&self, queries: &[Hash256], k: usize) -> Vec<Match> {
        best_k(self.search_many(queries, Hash256::BITS), k)
    }
}
