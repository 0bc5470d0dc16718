//! Lookups per second on one core: bundled tables and an MMDB holding the same country data.
//!
//! `cargo bench -p safeguard-geo --bench lookup`. Not run in CI.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mmdb_writer::{Value, Writer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safeguard_geo::{embedded_country_table, Geolocator, MmdbSource, RangeTable};

const BATCH: usize = 10_000;

/// Uniform over the whole IPv4 space (reserved ranges included, as in real logs they are rare,
/// but they exercise the early exit).
fn random_v4(rng: &mut StdRng) -> Vec<IpAddr> {
    (0..BATCH)
        .map(|_| IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>())))
        .collect()
}

/// Uniform over IPv6 space is almost all unallocated; draw instead a random address inside a
/// random range of the table, as real IPv6 leads are allocated addresses.
fn allocated_v6(rng: &mut StdRng, table: &RangeTable) -> Vec<IpAddr> {
    let ranges: Vec<(u128, u128, u32)> = table.v6.iter().collect();
    (0..BATCH)
        .map(|_| {
            let (first, last, _) = ranges[rng.gen_range(0..ranges.len())];
            let span = last - first;
            let offset = if span == u128::MAX {
                rng.gen()
            } else {
                rng.gen_range(0..=span)
            };
            IpAddr::V6(Ipv6Addr::from(first + offset))
        })
        .collect()
}

/// An MMDB (GeoIP2 Country layout) holding the bundled country ranges, so both sources answer
/// from the same data.
fn mmdb_from(table: &RangeTable) -> MmdbSource {
    let mut writer = Writer::new("Bench-Country");
    let record = |value: u32| {
        let code = char::from(b'A' + (value / 26) as u8).to_string()
            + &char::from(b'A' + (value % 26) as u8).to_string();
        Value::map([("country", Value::map([("iso_code", Value::from(code))]))])
    };
    for (first, last, value) in table.v4.iter() {
        writer
            .insert_range(
                IpAddr::V4(first.into()),
                IpAddr::V4(last.into()),
                &record(value),
            )
            .expect("insert v4 range");
    }
    for (first, last, value) in table.v6.iter() {
        // Ranges touching the writer's IPv4 alias subtrees (::/96, 2001::/32, 2002::/16) are
        // refused by it; they are special-purpose space anyway.
        let _ = writer.insert_range(
            IpAddr::V6(first.into()),
            IpAddr::V6(last.into()),
            &record(value),
        );
    }
    MmdbSource::from_bytes("bench.mmdb", writer.to_bytes().expect("serialise"))
        .expect("open bench MMDB")
}

fn lookups(c: &mut Criterion) {
    let table = embedded_country_table().expect("embedded table");
    let mut rng = StdRng::seed_from_u64(0x05AF_E6E0);
    let v4 = random_v4(&mut rng);
    let v6 = allocated_v6(&mut rng, &table);
    let bundled = Geolocator::bundled().expect("bundled geolocator");

    let mut group = c.benchmark_group("geo");
    group.throughput(Throughput::Elements(BATCH as u64));

    group.bench_function("bundled-table/ipv4-random", |b| {
        b.iter(|| {
            for ip in &v4 {
                if let IpAddr::V4(a) = ip {
                    black_box(table.v4.get(u32::from(*a)));
                }
            }
        })
    });
    group.bench_function("bundled-table/ipv6-allocated", |b| {
        b.iter(|| {
            for ip in &v6 {
                if let IpAddr::V6(a) = ip {
                    black_box(table.v6.get(u128::from(*a)));
                }
            }
        })
    });
    group.bench_function("geolocator-bundled/ipv4-random", |b| {
        b.iter(|| {
            for ip in &v4 {
                black_box(bundled.lookup(*ip).ok());
            }
        })
    });
    group.bench_function("geolocator-country-only/ipv4-random", |b| {
        b.iter(|| {
            for ip in &v4 {
                black_box(bundled.country(*ip).ok());
            }
        })
    });
    group.bench_function("geolocator-bundled/ipv6-allocated", |b| {
        b.iter(|| {
            for ip in &v6 {
                black_box(bundled.lookup(*ip).ok());
            }
        })
    });

    let mmdb = mmdb_from(&table);
    group.bench_function("mmdb/ipv4-random", |b| {
        b.iter(|| {
            for ip in &v4 {
                black_box(mmdb.lookup(*ip).ok());
            }
        })
    });
    group.bench_function("mmdb/ipv6-allocated", |b| {
        b.iter(|| {
            for ip in &v6 {
                black_box(mmdb.lookup(*ip).ok());
            }
        })
    });
    group.finish();
}

/// Start-up cost: inflating and decoding the embedded tables (done once per process).
fn decode(c: &mut Criterion) {
    let country = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/country.sgrt"))
        .expect("bundled country table");
    let asn = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/asn.sgrt"))
        .expect("bundled AS table");
    let mut group = c.benchmark_group("geo-decode");
    group.sample_size(10);
    group.bench_function("country.sgrt", |b| {
        b.iter(|| black_box(RangeTable::from_bytes(&country).expect("decode")))
    });
    group.bench_function("asn.sgrt", |b| {
        b.iter(|| black_box(RangeTable::from_bytes(&asn).expect("decode")))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = lookups, decode
}
criterion_main!(benches);
