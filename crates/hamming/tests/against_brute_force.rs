//! The index must return exactly what a brute-force popcount scan returns: never miss a hash
//! within the radius, never report one beyond it, same order, on several kinds of data.

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use safeguard_hamming::{BruteForce, HammingIndex, Hash256, Match, Strategy};

const STRATEGIES: [Strategy; 3] = [Strategy::Auto, Strategy::Probe, Strategy::Scan];

fn random_hash(rng: &mut StdRng) -> Hash256 {
    Hash256::from_words(rng.gen())
}

/// `hash` with exactly `bits` distinct bits flipped (chosen at random).
fn flip_random(rng: &mut StdRng, hash: &Hash256, bits: usize) -> Hash256 {
    let mut words = hash.words();
    for bit in sample(rng, 256, bits) {
        words[bit / 64] ^= 1 << (bit % 64);
    }
    Hash256::from_words(words)
}

/// `hash` with `per_chunk[j]` bits flipped inside 32-bit substring `j` (bits `32j..32j+32`),
/// the first `in_key[j]` of them in the substring's high half (its table key).
fn flip_per_chunk(
    rng: &mut StdRng,
    hash: &Hash256,
    per_chunk: [usize; 8],
    in_key: [usize; 8],
) -> Hash256 {
    let mut words = hash.words();
    for j in 0..8 {
        let key_flips = in_key[j].min(per_chunk[j]).min(16);
        let residual_flips = (per_chunk[j] - key_flips).min(16);
        // Bit numbering: bit 0 is the most significant bit of word 0.
        let high: Vec<usize> = sample(rng, 16, key_flips).into_iter().collect();
        let low: Vec<usize> = sample(rng, 16, residual_flips)
            .into_iter()
            .map(|b| b + 16)
            .collect();
        for b in high.into_iter().chain(low) {
            let bit = 32 * j + b;
            words[bit / 64] ^= 1 << (63 - bit % 64);
        }
    }
    Hash256::from_words(words)
}

fn check_search(index: &HammingIndex, brute: &BruteForce, queries: &[Hash256], radii: &[u32]) {
    for &d in radii {
        for query in queries {
            let expected = brute.search(query, d);
            assert!(expected.iter().all(|m| m.distance <= d));
            for strategy in STRATEGIES {
                let got = index.search_many_with(std::slice::from_ref(query), d, strategy);
                assert_eq!(got, expected, "query {query} radius {d} {strategy:?}");
            }
        }
    }
}

fn check_nearest(index: &HammingIndex, brute: &BruteForce, queries: &[Hash256], ks: &[usize]) {
    for &k in ks {
        for query in queries {
            assert_eq!(index.nearest(query, k), brute.nearest(query, k), "k = {k}");
        }
    }
}

fn build(entries: &[(u64, Hash256)]) -> (HammingIndex, BruteForce) {
    (
        HammingIndex::from_entries(entries.iter().copied()).expect("small index"),
        BruteForce::from_entries(entries.iter().copied()),
    )
}

/// Bases with planted near-duplicates at every distance 0..=40 (ids shared by some), plus
/// uniform noise.
fn clustered(seed: u64) -> (Vec<(u64, Hash256)>, Vec<Hash256>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut entries = Vec::new();
    let mut queries = Vec::new();
    let mut next_id = 0u64;
    for _ in 0..12 {
        let base = random_hash(&mut rng);
        queries.push(base);
        for distance in 0..=40 {
            let variant = flip_random(&mut rng, &base, distance);
            // Every fifth variant shares the previous id: ids may hold several hashes.
            if distance % 5 != 0 {
                next_id += 1;
            }
            entries.push((next_id, variant));
        }
        // A query that is itself a variant: neighbours are then up to ~70 bits away.
        queries.push(flip_random(&mut rng, &base, 20));
    }
    for _ in 0..1500 {
        next_id += 1;
        entries.push((next_id, random_hash(&mut rng)));
    }
    queries.push(random_hash(&mut rng));
    (entries, queries)
}

#[test]
fn clustered_data_with_planted_near_duplicates() {
    for seed in [1, 2, 3, 4] {
        let (entries, queries) = clustered(seed);
        let (index, brute) = build(&entries);
        check_search(&index, &brute, &queries, &[0, 1, 15, 30, 31, 32, 40, 64]);
        // The planted duplicates straddle the PDQ threshold: both sides must be present.
        let at_31 = brute.search(&queries[0], 31);
        assert!(at_31.iter().any(|m| m.distance == 31));
        assert!(!at_31.iter().any(|m| m.distance == 32));
        assert!(brute
            .search(&queries[0], 32)
            .iter()
            .any(|m| m.distance == 32));
        check_nearest(&index, &brute, &queries, &[1, 5, 50]);
    }
}

#[test]
fn uniform_random_data() {
    for seed in [10, 11, 12] {
        let mut rng = StdRng::seed_from_u64(seed);
        let entries: Vec<(u64, Hash256)> = (0..4000)
            .map(|_| (rng.gen_range(0..3000), random_hash(&mut rng)))
            .collect();
        let (index, brute) = build(&entries);
        let mut queries: Vec<Hash256> = (0..10).map(|_| random_hash(&mut rng)).collect();
        for i in 0..30 {
            let stored = entries[i * 97].1;
            let flips = rng.gen_range(0..=40);
            queries.push(flip_random(&mut rng, &stored, flips));
        }
        check_search(&index, &brute, &queries, &[0, 31, 32, 100]);
        check_nearest(&index, &brute, &queries[..15], &[1, 3]);
    }
}

/// Distances placed exactly on the pigeonhole boundary: at 31 one substring differs by at most
/// 3 bits (and its key half by anything from 0 to 3), at 32 every substring may differ by 4.
#[test]
fn pigeonhole_boundary_cases() {
    let mut rng = StdRng::seed_from_u64(99);
    let mut entries = Vec::new();
    let mut queries = Vec::new();
    let mut id = 0;
    for round in 0..40 {
        let base = random_hash(&mut rng);
        queries.push(base);
        let loose = round % 8;
        for in_key in 0..=4 {
            // 31 = 7 × 4 + 3: only substring `loose` is within radius 3.
            let mut per_chunk = [4; 8];
            per_chunk[loose] = 3;
            let mut keys = [2; 8];
            keys[loose] = in_key;
            id += 1;
            entries.push((id, flip_per_chunk(&mut rng, &base, per_chunk, keys)));
            // 32 = 8 × 4: found at radius 32, absent at 31.
            id += 1;
            entries.push((id, flip_per_chunk(&mut rng, &base, [4; 8], [in_key; 8])));
            // Everything concentrated in one substring (31 bits in 8 substrings: 4,4,...).
            let mut lopsided = [0; 8];
            lopsided[loose] = 16;
            lopsided[(loose + 1) % 8] = 15;
            id += 1;
            entries.push((
                id,
                flip_per_chunk(&mut rng, &base, lopsided, [in_key * 4; 8]),
            ));
        }
    }
    let (index, brute) = build(&entries);
    for query in &queries {
        assert!(brute.search(query, 31).iter().any(|m| m.distance == 31));
    }
    check_search(&index, &brute, &queries, &[30, 31, 32, 33]);
}

#[test]
fn inserts_after_queries_and_removals() {
    let (entries, queries) = clustered(7);
    let (first, rest) = entries.split_at(entries.len() / 2);
    let (mut index, mut brute) = build(first);
    check_search(&index, &brute, &queries, &[31]);
    let mut rng = StdRng::seed_from_u64(70);
    for (i, &(id, hash)) in rest.iter().enumerate() {
        index.insert(id, hash).expect("room");
        brute.insert(id, hash);
        if i % 200 == 0 {
            check_search(&index, &brute, &queries, &[31]);
        }
    }
    assert_eq!(index.len(), entries.len());
    check_search(&index, &brute, &queries, &[0, 31, 40]);

    // Remove a third of the ids (some hold several hashes), then query again.
    let mut removed = 0;
    for &(id, _) in entries.iter().step_by(3) {
        let from_index = index.remove(id);
        assert_eq!(from_index, brute.remove(id));
        removed += from_index;
    }
    assert!(removed > 0);
    assert_eq!(index.len(), brute.len());
    assert_eq!(index.remove(u64::MAX), 0);
    check_search(&index, &brute, &queries, &[0, 31, 40]);
    check_nearest(&index, &brute, &queries, &[1, 10]);

    // Inserts after removals reuse the freed rows; ids removed earlier come back.
    for &(id, hash) in entries.iter().step_by(6) {
        let hash = flip_random(&mut rng, &hash, 3);
        index.insert(id, hash).expect("room");
        brute.insert(id, hash);
    }
    assert_eq!(index.len(), brute.len());
    check_search(&index, &brute, &queries, &[0, 31, 40]);

    let doomed: Vec<u64> = entries.iter().step_by(4).map(|e| e.0).collect();
    let count: usize = doomed.iter().map(|&id| brute.remove(id)).sum();
    assert_eq!(index.remove_all(doomed), count);
    check_search(&index, &brute, &queries, &[31]);

    // Compaction folds inserted entries into the flat tables and drops removed ones.
    index.compact();
    assert!(!index.needs_compaction());
    assert_eq!(index.len(), brute.len());
    check_search(&index, &brute, &queries, &[0, 31, 40]);
    check_nearest(&index, &brute, &queries, &[3]);
    let (id, hash) = entries[1];
    index.insert(id, hash).expect("room");
    brute.insert(id, hash);
    check_search(&index, &brute, &queries, &[31]);
}

#[test]
fn incremental_index_equals_bulk_built_index() {
    let (entries, queries) = clustered(5);
    let bulk = HammingIndex::from_entries(entries.iter().copied()).expect("small");
    let mut incremental = HammingIndex::new();
    incremental
        .insert_many(entries.iter().copied())
        .expect("room");
    for query in &queries {
        assert_eq!(bulk.search(query, 31), incremental.search(query, 31));
    }
}

#[test]
fn several_queries_report_the_best_distance_per_id() {
    let (entries, queries) = clustered(8);
    let (index, brute) = build(&entries);
    for group in queries.chunks(8) {
        for d in [0, 31, 45] {
            let expected = brute.search_many(group, d);
            for strategy in STRATEGIES {
                assert_eq!(index.search_many_with(group, d, strategy), expected);
            }
            // Merging per-query results by hand gives the same answer.
            let mut merged: Vec<Match> = group.iter().flat_map(|q| brute.search(q, d)).collect();
            merged.sort_by_key(|m| (m.id, m.distance));
            merged.dedup_by_key(|m| m.id);
            merged.sort_by_key(|m| (m.distance, m.id));
            assert_eq!(expected, merged);
        }
        assert_eq!(index.nearest_many(group, 7), brute.nearest_many(group, 7));
    }
    assert!(index.search_many(&[], 31).is_empty());
}

#[test]
fn empty_index() {
    let mut index = HammingIndex::new();
    let query = Hash256::from_words([1, 2, 3, 4]);
    assert!(index.is_empty());
    for strategy in STRATEGIES {
        assert!(index.search_many_with(&[query], 256, strategy).is_empty());
    }
    assert!(index.nearest(&query, 5).is_empty());
    assert_eq!(index.remove(3), 0);
    let built = HammingIndex::from_entries(std::iter::empty()).expect("empty");
    assert!(built.search(&query, 31).is_empty());
    // Emptied by removal.
    index.insert(3, query).expect("room");
    assert_eq!(index.search(&query, 0), vec![Match { id: 3, distance: 0 }]);
    assert_eq!(index.remove(3), 1);
    assert!(index.is_empty());
    assert!(index.search(&query, 256).is_empty());
    assert!(index.nearest(&query, 1).is_empty());
}

#[test]
fn radius_zero_and_full_radius() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut entries: Vec<(u64, Hash256)> = (0..500).map(|i| (i, random_hash(&mut rng))).collect();
    let all_ones = Hash256::from_words([u64::MAX; 4]);
    let zero = Hash256::default();
    entries.push((1000, zero));
    entries.push((1001, all_ones));
    entries.push((1002, entries[10].1));
    let (index, brute) = build(&entries);
    for strategy in STRATEGIES {
        // Radius 0: exact duplicates only (id 10 and 1002 share a hash).
        assert_eq!(
            index.search_many_with(&[entries[10].1], 0, strategy),
            vec![
                Match {
                    id: 10,
                    distance: 0
                },
                Match {
                    id: 1002,
                    distance: 0
                }
            ]
        );
        // Radius 256 (and beyond, clamped) returns every id.
        for d in [256, 1000] {
            let all = index.search_many_with(&[zero], d, strategy);
            assert_eq!(all.len(), entries.len());
            assert_eq!(all, brute.search(&zero, d));
            assert_eq!(
                all[0],
                Match {
                    id: 1000,
                    distance: 0
                }
            );
            assert_eq!(
                all.last(),
                Some(&Match {
                    id: 1001,
                    distance: 256
                })
            );
        }
    }
    assert_eq!(index.nearest(&zero, usize::MAX).len(), entries.len());
    assert!(index.nearest(&zero, 0).is_empty());
}

#[test]
fn memory_usage_is_reported() {
    let (entries, _) = clustered(3);
    let index = HammingIndex::from_entries(entries.iter().copied()).expect("small");
    let usage = index.memory_usage();
    assert_eq!(usage.entries, entries.len());
    // At least the raw payload: 32-byte hash, 8-byte id and 8 tables × 6 bytes.
    assert!(usage.total() >= entries.len() * (32 + 8 + 48));
    assert!(usage.bytes_per_hash() > 88.0);
}

/// Many inserts into the same buckets: the spare room fills, later entries overflow, and
/// removals from both places keep results exact.
#[test]
fn crowded_buckets_fill_room_then_overflow() {
    let mut rng = StdRng::seed_from_u64(21);
    let base = random_hash(&mut rng);
    let entries: Vec<(u64, Hash256)> = (0..300)
        .map(|i| (i, flip_random(&mut rng, &base, (i % 12) as usize)))
        .collect();
    let (mut index, mut brute) = build(&entries[..100]);
    assert!(!index.needs_compaction());
    for &(id, hash) in &entries[100..] {
        index.insert(id, hash).expect("room");
        brute.insert(id, hash);
    }
    assert!(index.needs_compaction());
    let queries = vec![base, flip_random(&mut rng, &base, 5), random_hash(&mut rng)];
    check_search(&index, &brute, &queries, &[0, 3, 31]);
    for id in (0..300).step_by(7) {
        assert_eq!(index.remove(id), brute.remove(id));
    }
    check_search(&index, &brute, &queries, &[0, 3, 31]);
    check_nearest(&index, &brute, &queries, &[1, 20]);
    index.compact();
    assert!(!index.needs_compaction());
    check_search(&index, &brute, &queries, &[0, 3, 31]);
}

/// The documented sharing pattern: readers query through an `RwLock` while a writer inserts.
#[test]
fn shared_between_reader_threads_and_a_writer() {
    use std::sync::{Arc, RwLock};
    let (entries, queries) = clustered(11);
    let (first, rest) = entries.split_at(entries.len() - 100);
    let index = Arc::new(RwLock::new(
        HammingIndex::from_entries(first.iter().copied()).expect("small"),
    ));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let index = Arc::clone(&index);
            let queries = queries.clone();
            std::thread::spawn(move || {
                let mut found = 0;
                for query in &queries {
                    let guard = index.read().expect("no writer panicked");
                    found += guard.search(query, 31).len();
                }
                found
            })
        })
        .collect();
    for &(id, hash) in rest {
        index
            .write()
            .expect("no reader panicked")
            .insert(id, hash)
            .expect("room");
    }
    for reader in readers {
        assert!(reader.join().expect("reader finished") > 0);
    }
    let brute = BruteForce::from_entries(entries.iter().copied());
    let index = index.read().expect("no panic");
    check_search(&index, &brute, &queries, &[31]);
}
