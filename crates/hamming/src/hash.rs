//! The 256-bit hash value and its Hamming distance.

use std::fmt;
use std::str::FromStr;

use crate::HammingError;

/// A 256-bit perceptual hash (PDQ) as four big-endian 64-bit words.
///
/// Byte `i` of [`Hash256::to_bytes`] is bits `8i..8i+8` of the hash, the same order as the
/// 64-digit hexadecimal form. Aligned to 32 bytes so a stored hash never straddles two cache
/// lines: verifying a candidate then costs one memory access.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(C, align(32))]
pub struct Hash256 {
    words: [u64; 4],
}

impl Hash256 {
    /// Number of bits in the hash.
    pub const BITS: u32 = 256;

    /// The hash whose big-endian words are `words` (word 0 holds bytes 0..8).
    pub const fn from_words(words: [u64; 4]) -> Self {
        Self { words }
    }

    /// The four big-endian words (word 0 holds bytes 0..8).
    pub const fn words(&self) -> [u64; 4] {
        self.words
    }

    /// The hash made of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            *word = u64::from_be_bytes(eight);
        }
        Self { words }
    }

    /// The 32 bytes of the hash.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        bytes
    }

    /// Parses the 64-digit hexadecimal form (either case).
    pub fn from_hex(text: &str) -> Result<Self, HammingError> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(HammingError::HexLength(text.len()));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let high = hex_value(digits[2 * i]).ok_or(HammingError::HexDigit(2 * i))?;
            let low = hex_value(digits[2 * i + 1]).ok_or(HammingError::HexDigit(2 * i + 1))?;
            *byte = (high << 4) | low;
        }
        Ok(Self::from_bytes(bytes))
    }

    /// The 64-digit lowercase hexadecimal form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Number of differing bits between two hashes (0..=256).
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.words[0] ^ other.words[0]).count_ones()
            + (self.words[1] ^ other.words[1]).count_ones()
            + (self.words[2] ^ other.words[2]).count_ones()
            + (self.words[3] ^ other.words[3]).count_ones()
    }

    /// The 32-bit substring `j` (0..8): bits `32j..32j+32`, i.e. bytes `4j..4j+4`.
    #[inline]
    pub(crate) fn chunk(&self, j: usize) -> u32 {
        let word = self.words[j / 2];
        if j.is_multiple_of(2) {
            (word >> 32) as u32
        } else {
            word as u32
        }
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl From<[u8; 32]> for Hash256 {
    fn from(bytes: [u8; 32]) -> Self {
        Self::from_bytes(bytes)
    }
}

impl TryFrom<&[u8]> for Hash256 {
    type Error = HammingError;

    /// Accepts exactly 32 bytes (e.g. a hash read from a file or a database column).
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| HammingError::ByteLength(bytes.len()))?;
        Ok(Self::from_bytes(array))
    }
}

impl From<Hash256> for [u8; 32] {
    fn from(hash: Hash256) -> Self {
        hash.to_bytes()
    }
}

impl From<[u64; 4]> for Hash256 {
    fn from(words: [u64; 4]) -> Self {
        Self::from_words(words)
    }
}

impl FromStr for Hash256 {
    type Err = HammingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.words {
            write!(f, "{word:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_byte_order() {
        let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let hash = Hash256::from_hex(text).expect("valid hex");
        assert_eq!(hash.to_hex(), text);
        assert_eq!(hash.to_bytes()[0], 0xf8);
        assert_eq!(hash.to_bytes()[31], 0x22);
        assert_eq!(Hash256::from_bytes(hash.to_bytes()), hash);
        assert_eq!(hash.chunk(0), 0xf8f8_f0ce);
        assert_eq!(hash.chunk(7), 0x4e9c_9b22);
        let upper: Hash256 = text.to_uppercase().parse().expect("upper-case hex");
        assert_eq!(upper, hash);
    }

    #[test]
    fn hex_errors_are_typed() {
        assert_eq!(Hash256::from_hex("abc"), Err(HammingError::HexLength(3)));
        let mut bad = "0".repeat(64);
        bad.replace_range(10..11, "g");
        assert_eq!(Hash256::from_hex(&bad), Err(HammingError::HexDigit(10)));
        // A multi-byte character must not slice through UTF-8 or panic.
        let mut wide = "0".repeat(62);
        wide.push('é');
        assert_eq!(Hash256::from_hex(&wide), Err(HammingError::HexDigit(62)));
    }

    #[test]
    fn byte_slices_must_be_32_bytes() {
        let bytes: Vec<u8> = (0..32).collect();
        let hash = Hash256::try_from(bytes.as_slice()).expect("32 bytes");
        assert_eq!(hash.to_bytes().as_slice(), bytes.as_slice());
        assert_eq!(
            Hash256::try_from(&bytes[..31]),
            Err(HammingError::ByteLength(31))
        );
        assert_eq!(Hash256::try_from(&[][..]), Err(HammingError::ByteLength(0)));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let zero = Hash256::default();
        let ones = Hash256::from_words([u64::MAX; 4]);
        assert_eq!(zero.distance(&ones), 256);
        assert_eq!(zero.distance(&zero), 0);
        let one_bit = Hash256::from_words([0, 0, 1 << 7, 0]);
        assert_eq!(zero.distance(&one_bit), 1);
    }
}
