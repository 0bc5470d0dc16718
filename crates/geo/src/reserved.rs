//! Special-purpose address ranges (RFC 6890 and the IANA IPv4/IPv6 special-purpose registries).
//!
//! An address in one of these ranges names no place: a private or CGNAT address is meaningful
//! only inside the operator's network, documentation and benchmarking ranges are never routed,
//! anycast services (AS112, AMT, 6to4 relays) answer from everywhere. Such an address is never
//! given a country, whatever a data set says about it (some data sets do map `2001:2::/48` or
//! `2001:4:112::/48` to a country).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Why an address cannot be geolocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ReservedKind {
    /// `0.0.0.0/32`, `::/128`.
    Unspecified,
    /// `0.0.0.0/8`: "this host on this network" (RFC 791/1122).
    ThisNetwork,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), IPv6 unique-local `fc00::/7` and the
    /// deprecated site-local `fec0::/10`.
    Private,
    /// `100.64.0.0/10`: carrier-grade NAT shared address space (RFC 6598).
    Cgnat,
    /// `127/8`, `::1/128`.
    Loopback,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// `192.0.0.0/24`, `2001::/23` (the parts not listed separately): IETF protocol assignments.
    IetfProtocol,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15`, `2001:2::/48` (RFC 2544, RFC 5180).
    Benchmarking,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255/32`: limited broadcast.
    Broadcast,
    /// `240/4`: reserved for future use.
    FutureUse,
    /// AS112 anycast DNS sinks: `192.31.196/24`, `192.175.48/24`, `2001:4:112::/48`,
    /// `2620:4f:8000::/48`.
    As112,
    /// Automatic Multicast Tunneling anycast: `192.52.193/24`, `2001:3::/32`.
    Amt,
    /// `192.88.99/24`: deprecated 6to4 relay anycast (RFC 7526).
    SixToFourRelay,
    /// `2002::/16`: 6to4; the tunnel's IPv4 address is embedded (see [`embedded_ipv4`]).
    SixToFour,
    /// `2001::/32`: Teredo; the client's IPv4 address is embedded, obfuscated
    /// (see [`embedded_ipv4`]).
    Teredo,
    /// `64:ff9b::/96`, `64:ff9b:1::/48`: IPv4/IPv6 translation (NAT64) prefixes.
    Nat64,
    /// `100::/64`: discard-only (RFC 6666).
    Discard,
    /// `2001:10::/28`, `2001:20::/28`: ORCHID hashes (not routable).
    Orchid,
    /// `5f00::/16`: SRv6 segment identifiers (RFC 9602).
    SegmentRouting,
    /// IPv6 outside the global unicast space `2000::/3` and not listed above (IETF reserved,
    /// including the deprecated IPv4-compatible `::/96`).
    Reserved,
}

impl ReservedKind {
    /// The name used in JSON output (`private`, `cgnat`, `link-local`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::ThisNetwork => "this-network",
            Self::Private => "private",
            Self::Cgnat => "cgnat",
            Self::Loopback => "loopback",
            Self::LinkLocal => "link-local",
            Self::IetfProtocol => "ietf-protocol",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::FutureUse => "future-use",
            Self::As112 => "as112",
            Self::Amt => "amt",
            Self::SixToFourRelay => "six-to-four-relay",
            Self::SixToFour => "six-to-four",
            Self::Teredo => "teredo",
            Self::Nat64 => "nat64",
            Self::Discard => "discard",
            Self::Orchid => "orchid",
            Self::SegmentRouting => "segment-routing",
            Self::Reserved => "reserved",
        }
    }
}

impl std::fmt::Display for ReservedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `(network, prefix length, kind)`, most specific first: the first match wins.
const V4_RANGES: &[(u32, u8, ReservedKind)] = &[
    (0x0000_0000, 32, ReservedKind::Unspecified),
    (0xFFFF_FFFF, 32, ReservedKind::Broadcast),
    (0x0000_0000, 8, ReservedKind::ThisNetwork),
    (0x0A00_0000, 8, ReservedKind::Private),
    (0x6440_0000, 10, ReservedKind::Cgnat),
    (0x7F00_0000, 8, ReservedKind::Loopback),
    (0xA9FE_0000, 16, ReservedKind::LinkLocal),
    (0xAC10_0000, 12, ReservedKind::Private),
    (0xC000_0000, 24, ReservedKind::IetfProtocol),
    (0xC000_0200, 24, ReservedKind::Documentation),
    (0xC01F_C400, 24, ReservedKind::As112),
    (0xC034_C100, 24, ReservedKind::Amt),
    (0xC058_6300, 24, ReservedKind::SixToFourRelay),
    (0xC0A8_0000, 16, ReservedKind::Private),
    (0xC0AF_3000, 24, ReservedKind::As112),
    (0xC612_0000, 15, ReservedKind::Benchmarking),
    (0xC633_6400, 24, ReservedKind::Documentation),
    (0xCB00_7100, 24, ReservedKind::Documentation),
    (0xE000_0000, 4, ReservedKind::Multicast),
    (0xF000_0000, 4, ReservedKind::FutureUse),
];

/// As [`V4_RANGES`], for IPv6. Addresses outside `2000::/3` that match nothing here are
/// [`ReservedKind::Reserved`].
const V6_RANGES: &[(u128, u8, ReservedKind)] = &[
    (0, 128, ReservedKind::Unspecified),
    (1, 128, ReservedKind::Loopback),
    (
        0x0064_ff9b_0000_0000_0000_0000_0000_0000,
        96,
        ReservedKind::Nat64,
    ),
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        ReservedKind::Nat64,
    ),
    (
        0x0100_0000_0000_0000_0000_0000_0000_0000,
        64,
        ReservedKind::Discard,
    ),
    (
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        32,
        ReservedKind::Teredo,
    ),
    (
        0x2001_0002_0000_0000_0000_0000_0000_0000,
        48,
        ReservedKind::Benchmarking,
    ),
    (
        0x2001_0003_0000_0000_0000_0000_0000_0000,
        32,
        ReservedKind::Amt,
    ),
    (
        0x2001_0004_0112_0000_0000_0000_0000_0000,
        48,
        ReservedKind::As112,
    ),
    (
        0x2001_0010_0000_0000_0000_0000_0000_0000,
        28,
        ReservedKind::Orchid,
    ),
    (
        0x2001_0020_0000_0000_0000_0000_0000_0000,
        28,
        ReservedKind::Orchid,
    ),
    (
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        23,
        ReservedKind::IetfProtocol,
    ),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        ReservedKind::Documentation,
    ),
    (
        0x2002_0000_0000_0000_0000_0000_0000_0000,
        16,
        ReservedKind::SixToFour,
    ),
    (
        0x2620_004f_8000_0000_0000_0000_0000_0000,
        48,
        ReservedKind::As112,
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        ReservedKind::Documentation,
    ),
    (
        0x5f00_0000_0000_0000_0000_0000_0000_0000,
        16,
        ReservedKind::SegmentRouting,
    ),
    (
        0xfc00_0000_0000_0000_0000_0000_0000_0000,
        7,
        ReservedKind::Private,
    ),
    (
        0xfe80_0000_0000_0000_0000_0000_0000_0000,
        10,
        ReservedKind::LinkLocal,
    ),
    (
        0xfec0_0000_0000_0000_0000_0000_0000_0000,
        10,
        ReservedKind::Private,
    ),
    (
        0xff00_0000_0000_0000_0000_0000_0000_0000,
        8,
        ReservedKind::Multicast,
    ),
];

fn v4_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn v6_mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address; anything else is itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// The special-purpose range an IPv4 address falls in, if any.
pub fn classify_v4(ip: Ipv4Addr) -> Option<ReservedKind> {
    let bits = u32::from(ip);
    // Most addresses start with an octet no special-purpose range uses: skip the scan.
    if !matches!(
        bits >> 24,
        0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255
    ) {
        return None;
    }
    V4_RANGES
        .iter()
        .find(|(net, len, _)| bits & v4_mask(*len) == *net)
        .map(|(_, _, kind)| *kind)
}

/// The special-purpose range an IPv6 address falls in, if any. IPv4-mapped addresses are
/// classified as their IPv4 address.
pub fn classify_v6(ip: Ipv6Addr) -> Option<ReservedKind> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let bits = u128::from(ip);
    // Global unicast outside the few /16s that hold special-purpose ranges: skip the scan.
    if bits >> 125 == 0b001 && !matches!(bits >> 112, 0x2001 | 0x2002 | 0x2620 | 0x3fff) {
        return None;
    }
    if let Some((_, _, kind)) = V6_RANGES
        .iter()
        .find(|(net, len, _)| bits & v6_mask(*len) == *net)
    {
        return Some(*kind);
    }
    // Global unicast is 2000::/3; IANA has allocated nothing else.
    if bits >> 125 != 0b001 {
        return Some(ReservedKind::Reserved);
    }
    None
}

/// The special-purpose range an address falls in, if any.
pub fn classify(ip: IpAddr) -> Option<ReservedKind> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The IPv4 address a transition mechanism embeds in an IPv6 address: the 6to4 router's
/// address (`2002:AABB:CCDD::`), the Teredo client's public address (the last 32 bits,
/// inverted) or the NAT64 target (`64:ff9b::a.b.c.d`). An analyst may geolocate it, with care:
/// it is where the tunnel ends, not necessarily where the person is.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = (bits & 0xFFFF_FFFF) as u32;
    match classify_v6(ip)? {
        ReservedKind::SixToFour => Some(Ipv4Addr::from(((bits >> 80) & 0xFFFF_FFFF) as u32)),
        ReservedKind::Teredo => Some(Ipv4Addr::from(!low32)),
        ReservedKind::Nat64 if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 => {
            Some(Ipv4Addr::from(low32))
        }
        _ => None,
    }
}
