//! Query results: one `(id, distance)` pair per id, ordered by distance then id.

/// One id found by a query and its smallest distance to the query (or queries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    /// The caller's id of the stored hash.
    pub id: u64,
    /// Hamming distance (0..=256) between the query and the nearest hash stored under `id`.
    pub distance: u32,
}

/// Keeps the smallest distance per id, then orders by distance, then id.
///
/// Both the index and the brute-force scan finish through this function, so ties are broken
/// the same way in both and results compare equal element by element.
pub(crate) fn best_per_id(mut found: Vec<Match>) -> Vec<Match> {
    found.sort_unstable_by_key(|m| (m.id, m.distance));
    found.dedup_by_key(|m| m.id);
    found.sort_unstable_by_key(|m| (m.distance, m.id));
    found
}

/// Keeps the `k` best of a list in any order (smallest distance per id first).
pub(crate) fn best_k(found: Vec<Match>, k: usize) -> Vec<Match> {
    let mut best = best_per_id(found);
    best.truncate(k);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_distance_per_id_sorted() {
        let found = vec![
            Match { id: 7, distance: 9 },
            Match { id: 3, distance: 9 },
            Match { id: 7, distance: 2 },
            Match {
                id: 1,
                distance: 30,
            },
        ];
        assert_eq!(
            best_per_id(found.clone()),
            vec![
                Match { id: 7, distance: 2 },
                Match { id: 3, distance: 9 },
                Match {
                    id: 1,
                    distance: 30
                },
            ]
        );
        assert_eq!(best_k(found, 2).len(), 2);
    }
}
