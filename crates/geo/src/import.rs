//! Building range tables from the published open data files.
//!
//! Country lists: Tor's `geoip`/`geoip6` (Debian `tor-geoipdb`, derived from the IPFire
//! Location database: `FIRST,LAST,CC` with decimal IPv4 or textual IPv6) and the ip-location-db
//! country CSVs (`FIRST,LAST,CC` with textual addresses). Operator lists: the ip-location-db
//! `asn-ipv4.csv`/`asn-ipv6.csv` (`FIRST,LAST,ASN,"NAME"`). The same code refreshes the data
//! folder copy (`safeguard geo update`) and generates the bundled tables, so the bundle is
//! reproducible from the package files.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::country::CountryCode;
use crate::range_table::{ImportStats, RangeTable, Ranges, TableKind};
use crate::GeoError;

/// Short name of the bundled country data set.
pub const COUNTRY_TABLE_NAME: &str = "tor-geoipdb";
/// Short name of the bundled operator data set.
pub const ASN_TABLE_NAME: &str = "ip-location-db-asn";

/// What an import did, for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Files read.
    pub files: Vec<PathBuf>,
    /// IPv4 rows and ranges, when IPv4 data was read.
    pub v4: Option<ImportStats>,
    /// IPv6 rows and ranges, when IPv6 data was read.
    pub v6: Option<ImportStats>,
    /// Rows skipped because they name no jurisdiction (`??`, `EU`, `AP`) or no AS (`0`).
    pub skipped: usize,
    /// AS names in the table.
    pub names: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let family = |stats: &Option<ImportStats>| match stats {
            Some(s) => format!(
                "{} rows -> {} ranges ({} overlapping rows clipped)",
                s.rows, s.ranges, s.clipped
            ),
            None => "kept from the previous table".to_string(),
        };
        write!(
            f,
            "IPv4: {}; IPv6: {}; {} rows without a jurisdiction or AS skipped",
            family(&self.v4),
            family(&self.v6),
            self.skipped
        )?;
        if self.names > 0 {
            write!(f, "; {} AS names", self.names)?;
        }
        Ok(())
    }
}

/// Rows of both families read from one or more files.
#[derive(Default)]
struct Rows {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    saw_v4: bool,
    saw_v6: bool,
    skipped: usize,
    names: BTreeMap<u32, String>,
    generated: Option<String>,
}

impl Rows {
    fn push(&mut self, first: IpAddr, last: IpAddr, value: u32) -> Result<(), String> {
        match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                self.saw_v4 = true;
                self.v4.push((u32::from(a), u32::from(b), value));
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                self.saw_v6 = true;
                self.v6.push((u128::from(a), u128::from(b), value));
            }
            _ => return Err("range mixes IPv4 and IPv6".to_string()),
        }
        Ok(())
    }
}

/// An address as written in the data files: dotted or colon text, or a decimal number
/// (IPv4 in Tor's `geoip`; `bits` says which family a decimal means).
fn parse_address(field: &str, decimal_is_v6: bool) -> Result<IpAddr, String> {
    let field = field.trim();
    if !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) {
        let number: u128 = field
            .parse()
            .map_err(|_| format!("number out of range: {field:.40}"))?;
        return if decimal_is_v6 {
            Ok(IpAddr::V6(number.into()))
        } else {
            u32::try_from(number)
                .map(|n| IpAddr::V4(n.into()))
                .map_err(|_| format!("IPv4 number out of range: {field:.40}"))
        };
    }
    field
        .parse()
        .map_err(|_| format!("not an address: {field:.60}"))
}

/// Splits one CSV line, honouring double quotes (`"a, b"`, `"say ""hi"""`).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_string());
    }
    fields.push(field);
    Ok(fields)
}

fn read_text(path: &Path) -> Result<String, GeoError> {
    std::fs::read_to_string(path).map_err(GeoError::io(format!("reading {}", path.display())))
}

/// Reads one country list into `rows`.
fn read_country_file(path: &Path, rows: &mut Rows) -> Result<(), GeoError> {
    let text = read_text(path)?;
    let file = path.display().to_string();
    // Tor's geoip6 uses text addresses, its geoip decimal IPv4: a decimal is IPv4 unless the
    // file name says otherwise.
    let decimal_is_v6 = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains('6'));
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(date) = comment.trim().strip_prefix("Generated:") {
                rows.generated
                    .get_or_insert_with(|| date.trim().to_string());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let error = |why: String| GeoError::Import {
            file: file.clone(),
            line: index + 1,
            why,
        };
        let fields = split_csv(line).map_err(&error)?;
        let [first, last, code, ..] = fields.as_slice() else {
            return Err(error(format!("expected FIRST,LAST,COUNTRY: {line:.80}")));
        };
        let code = code.trim();
        if CountryCode::is_pseudo_region(code) {
            rows.skipped += 1;
            continue;
        }
        // `UK` is the IPFire/RIR spelling of ISO `GB`.
        let code = if code.eq_ignore_ascii_case("UK") {
            "GB"
        } else {
            code
        };
        let country = CountryCode::parse(code).map_err(|e| error(e.to_string()))?;
        let first = parse_address(first, decimal_is_v6).map_err(&error)?;
        let last = parse_address(last, decimal_is_v6).map_err(&error)?;
        rows.push(first, last, country.to_index()).map_err(&error)?;
    }
    Ok(())
}

/// Reads one ip-location-db AS list into `rows`.
fn read_asn_file(path: &Path, rows: &mut Rows) -> Result<(), GeoError> {
    let text = read_text(path)?;
    let file = path.display().to_string();
    let decimal_is_v6 = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("v6"));
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |why: String| GeoError::Import {
            file: file.clone(),
            line: index + 1,
            why,
        };
        let fields = split_csv(line).map_err(&error)?;
        let [first, last, asn, rest @ ..] = fields.as_slice() else {
            return Err(error(format!("expected FIRST,LAST,ASN,NAME: {line:.80}")));
        };
        let asn: u32 = asn
            .trim()
            .trim_start_matches("AS")
            .parse()
            .map_err(|_| error(format!("not an AS number: {asn:.20}")))?;
        if asn == 0 {
            // AS0 means "not routed" (RFC 7607): no operator.
            rows.skipped += 1;
            continue;
        }
        let first = parse_address(first, decimal_is_v6).map_err(&error)?;
        let last = parse_address(last, decimal_is_v6).map_err(&error)?;
        rows.push(first, last, asn).map_err(&error)?;
        if let Some(name) = rest.first().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            rows.names.entry(asn).or_insert_with(|| name.to_string());
        }
    }
    Ok(())
}

/// The files to read: the path itself, or the named files inside a folder.
fn expand(path: &Path, folder_files: &[&str]) -> Result<Vec<PathBuf>, GeoError> {
    if path.is_dir() {
        let files: Vec<PathBuf> = folder_files
            .iter()
            .map(|name| path.join(name))
            .filter(|p| p.is_file())
            .collect();
        if files.is_empty() {
            return Err(GeoError::NoData(format!(
                "{} holds none of {}",
                path.display(),
                folder_files.join(", ")
            )));
        }
        Ok(files)
    } else if path.is_file() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(GeoError::NoData(format!(
            "{} does not exist",
            path.display()
        )))
    }
}

/// Assembles a table; a family absent from the input is kept from `base`.
fn assemble(
    kind: TableKind,
    name: &str,
    description: String,
    rows: Rows,
    base: Option<&RangeTable>,
    files: Vec<PathBuf>,
) -> Result<(RangeTable, ImportReport), GeoError> {
    if !rows.saw_v4 && !rows.saw_v6 {
        return Err(GeoError::NoData(format!(
            "no ranges in {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut report = ImportReport {
        files,
        skipped: rows.skipped,
        ..ImportReport::default()
    };
    let v4 = if rows.saw_v4 {
        let (ranges, stats) = Ranges::from_rows(rows.v4);
        report.v4 = Some(stats);
        ranges
    } else {
        base.map(|b| b.v4.clone()).unwrap_or_default()
    };
    let v6 = if rows.saw_v6 {
        let (ranges, stats) = Ranges::from_rows(rows.v6);
        report.v6 = Some(stats);
        ranges
    } else {
        base.map(|b| b.v6.clone()).unwrap_or_default()
    };
    let mut names: BTreeMap<u32, String> = base
        .filter(|_| kind == TableKind::Asn)
        .map(|b| {
            b.names
                .iter()
                .map(|(n, name)| (n, name.to_string()))
                .collect()
        })
        .unwrap_or_default();
    names.extend(rows.names);
    // Keep only names some range still uses: the bundle carries no dead weight.
    let used: std::collections::HashSet<u32> = v4
        .iter()
        .map(|(_, _, v)| v)
        .chain(v6.iter().map(|(_, _, v)| v))
        .collect();
    names.retain(|asn, _| used.contains(asn));
    report.names = names.len();
    let table = RangeTable {
        kind,
        name: name.to_string(),
        description,
        v4,
        v6,
        names: names.into_iter().collect(),
    };
    Ok((table, report))
}

/// Builds the country table from Tor geoip files or ip-location-db country CSVs. `from` is a
/// file, or a folder holding `geoip` and/or `geoip6` (as `/usr/share/tor`). A family the input
/// lacks is kept from `base`.
pub fn country_table(
    from: &Path,
    base: Option<&RangeTable>,
) -> Result<(RangeTable, ImportReport), GeoError> {
    let files = expand(from, &["geoip", "geoip6"])?;
    let mut rows = Rows::default();
    for file in &files {
        read_country_file(file, &mut rows)?;
    }
    let description = match &rows.generated {
        Some(date) => format!(
            "IPFire Location database (CC BY-SA 4.0) as converted by Tor's geoip-db-tool \
             (Debian tor-geoipdb), generated {date}"
        ),
        None => "IP-to-country ranges imported by safeguard geo update".to_string(),
    };
    assemble(
        TableKind::Country,
        COUNTRY_TABLE_NAME,
        description,
        rows,
        base,
        files,
    )
}

/// Builds the operator table from ip-location-db AS CSVs. `from` is a file, or a folder holding
/// `asn-ipv4.csv` and/or `asn-ipv6.csv` (the unpacked npm package). A family the input lacks is
/// kept from `base`.
pub fn asn_table(
    from: &[PathBuf],
    base: Option<&RangeTable>,
) -> Result<(RangeTable, ImportReport), GeoError> {
    let mut files = Vec::new();
    let mut version = None;
    for path in from {
        files.extend(expand(path, &["asn-ipv4.csv", "asn-ipv6.csv"])?);
        let manifest = if path.is_dir() {
            path.join("package.json")
        } else {
            path.with_file_name("package.json")
        };
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            version = package_version(&text).or(version);
        }
    }
    let mut rows = Rows::default();
    for file in &files {
        read_asn_file(file, &mut rows)?;
    }
    let description = format!(
        "ip-location-db asn{} (RouteViews, NRO/RIR statistics, DB-IP IP to ASN Lite; \
         CC BY 4.0)",
        version.map(|v| format!(" {v}")).unwrap_or_default()
    );
    assemble(
        TableKind::Asn,
        ASN_TABLE_NAME,
        description,
        rows,
        base,
        files,
    )
}

/// The `"version"` of an npm `package.json`, found without a JSON parser (the field is flat).
fn package_version(text: &str) -> Option<String> {
    let at = text.find("\"version\"")?;
    let rest = text.get(at + "\"version\"".len()..)?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let version = rest.get(..end)?;
    version
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        .then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes() {
        assert_eq!(
            split_csv(r#"1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc.""#).ok(),
            Some(vec![
                "1.0.0.0".to_string(),
                "1.0.0.255".to_string(),
                "13335".to_string(),
                "Cloudflare, Inc.".to_string()
            ])
        );
        assert_eq!(
            split_csv(r#"a,"say ""hi""""#).ok(),
            Some(vec!["a".to_string(), "say \"hi\"".to_string()])
        );
        assert!(split_csv(r#"a,"open"#).is_err());
    }

    #[test]
    fn addresses_in_both_spellings() {
        assert_eq!(
            parse_address("16777216", false),
            Ok("1.0.0.0".parse().expect("literal"))
        );
        assert_eq!(
            parse_address("2001:200::", false),
            Ok("2001:200::".parse().expect("literal"))
        );
        assert!(parse_address("4294967296", false).is_err());
        assert!(parse_address("1.2.3", false).is_err());
    }

    #[test]
    fn npm_version() {
        assert_eq!(
            package_version("{\n \"name\": \"x\",\n \"version\": \"2.3.1\"\n}"),
            Some("2.3.1".to_string())
        );
        assert_eq!(package_version("{\"version\": \"<script>\"}"), None);
    }
}
