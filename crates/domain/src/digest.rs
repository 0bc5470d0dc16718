//! Exact file digests (MD5, SHA-1, SHA-256) as checked newtypes.
//!
//! Each is parsed once at the edge from hexadecimal (either case) and always written back in
//! lower case, so two digests of the same bytes always compare equal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A digest string that is not the expected length of hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {kind} digest: expected {expected} hexadecimal characters, got {got:?}")]
pub struct DigestParseError {
    pub kind: &'static str,
    pub expected: usize,
    pub got: String,
}

macro_rules! digest_type {
    ($(#[$meta:meta])* $name:ident, $len:expr, $label:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length of the digest in bytes.
            pub const LEN: usize = $len;
            /// Name of the algorithm, as written in hash lists.
            pub const ALGORITHM: &'static str = $label;

            /// Wraps raw digest bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw digest bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Parses hexadecimal in either case, surrounding white space ignored.
            pub fn parse(text: &str) -> Result<Self, DigestParseError> {
                let trimmed = text.trim();
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(trimmed, &mut bytes).map_err(|_| DigestParseError {
                    kind: $label,
                    expected: $len * 2,
                    got: trimmed.chars().take(80).collect(),
                })?;
                Ok(Self(bytes))
            }

            /// Lower-case hexadecimal.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^[0-9a-f]{", stringify!($len), "}$").replace(stringify!($len), &($len * 2).to_string())))
                    .description(Some(concat!($label, " digest, lower-case hexadecimal")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = DigestParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type!(
    /// An MD5 digest (16 bytes). Weak, but it is what hotlines and the CyberTipline exchange.
    Md5, 16, "MD5"
);
digest_type!(
    /// A SHA-1 digest (20 bytes).
    Sha1, 20, "SHA1"
);
digest_type!(
    /// A SHA-256 digest (32 bytes): the key of the evidence vault.
    Sha256, 32, "SHA256"
);

/// The three exact digests of one file, computed in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileDigests {
    pub md5: Md5,
    pub sha1: Sha1,
    pub sha256: Sha256,
}

/// Computes MD5, SHA-1 and SHA-256 in one pass over streamed bytes.
///
/// Implements [`std::io::Write`], so `std::io::copy(&mut reader, &mut digester)` hashes a stream
/// without holding it in memory.
#[derive(Default, Clone)]
pub struct Digester {
    md5: md5::Md5,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    len: u64,
}

impl Digester {
    /// A digester that has seen no bytes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        self.md5.update(bytes);
        self.sha1.update(bytes);
        self.sha256.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no byte has been fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The three digests of everything fed.
    pub fn finish(self) -> FileDigests {
        use sha2::Digest as _;
        FileDigests {
            md5: Md5(self.md5.finalize().into()),
            sha1: Sha1(self.sha1.finalize().into()),
            sha256: Sha256(self.sha256.finalize().into()),
        }
    }

    /// Digests of a byte slice.
    pub fn digest(bytes: &[u8]) -> FileDigests {
        let mut d = Self::new();
        d.update(bytes);
        d.finish()
    }
}

impl std::io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_writes_lower_case() {
        let d = Md5::parse(" D41D8CD98F00B204E9800998ECF8427E\n").expect("valid md5");
        assert_eq!(d.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            d,
            Md5::parse("d41d8cd98f00b204e9800998ecf8427e").expect("valid")
        );
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        let err = Sha1::parse("abcd").expect_err("too short");
        assert_eq!(err.expected, 40);
        assert!(Sha256::parse(&"zz".repeat(32)).is_err());
        assert!(Md5::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn digester_matches_known_vectors() {
        let d = Digester::digest(b"abc");
        assert_eq!(d.md5.to_hex(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.sha1.to_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d.sha256.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut streamed = Digester::new();
        std::io::copy(&mut &b"abc"[..], &mut streamed).expect("in memory");
        assert_eq!(streamed.len(), 3);
        assert_eq!(streamed.finish(), d);
    }

    #[test]
    fn serde_round_trip() {
        let d = Sha256::from_bytes([7u8; 32]);
        let json = serde_json::to_string(&d).expect("serialise");
        assert_eq!(json, format!("\"{}\"", "07".repeat(32)));
        assert_eq!(serde_json::from_str::<Sha256>(&json).expect("parse"), d);
        assert!(serde_json::from_str::<Sha256>("\"07\"").is_err());
    }
}
