//! Throughput of the CyberTipline format layer: full /submit and /fileinfo validation
//! (libxml2 parse + XSD + tree + decode + rules), parsing alone, and writing.
//!
//! Run: `cargo bench -p safeguard-formats --bench cybertipline`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use safeguard_formats::cybertipline::{
    parse_report, validate_file_details, validate_report, write_report, ReportMode,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/cybertipline/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn benches(c: &mut Criterion) {
    let small = data("report.xml");
    let full = data("synthetic-report-full.xml");
    let details = data("synthetic-file-details-full.xml");
    let report = validate_report(full.as_bytes(), NOW).expect("valid example");

    let mut g = c.benchmark_group("cybertipline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("validate_report/report.xml", |b| {
        b.iter(|| validate_report(black_box(small.as_bytes()), NOW))
    });
    g.bench_function("validate_report/synthetic-report-full.xml", |b| {
        b.iter(|| validate_report(black_box(full.as_bytes()), NOW))
    });
    g.bench_function("parse_report/synthetic-report-full.xml", |b| {
        b.iter(|| parse_report(black_box(full.as_bytes())))
    });
    g.bench_function(
        "validate_file_details/synthetic-file-details-full.xml",
        |b| {
            b.iter(|| {
                validate_file_details(black_box(details.as_bytes()), ReportMode::Standard, NOW)
            })
        },
    );
    g.bench_function("write_report/synthetic-report-full.xml", |b| {
        b.iter(|| write_report(black_box(&report)))
    });
    g.bench_function("reject_malformed", |b| {
        b.iter(|| validate_report(black_box(b"<report><incidentSummary></report>"), NOW))
    });
    g.finish();
}

criterion_group!(cybertipline, benches);
criterion_main!(cybertipline);
