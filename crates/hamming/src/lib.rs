//! Exact Hamming-distance search over 256-bit perceptual hashes (PDQ).
//!
//! [`HammingIndex`] answers "every stored hash within distance d" and "the k nearest" over tens
//! of millions of hashes in about half a millisecond for PDQ's usual threshold (31), using
//! multi-index hashing (Norouzi, Punjani & Fleet) with 8 substring tables and a generalised
//! pigeonhole bound, so it never misses a match. [`BruteForce`] is the linear popcount scan it
//! is tested and benchmarked against. Design and proof: `docs/hamming-index.md`.
//!
//! The crate knows hashes only as 256-bit values ([`Hash256`], from `[u8; 32]` or `[u64; 4]`)
//! filed under a caller-chosen `u64` id.

mod brute_force;
mod bucket;
mod error;
mod hash;
mod index;
mod matches;
mod probe;
mod table;

pub use brute_force::BruteForce;
pub use error::HammingError;
pub use hash::Hash256;
pub use index::{HammingIndex, MemoryUsage, Strategy, DEFAULT_MAX_DISTANCE};
pub use matches::Match;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn index_is_shareable_between_threads() {
        assert_send_sync::<HammingIndex>();
        assert_send_sync::<BruteForce>();
    }
}
