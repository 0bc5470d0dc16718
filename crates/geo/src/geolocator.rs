//! The layered lookup: reserved ranges, then configured MMDB files in order, then the bundled
//! (or refreshed) tables.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::anonymiser::AnonymiserList;
use crate::bundled::{embedded_asn_table, embedded_country_table, BUNDLED_ASN, BUNDLED_COUNTRY};
use crate::country::CountryCode;
use crate::mmdb::MmdbSource;
use crate::range_table::{RangeTable, TableKind};
use crate::reserved::{canonical, classify, embedded_ipv4};
use crate::{Confidence, GeoAnswer, GeoError, NO_SOURCE, RESERVED_SOURCE};

/// Folder under the data directory where `safeguard geo update` writes refreshed tables.
pub const DATA_SUBDIR: &str = "geo";

/// Answers [`GeoAnswer`]s from layered sources. Cheap to share (`&self` lookups, no locking).
#[derive(Debug, Default)]
pub struct Geolocator {
    mmdbs: Vec<MmdbSource>,
    country: Option<Arc<RangeTable>>,
    asn: Option<Arc<RangeTable>>,
    anonymisers: AnonymiserList,
}

/// Configures a [`Geolocator`].
#[derive(Debug, Default)]
pub struct GeolocatorBuilder {
    data_dir: Option<PathBuf>,
    mmdbs: Vec<PathBuf>,
    anonymiser_files: Vec<PathBuf>,
    anonymisers: Option<AnonymiserList>,
    without_bundled: bool,
}

impl GeolocatorBuilder {
    /// Prefer tables refreshed into `<dir>/geo/` over the embedded ones.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Consult this MMDB file (before the bundled data, after MMDBs added earlier).
    pub fn mmdb(mut self, path: impl Into<PathBuf>) -> Self {
        self.mmdbs.push(path.into());
        self
    }

    /// Flag addresses on this anonymiser list.
    pub fn anonymiser_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.anonymiser_files.push(path.into());
        self
    }

    /// Flag addresses on an already parsed anonymiser list (file lists are added to it).
    pub fn anonymisers(mut self, list: AnonymiserList) -> Self {
        self.anonymisers = Some(list);
        self
    }

    /// Use no bundled or refreshed tables: only the MMDB files answer.
    pub fn without_bundled(mut self) -> Self {
        self.without_bundled = true;
        self
    }

    /// Opens every source; fails on the first unreadable one rather than answering with less.
    pub fn build(self) -> Result<Geolocator, GeoError> {
        let mmdbs = self
            .mmdbs
            .iter()
            .map(|path| MmdbSource::open(path))
            .collect::<Result<Vec<_>, _>>()?;
        let mut anonymisers = self.anonymisers.unwrap_or_default();
        for file in &self.anonymiser_files {
            anonymisers.add_file(file)?;
        }
        let (country, asn) = if self.without_bundled {
            (None, None)
        } else {
            let dir = self.data_dir.as_deref();
            (
                Some(preferred_table(dir, TableKind::Country)?),
                Some(preferred_table(dir, TableKind::Asn)?),
            )
        };
        Ok(Geolocator {
            mmdbs,
            country,
            asn,
            anonymisers,
        })
    }
}

/// Where `safeguard geo update` keeps a refreshed table of `kind` under `data_dir`.
pub fn refreshed_path(data_dir: &Path, kind: TableKind) -> PathBuf {
    let file = match kind {
        TableKind::Country => BUNDLED_COUNTRY,
        TableKind::Asn => BUNDLED_ASN,
    };
    data_dir.join(DATA_SUBDIR).join(file)
}

/// The refreshed copy under `data_dir` when there is one, else the embedded table.
pub fn preferred_table(
    data_dir: Option<&Path>,
    kind: TableKind,
) -> Result<Arc<RangeTable>, GeoError> {
    if let Some(dir) = data_dir {
        let path = refreshed_path(dir, kind);
        if path.is_file() {
            let bytes = std::fs::read(&path)
                .map_err(GeoError::io(format!("reading {}", path.display())))?;
            let table = RangeTable::from_bytes(&bytes)
                .map_err(|e| GeoError::CorruptTable(format!("{}: {e}", path.display())))?;
            if table.kind != kind {
                return Err(GeoError::CorruptTable(format!(
                    "{} holds a {:?} table, expected {kind:?}",
                    path.display(),
                    table.kind
                )));
            }
            return Ok(Arc::new(table));
        }
    }
    match kind {
        TableKind::Country => embedded_country_table(),
        TableKind::Asn => embedded_asn_table(),
    }
}

impl Geolocator {
    /// A builder: no MMDB, embedded tables, no anonymiser list until configured.
    pub fn builder() -> GeolocatorBuilder {
        GeolocatorBuilder::default()
    }

    /// The embedded tables only.
    pub fn bundled() -> Result<Self, GeoError> {
        Self::builder().build()
    }

    /// Names of the sources consulted, in order (MMDB files, then country and AS tables).
    pub fn sources(&self) -> Vec<String> {
        let mut names: Vec<String> = self.mmdbs.iter().map(|m| m.name().to_string()).collect();
        names.extend(self.country.iter().map(|t| t.name.clone()));
        names.extend(self.asn.iter().map(|t| t.name.clone()));
        names
    }

    /// Looks up text from a report (whitespace and `[v6]` brackets allowed).
    pub fn lookup_str(&self, text: &str) -> Result<GeoAnswer, GeoError> {
        self.lookup(crate::parse_ip(text)?)
    }

    /// Only the country of `ip`, by the same layering as [`Geolocator::lookup`] but without
    /// building an answer (no allocation): the hot path for routing many leads.
    pub fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        let located = canonical(ip);
        if classify(located).is_some() {
            return Ok(None);
        }
        for mmdb in &self.mmdbs {
            if let Some(country) = mmdb.lookup(located)?.and_then(|facts| facts.country) {
                return Ok(Some(country));
            }
        }
        Ok(self
            .country
            .as_ref()
            .and_then(|table| table_value(table, located))
            .and_then(CountryCode::from_index))
    }

    /// Everything the sources know about `ip`.
    ///
    /// Special-purpose addresses get no country, AS or operator. Otherwise the country comes
    /// from the first MMDB that has one for the address, else the country table; the AS number
    /// likewise from the first MMDB that has one, else the AS table (the operator name goes
    /// with the AS number it came with).
    pub fn lookup(&self, ip: IpAddr) -> Result<GeoAnswer, GeoError> {
        let located = canonical(ip);
        let anonymiser = self.anonymisers.label(located).map(str::to_string);
        if let Some(kind) = classify(located) {
            let embedded = match located {
                IpAddr::V6(v6) => embedded_ipv4(v6),
                IpAddr::V4(_) => None,
            };
            return Ok(GeoAnswer {
                ip,
                country: None,
                asn: None,
                operator: None,
                source: RESERVED_SOURCE.to_string(),
                asn_source: None,
                reserved: Some(kind),
                anonymiser,
                embedded_ipv4: embedded,
                confidence: Confidence::None,
            });
        }

        let mut country: Option<(CountryCode, &str, Confidence)> = None;
        let mut asn: Option<(u32, Option<String>, &str)> = None;
        for mmdb in &self.mmdbs {
            if country.is_some() && asn.is_some() {
                break;
            }
            let Some(facts) = mmdb.lookup(located)? else {
                continue;
            };
            if country.is_none() {
                country = facts.country.map(|c| (c, mmdb.name(), Confidence::High));
            }
            if asn.is_none() {
                asn = facts.asn.map(|n| (n, facts.operator.clone(), mmdb.name()));
            }
        }
        if country.is_none() {
            if let Some(table) = &self.country {
                country = table_value(table, located)
                    .and_then(CountryCode::from_index)
                    .map(|c| (c, table.name.as_str(), Confidence::Medium));
            }
        }
        if asn.is_none() {
            if let Some(table) = &self.asn {
                asn = table_value(table, located)
                    .map(|n| (n, table.as_name(n).map(str::to_string), table.name.as_str()));
            }
        }

        let (country, source, mut confidence) = match country {
            Some((code, source, confidence)) => (Some(code), source.to_string(), confidence),
            None => (
                None,
                asn.as_ref()
                    .map_or(NO_SOURCE, |(_, _, source)| source)
                    .to_string(),
                Confidence::None,
            ),
        };
        if anonymiser.is_some() && confidence > Confidence::Low {
            confidence = Confidence::Low;
        }
        let (asn, operator, asn_source) = match asn {
            Some((n, operator, asn_source)) => (Some(n), operator, Some(asn_source.to_string())),
            None => (None, None, None),
        };
        Ok(GeoAnswer {
            ip,
            country,
            asn,
            operator,
            source,
            asn_source,
            reserved: None,
            anonymiser,
            embedded_ipv4: None,
            confidence,
        })
    }
}

fn table_value(table: &RangeTable, ip: IpAddr) -> Option<u32> {
    match ip {
        IpAddr::V4(a) => table.v4.get(u32::from(a)),
        IpAddr::V6(a) => table.v6.get(u128::from(a)),
    }
}
