//! MaxMind DB (`.mmdb`) files: GeoIP2/GeoLite2 Country, City and ASN, DB-IP, ip-location-db and
//! IPinfo layouts, read with the `maxminddb` crate.
//!
//! Layouts differ in where they keep the country and the operator; each known place is read by
//! path, so one reader serves them all and a field of an unexpected type is simply absent.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{MaxMindDbError, PathElement, Reader};

use crate::country::CountryCode;
use crate::GeoError;

/// What one MMDB knows about an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MmdbFacts {
    /// Country of the address.
    pub country: Option<CountryCode>,
    /// AS number.
    pub asn: Option<u32>,
    /// AS name.
    pub operator: Option<String>,
}

/// Where layouts keep the country, best first. GeoIP2/DB-IP: `country.iso_code` (where the
/// address is used), then `registered_country.iso_code` (where the block is registered);
/// ip-location-db and IPinfo: `country_code`.
const COUNTRY_PATHS: &[&[&str]] = &[
    &["country", "iso_code"],
    &["country_code"],
    &["registered_country", "iso_code"],
];

/// One opened MMDB file.
pub struct MmdbSource {
    name: String,
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for MmdbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmdbSource")
            .field("name", &self.name)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

fn lenient<T>(result: Result<Option<T>, MaxMindDbError>) -> Result<Option<T>, MaxMindDbError> {
    match result {
        // A field of another type than expected (IPinfo's `country` is a name, not a map):
        // this layout does not keep the fact there.
        Err(MaxMindDbError::Decoding { .. }) => Ok(None),
        other => other,
    }
}

impl MmdbSource {
    /// Opens a file; its name (without folders) becomes the `source` of its answers.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let bytes =
            std::fs::read(path).map_err(GeoError::io(format!("reading {}", path.display())))?;
        Self::from_bytes(name, bytes)
    }

    /// Opens an MMDB held in memory.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, GeoError> {
        let name = name.into();
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Mmdb {
            name: name.clone(),
            source,
        })?;
        Ok(Self { name, reader })
    }

    /// The name answers carry as their `source`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `database_type` from the file's metadata (`GeoLite2-Country`, ...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// What the file knows about `ip`; `None` when the address is not in it.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<MmdbFacts>, GeoError> {
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(None);
        }
        let wrap = |source| GeoError::Mmdb {
            name: self.name.clone(),
            source,
        };
        let result = self.reader.lookup(ip).map_err(wrap)?;
        if !result.has_data() {
            return Ok(None);
        }
        let mut facts = MmdbFacts::default();
        for path in COUNTRY_PATHS {
            let elements: Vec<PathElement<'_>> = path.iter().map(|k| PathElement::Key(k)).collect();
            let code: Option<&str> = lenient(result.decode_path(&elements)).map_err(wrap)?;
            if let Some(country) = code.and_then(|c| CountryCode::parse(c).ok()) {
                facts.country = Some(country);
                break;
            }
        }
        let number: Option<u32> =
            lenient(result.decode_path(&[PathElement::Key("autonomous_system_number")]))
                .map_err(wrap)?;
        // IPinfo writes `asn` as text, "AS15169".
        let text_number = || -> Result<Option<u32>, GeoError> {
            let text: Option<&str> =
                lenient(result.decode_path(&[PathElement::Key("asn")])).map_err(wrap)?;
            Ok(text.and_then(|t| t.trim_start_matches("AS").parse().ok()))
        };
        facts.asn = match number {
            Some(n) => Some(n),
            None => text_number()?,
        };
        for key in ["autonomous_system_organization", "as_name"] {
            let name: Option<&str> =
                lenient(result.decode_path(&[PathElement::Key(key)])).map_err(wrap)?;
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                facts.operator = Some(name.to_string());
                break;
            }
        }
        Ok(Some(facts))
    }
}
