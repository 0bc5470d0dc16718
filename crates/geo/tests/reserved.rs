//! Every special-purpose kind, in IPv4, IPv6 and IPv4-mapped form, gets no country, even from
//! data sets that (wrongly) give one.

use std::net::IpAddr;

use safeguard_geo::reserved::{classify, embedded_ipv4};
use safeguard_geo::{Confidence, Geolocator, ReservedKind, RESERVED_SOURCE};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test literal")
}

const CASES: &[(&str, ReservedKind)] = &[
    // IPv4
    ("0.0.0.0", ReservedKind::Unspecified),
    ("0.1.2.3", ReservedKind::ThisNetwork),
    ("10.0.0.1", ReservedKind::Private),
    ("172.16.0.1", ReservedKind::Private),
    ("172.31.255.254", ReservedKind::Private),
    ("192.168.1.1", ReservedKind::Private),
    ("100.64.0.1", ReservedKind::Cgnat),
    ("100.127.255.254", ReservedKind::Cgnat),
    ("127.0.0.1", ReservedKind::Loopback),
    ("169.254.10.20", ReservedKind::LinkLocal),
    ("192.0.0.8", ReservedKind::IetfProtocol),
    ("192.0.2.55", ReservedKind::Documentation),
    ("198.51.100.7", ReservedKind::Documentation),
    ("203.0.113.200", ReservedKind::Documentation),
    ("192.31.196.1", ReservedKind::As112),
    ("192.175.48.6", ReservedKind::As112),
    ("192.52.193.1", ReservedKind::Amt),
    ("192.88.99.1", ReservedKind::SixToFourRelay),
    ("198.18.0.1", ReservedKind::Benchmarking),
    ("198.19.255.255", ReservedKind::Benchmarking),
    ("224.0.0.251", ReservedKind::Multicast),
    ("239.255.255.250", ReservedKind::Multicast),
    ("240.0.0.1", ReservedKind::FutureUse),
    ("255.255.255.254", ReservedKind::FutureUse),
    ("255.255.255.255", ReservedKind::Broadcast),
    // IPv6
    ("::", ReservedKind::Unspecified),
    ("::1", ReservedKind::Loopback),
    ("::192.0.2.1", ReservedKind::Reserved),
    ("64:ff9b::c000:201", ReservedKind::Nat64),
    ("64:ff9b:1::1", ReservedKind::Nat64),
    ("100::1", ReservedKind::Discard),
    ("2001::1", ReservedKind::Teredo),
    ("2001:2::1", ReservedKind::Benchmarking),
    ("2001:3::1", ReservedKind::Amt),
    ("2001:4:112::1", ReservedKind::As112),
    ("2001:10::1", ReservedKind::Orchid),
    ("2001:20::1", ReservedKind::Orchid),
    ("2001:1::1", ReservedKind::IetfProtocol),
    ("2001:db8::1", ReservedKind::Documentation),
    ("2001:db8:ffff::1", ReservedKind::Documentation),
    ("3fff::1", ReservedKind::Documentation),
    ("2002:c000:204::1", ReservedKind::SixToFour),
    ("2620:4f:8000::1", ReservedKind::As112),
    ("5f00::1", ReservedKind::SegmentRouting),
    ("fc00::1", ReservedKind::Private),
    ("fd12:3456:789a::1", ReservedKind::Private),
    ("fe80::1", ReservedKind::LinkLocal),
    ("fec0::1", ReservedKind::Private),
    ("ff02::1", ReservedKind::Multicast),
    ("4000::1", ReservedKind::Reserved),
    ("e000::1", ReservedKind::Reserved),
    // IPv4-mapped IPv6 takes its IPv4 address's kind.
    ("::ffff:10.0.0.1", ReservedKind::Private),
    ("::ffff:100.64.1.1", ReservedKind::Cgnat),
    ("::ffff:127.0.0.1", ReservedKind::Loopback),
    ("::ffff:192.0.2.1", ReservedKind::Documentation),
    ("::ffff:198.18.0.1", ReservedKind::Benchmarking),
    ("::ffff:224.0.0.1", ReservedKind::Multicast),
    ("::ffff:169.254.1.1", ReservedKind::LinkLocal),
    ("::ffff:0.0.0.0", ReservedKind::Unspecified),
];

#[test]
fn every_reserved_kind_is_recognised_and_gets_no_country() {
    let geo = Geolocator::bundled().expect("embedded tables");
    for (address, kind) in CASES {
        assert_eq!(classify(ip(address)), Some(*kind), "{address}");
        let answer = geo.lookup(ip(address)).expect("lookup");
        assert_eq!(answer.reserved, Some(*kind), "{address}");
        assert_eq!(answer.country, None, "{address}");
        assert_eq!(answer.asn, None, "{address}");
        assert_eq!(answer.source, RESERVED_SOURCE);
        assert_eq!(answer.confidence, Confidence::None);
    }
}

#[test]
fn the_table_covers_every_kind() {
    let covered: std::collections::HashSet<ReservedKind> = CASES.iter().map(|(_, k)| *k).collect();
    assert_eq!(covered.len(), 22, "a ReservedKind has no test case");
}

#[test]
fn range_edges_are_exact() {
    for (address, expected) in [
        ("9.255.255.255", None),
        ("11.0.0.0", None),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("192.0.1.255", None),
        ("192.0.3.0", None),
        ("198.17.255.255", None),
        ("198.20.0.0", None),
        ("223.255.255.255", None),
        ("2001:1ff:ffff::1", Some(ReservedKind::IetfProtocol)),
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:db9::", None),
        ("2001:200::", None),
        ("2003::", None),
        ("3ffe:ffff::1", None),
        ("3fff:1000::", None),
        ("fbff:ffff::1", Some(ReservedKind::Reserved)),
        ("::ffff:8.8.8.8", None),
    ] {
        assert_eq!(classify(ip(address)), expected, "{address}");
    }
}

#[test]
fn tunnels_expose_the_embedded_ipv4_address() {
    let v6 = |t: &str| t.parse::<std::net::Ipv6Addr>().expect("literal");
    assert_eq!(
        embedded_ipv4(v6("2002:c000:204::1")),
        Some("192.0.2.4".parse().expect("literal"))
    );
    // Teredo: client address is the last 32 bits, inverted (RFC 4380 example).
    assert_eq!(
        embedded_ipv4(v6("2001:0:4136:e378:8000:63bf:3fff:fdd2")),
        Some("192.0.2.45".parse().expect("literal"))
    );
    assert_eq!(
        embedded_ipv4(v6("64:ff9b::c633:6401")),
        Some("198.51.100.1".parse().expect("literal"))
    );
    assert_eq!(embedded_ipv4(v6("2001:db8::1")), None);
    let answer = Geolocator::bundled()
        .expect("embedded tables")
        .lookup(ip("2002:c000:204::1"))
        .expect("lookup");
    assert_eq!(
        answer.embedded_ipv4,
        Some("192.0.2.4".parse().expect("literal"))
    );
}
