//! Storage that fails to write, under the CyberTipline intake (`/ispws`), in process.
//!
//! * The evidence vault runs over the vault's fault-injecting storage
//!   (`safeguard_vault::fault::FaultyStorage`): every kind of write (creating the temporary
//!   file, writing, fsync, the commit link) fails with ENOSPC or EIO and stays failing, as a
//!   full or broken disk does.
//! * The database (SQLite) is made unwritable on its one writer connection: `PRAGMA
//!   query_only` refuses every write (SQLITE_READONLY, a database opened read-only), and
//!   `PRAGMA max_page_count` caps the file at its current size (SQLITE_FULL, exactly the error a
//!   full disk gives SQLite). Both are SQLite's own switches, need no VFS shim, and are undone
//!   by setting them back, so the same process shows the recovery.
//!
//! Each time the intake answers a 1000-series code (server error, save failed, file upload
//! failed), acknowledges nothing it did not store, leaves no partial file or row, and works
//! again as soon as storage does.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{IntakeState, ReportId};
use safeguard_engine::accounts;
use safeguard_engine::intake::Intake;
use safeguard_formats::cybertipline::{self as wire, AnyResponse};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use safeguard_vault::fault::{FaultError, FaultOp, FaultyStorage};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use tower::ServiceExt;

const PASSWORD: &str = "a long test password";
const BOUNDARY: &str = "StorageFaultBoundary";
const REPORT: &str = include_str!("../../formats/tests/data/cybertipline/report.xml");

struct App {
    store: Store,
    router: axum::Router,
    vault: Arc<Vault>,
    faults: FaultyStorage,
    dir: tempfile::TempDir,
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("company:{PASSWORD}"))
    )
}

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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
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
        accounts::add_org(&store, "Company", OrgKind::Reporter, None, "test")
            .await
            .expect("org");
        accounts::add_user(
            &store,
            "Company",
            "company",
            Role::Reporter,
            PASSWORD,
            "test",
        )
        .await
        .expect("user");
        let faults = FaultyStorage::new();
        let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
        let vault = Arc::new(
            Vault::open_with_storage(
                &dir.path().join("vault"),
                keys,
                VaultConfig::default(),
                Arc::new(faults.clone()),
            )
            .expect("vault"),
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
            faults,
            dir,
        }
    }

    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, i32, AnyResponse) {
        let response = self
            .router
            .clone()
            .oneshot(
                Request::post(format!("/ispws/{path}"))
                    .header(header::AUTHORIZATION, basic())
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let parsed = wire::parse_any_response(&body).unwrap_or_else(|e| {
            panic!(
                "unparsable answer {e:?}: {}",
                String::from_utf8_lossy(&body)
            )
        });
        (status, parsed.response_code(), parsed)
    }

    async fn submit(&self) -> (StatusCode, i32, AnyResponse) {
        self.post("submit", "text/xml", REPORT.as_bytes().to_vec())
            .await
    }

    async fn open(&self) -> i64 {
        let (status, code, answer) = self.submit().await;
        assert_eq!((status, code), (StatusCode::OK, 0), "{answer:?}");
        match answer {
            AnyResponse::Report(r) => r.report_id.expect("id"),
            other => panic!("{other:?}"),
        }
    }

    async fn upload(&self, id: i64, bytes: &[u8]) -> (StatusCode, i32, AnyResponse) {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n--{BOUNDARY}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        self.post(
            "upload",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            body,
        )
        .await
    }

    async fn finish(&self, id: i64) -> (StatusCode, i32, AnyResponse) {
        self.post(
            "finish",
            "application/x-www-form-urlencoded",
            format!("id={id}").into_bytes(),
        )
        .await
    }

    async fn file_count(&self, id: i64) -> usize {
        self.store
            .report(ReportId(id))
            .await
            .expect("report")
            .report
            .files
            .len()
    }

    async fn blobs(&self) -> usize {
        self.vault.list().expect("list").count()
    }

    async fn audit_intact(&self) {
        let v = self.store.verify_audit().await.expect("verify");
        assert!(v.broken.is_none(), "audit chain broken: {:?}", v.broken);
    }
}

fn is_1000_series(status: StatusCode, code: i32) -> bool {
    status == StatusCode::INTERNAL_SERVER_ERROR && (1000..2000).contains(&code)
}

#[tokio::test]
async fn a_vault_that_cannot_write_refuses_uploads_with_1000_codes_and_recovers() {
    let app = App::new().await;
    let id = app.open().await;
    let kept = synthetic_file(1, 70_000);
    let (_, code, _) = app.upload(id, &kept).await;
    assert_eq!(code, 0);
    let vault_files = files_under(&app.dir.path().join("vault"));

    let mut seed = 100;
    for op in [
        FaultOp::CreateTemp,
        FaultOp::Write,
        FaultOp::Sync,
        FaultOp::Link,
    ] {
        for error in [FaultError::NoSpace, FaultError::Io] {
            seed += 1;
            // The disk stays full (or broken) from the first such operation on.
            app.faults.fail_from(op, 1, error);
            let (status, code, answer) = app.upload(id, &synthetic_file(seed, 70_000)).await;
            assert!(
                is_1000_series(status, code),
                "{op:?} {error:?}: {status} {answer:?}"
            );
            assert!(app.faults.fired() > 0, "{op:?} was exercised");
            // Nothing was attached, no blob and no partial or temporary file remains.
            assert_eq!(app.file_count(id).await, 1, "{op:?} {error:?}");
            assert_eq!(app.blobs().await, 1, "{op:?} {error:?}");
            assert_eq!(
                files_under(&app.dir.path().join("vault")),
                vault_files,
                "{op:?} {error:?}: the vault folder is as before"
            );
            app.faults.disarm();
        }
    }

    // Storage works again: the next upload and the finish go through, and the finish
    // acknowledges exactly the files that were stored.
    let later = synthetic_file(2, 50_000);
    let (_, code, answer) = app.upload(id, &later).await;
    assert_eq!(code, 0, "{answer:?}");
    let (_, code, answer) = app.finish(id).await;
    assert_eq!(code, 0, "{answer:?}");
    let AnyResponse::Done(done) = answer else {
        panic!("finish")
    };
    assert_eq!(done.files.len(), 2);
    let stored = app.store.report(ReportId(id)).await.expect("report");
    for bytes in [&kept, &later] {
        let sha = Digester::digest(bytes).sha256;
        assert!(stored.report.files.iter().any(|f| f.digests.sha256 == sha));
        assert_eq!(
            &app.vault.read_to_vec(&sha, u64::MAX).expect("readable"),
            bytes
        );
    }
    app.audit_intact().await;
}

#[tokio::test]
async fn a_database_that_cannot_write_gets_1000_codes_keeps_state_and_recovers() {
    let app = App::new().await;
    let id = app.open().await;
    let (_, code, _) = app.upload(id, &synthetic_file(1, 30_000)).await;
    assert_eq!(code, 0);
    let mut files = 1;
    for (refuse, allow, every_write_fails) in [
        // A database opened read-only (SQLITE_READONLY): every write fails.
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF", true),
        // A full disk (SQLITE_FULL): the file may not grow by one page. Writes that need a new
        // page fail; small ones may still fit in free space of existing pages.
        (
            "PRAGMA max_page_count = 1",
            "PRAGMA max_page_count = 1073741823",
            false,
        ),
    ] {
        let reports = app.store.count_reports().await.expect("count");
        app.store.execute_admin(refuse).await.expect(refuse);

        // A new report with a large original document (the file must grow) is refused.
        let padded = REPORT.replace(
            "</report>",
            &format!("<!-- {} --></report>", "synthetic padding ".repeat(3_000)),
        );
        let (status, code, answer) = app.post("submit", "text/xml", padded.into_bytes()).await;
        assert!(
            is_1000_series(status, code),
            "{refuse}: submit {status} {answer:?}"
        );
        assert_eq!(app.store.count_reports().await.expect("count"), reports);

        // An upload is acknowledged if and only if it was stored; refused, the content stored
        // for it alone is removed from the vault again.
        let (status, code, answer) = app.upload(id, &synthetic_file(9, 200_000)).await;
        if code == 0 {
            assert!(!every_write_fails, "{refuse}: upload acknowledged");
            files += 1;
        } else {
            assert!(
                is_1000_series(status, code),
                "{refuse}: upload {status} {answer:?}"
            );
        }
        assert_eq!(app.file_count(id).await, files, "{refuse}");
        assert_eq!(app.blobs().await, files, "{refuse}: no orphan blob");

        if every_write_fails {
            // A finish is refused and the report stays open.
            let (status, code, answer) = app.finish(id).await;
            assert!(
                is_1000_series(status, code),
                "{refuse}: finish {status} {answer:?}"
            );
            let state = app
                .store
                .intake_status(ReportId(id))
                .await
                .expect("status")
                .expect("present")
                .state;
            assert_eq!(state, IntakeState::Open, "{refuse}");
        }

        app.store.execute_admin(allow).await.expect(allow);
        // Writable again: a new report goes in at once.
        let other = app.open().await;
        assert!(other > id);
        assert_eq!(
            app.store.count_reports().await.expect("count"),
            reports + 1,
            "{allow}"
        );
    }

    // The report the failures could not finish is finished now, with the files it holds.
    let (_, code, answer) = app.finish(id).await;
    assert_eq!(code, 0, "{answer:?}");
    let AnyResponse::Done(done) = answer else {
        panic!("finish")
    };
    assert_eq!(done.files.len(), files);
    app.audit_intact().await;
}
