//! The 256-bit PDQ hash value: bit layout, hexadecimal form and Hamming distance.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A PDQ hash: 256 bits, one per coefficient of the 16×16 DCT.
///
/// Bit `k = 16*i + j` is set when DCT coefficient `(i, j)` (vertical frequency `i+1`, horizontal
/// frequency `j+1`) is above the median. The bytes are stored in the order the reference writes
/// them in hexadecimal: the 256-bit big-endian integer `Σ bit_k · 2^k`, so `bytes[0]` holds bits
/// 255..248 and `bytes[31]` holds bits 7..0. That makes [`Pdq::to_hex`] a plain hex encoding of
/// [`Pdq::as_bytes`], equal to the reference's `Hash256::format()` and to python-threatexchange.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pdq([u8; 32]);

/// A string that is not a PDQ hash (64 hexadecimal characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PDQ hash: expected 64 hexadecimal characters, got {got:?}")]
pub struct PdqParseError {
    /// The start of the rejected text (at most 80 characters).
    pub got: String,
}

impl Pdq {
    /// Number of bits in a hash.
    pub const BITS: u32 = 256;

    /// Wraps 32 bytes in the reference's hexadecimal order (see the type documentation).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes, in the reference's hexadecimal order.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Four 64-bit words, most significant first (`words[0]` holds bits 255..192): handy for
    /// XOR/popcount in an index.
    pub fn to_words(&self) -> [u64; 4] {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            *word = u64::from_be_bytes(eight);
        }
        words
    }

    /// Parses 64 hexadecimal characters. Either case is accepted (the C++ reference accepts both;
    /// python-threatexchange only lower case), surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<Self, PdqParseError> {
        let trimmed = text.trim();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(trimmed, &mut bytes).map_err(|_| PdqParseError {
            got: trimmed.chars().take(80).collect(),
        })?;
        Ok(Self(bytes))
    }

    /// 64 lower-case hexadecimal characters, as the reference writes them.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether bit `k` (0..256) is set; bit `k` is DCT coefficient `(k / 16, k % 16)`.
    pub fn bit(&self, k: usize) -> bool {
        k < 256 && (self.0[31 - k / 8] >> (k % 8)) & 1 == 1
    }

    /// Sets bit `k` (0..256); larger `k` are ignored.
    pub fn set_bit(&mut self, k: usize) {
        if k < 256 {
            self.0[31 - k / 8] |= 1 << (k % 8);
        }
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.to_words().iter().map(|w| w.count_ones()).sum()
    }

    /// Hamming distance: the number of differing bits, 0..=256.
    pub fn distance(&self, other: &Pdq) -> u32 {
        self.to_words()
            .iter()
            .zip(other.to_words().iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}

impl fmt::Display for Pdq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Pdq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pdq({})", self.to_hex())
    }
}

impl FromStr for Pdq {
    type Err = PdqParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<[u8; 32]> for Pdq {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<Pdq> for [u8; 32] {
    fn from(pdq: Pdq) -> Self {
        pdq.0
    }
}

impl Serialize for Pdq {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Pdq {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn hex_round_trip_and_case() {
        let h = Pdq::parse(BRIDGE).expect("valid");
        assert_eq!(h.to_hex(), BRIDGE);
        assert_eq!(h.to_string(), BRIDGE);
        assert_eq!(Pdq::parse(&BRIDGE.to_uppercase()).expect("upper"), h);
        assert_eq!(Pdq::from_bytes(*h.as_bytes()), h);
        assert_eq!(h.count_ones(), 128);
    }

    #[test]
    fn rejects_bad_text() {
        assert!(Pdq::parse("abc").is_err());
        assert!(Pdq::parse(&"g".repeat(64)).is_err());
        assert!(Pdq::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn bit_layout_matches_reference_hex() {
        // Bit 0 is the last hex character, bit 255 the first.
        let mut h = Pdq::default();
        h.set_bit(0);
        assert_eq!(h.to_hex(), format!("{}1", "0".repeat(63)));
        let mut h = Pdq::default();
        h.set_bit(255);
        assert_eq!(h.to_hex(), format!("8{}", "0".repeat(63)));
        let mut h = Pdq::default();
        h.set_bit(17); // word 1, bit 1 -> printed as the 15th 16-bit group "0002"
        assert_eq!(&h.to_hex()[56..60], "0002");
        assert!(h.bit(17) && !h.bit(16));
    }

    #[test]
    fn distance_and_serde() {
        let a = Pdq::parse(BRIDGE).expect("valid");
        let mut b = a;
        b.set_bit(3);
        b.set_bit(200);
        let flipped = u32::from(!a.bit(3)) + u32::from(!a.bit(200));
        assert_eq!(a.distance(&b), flipped);
        assert_eq!(a.distance(&a), 0);
        let json = serde_json::to_string(&a).expect("serialise");
        assert_eq!(json, format!("\"{BRIDGE}\""));
        assert_eq!(serde_json::from_str::<Pdq>(&json).expect("parse"), a);
    }
}
