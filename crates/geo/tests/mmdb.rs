//! MaxMind-format databases, built by the test itself with `mmdb-writer`, in each layout the
//! reader supports, layered in front of the bundled data.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, Value, Writer};
use safeguard_geo::{AnonymiserList, Confidence, Geolocator, MmdbSource, ReservedKind, NO_SOURCE};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test literal")
}

fn net(text: &str) -> IpNet {
    text.parse().expect("test literal")
}

/// GeoIP2/GeoLite2 Country (and DB-IP) layout.
fn geoip2_country(code: &str, registered: &str) -> Value {
    Value::map([
        (
            "country",
            Value::map([
                ("iso_code", Value::from(code)),
                ("names", Value::map([("en", Value::from("Test country"))])),
            ]),
        ),
        (
            "registered_country",
            Value::map([("iso_code", Value::from(registered))]),
        ),
    ])
}

fn write_mmdb(dir: &Path, name: &str, version: IpVersion, entries: &[(&str, Value)]) -> PathBuf {
    let mut writer = Writer::builder("Test-DB").ip_version(version).build();
    for (network, value) in entries {
        writer
            .insert_value(net(network), value.clone())
            .expect("insert");
    }
    let path = dir.join(name);
    std::fs::write(&path, writer.to_bytes().expect("serialise MMDB")).expect("write MMDB");
    path
}

fn country_of(geo: &Geolocator, address: &str) -> Option<String> {
    geo.lookup(ip(address))
        .expect("lookup")
        .country
        .map(|c| c.to_string())
}

#[test]
fn geoip2_country_layout_answers_before_the_bundled_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_mmdb(
        dir.path(),
        "test-country.mmdb",
        IpVersion::V6,
        &[
            // The bundled data says NL for both; the MMDB is consulted first.
            ("193.0.0.0/21", geoip2_country("FR", "NL")),
            ("2001:67c:2e8::/48", geoip2_country("BE", "NL")),
        ],
    );
    let geo = Geolocator::builder()
        .mmdb(&path)
        .build()
        .expect("geolocator");
    for (address, country) in [
        ("193.0.6.139", "FR"),
        ("::ffff:193.0.6.139", "FR"),
        ("2001:67c:2e8::1", "BE"),
    ] {
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(
            answer.country.map(|c| c.to_string()).as_deref(),
            Some(country)
        );
        assert_eq!(answer.source, "test-country.mmdb", "{address}");
        assert_eq!(answer.confidence, Confidence::High);
        // A country database has no AS data: that still comes from the bundled table.
        assert_eq!(answer.asn, Some(3333));
        assert_eq!(answer.asn_source.as_deref(), Some("ip-location-db-asn"));
    }
    // Outside the MMDB the bundled data answers.
    let answer = geo.lookup(ip("202.12.29.1")).expect("lookup");
    assert_eq!(answer.country.map(|c| c.to_string()).as_deref(), Some("AU"));
    assert_eq!(answer.source, "tor-geoipdb");
    assert_eq!(answer.confidence, Confidence::Medium);
}

#[test]
fn registered_country_is_used_when_there_is_no_country() {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = Value::map([(
        "registered_country",
        Value::map([("iso_code", Value::from("SE"))]),
    )]);
    let path = write_mmdb(
        dir.path(),
        "reg.mmdb",
        IpVersion::V4,
        &[("81.2.69.0/24", record)],
    );
    let geo = Geolocator::builder()
        .mmdb(&path)
        .build()
        .expect("geolocator");
    assert_eq!(country_of(&geo, "81.2.69.160").as_deref(), Some("SE"));
}

#[test]
fn asn_and_ip_location_db_layouts_layer_field_by_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let asn = write_mmdb(
        dir.path(),
        "test-asn.mmdb",
        IpVersion::V6,
        &[
            (
                "198.51.0.0/16",
                Value::map([
                    ("autonomous_system_number", Value::from(64_500_u32)),
                    (
                        "autonomous_system_organization",
                        Value::from("Example Transit"),
                    ),
                ]),
            ),
            (
                "2a00:1450::/32",
                Value::map([
                    ("autonomous_system_number", Value::from(64_501_u32)),
                    ("autonomous_system_organization", Value::from("Example v6")),
                ]),
            ),
        ],
    );
    // ip-location-db country layout: a flat `country_code`.
    let country = write_mmdb(
        dir.path(),
        "ip-location-db-country.mmdb",
        IpVersion::V6,
        &[
            (
                "198.51.0.0/16",
                Value::map([("country_code", Value::from("CH"))]),
            ),
            (
                "2a00:1450::/32",
                Value::map([("country_code", Value::from("IE"))]),
            ),
        ],
    );
    let geo = Geolocator::builder()
        .mmdb(&asn)
        .mmdb(&country)
        .build()
        .expect("geolocator");
    let answer = geo.lookup(ip("198.51.7.7")).expect("lookup");
    assert_eq!(answer.country.map(|c| c.to_string()).as_deref(), Some("CH"));
    assert_eq!(answer.source, "ip-location-db-country.mmdb");
    assert_eq!(answer.asn, Some(64_500));
    assert_eq!(answer.operator.as_deref(), Some("Example Transit"));
    assert_eq!(answer.asn_source.as_deref(), Some("test-asn.mmdb"));
    let answer = geo.lookup(ip("2a00:1450:4009::1")).expect("lookup");
    assert_eq!(answer.country.map(|c| c.to_string()).as_deref(), Some("IE"));
    assert_eq!(answer.asn, Some(64_501));
    assert_eq!(answer.operator.as_deref(), Some("Example v6"));
}

#[test]
fn ipinfo_layout_with_a_country_name_and_text_asn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = Value::map([
        // IPinfo keeps a name in `country`: not a map, so the reader moves on.
        ("country", Value::from("Sweden")),
        ("country_code", Value::from("SE")),
        ("asn", Value::from("AS64502")),
        ("as_name", Value::from("Example AB")),
    ]);
    let path = write_mmdb(
        dir.path(),
        "ipinfo.mmdb",
        IpVersion::V6,
        &[("81.2.0.0/16", record)],
    );
    let source = MmdbSource::open(&path).expect("open");
    let facts = source
        .lookup(ip("81.2.69.160"))
        .expect("lookup")
        .expect("known address");
    assert_eq!(facts.country.map(|c| c.to_string()).as_deref(), Some("SE"));
    assert_eq!(facts.asn, Some(64_502));
    assert_eq!(facts.operator.as_deref(), Some("Example AB"));
    assert_eq!(source.lookup(ip("8.8.8.8")).expect("lookup"), None);
}

#[test]
fn reserved_ranges_get_no_country_even_from_an_mmdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_mmdb(
        dir.path(),
        "wrong.mmdb",
        IpVersion::V6,
        &[
            ("10.0.0.0/8", geoip2_country("US", "US")),
            ("100.64.0.0/10", geoip2_country("US", "US")),
            ("2001:db8::/32", geoip2_country("US", "US")),
            ("fc00::/7", geoip2_country("US", "US")),
        ],
    );
    let geo = Geolocator::builder()
        .mmdb(&path)
        .build()
        .expect("geolocator");
    for (address, kind) in [
        ("10.1.2.3", ReservedKind::Private),
        ("::ffff:10.1.2.3", ReservedKind::Private),
        ("100.64.0.1", ReservedKind::Cgnat),
        ("2001:db8::1", ReservedKind::Documentation),
        ("fd00::1", ReservedKind::Private),
    ] {
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(answer.country, None, "{address}");
        assert_eq!(answer.reserved, Some(kind), "{address}");
    }
}

#[test]
fn ipv4_only_database_passes_ipv6_to_the_next_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_mmdb(
        dir.path(),
        "v4only.mmdb",
        IpVersion::V4,
        &[("193.0.0.0/21", geoip2_country("FR", "FR"))],
    );
    let geo = Geolocator::builder()
        .mmdb(&path)
        .build()
        .expect("geolocator");
    assert_eq!(country_of(&geo, "193.0.0.1").as_deref(), Some("FR"));
    let answer = geo.lookup(ip("2001:67c:2e8::1")).expect("lookup");
    assert_eq!(answer.country.map(|c| c.to_string()).as_deref(), Some("NL"));
    assert_eq!(answer.source, "tor-geoipdb");
}

#[test]
fn without_bundled_data_unknown_addresses_have_no_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_mmdb(
        dir.path(),
        "small.mmdb",
        IpVersion::V6,
        &[("193.0.0.0/21", geoip2_country("NL", "NL"))],
    );
    let geo = Geolocator::builder()
        .mmdb(&path)
        .without_bundled()
        .build()
        .expect("geolocator");
    assert_eq!(country_of(&geo, "193.0.0.1").as_deref(), Some("NL"));
    let answer = geo.lookup(ip("8.8.8.8")).expect("lookup");
    assert_eq!(answer.country, None);
    assert_eq!(answer.asn, None);
    assert_eq!(answer.source, NO_SOURCE);
    assert_eq!(answer.confidence, Confidence::None);
}

#[test]
fn anonymiser_lists_lower_confidence() {
    let list = AnonymiserList::parse("193.0.0.0/24 example-vpn\n", "test").expect("list");
    let geo = Geolocator::builder()
        .anonymisers(list)
        .build()
        .expect("geolocator");
    let answer = geo.lookup(ip("193.0.0.1")).expect("lookup");
    assert_eq!(answer.anonymiser.as_deref(), Some("example-vpn"));
    assert_eq!(answer.country.map(|c| c.to_string()).as_deref(), Some("NL"));
    assert_eq!(answer.confidence, Confidence::Low);
    let answer = geo.lookup(ip("193.0.6.139")).expect("lookup");
    assert_eq!(answer.anonymiser, None);
    assert_eq!(answer.confidence, Confidence::Medium);
}

#[test]
fn broken_mmdb_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = write_mmdb(
        dir.path(),
        "good.mmdb",
        IpVersion::V6,
        &[("193.0.0.0/21", geoip2_country("NL", "NL"))],
    );
    let bytes = std::fs::read(&good).expect("read");
    assert!(MmdbSource::from_bytes("empty", Vec::new()).is_err());
    assert!(MmdbSource::from_bytes("noise", vec![0xAB; 4096]).is_err());
    // Every truncation either fails to open or answers (or fails) without panicking.
    for cut in (0..bytes.len()).step_by(7) {
        if let Ok(source) = MmdbSource::from_bytes("cut", bytes[..cut].to_vec()) {
            let _ = source.lookup(ip("193.0.0.1"));
        }
    }
    // Flipped bytes in the tree and data sections likewise.
    for at in 0..bytes.len().min(2048) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5A;
        if let Ok(source) = MmdbSource::from_bytes("flip", damaged) {
            let _ = source.lookup(ip("193.0.0.1"));
            let _ = source.lookup(ip("2001:67c:2e8::1"));
        }
    }
    let missing = Geolocator::builder()
        .mmdb(dir.path().join("absent.mmdb"))
        .build();
    assert!(missing.is_err());
}
