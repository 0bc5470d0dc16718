//! Importing the published formats, the compact table file, and the data-folder copy taking
//! precedence over the embedded tables.

use std::net::IpAddr;
use std::path::Path;

use safeguard_geo::import::{asn_table, country_table};
use safeguard_geo::range_table::Ranges;
use safeguard_geo::{
    embedded_country_table, refreshed_path, Geolocator, RangeTable, TableKind, DATA_SUBDIR,
};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test literal")
}

/// Synthetic files in Tor's geoip formats (decimal IPv4; textual IPv6), with its header.
const GEOIP: &str = "# Generated: Mon, 01 Jan 2024 00:00:00 GMT\n\
# License:   CC BY-SA 4.0\n\
16777216,16777471,AU\n\
16777472,16778239,??\n\
16778240,16779263,EU\n\
33554432,33554687,UK\n\
33554688,33554943,gb\n\
50331648,67108863,US\n";
const GEOIP6: &str = "# Generated: Mon, 01 Jan 2024 00:00:00 GMT\n\
2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n\
2a00::,2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff,DE\n";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write test file");
}

#[test]
fn tor_geoip_folder_imports_both_families() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "geoip", GEOIP);
    write(dir.path(), "geoip6", GEOIP6);
    let (table, report) = country_table(dir.path(), None).expect("import");
    assert_eq!(table.kind, TableKind::Country);
    assert!(table.description.contains("Mon, 01 Jan 2024"));
    // `??` and `EU` name no jurisdiction; `UK` is ISO `GB`, so the two GB rows merge.
    assert_eq!(report.skipped, 2);
    assert_eq!(table.v4.len(), 3);
    assert_eq!(table.v6.len(), 2);
    let bytes = table.to_bytes().expect("encode");
    let decoded = RangeTable::from_bytes(&bytes).expect("decode");
    assert_eq!(decoded, table);

    let dir_data = tempfile::tempdir().expect("data dir");
    let path = refreshed_path(dir_data.path(), TableKind::Country);
    assert_eq!(path, dir_data.path().join(DATA_SUBDIR).join("country.sgrt"));
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write");
    // The refreshed copy takes precedence over the embedded table.
    let geo = Geolocator::builder()
        .data_dir(dir_data.path())
        .build()
        .expect("geolocator");
    let country = |a: &str| {
        geo.lookup(ip(a))
            .expect("lookup")
            .country
            .map(|c| c.to_string())
    };
    assert_eq!(country("1.0.0.1").as_deref(), Some("AU"));
    assert_eq!(country("1.0.1.1"), None); // `??`
    assert_eq!(country("1.0.4.1"), None); // `EU`
    assert_eq!(country("2.0.0.1").as_deref(), Some("GB"));
    assert_eq!(country("2.0.1.1").as_deref(), Some("GB"));
    assert_eq!(country("3.1.2.3").as_deref(), Some("US"));
    assert_eq!(country("4.0.0.0"), None);
    assert_eq!(country("2001:200:1::1").as_deref(), Some("JP"));
    // 193.0.0.1 is NL in the embedded table, unknown in the small refreshed one.
    assert_eq!(country("193.0.0.1"), None);
}

#[test]
fn a_single_family_update_keeps_the_other_from_the_base() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "geoip", GEOIP);
    let base = embedded_country_table().expect("embedded");
    let (table, report) = country_table(&dir.path().join("geoip"), Some(&base)).expect("import");
    assert!(report.v4.is_some());
    assert!(report.v6.is_none());
    assert_eq!(table.v4.len(), 3);
    assert_eq!(table.v6, base.v6);
}

#[test]
fn malformed_country_lines_name_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, line) in [
        ("16777216,16777471,AU\n1.2.3.4,AU\n", 2),
        ("16777216,16777471,A1X\n", 1),
        ("99999999999,1,AU\n", 1),
        ("1.0.0.0,2001::,AU\n", 1),
    ] {
        write(dir.path(), "geoip", text);
        let error = country_table(&dir.path().join("geoip"), None).expect_err(text);
        assert!(
            error.to_string().contains(&format!("geoip:{line}:")),
            "{error}"
        );
    }
    write(dir.path(), "empty", "# nothing\n");
    assert!(country_table(&dir.path().join("empty"), None).is_err());
    assert!(country_table(&dir.path().join("absent"), None).is_err());
}

#[test]
fn ip_location_db_asn_csv_with_quotes_overlaps_and_as0() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "asn-ipv4.csv",
        "1.0.0.0,1.0.0.255,13335,\"Example, Inc.\"\n\
         1.0.4.0,1.0.7.255,64500,Plain Name\n\
         1.0.6.0,1.0.9.255,64501,Overlapping\n\
         1.0.10.0,1.0.10.255,0,Not routed\n",
    );
    write(
        dir.path(),
        "asn-ipv6.csv",
        "2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,\"Say \"\"hi\"\"\"\n",
    );
    write(
        dir.path(),
        "package.json",
        "{\"name\": \"x\", \"version\": \"9.9.9\"}",
    );
    let (table, report) = asn_table(&[dir.path().to_path_buf()], None).expect("import");
    assert!(table.description.contains("9.9.9"));
    assert_eq!(report.skipped, 1);
    assert_eq!(report.v4.map(|s| s.clipped), Some(1));
    assert_eq!(table.v4.get(u32::from(ip_v4("1.0.0.7"))), Some(13335));
    assert_eq!(table.v4.get(u32::from(ip_v4("1.0.6.1"))), Some(64500)); // earlier row wins
    assert_eq!(table.v4.get(u32::from(ip_v4("1.0.9.1"))), Some(64501)); // clipped remainder
    assert_eq!(table.v4.get(u32::from(ip_v4("1.0.10.1"))), None);
    assert_eq!(table.as_name(13335), Some("Example, Inc."));
    assert_eq!(table.as_name(2500), Some("Say \"hi\""));
    let decoded = RangeTable::from_bytes(&table.to_bytes().expect("encode")).expect("decode");
    assert_eq!(decoded, table);
}

fn ip_v4(text: &str) -> std::net::Ipv4Addr {
    text.parse().expect("test literal")
}

#[test]
fn ranges_merge_neighbours_and_find_edges() {
    let (ranges, stats) = Ranges::<u32>::from_rows(vec![
        (20, 29, 2),
        (0, 9, 1),
        (10, 19, 1),
        (30, u32::MAX, 3),
        (40, 50, 4), // inside the previous range: dropped
        (5, 4, 9),   // reversed: ignored
    ]);
    assert_eq!(ranges.len(), 3);
    assert_eq!(stats.clipped, 1);
    for (key, value) in [
        (0, Some(1)),
        (19, Some(1)),
        (20, Some(2)),
        (29, Some(2)),
        (30, Some(3)),
    ] {
        assert_eq!(ranges.get(key), value, "{key}");
    }
    assert_eq!(ranges.get(u32::MAX), Some(3));
    let (sparse, _) = Ranges::<u128>::from_rows(vec![(10, 10, 1), (u128::MAX, u128::MAX, 2)]);
    assert_eq!(sparse.get(9), None);
    assert_eq!(sparse.get(10), Some(1));
    assert_eq!(sparse.get(11), None);
    assert_eq!(sparse.get(u128::MAX), Some(2));
}

#[test]
fn damaged_table_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "geoip", GEOIP);
    write(dir.path(), "geoip6", GEOIP6);
    let (table, _) = country_table(dir.path(), None).expect("import");
    let bytes = table.to_bytes().expect("encode");
    assert!(RangeTable::from_bytes(&[]).is_err());
    assert!(RangeTable::from_bytes(b"SGRT").is_err());
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(RangeTable::from_bytes(&wrong_magic).is_err());
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 99;
    assert!(RangeTable::from_bytes(&wrong_version).is_err());
    for cut in 0..bytes.len() {
        assert!(
            RangeTable::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    for at in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            // Either rejected, or (zlib's checksum permitting) a well-formed table.
            if let Ok(decoded) = RangeTable::from_bytes(&damaged) {
                let _ = decoded.v4.get(0);
            }
        }
    }
    // A kind mismatch in the data folder is refused rather than misread.
    let data = tempfile::tempdir().expect("data dir");
    let path = refreshed_path(data.path(), TableKind::Asn);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, &bytes).expect("write");
    assert!(Geolocator::builder().data_dir(data.path()).build().is_err());
}
