//! The bodies of the fuzz targets in `fuzz/fuzz_targets/` (run with `cargo fuzz`, see
//! `docs/fuzzing.md`). Each takes the raw bytes a fuzzer produces and feeds them through the
//! same parsing and validation code hostile input meets in production. An error is the expected
//! answer to garbage; a panic, an abort, a hang or an unbounded allocation is a bug.
//!
//! The functions live in this crate, not in `fuzz/`, so that `tests/corpora.rs` can replay every
//! committed corpus and regression input through them in an ordinary `cargo test` (CI).
//!
//! Besides "no panic", some targets check invariants: a report that validates must be written
//! back to XML that validates again to the same value; a decoded image must fit the pixel limit.

use std::cell::RefCell;

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use safeguard_domain::jurisdiction::Candidate;
use safeguard_domain::report::{IncidentType, Priority, ReportId};
use safeguard_formats::cybertipline::{self as wire, ReportMode};
use safeguard_formats::known_stream::{
    KnownFormat, KnownMediaReader, KnownMediaWriter, KnownReadOptions,
};
use safeguard_perceptual::DecodeOptions;
use safeguard_server::ispws::{IspwsError, UploadSink};
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt as _;

/// The fixed "now" of every validation, so that a run is reproducible.
pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

/// A target's body: takes the fuzzer's bytes, panics on a bug.
pub type Target = fn(&[u8]);

/// The targets, by the name of their `fuzz/fuzz_targets/*.rs` file and corpus directory.
pub const TARGETS: [(&str, Target); 9] = [
    ("cybertipline_report", cybertipline_report),
    ("cybertipline_file_details", cybertipline_file_details),
    ("ispws_upload", ispws_upload),
    ("ispws_id_form", ispws_id_form),
    ("vics", vics),
    ("icse", icse),
    ("hashlist", hashlist),
    ("image_pdq", image_pdq),
    ("routing_rules", routing_rules),
];

/// A `<report>` through everything /submit does before storing it: well-formedness, XSD,
/// decoding, the business rules, then the conversion to the domain model and its validation.
/// A report that passes is written back to XML, which must validate again to the same value.
pub fn cybertipline_report(data: &[u8]) {
    let Ok(report) = wire::validate_report(data, NOW) else {
        return;
    };
    if let Ok(model) = safeguard_engine::intake::cybertipline::to_new_report(&report) {
        let _ = model.validate(NOW);
    }
    let written = wire::write_report(&report).expect("a validated report can be written");
    let again = wire::validate_report(written.as_bytes(), NOW)
        .unwrap_or_else(|e| panic!("a written report no longer validates: {e}\n{written}"));
    assert_eq!(
        again, report,
        "the report changed on a write/read round trip"
    );
}

/// A `<fileDetails>` through /fileinfo's checks, for a standard and a batched report, then the
/// conversion to the stored file metadata, and the write/read round trip.
pub fn cybertipline_file_details(data: &[u8]) {
    let Ok(parsed) = wire::parse_file_details(data) else {
        return;
    };
    let modes = [
        ReportMode::Standard,
        ReportMode::Batched(wire::BatchedReportReason::ViralPotentialMeme),
    ];
    for mode in modes {
        if wire::check_file_details(&parsed, mode, NOW).is_ok() {
            let _ = safeguard_engine::intake::cybertipline::file_metadata(&parsed.value);
            let written = wire::write_file_details(&parsed.value)
                .expect("validated file details can be written");
            let again = wire::validate_file_details(written.as_bytes(), mode, NOW)
                .unwrap_or_else(|e| panic!("written file details no longer validate: {e}"));
            assert_eq!(again, parsed.value, "file details changed on a round trip");
        }
    }
}

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rt = slot.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime")
        });
        rt.block_on(f)
    })
}

/// Splits fuzz input into an HTTP request: the first line is the `Content-Type` header, the
/// rest the body; the first byte of the body says into how large chunks it arrives (the
/// multipart parser is a streaming state machine: chunk boundaries matter).
fn request(data: &[u8], uri: &str) -> Option<Request> {
    let (header, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (chunk, body) = match rest.split_first() {
        Some((c, b)) => (usize::from(*c), b),
        None => (0, rest),
    };
    let body = if chunk == 0 || chunk >= body.len() {
        Body::from(body.to_vec())
    } else {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    let mut builder = Request::builder().method("POST").uri(uri);
    if let Ok(value) = axum::http::HeaderValue::from_bytes(header) {
        builder = builder.header(axum::http::header::CONTENT_TYPE, value);
    }
    builder.body(body).ok()
}

/// Reads the file part as the vault would, with a cap, and fails it the way a full disk would
/// when the first file byte is `!` (so the error path after a partial read is exercised too).
struct DrainSink;

impl UploadSink for DrainSink {
    type Stored = u64;

    async fn store<R>(self, _report: ReportId, mut body: R) -> Result<u64, IspwsError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        let mut buf = [0u8; 4096];
        let mut total = 0u64;
        loop {
            let n = body.read(&mut buf).await.map_err(|e| {
                IspwsError::from(safeguard_engine::intake::IntakeError::new(
                    wire::ResponseCode::MalformedFile,
                    e.to_string(),
                ))
            })?;
            if n == 0 {
                return Ok(total);
            }
            if total == 0 && buf[0] == b'!' {
                return Err(IspwsError::from(
                    safeguard_engine::intake::IntakeError::new(
                        wire::ResponseCode::FileUploadFailed,
                        "injected",
                    ),
                ));
            }
            total += n as u64;
            assert!(total <= 1 << 24, "more file bytes than the input held");
        }
    }
}

/// The /ispws/upload form parser (`read_upload_form`, the function the handler calls) on a
/// request made of the input.
pub fn ispws_upload(data: &[u8]) {
    let Some(req) = request(data, "/ispws/upload") else {
        return;
    };
    if let Ok((id, size)) = block_on(safeguard_server::ispws::read_upload_form(req, DrainSink)) {
        assert!(id.0 > 0, "report ids are positive");
        assert!(size as usize <= data.len());
    }
}

/// The /finish and /retract form parser (`read_id_form`): multipart, urlencoded or `?id=`.
pub fn ispws_id_form(data: &[u8]) {
    // The query string comes from the input too (up to the first '\t'), when it is valid.
    let (query, rest) = match data.iter().position(|&b| b == b'\t') {
        Some(i) if i < 256 => (&data[..i], &data[i + 1..]),
        _ => (&[][..], data),
    };
    let uri = format!("/ispws/finish?{}", String::from_utf8_lossy(query));
    let req = match request(rest, &uri) {
        Some(r) => r,
        None => match request(rest, "/ispws/finish") {
            Some(r) => r,
            None => return,
        },
    };
    if let Ok(id) = block_on(safeguard_server::ispws::read_id_form(req)) {
        assert!(id.0 > 0, "report ids are positive");
    }
}

/// Streams records out of `data` as the importer does, writing each good one back out in
/// every format (the export path), and bounding the iteration: after an error that is not
/// about one record, the reader must stop.
fn known(data: &[u8], format: KnownFormat) {
    let options = KnownReadOptions {
        format: Some(format),
        ..KnownReadOptions::default()
    };
    let Ok(reader) = KnownMediaReader::open(data, options) else {
        return;
    };
    let mut icse = KnownMediaWriter::icse(Vec::new()).expect("writer");
    let mut list = KnownMediaWriter::hash_list(
        Vec::new(),
        safeguard_formats::hashlist::HashListStyle::default(),
    )
    .expect("writer");
    let mut vics =
        KnownMediaWriter::vics(Vec::new(), safeguard_formats::vics::VicsLayout::default())
            .expect("writer");
    // A record needs at least a few bytes; more items than bytes means the reader is looping.
    let limit = data.len() + 16;
    let mut items = 0usize;
    for item in reader {
        items += 1;
        assert!(items <= limit, "{items} items out of {} bytes", data.len());
        match item {
            Ok(record) => {
                let _ = icse.write(&record);
                let _ = list.write(&record);
                let _ = vics.write(&record);
            }
            Err(e) if e.is_record_error() => {}
            Err(_) => break,
        }
    }
    let _ = icse.finish();
    let _ = list.finish();
    let _ = vics.finish();
}

/// VICS JSON (1.x and 2.0): the streaming reader and the whole-document reader.
pub fn vics(data: &[u8]) {
    known(data, KnownFormat::Vics);
    if let Ok(doc) = safeguard_formats::vics::VicsDocument::from_slice(data) {
        let _ = doc.to_vec(safeguard_formats::vics::VicsLayout::default());
    }
}

/// ICSE export CSV, and format detection.
pub fn icse(data: &[u8]) {
    let _ = safeguard_formats::known_stream::detect_format(data);
    known(data, KnownFormat::Icse);
}

/// Hash lists (plain, typed CSV, NSRL layout), with default and PDQ options.
pub fn hashlist(data: &[u8]) {
    known(data, KnownFormat::HashList);
    let options = KnownReadOptions {
        format: Some(KnownFormat::HashList),
        hash_list: safeguard_formats::hashlist::HashListOptions::pdq(),
    };
    if let Ok(reader) = KnownMediaReader::open(data, options) {
        for item in reader.take(data.len() + 16) {
            if let Err(e) = item {
                if !e.is_record_error() {
                    break;
                }
            }
        }
    }
}

/// The limits the image target decodes with: small, so that a decompression bomb shows up as
/// an allocation failure of the fuzzer instead of passing silently.
pub const IMAGE_LIMITS: DecodeOptions = DecodeOptions {
    max_pixels: 4 * 1024 * 1024,
    max_alloc_bytes: 64 * 1024 * 1024,
    max_file_bytes: 16 * 1024 * 1024,
    apply_exif_orientation: true,
};

/// Bounded image decoding (every format the media pipeline accepts), then PDQ and the eight
/// dihedral hashes of the pixels.
pub fn image_pdq(data: &[u8]) {
    let Ok(image) = safeguard_perceptual::decode::decode_bytes(data, &IMAGE_LIMITS) else {
        return;
    };
    let pixels = u64::from(image.width()) * u64::from(image.height());
    assert!(pixels <= IMAGE_LIMITS.max_pixels, "{pixels} pixels decoded");
    let hash = safeguard_perceptual::hash_image(&image);
    assert!(hash.quality <= 100, "quality {}", hash.quality);
    let dihedral = safeguard_perceptual::dihedral_image(&image);
    assert_eq!(
        dihedral.hashes[0], hash.hash,
        "dihedral[0] is the plain hash"
    );
}

/// The routing-rules TOML file (`engine::routing::parse_rules`), then the questions the
/// router asks valid rules.
pub fn routing_rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = safeguard_engine::routing::parse_rules(text, "fuzz.toml") else {
        return;
    };
    let candidates: Vec<Candidate> = ["DE", "FR", "US", "ZZ"]
        .iter()
        .enumerate()
        .map(|(i, c)| Candidate {
            country: (*c).to_owned(),
            confidence: 1.0 - i as f64 * 0.3,
            evidence: Vec::new(),
        })
        .collect();
    for priority in [Priority::P1, Priority::Informational] {
        let _ = rules.plan(&candidates, IncidentType::ChildPornography, priority);
    }
    for org in rules.organisation_names() {
        let _ = rules.declines(org, IncidentType::OnlineEnticement, Priority::P3);
    }
}
