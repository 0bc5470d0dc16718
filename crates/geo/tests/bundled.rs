//! The embedded tables answer known, long-stable registrations. Chosen ranges belong to the
//! regional registries and national research networks themselves (RIPE NCC, APNIC, NIC.br,
//! AFRINIC, ARIN, WIDE), whose country has not changed in decades.

use std::net::IpAddr;

use safeguard_geo::{embedded_asn_table, embedded_country_table, Confidence, Geolocator};

fn geolocator() -> Geolocator {
    Geolocator::bundled().expect("embedded tables decode")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test literal")
}

#[test]
fn ipv4_known_ranges_have_their_country() {
    let geo = geolocator();
    for (address, country) in [
        ("193.0.0.1", "NL"),   // RIPE NCC, Amsterdam
        ("193.0.6.139", "NL"), // ripe.net
        ("202.12.29.1", "AU"), // APNIC, Brisbane
        ("200.160.0.1", "BR"), // NIC.br
        ("196.216.2.1", "ZA"), // AFRINIC
        ("199.43.0.1", "US"),  // ARIN
        ("81.2.69.160", "GB"), // Andrews & Arnold
        ("210.155.0.1", "JP"), // KDDI
    ] {
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(
            answer.country.map(|c| c.to_string()).as_deref(),
            Some(country),
            "{address}"
        );
        assert_eq!(answer.source, "tor-geoipdb");
        assert_eq!(answer.reserved, None);
        assert_eq!(answer.confidence, Confidence::Medium);
    }
}

#[test]
fn ipv6_known_ranges_have_their_country() {
    let geo = geolocator();
    for (address, country) in [
        ("2001:67c:2e8::1", "NL"),  // RIPE NCC
        ("2001:dc0:2001::1", "AU"), // APNIC
        ("2001:12ff::1", "BR"),     // NIC.br
        ("2001:200::1", "JP"),      // WIDE Project
        ("2001:500:8f::53", "US"),  // ICANN
    ] {
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(
            answer.country.map(|c| c.to_string()).as_deref(),
            Some(country),
            "{address}"
        );
        assert_eq!(answer.source, "tor-geoipdb");
    }
}

#[test]
fn ipv4_mapped_ipv6_is_located_as_ipv4() {
    let geo = geolocator();
    let mapped = geo.lookup(ip("::ffff:193.0.6.139")).expect("lookup");
    let plain = geo.lookup(ip("193.0.6.139")).expect("lookup");
    assert_eq!(mapped.country, plain.country);
    assert_eq!(mapped.asn, plain.asn);
    // The answer keeps the address as it was given.
    assert_eq!(mapped.ip, ip("::ffff:193.0.6.139"));
}

#[test]
fn operators_come_from_the_bundled_as_table() {
    let geo = geolocator();
    for (address, asn, operator_part) in [
        ("193.0.6.139", 3333, "RIPE"),
        ("2001:67c:2e8::1", 3333, "RIPE"),
        (
            "202.12.29.1",
            4608,
            "Asia Pacific Network Information Centre",
        ),
        ("200.160.0.1", 22548, "NIC.BR"),
        ("2001:200::1", 2500, "WIDE"),
    ] {
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(answer.asn, Some(asn), "{address}");
        let operator = answer.operator.expect("operator name");
        assert!(operator.contains(operator_part), "{address}: {operator}");
        assert_eq!(answer.asn_source.as_deref(), Some("ip-location-db-asn"));
    }
}

#[test]
fn embedded_tables_are_substantial_and_round_trip() {
    let country = embedded_country_table().expect("country table");
    assert!(country.v4.len() > 100_000, "{}", country.v4.len());
    assert!(country.v6.len() > 100_000, "{}", country.v6.len());
    assert!(country.description.contains("IPFire"));
    let asn = embedded_asn_table().expect("AS table");
    assert!(asn.v4.len() > 100_000);
    assert!(asn.names.len() > 50_000);
    // Encoding is deterministic and lossless: the embedded bytes decode to a table that
    // encodes back to a table equal to it.
    let bytes = country.to_bytes().expect("encode");
    let again = safeguard_geo::RangeTable::from_bytes(&bytes).expect("decode");
    assert_eq!(&again, country.as_ref());
    assert_eq!(again.to_bytes().expect("encode"), bytes);
}

#[test]
fn unknown_text_is_an_error_not_a_panic() {
    let geo = geolocator();
    for text in [
        "",
        "nonsense",
        "1.2.3",
        "256.1.1.1",
        "1.2.3.4/24",
        "::gg",
        "[::1",
    ] {
        assert!(geo.lookup_str(text).is_err(), "{text:?}");
    }
    assert!(geo.lookup_str(" [2001:67c:2e8::1] ").is_ok());
}

/// When the very package version the bundle was generated from is installed, every 97th row of
/// its files must answer the same country from the embedded table (first and last address).
/// Other versions (or no package) are skipped with a note: the data changes between releases.
#[test]
fn bundle_matches_the_installed_package_of_the_same_date() {
    let table = embedded_country_table().expect("country table");
    for file in ["/usr/share/tor/geoip", "/usr/share/tor/geoip6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            eprintln!("{file} not installed: comparison skipped");
            continue;
        };
        let generated = text
            .lines()
            .find_map(|l| l.strip_prefix("# Generated:"))
            .map(str::trim)
            .unwrap_or_default();
        if generated.is_empty() || !table.description.contains(generated) {
            eprintln!("{file} is another release ({generated}): comparison skipped");
            continue;
        }
        let mut compared = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')).step_by(97) {
            let fields: Vec<&str> = line.split(',').collect();
            let [first, last, code] = fields.as_slice() else {
                panic!("unexpected line {line}");
            };
            let expected = match *code {
                "??" | "EU" | "AP" => None,
                "UK" => Some("GB".to_string()),
                other => Some(other.to_string()),
            };
            for end in [first, last] {
                let address: IpAddr = match end.parse::<u32>() {
                    Ok(n) => IpAddr::V4(n.into()),
                    Err(_) => end.parse().expect("address in package file"),
                };
                let got = match address {
                    IpAddr::V4(a) => table.v4.get(u32::from(a)),
                    IpAddr::V6(a) => table.v6.get(u128::from(a)),
                };
                let got = got.map(|index| {
                    let first = char::from(b'A' + (index / 26) as u8);
                    let second = char::from(b'A' + (index % 26) as u8);
                    format!("{first}{second}")
                });
                assert_eq!(got, expected, "{file}: {line}");
            }
            compared += 1;
        }
        assert!(compared > 1000, "{file}: only {compared} rows compared");
    }
}
