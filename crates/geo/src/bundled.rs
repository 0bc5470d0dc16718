//! The tables compiled into the binary, so that geolocation works offline out of the box.
//!
//! Generated from the package files by `safeguard geo update --from /usr/share/tor
//! --asn-from <unpacked @ip-location-db/asn> --out crates/geo/data` (see `data/README.md`).

use std::sync::{Arc, OnceLock};

use crate::range_table::{RangeTable, TableKind};
use crate::GeoError;

/// File name of the country table, in `crates/geo/data/` and in `<data-dir>/geo/`.
pub const BUNDLED_COUNTRY: &str = "country.sgrt";
/// File name of the operator table, in `crates/geo/data/` and in `<data-dir>/geo/`.
pub const BUNDLED_ASN: &str = "asn.sgrt";

static COUNTRY_BYTES: &[u8] = include_bytes!("../data/country.sgrt");
static ASN_BYTES: &[u8] = include_bytes!("../data/asn.sgrt");

type Cached = OnceLock<Result<Arc<RangeTable>, String>>;

fn decode_once(
    cell: &'static Cached,
    bytes: &'static [u8],
    kind: TableKind,
) -> Result<Arc<RangeTable>, GeoError> {
    cell.get_or_init(|| {
        let table = RangeTable::from_bytes(bytes).map_err(|e| e.to_string())?;
        if table.kind != kind {
            return Err(format!(
                "bundled table has kind {:?}, not {kind:?}",
                table.kind
            ));
        }
        Ok(Arc::new(table))
    })
    .clone()
    .map_err(GeoError::CorruptTable)
}

/// The embedded country table, decoded once per process.
pub fn embedded_country_table() -> Result<Arc<RangeTable>, GeoError> {
    static CELL: Cached = OnceLock::new();
    decode_once(&CELL, COUNTRY_BYTES, TableKind::Country)
}

/// The embedded operator table, decoded once per process.
pub fn embedded_asn_table() -> Result<Arc<RangeTable>, GeoError> {
    static CELL: Cached = OnceLock::new();
    decode_once(&CELL, ASN_BYTES, TableKind::Asn)
}
