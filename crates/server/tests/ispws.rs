//! The CyberTipline Reporting API (`/ispws`) end to end, in process: every documented example
//! goes through the whole flow, and a table of invalid documents and calls gets the documented
//! code and HTTP status each, with nothing stored.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts;
use safeguard_engine::intake::Intake;
use safeguard_formats::cybertipline::{self as wire, AnyResponse};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use tower::ServiceExt;

const PASSWORD: &str = "a long test password";
const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../formats/tests/data/cybertipline/"
);

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}{name}")).expect("example document")
}

struct App {
    store: Store,
    router: axum::Router,
    vault: Arc<Vault>,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn parsed(&self) -> AnyResponse {
        wire::parse_any_response(&self.body).unwrap_or_else(|e| {
            panic!(
                "unparsable answer {e:?}: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn code(&self) -> i32 {
        self.parsed().response_code()
    }
    fn report(&self) -> wire::ReportResponse {
        match self.parsed() {
            AnyResponse::Report(r) => r,
            AnyResponse::Done(d) => panic!("expected reportResponse, got {d:?}"),
        }
    }
}

const BOUNDARY: &str = "SafeguardTestBoundary7d2f";

/// A multipart body: (name, file name, bytes).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, bytes) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A synthetic file: a byte pattern, different per seed.
fn synthetic_file(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Replaces the text of the first `<tag>` element.
fn set_element(xml: &str, tag: &str, value: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).expect("element present") + open.len();
    let end = start + xml[start..].find(&close).expect("element closed");
    format!("{}{}{}", &xml[..start], value, &xml[end..])
}

impl App {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
            .await
            .expect("store");
        accounts::add_org(&store, "Hotline", OrgKind::Hotline, Some("US"), "test")
            .await
            .expect("org");
        for org in ["Company", "Rival"] {
            accounts::add_org(&store, org, OrgKind::Reporter, None, "test")
                .await
                .expect("org");
        }
        for (org, user, role) in [
            ("Company", "company", Role::Reporter),
            ("Rival", "rival", Role::Reporter),
            ("Hotline", "analyst", Role::Analyst),
        ] {
            accounts::add_user(&store, org, user, role, PASSWORD, "test")
                .await
                .expect("user");
        }
        let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
        let vault = Arc::new(
            Vault::open(&dir.path().join("vault"), keys, VaultConfig::default()).expect("vault"),
        );
        let intake = Arc::new(Intake::new(store.clone(), vault.clone()));
        let config = ServerConfig {
            max_upload: 1024 * 1024,
            ..ServerConfig::default()
        };
        let router =
            safeguard_server::router(AppState::new(store.clone(), config).with_intake(intake));
        Self {
            store,
            router,
            vault,
            _dir: dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, user: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(
            Request::post(format!("/ispws/{path}"))
                .header(header::AUTHORIZATION, basic(user, PASSWORD))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    async fn submit(&self, user: &str, xml: &str) -> Answer {
        self.post(
            user,
            "submit",
            "text/xml; charset=utf-8",
            xml.as_bytes().to_vec(),
        )
        .await
    }

    async fn upload(&self, user: &str, id: i64, bytes: &[u8]) -> Answer {
        self.post(
            user,
            "upload",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&[
                ("id", None, id.to_string().as_bytes()),
                ("file", Some("evidence.bin"), bytes),
            ]),
        )
        .await
    }

    async fn fileinfo(&self, user: &str, xml: &str) -> Answer {
        self.post(
            user,
            "fileinfo",
            "text/xml; charset=utf-8",
            xml.as_bytes().to_vec(),
        )
        .await
    }

    async fn form(&self, user: &str, path: &str, id: i64) -> Answer {
        self.post(
            user,
            path,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&[("id", None, id.to_string().as_bytes())]),
        )
        .await
    }

    /// Opens a report and returns its id.
    async fn open(&self, user: &str, xml: &str) -> i64 {
        let a = self.submit(user, xml).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        a.report().report_id.expect("report id")
    }

    async fn add_file(&self, user: &str, id: i64, seed: u64) -> String {
        let a = self.upload(user, id, &synthetic_file(seed, 4096)).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        a.report().file_id.expect("file id")
    }
}

fn details_for(template: &str, report: i64, file: &str) -> String {
    set_element(
        &set_element(template, "reportId", &report.to_string()),
        "fileId",
        file,
    )
}

#[tokio::test]
async fn every_example_goes_through_the_whole_flow() {
    let app = App::new().await;
    let standard_details = [
        "file-details.xml",
        "synthetic-file-details-full.xml",
        "synthetic-file-details-kitchen-sink.xml",
        "synthetic-file-details-viral.xml",
    ];
    let reports = [
        ("report.xml", &standard_details[..]),
        ("synthetic-report-full.xml", &standard_details[..]),
        ("synthetic-report-kitchen-sink.xml", &standard_details[..]),
        (
            "synthetic-report-batched-viral.xml",
            &["synthetic-file-details-viral.xml"][..],
        ),
    ];
    let mut seed = 0;
    for (report_name, details) in reports {
        let xml = example(report_name);
        let submitted = app.submit("company", &xml).await;
        assert_eq!(submitted.status, StatusCode::OK, "{report_name}");
        assert!(submitted.headers.contains_key("request-id"));
        let r = submitted.report();
        assert_eq!(
            r.response_code, 0,
            "{report_name}: {}",
            r.response_description
        );
        let id = r.report_id.expect("report id");
        let mut file_ids = Vec::new();
        for details_name in details {
            seed += 1;
            let bytes = synthetic_file(seed, 10_000 + seed as usize);
            let up = app.upload("company", id, &bytes).await;
            assert_eq!(up.status, StatusCode::OK, "{report_name}");
            let up = up.report();
            let file_id = up.file_id.clone().expect("file id");
            assert_eq!(file_id.len(), 32);
            assert!(file_id.chars().all(|c| c.is_ascii_hexdigit()));
            let md5 = safeguard_domain::digest::Digester::digest(&bytes)
                .md5
                .to_string();
            assert_eq!(up.hash.as_deref(), Some(md5.as_str()));
            let details = details_for(&example(details_name), id, &file_id);
            let info = app.fileinfo("company", &details).await;
            assert_eq!(
                info.code(),
                0,
                "{report_name} + {details_name}: {}",
                String::from_utf8_lossy(&info.body)
            );
            assert_eq!(info.status, StatusCode::OK);
            // The original document is kept byte for byte.
            assert_eq!(
                app.store
                    .file_details_document(&file_id)
                    .await
                    .expect("read")
                    .as_deref(),
                Some(details.as_bytes())
            );
            file_ids.push(file_id);
        }
        let done = app.form("company", "finish", id).await;
        assert_eq!(done.status, StatusCode::OK);
        match done.parsed() {
            AnyResponse::Done(d) => {
                assert_eq!(d.response_code, 0);
                assert_eq!(d.report_id, id);
                assert_eq!(d.files, file_ids);
            }
            other => panic!("expected reportDoneResponse, got {other:?}"),
        }
        let stored = app
            .store
            .report(safeguard_domain::report::ReportId(id))
            .await
            .expect("stored report");
        assert_eq!(
            stored.report.state,
            safeguard_domain::report::IntakeState::Finished
        );
        assert_eq!(stored.report.files.len(), file_ids.len());
        let (media, original) = app
            .store
            .original_document(safeguard_domain::report::ReportId(id))
            .await
            .expect("original")
            .expect("kept");
        assert_eq!(media, "text/xml");
        assert_eq!(original, xml.as_bytes());
        for f in &stored.report.files {
            assert!(app.vault.exists(&f.digests.sha256).expect("vault"));
        }
    }
}

#[tokio::test]
async fn answers_parse_like_the_documented_responses() {
    let app = App::new().await;
    let id = app.open("company", &example("report.xml")).await;
    let submit = app.submit("company", &example("report.xml")).await;
    let upload = app.upload("company", id, b"synthetic bytes").await;
    let file_id = upload.report().file_id.expect("file id");
    let fileinfo = app
        .fileinfo(
            "company",
            &details_for(&example("file-details.xml"), id, &file_id),
        )
        .await;
    let finish = app.form("company", "finish", id).await;
    let other = app.open("company", &example("report.xml")).await;
    let retract = app.form("company", "retract", other).await;
    let status = app
        .send(
            Request::get("/ispws/status")
                .header(header::AUTHORIZATION, basic("company", PASSWORD))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let shape = |r: &AnyResponse| match r {
        AnyResponse::Report(r) => (
            "report",
            r.response_code,
            r.report_id.is_some(),
            r.file_id.is_some(),
            r.hash.is_some(),
        ),
        AnyResponse::Done(d) => ("done", d.response_code, true, !d.files.is_empty(), false),
    };
    for (doc, ours) in [
        ("submit-response.xml", &submit),
        ("upload-response.xml", &upload),
        ("fileinfo-response.xml", &fileinfo),
        ("finish-response.xml", &finish),
        ("retract-response.xml", &retract),
        ("status-response.xml", &status),
    ] {
        let documented = wire::parse_any_response(example(doc).as_bytes()).expect(doc);
        assert_eq!(shape(&documented), shape(&ours.parsed()), "{doc}");
        if let (AnyResponse::Report(d), AnyResponse::Report(o)) = (&documented, &ours.parsed()) {
            if doc == "status-response.xml" {
                assert_eq!(
                    o.response_description,
                    "Remote User : company, Remote Ip : unknown"
                );
            } else {
                assert_eq!(d.response_description, o.response_description, "{doc}");
            }
        }
    }
    let xsd = app
        .send(
            Request::get("/ispws/xsd")
                .header(header::AUTHORIZATION, basic("company", PASSWORD))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(xsd.status, StatusCode::OK);
    assert_eq!(xsd.body, wire::XSD.as_bytes());
}

/// The state the invalid calls run against.
struct Fixture {
    open: i64,
    open_file: String,
    finished: i64,
    retracted: i64,
    batched_two_files: i64,
    rival_open: i64,
    rival_file: String,
    other_open_file: String,
}

async fn fixture(app: &App) -> Fixture {
    let report = example("report.xml");
    let open = app.open("company", &report).await;
    let open_file = app.add_file("company", open, 1).await;
    let details = details_for(&example("file-details.xml"), open, &open_file);
    assert_eq!(app.fileinfo("company", &details).await.code(), 0);
    let finished = app.open("company", &report).await;
    app.add_file("company", finished, 2).await;
    assert_eq!(app.form("company", "finish", finished).await.code(), 0);
    let retracted = app.open("company", &report).await;
    assert_eq!(app.form("company", "retract", retracted).await.code(), 0);
    let batched_two_files = app
        .open("company", &example("synthetic-report-batched-viral.xml"))
        .await;
    app.add_file("company", batched_two_files, 3).await;
    app.add_file("company", batched_two_files, 4).await;
    let rival_open = app.open("rival", &report).await;
    let rival_file = app.add_file("rival", rival_open, 5).await;
    let other = app.open("company", &report).await;
    let other_open_file = app.add_file("company", other, 6).await;
    Fixture {
        open,
        open_file,
        finished,
        retracted,
        batched_two_files,
        rival_open,
        rival_file,
        other_open_file,
    }
}

enum Call {
    Submit(String),
    FileInfo(String),
    Upload(Vec<u8>, &'static str),
    Form(&'static str, Vec<u8>, &'static str),
    Raw {
        method: &'static str,
        path: &'static str,
        auth: Option<String>,
        body: Vec<u8>,
    },
}

struct Case {
    name: &'static str,
    user: &'static str,
    call: Call,
    code: i32,
    status: u16,
}

fn replace(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "{from:?} not in the document");
    xml.replacen(from, to, 1)
}

fn cases(f: &Fixture) -> Vec<Case> {
    let report = example("report.xml");
    let details = details_for(&example("file-details.xml"), f.open, &f.open_file);
    let mp = |parts: &[(&str, Option<&str>, &[u8])]| multipart(parts);
    let mp_type = "multipart";
    let id = |n: i64| n.to_string().into_bytes();
    let up = |report: i64| {
        mp(&[
            ("id", None, &id(report)),
            ("file", Some("x.bin"), b"synthetic upload bytes"),
        ])
    };
    let fresh_upload_details = |report: i64, file: &str| details_for(&details, report, file);
    let incident = "<incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>";
    let mut truncated = up(f.open);
    truncated.truncate(truncated.len() - 30);
    let submit =
        |user: &'static str, name: &'static str, xml: String, code: i32, status: u16| Case {
            name,
            user,
            call: Call::Submit(xml),
            code,
            status,
        };
    let date = "<incidentDateTime>2012-10-15T08:00:00-07:00</incidentDateTime>";
    let reporter_start = report.find("<reporter>").expect("reporter");
    let reporter_end = report.find("</reporter>").expect("reporter end") + "</reporter>".len();
    let reporter_block = &report[reporter_start..reporter_end];
    let summary_start = report.find("<incidentSummary>").expect("summary");
    let out_of_order = format!(
        "{}{}{}{}",
        &report[..summary_start],
        reporter_block,
        &report[summary_start..reporter_start],
        &report[reporter_end..]
    );
    let mut v = vec![
        submit("company", "missing incidentType", replace(&report, incident, ""), 4100, 400),
        submit("company", "elements out of order", out_of_order, 4100, 400),
        submit(
            "company",
            "bad enumeration",
            replace(&report, incident, "<incidentType>Robbery</incidentType>"),
            4100,
            400,
        ),
        submit(
            "company",
            "zone-less date",
            replace(&report, date, "<incidentDateTime>2012-10-15T08:00:00</incidentDateTime>"),
            4100,
            400,
        ),
        submit(
            "company",
            "future date",
            replace(&report, date, "<incidentDateTime>2999-01-01T00:00:00Z</incidentDateTime>"),
            4100,
            400,
        ),
        submit(
            "company",
            "malformed XML",
            report.replacen("</report>", "", 1),
            4110,
            400,
        ),
        submit("company", "non-XML body", "hello, this is not XML".into(), 4110, 400),
        submit("company", "empty body", String::new(), 4110, 400),
        submit(
            "company",
            "fileDetails posted to /submit",
            details.clone(),
            4100,
            400,
        ),
        submit(
            "company",
            "DOCTYPE with an entity",
            replace(
                &report,
                "<report ",
                "<!DOCTYPE report [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><report ",
            ),
            4110,
            400,
        ),
        submit(
            "company",
            "unknown element",
            replace(&report, "<reporter>", "<colour>red</colour><reporter>"),
            4100,
            400,
        ),
        submit(
            "company",
            "reporting person without e-mail",
            replace(
                &report,
                "<email>jsmith@example.com</email>",
                "",
            ),
            4100,
            400,
        ),
        submit(
            "company",
            "URL with whitespace",
            replace(
                &report,
                "<url>http://badsite.com/baduri.html</url>",
                "<url>http://bad site.com/x</url>",
            ),
            4100,
            400,
        ),
        submit(
            "company",
            "bad reporter e-mail",
            replace(
                &report,
                "<email>jsmith@example.com</email>",
                "<email>not-an-address</email>",
            ),
            4100,
            400,
        ),
        submit(
            "company",
            "two reported persons on a standard report",
            replace(
                &report,
                "</reporter>",
                "</reporter><personOrUserReported><espIdentifier>a</espIdentifier></personOrUserReported><personOrUserReported><espIdentifier>b</espIdentifier></personOrUserReported>",
            ),
            4100,
            400,
        ),
        Case {
            name: "non-UTF-8 body",
            user: "company",
            call: Call::Raw {
                method: "POST",
                path: "/ispws/submit",
                auth: Some(basic("company", PASSWORD)),
                body: {
                    let mut b = report.clone().into_bytes();
                    b.extend_from_slice(&[0xff, 0xfe]);
                    b
                },
            },
            code: 4110,
            status: 400,
        },
        // Uploads.
        Case { name: "truncated multipart", user: "company", call: Call::Upload(truncated, mp_type), code: 4200, status: 400 },
        Case { name: "upload to a finished report", user: "company", call: Call::Upload(up(f.finished), mp_type), code: 5102, status: 409 },
        Case { name: "upload to a retracted report", user: "company", call: Call::Upload(up(f.retracted), mp_type), code: 5101, status: 409 },
        Case { name: "upload to an unknown report", user: "company", call: Call::Upload(up(987_654_321), mp_type), code: 5001, status: 404 },
        Case { name: "upload to another reporter's report", user: "company", call: Call::Upload(up(f.rival_open), mp_type), code: 3300, status: 403 },
        Case { name: "upload that is not multipart", user: "company", call: Call::Upload(b"id=1".to_vec(), "urlencoded"), code: 4000, status: 400 },
        Case { name: "upload with a non-numeric id", user: "company", call: Call::Upload(mp(&[("id", None, b"abc"), ("file", Some("x"), b"x")]), mp_type), code: 4000, status: 400 },
        Case { name: "upload without a file", user: "company", call: Call::Upload(mp(&[("id", None, &id(f.open))]), mp_type), code: 4000, status: 400 },
        Case { name: "upload with the file before the id", user: "company", call: Call::Upload(mp(&[("file", Some("x"), b"x"), ("id", None, &id(f.open))]), mp_type), code: 4000, status: 400 },
        Case { name: "upload beyond the size cap", user: "company", call: Call::Upload(mp(&[("id", None, &id(f.open)), ("file", Some("x"), &vec![7u8; 1024 * 1024 + 1])]), mp_type), code: 4200, status: 400 },
        // File details.
        Case { name: "fileinfo twice", user: "company", call: Call::FileInfo(details.clone()), code: 4000, status: 400 },
        Case { name: "fileinfo for an unknown file", user: "company", call: Call::FileInfo(fresh_upload_details(f.open, "0123456789abcdef0123456789abcdef")), code: 5002, status: 404 },
        Case { name: "fileinfo with a fileId of another report", user: "company", call: Call::FileInfo(fresh_upload_details(f.open, &f.other_open_file)), code: 5002, status: 404 },
        Case { name: "fileinfo for an unknown report", user: "company", call: Call::FileInfo(fresh_upload_details(987_654_321, &f.open_file)), code: 5001, status: 404 },
        Case { name: "fileinfo for another reporter's report", user: "company", call: Call::FileInfo(fresh_upload_details(f.rival_open, &f.rival_file)), code: 3300, status: 403 },
        Case { name: "fileinfo not well-formed", user: "company", call: Call::FileInfo("<fileDetails><reportId>1</reportId>".into()), code: 4110, status: 400 },
        Case { name: "fileinfo exif viewed but file not viewed", user: "company", call: Call::FileInfo(replace(&fresh_upload_details(f.open, &f.other_open_file), "<originalFileName>", "<fileViewedByEsp>false</fileViewedByEsp><exifViewedByEsp>true</exifViewedByEsp><originalFileName>")), code: 4100, status: 400 },
        Case { name: "fileinfo on a finished report", user: "company", call: Call::FileInfo(fresh_upload_details(f.finished, &f.open_file)), code: 5102, status: 409 },
        Case { name: "fileinfo with a bad fileRelevance", user: "company", call: Call::FileInfo(replace(&details, "</originalFileName>", "</originalFileName><fileRelevance>Irrelevant</fileRelevance>")), code: 4100, status: 400 },
        // Finish and retract.
        Case { name: "two files on a batched report", user: "company", call: Call::Form("finish", mp(&[("id", None, &id(f.batched_two_files))]), mp_type), code: 4100, status: 400 },
        Case { name: "finishing a retracted report", user: "company", call: Call::Form("finish", mp(&[("id", None, &id(f.retracted))]), mp_type), code: 5101, status: 409 },
        Case { name: "finishing a finished report", user: "company", call: Call::Form("finish", mp(&[("id", None, &id(f.finished))]), mp_type), code: 5102, status: 409 },
        Case { name: "finishing an unknown report", user: "company", call: Call::Form("finish", format!("id={}", 987_654_321).into_bytes(), "urlencoded"), code: 5001, status: 404 },
        Case { name: "finishing another reporter's report", user: "company", call: Call::Form("finish", mp(&[("id", None, &id(f.rival_open))]), mp_type), code: 3300, status: 403 },
        Case { name: "finish without an id", user: "company", call: Call::Form("finish", b"nothing=here".to_vec(), "urlencoded"), code: 4000, status: 400 },
        Case { name: "retracting a finished report", user: "company", call: Call::Form("retract", format!("id={}", f.finished).into_bytes(), "urlencoded"), code: 5102, status: 409 },
        Case { name: "retracting a retracted report", user: "company", call: Call::Form("retract", mp(&[("id", None, &id(f.retracted))]), mp_type), code: 5101, status: 409 },
        Case { name: "retracting another reporter's report", user: "company", call: Call::Form("retract", mp(&[("id", None, &id(f.rival_open))]), mp_type), code: 3300, status: 403 },
        // Authentication and authorisation.
        Case { name: "wrong password", user: "company", call: Call::Raw { method: "POST", path: "/ispws/submit", auth: Some(basic("company", "wrong password!")), body: report.clone().into_bytes() }, code: 2000, status: 401 },
        Case { name: "no auth", user: "company", call: Call::Raw { method: "POST", path: "/ispws/submit", auth: None, body: report.clone().into_bytes() }, code: 2000, status: 401 },
        Case { name: "unknown user", user: "company", call: Call::Raw { method: "GET", path: "/ispws/status", auth: Some(basic("nobody", PASSWORD)), body: Vec::new() }, code: 2000, status: 401 },
        Case { name: "not a Basic header", user: "company", call: Call::Raw { method: "GET", path: "/ispws/status", auth: Some("Bearer abc".into()), body: Vec::new() }, code: 2000, status: 401 },
        Case { name: "garbage Basic credentials", user: "company", call: Call::Raw { method: "GET", path: "/ispws/status", auth: Some("Basic ???".into()), body: Vec::new() }, code: 2000, status: 401 },
        Case { name: "a non-reporter role submits", user: "analyst", call: Call::Submit(report.clone()), code: 3100, status: 403 },
        Case { name: "a non-reporter role asks the status", user: "analyst", call: Call::Raw { method: "GET", path: "/ispws/status", auth: Some(basic("analyst", PASSWORD)), body: Vec::new() }, code: 3000, status: 403 },
        Case { name: "a non-reporter role finishes", user: "analyst", call: Call::Form("finish", mp(&[("id", None, &id(f.open))]), mp_type), code: 3000, status: 403 },
    ];
    // The rival may not touch the company's report either (ownership is symmetric).
    v.push(Case {
        name: "the rival uploads to the company's report",
        user: "rival",
        call: Call::Upload(up(f.open), mp_type),
        code: 3300,
        status: 403,
    });
    v
}

#[tokio::test]
async fn invalid_documents_and_calls_get_their_code_and_store_nothing() {
    let app = App::new().await;
    let f = fixture(&app).await;
    let cases = cases(&f);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let states = |app: &App| {
        let store = app.store.clone();
        let ids = [
            f.open,
            f.finished,
            f.retracted,
            f.batched_two_files,
            f.rival_open,
        ];
        async move {
            let mut out = Vec::new();
            for id in ids {
                out.push(
                    store
                        .intake_status(safeguard_domain::report::ReportId(id))
                        .await
                        .expect("status")
                        .expect("present")
                        .state,
                );
            }
            out
        }
    };
    let mut failures = Vec::new();
    for case in cases {
        let before = app.store.intake_counts().await.expect("counts");
        let states_before = states(&app).await;
        let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let content_type = |kind: &str| {
            if kind == "multipart" {
                multipart_type.clone()
            } else {
                "application/x-www-form-urlencoded".to_owned()
            }
        };
        let answer = match case.call {
            Call::Submit(xml) => app.submit(case.user, &xml).await,
            Call::FileInfo(xml) => app.fileinfo(case.user, &xml).await,
            Call::Upload(body, kind) => {
                app.post(case.user, "upload", &content_type(kind), body)
                    .await
            }
            Call::Form(path, body, kind) => {
                app.post(case.user, path, &content_type(kind), body).await
            }
            Call::Raw {
                method,
                path,
                auth,
                body,
            } => {
                let mut b = Request::builder().method(method).uri(path);
                if let Some(a) = auth {
                    b = b.header(header::AUTHORIZATION, a);
                }
                app.send(b.body(Body::from(body)).expect("request")).await
            }
        };
        let code = answer.code();
        if code != case.code || answer.status.as_u16() != case.status {
            failures.push(format!(
                "{}: expected {} / HTTP {}, got {} / HTTP {}: {}",
                case.name,
                case.code,
                case.status,
                code,
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        assert!(answer.headers.contains_key("request-id"), "{}", case.name);
        if case.code == 2000 {
            assert_eq!(
                answer
                    .headers
                    .get(header::WWW_AUTHENTICATE)
                    .map(|v| v.as_bytes()),
                Some(&b"Basic realm=\"ESP Web Services\""[..]),
                "{}",
                case.name
            );
        }
        let after = app.store.intake_counts().await.expect("counts");
        assert_eq!(before, after, "{} stored something", case.name);
        assert_eq!(
            states_before,
            states(&app).await,
            "{} changed a state",
            case.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_finish_and_a_retract_racing_cannot_both_win() {
    let app = App::new().await;
    for _ in 0..10 {
        let id = app.open("company", &example("report.xml")).await;
        let (a, b) = tokio::join!(
            app.form("company", "finish", id),
            app.form("company", "retract", id)
        );
        let wins = [a.code(), b.code()].iter().filter(|c| **c == 0).count();
        assert_eq!(wins, 1, "finish {} retract {}", a.code(), b.code());
    }
}

#[tokio::test]
async fn urlencoded_forms_and_the_json_api_see_the_finished_report() {
    let app = App::new().await;
    let id = app
        .open("company", &example("synthetic-report-full.xml"))
        .await;
    app.add_file("company", id, 9).await;
    let done = app
        .post(
            "company",
            "finish",
            "application/x-www-form-urlencoded",
            format!("id={id}").into_bytes(),
        )
        .await;
    assert_eq!(done.code(), 0);
    let stored = app
        .store
        .report(safeguard_domain::report::ReportId(id))
        .await
        .expect("report");
    assert_eq!(
        stored.report.source,
        safeguard_domain::report::ReportSource::CyberTipline
    );
    assert!(!stored.report.content.parties.is_empty());
    assert_eq!(stored.report.files.len(), 1);
}

#[tokio::test]
async fn unfinished_reports_expire_by_the_injected_clock_and_release_their_files() {
    use safeguard_engine::intake::expiry::expire_once;
    use time::{Duration, OffsetDateTime};
    let app = App::new().await;
    let now = OffsetDateTime::now_utc();
    let shared = synthetic_file(77, 5000);
    // A: open, one file shared with the finished report C, one of its own.
    let a = app.open("company", &example("report.xml")).await;
    assert_eq!(app.upload("company", a, &shared).await.code(), 0);
    assert_eq!(
        app.upload("company", a, &synthetic_file(78, 5000))
            .await
            .code(),
        0
    );
    // B: retracted.
    let b = app.open("company", &example("report.xml")).await;
    assert_eq!(app.form("company", "retract", b).await.code(), 0);
    // C: finished, never expires.
    let c = app.open("company", &example("report.xml")).await;
    assert_eq!(app.upload("company", c, &shared).await.code(), 0);
    assert_eq!(app.form("company", "finish", c).await.code(), 0);
    let own_sha = safeguard_domain::digest::Digester::digest(&synthetic_file(78, 5000)).sha256;
    let shared_sha = safeguard_domain::digest::Digester::digest(&shared).sha256;

    // Within 24 h of opening nothing goes.
    let run = expire_once(&app.store, &app.vault, now + Duration::hours(23))
        .await
        .expect("expiry");
    assert_eq!(run.reports, 0);
    // After 24 h (and more than 1 h idle): A and B go; C stays; only A's own blob leaves.
    let run = expire_once(
        &app.store,
        &app.vault,
        now + Duration::hours(24) + Duration::minutes(1),
    )
    .await
    .expect("expiry");
    assert_eq!(run.reports, 2);
    assert_eq!(run.blobs_deleted, 1);
    assert!(!app.vault.exists(&own_sha).expect("vault"));
    assert!(app.vault.exists(&shared_sha).expect("vault"));
    assert_eq!(
        app.store.blob_refcount(&shared_sha).await.expect("count"),
        1
    );
    for gone in [a, b] {
        assert!(app
            .store
            .intake_status(safeguard_domain::report::ReportId(gone))
            .await
            .expect("status")
            .is_none());
        assert_eq!(app.form("company", "finish", gone).await.code(), 5001);
    }
    assert!(app
        .store
        .intake_status(safeguard_domain::report::ReportId(c))
        .await
        .expect("status")
        .is_some());

    // The 1 h rule: opened 30 h ago but changed 30 min ago → kept until 1 h after the change.
    let d = app.open("company", &example("report.xml")).await;
    let micros = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1000) as i64;
    app.store
        .execute_admin(&format!(
            "UPDATE report SET received_at = {}, last_change_at = {} WHERE id = {d}",
            micros(now - Duration::hours(30)),
            micros(now - Duration::minutes(30))
        ))
        .await
        .expect("backdate");
    let run = expire_once(&app.store, &app.vault, now)
        .await
        .expect("expiry");
    assert_eq!(run.reports, 0, "idle for only 30 min");
    let run = expire_once(&app.store, &app.vault, now + Duration::minutes(31))
        .await
        .expect("expiry");
    assert_eq!(run.reports, 1);
}
