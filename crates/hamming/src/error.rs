//! Errors of the Hamming index crate.

/// What can go wrong when parsing a hash or growing an index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HammingError {
    /// A hexadecimal hash did not have exactly 64 digits.
    #[error("a 256-bit hash is 64 hexadecimal digits, got {0} characters")]
    HexLength(usize),
    /// A byte slice that is not exactly 32 bytes long.
    #[error("a 256-bit hash is 32 bytes, got {0}")]
    ByteLength(usize),
    /// A character that is not a hexadecimal digit.
    #[error("invalid hexadecimal digit at position {0}")]
    HexDigit(usize),
    /// The index addresses its rows with `u32`, so it cannot hold more entries than that.
    #[error("the index holds at most {max} hashes")]
    Capacity {
        /// The largest number of entries an index can hold.
        max: u64,
    },
}
