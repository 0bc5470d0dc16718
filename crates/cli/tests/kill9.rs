//! Fault tests with the real binary: `kill -9` (SIGKILL) of `safeguard serve` in the middle of
//! CyberTipline intake, of `safeguard import vics` in the middle of a big file, and of
//! `safeguard package build` at many points. After each kill, nothing acknowledged is lost,
//! nothing is half-written, the audit chain verifies, and the work can simply be run again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use safeguard_domain::digest::Digester;
use safeguard_domain::report::{IntakeState, ReportId};
use safeguard_formats::cybertipline::{self as wire, AnyResponse};
use safeguard_store::{Store, StoreOptions};
use safeguard_vault::{KeyRing, Vault, VaultConfig};

mod support;

use support::{reporting_company, run_ok, safeguard, start_server};

const PASSWORD: &str = "a long test password";
const BOUNDARY: &str = "Kill9TestBoundary";

fn audit_intact(data: &Path) {
    let verified = run_ok(safeguard(data).args(["audit", "verify"]), None);
    assert!(verified.contains("intact"), "{verified}");
}

fn kill_9(child: &mut Child) {
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    child.wait().expect("reaped");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn open_store(data: &Path) -> Store {
    Store::connect(
        &Store::default_url(data),
        StoreOptions {
            migrate: false,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("store")
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

fn multipart(id: i64, file: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n--{BOUNDARY}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"evidence.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(file);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The parsed answer of an /ispws call, or `None` when the connection failed (the server died).
fn ispws(
    client: &reqwest::blocking::Client,
    url: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Option<AnyResponse> {
    let resp = client
        .post(format!("{url}/ispws/{path}"))
        .basic_auth("company", Some(PASSWORD))
        .header("content-type", content_type)
        .body(body)
        .send()
        .ok()?;
    let bytes = resp.bytes().ok()?;
    Some(wire::parse_any_response(&bytes).expect("an answer is a reportResponse"))
}

/// A report finished with answer code 0: its id and the SHA-256 (hex) of each uploaded file,
/// by file id.
type Acknowledged = (i64, BTreeMap<String, String>);

#[test]
fn acknowledged_cybertipline_reports_survive_kill_9_during_intake() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    reporting_company(data, PASSWORD);
    let report_xml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../formats/tests/data/cybertipline/report.xml"
    ))
    .expect("example report");

    let (mut server, url) = start_server(data);
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let submitted = Arc::new(Mutex::new(BTreeSet::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..6u64)
        .map(|worker| {
            let (url, acknowledged, submitted, stop, report_xml) = (
                url.clone(),
                acknowledged.clone(),
                submitted.clone(),
                stop.clone(),
                report_xml.clone(),
            );
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .expect("client");
                let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
                let mut n = 0u64;
                'reports: while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let Some(answer) =
                        ispws(&client, &url, "submit", "text/xml", report_xml.clone())
                    else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    assert_eq!(answer.response_code(), 0, "submit: {answer:?}");
                    let AnyResponse::Report(r) = answer else {
                        panic!("submit answers a reportResponse")
                    };
                    let id = r.report_id.expect("report id");
                    submitted.lock().expect("lock").insert(id);
                    let mut files = BTreeMap::new();
                    // One to three files of 1–40 KiB.
                    for f in 0..(1 + n % 3) {
                        let seed = worker * 1_000_000 + n * 10 + f;
                        let bytes = synthetic_file(seed, 1024 + (seed as usize * 7919) % 40_000);
                        let Some(answer) = ispws(
                            &client,
                            &url,
                            "upload",
                            &multipart_type,
                            multipart(id, &bytes),
                        ) else {
                            continue 'reports;
                        };
                        assert_eq!(answer.response_code(), 0, "upload: {answer:?}");
                        let AnyResponse::Report(r) = answer else {
                            panic!("upload answers a reportResponse")
                        };
                        let sha = Digester::digest(&bytes).sha256.to_hex();
                        files.insert(r.file_id.expect("file id"), sha);
                    }
                    let Some(answer) = ispws(
                        &client,
                        &url,
                        "finish",
                        "application/x-www-form-urlencoded",
                        format!("id={id}").into_bytes(),
                    ) else {
                        continue;
                    };
                    assert_eq!(answer.response_code(), 0, "finish: {answer:?}");
                    let AnyResponse::Done(done) = answer else {
                        panic!("a successful finish answers a reportDoneResponse")
                    };
                    let listed: BTreeSet<&String> = done.files.iter().collect();
                    assert_eq!(listed, files.keys().collect(), "finish lists the files");
                    acknowledged.lock().expect("lock").push((id, files));
                }
            })
        })
        .collect();

    let started = Instant::now();
    while acknowledged.lock().expect("lock").len() < 40
        && started.elapsed() < Duration::from_secs(40)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_9(&mut server);
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().expect("sender thread");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let submitted = submitted.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 20,
        "only {} reports acknowledged before the kill",
        acknowledged.len()
    );

    // The restarted server serves: a whole new report goes through.
    let (mut server, url) = start_server(data);
    let client = reqwest::blocking::Client::new();
    let answer = ispws(&client, &url, "submit", "text/xml", report_xml).expect("answer");
    let AnyResponse::Report(r) = answer else {
        panic!("submit")
    };
    let fresh = r.report_id.expect("id");
    let answer = ispws(
        &client,
        &url,
        "finish",
        "application/x-www-form-urlencoded",
        format!("id={fresh}").into_bytes(),
    )
    .expect("answer");
    assert_eq!(answer.response_code(), 0);
    server.kill().expect("stop");
    server.wait().expect("reaped");

    // Every acknowledged report is finished, with exactly its files, each readable from the
    // vault with the bytes that were sent.
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(data).await;
        let (keys, _) = KeyRing::load(data).expect("vault key");
        let vault = Vault::open(&data.join("vault"), keys, VaultConfig::default()).expect("vault");
        let acknowledged_ids: BTreeSet<i64> = acknowledged.iter().map(|(id, _)| *id).collect();
        for (id, files) in &acknowledged {
            let status = store
                .intake_status(ReportId(*id))
                .await
                .expect("status")
                .unwrap_or_else(|| panic!("acknowledged report {id} lost"));
            assert_eq!(status.state, IntakeState::Finished, "report {id}");
            let stored = store.report(ReportId(*id)).await.expect("report");
            let held: BTreeMap<String, String> = stored
                .report
                .files
                .iter()
                .map(|f| (f.file_id.clone(), f.digests.sha256.to_hex()))
                .collect();
            assert_eq!(&held, files, "report {id} keeps exactly its files");
            for f in &stored.report.files {
                let bytes = vault
                    .read_to_vec(&f.digests.sha256, 1 << 30)
                    .unwrap_or_else(|e| panic!("report {id} file {}: {e}", f.file_id));
                assert_eq!(Digester::digest(&bytes).sha256, f.digests.sha256);
                assert_eq!(bytes.len() as u64, f.size);
            }
        }
        // Unacknowledged reports are either finished whole (the answer was lost), or still
        // open; open ones expire and release their files.
        let mut open = 0;
        let last = submitted.iter().max().copied().unwrap_or(0).max(fresh);
        for id in 1..=last + 20 {
            if acknowledged_ids.contains(&id) {
                continue;
            }
            let Some(status) = store.intake_status(ReportId(id)).await.expect("status") else {
                continue;
            };
            match status.state {
                IntakeState::Open => open += 1,
                IntakeState::Finished => {
                    let stored = store.report(ReportId(id)).await.expect("report");
                    for f in &stored.report.files {
                        vault
                            .read_to_vec(&f.digests.sha256, 1 << 30)
                            .unwrap_or_else(|e| panic!("finished report {id}: {e}"));
                    }
                }
                IntakeState::Retracted => panic!("nobody retracted report {id}"),
            }
        }
        let later = time::OffsetDateTime::now_utc() + time::Duration::hours(25);
        let run = safeguard_engine::intake::expiry::expire_once(&store, &vault, later)
            .await
            .expect("expiry");
        assert_eq!(run.reports, open, "every open report is expirable");
        for (id, _) in &acknowledged {
            let stored = store.report(ReportId(*id)).await.expect("report");
            for f in &stored.report.files {
                assert!(
                    vault.exists(&f.digests.sha256).expect("vault"),
                    "report {id}"
                );
            }
        }
        eprintln!(
            "kill -9 during intake: {} acknowledged, {} submitted, {open} left open and expired",
            acknowledged.len(),
            submitted.len()
        );
        store.close().await;
    });
    audit_intact(data);
    let verified = run_ok(safeguard(data).args(["vault", "verify"]), None);
    assert!(!verified.contains("PROBLEM"), "{verified}");
}

/// A VICS 2.0 hash set of `n` media with distinct synthetic hashes.
fn big_vics(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
    out.write_all(
        b"{\"@odata.context\": \"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media\",\n\"value\": [\n",
    )
    .expect("write");
    for i in 0..n {
        let sep = if i + 1 == n { "" } else { "," };
        writeln!(
            out,
            "{{\"MediaID\": {}, \"Category\": {}, \"MD5\": \"{:032x}\", \"SHA1\": \"{:040x}\", \"MediaSize\": {}}}{sep}",
            i + 1,
            i % 3,
            0x5afe_0000_0000u64 + i as u64,
            0xbeef_0000_0000u64 + i as u64,
            1000 + i
        )
        .expect("write");
    }
    out.write_all(b"]}\n").expect("write");
}

async fn set_entries(store: &Store, name: &str) -> u64 {
    store
        .list_hash_sets(None)
        .await
        .expect("sets")
        .iter()
        .find(|s| s.name == name)
        .map_or(0, |s| s.entries as u64)
}

#[test]
fn an_import_killed_midway_is_completed_by_running_it_again() {
    const N: usize = 60_000;
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    run_ok(
        safeguard(data).args(["org", "add", "Hotline", "--kind", "hotline"]),
        None,
    );
    let file = data.join("big-synthetic.json");
    big_vics(&file, N);
    let import = |data: &Path| {
        let mut cmd = safeguard(data);
        cmd.args(["import", "vics"])
            .arg(&file)
            .args(["--set", "Synthetic", "--quiet"]);
        cmd
    };

    let rt = runtime();
    let mut child = import(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("import starts");
    // Kill it once some batches are in, well before the end.
    let before_kill = rt.block_on(async {
        // The importer creates the database; wait for the set to exist.
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the import made no progress"
            );
            if data.join("safeguard.db").exists() {
                let store = open_store(data).await;
                let n = set_entries(&store, "Synthetic").await;
                store.close().await;
                if n >= 2_000 {
                    return n;
                }
            }
            if let Some(status) = child.try_wait().expect("poll") {
                panic!("the import ended ({status}) before it could be killed: make N larger");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    kill_9(&mut child);
    let after_kill = rt.block_on(async {
        let store = open_store(data).await;
        let n = set_entries(&store, "Synthetic").await;
        store.close().await;
        n
    });
    assert!(after_kill >= before_kill);
    assert!(
        (after_kill as usize) < N,
        "killed after the end ({after_kill} of {N}): make N larger"
    );

    // Running it again completes it: every record once, nothing twice.
    let out = run_ok(&mut import(data), None);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).expect("json summary");
    assert_eq!(summary["records"], N as u64, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(
        summary["inserted"].as_u64().expect("inserted") + summary["updated"].as_u64().expect("u"),
        N as u64,
        "{summary}"
    );
    assert_eq!(
        summary["inserted"].as_u64(),
        Some(N as u64 - after_kill),
        "what the killed run committed is updated, not added again: {summary}"
    );
    rt.block_on(async {
        let store = open_store(data).await;
        assert_eq!(set_entries(&store, "Synthetic").await, N as u64);
        // The killed run stays recorded as unfinished; the re-run as complete.
        let first = store.known_import(1).await.expect("first import");
        assert!(!first.finished, "the killed import is unfinished");
        let second = store.known_import(2).await.expect("second import");
        assert!(second.finished);
        assert_eq!(second.counts.records, N as u64);
        store.close().await;
    });
    audit_intact(data);
    eprintln!("kill -9 during import: {after_kill} of {N} entries were in at the kill");
}

/// Reports referred to one agency, stored directly (the routing that makes referrals is not
/// what this test is about).
async fn referred_reports(store: &Store, count: usize) {
    use safeguard_domain::account::{OrgKind, OrgName};
    use safeguard_domain::report::{IncidentType, NewReport, Party, PartyRole, ReportSource};
    let org = |name: &'static str, kind: OrgKind| async move {
        match store.org_by_name(name).await {
            Ok(o) => o.id,
            Err(_) => {
                store
                    .create_org(&OrgName::parse(name).expect("name"), kind, None)
                    .await
                    .expect("org")
                    .id
            }
        }
    };
    let hub = org("Coordinator", OrgKind::Coordinator).await;
    let agency = org("Agency", OrgKind::Agency).await;
    let at = time::macros::datetime!(2024-03-01 12:00 UTC);
    for i in 0..count {
        let mut r = NewReport::new(IncidentType::OnlineEnticement, at);
        let mut p = Party::new(PartyRole::Reported);
        p.emails.push(format!("demo-suspect-{i}@example.org"));
        r.parties.push(p);
        let (stored, _) = store
            .insert_report(&safeguard_store::Submission {
                source: ReportSource::Api,
                reporter_org: hub,
                holder_org: hub,
                submitted_by: None,
                actor: "test",
                state: IntakeState::Finished,
                report: &r,
                original: None,
                idempotency: None,
            })
            .await
            .expect("insert");
        store
            .insert_referral(stored.report.id, hub, agency, "test")
            .await
            .expect("referral");
    }
}

fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

#[test]
fn package_building_killed_at_any_point_leaves_consistent_state() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    let rt = runtime();
    // A referral goes into one package only: every build gets 150 fresh referrals to carry.
    let refer = || {
        rt.block_on(async {
            let store = Store::connect(&Store::default_url(data), StoreOptions::default())
                .await
                .expect("store");
            referred_reports(&store, 150).await;
            store.close().await;
        })
    };
    refer();
    let output = data.join("package.zip");
    let build = || {
        let mut cmd = safeguard(data);
        cmd.args(["package", "build", "--to", "Agency", "--output"])
            .arg(&output);
        cmd
    };

    // How long a whole build takes here, then kills spread over that time.
    let started = Instant::now();
    run_ok(&mut build(), None);
    let whole = started.elapsed();
    let key = data.join("keys/signing.key");
    std::fs::remove_file(&key).expect("start again without a key, to kill its creation too");
    let mut kills = 0;
    for step in 0..12u32 {
        refer();
        let delay = whole * step / 10;
        let mut child = build()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("build starts");
        std::thread::sleep(delay);
        if child.try_wait().expect("poll").is_none() {
            kill_9(&mut child);
            kills += 1;
        }
        check_packages(&rt, data, &output);
    }
    assert!(kills >= 3, "only {kills} builds were killed mid-way");
    // And a build after all that works and verifies.
    refer();
    run_ok(&mut build(), None);
    run_ok(
        safeguard(data)
            .args(["package", "verify"])
            .arg(&output)
            .args(["--key", &public_key(data)]),
        None,
    );
    audit_intact(data);
}

fn public_key(data: &Path) -> String {
    let out = run_ok(safeguard(data).args(["keys", "signing"]), None);
    out.lines()
        .find_map(|l| l.strip_prefix("ed25519 public key (hex):"))
        .expect("public key line")
        .trim()
        .to_owned()
}

/// After a kill: the key file is absent or whole; every stored package has the hash of its
/// file and exports again to exactly that file; the output file, when present, is the whole
/// file of a stored package (never a truncated one), and its signature either verifies or
/// (killed between the two renames) does not: it never vouches for other bytes.
fn check_packages(rt: &tokio::runtime::Runtime, data: &Path, output: &Path) {
    let key = data.join("keys/signing.key");
    if key.exists() {
        let text = std::fs::read_to_string(&key).expect("key");
        assert_eq!(text.trim().len(), 64, "the key file is whole: {text:?}");
    }
    let hashes: Vec<String> = rt.block_on(async {
        let store = open_store(data).await;
        let mut hashes = Vec::new();
        let mut id = 1;
        while let Ok(p) = store.package(id).await {
            hashes.push(
                p.file_sha256
                    .unwrap_or_else(|| panic!("package {id} was stored without its file hash")),
            );
            id += 1;
        }
        store.close().await;
        hashes
    });
    for (i, sha) in hashes.iter().enumerate() {
        let id = i + 1;
        let exported = data.join(format!("export-{id}.zip"));
        run_ok(
            safeguard(data)
                .args(["package", "export", &id.to_string(), "--output"])
                .arg(&exported),
            None,
        );
        let bytes = std::fs::read(&exported).expect("exported");
        assert_eq!(
            &Digester::digest(&bytes).sha256.to_hex(),
            sha,
            "package {id} exports to the file it was built as"
        );
        std::fs::remove_file(&exported).expect("clean");
        std::fs::remove_file(signature_path(&exported)).expect("clean");
    }
    if output.exists() {
        let bytes = std::fs::read(output).expect("output");
        let sha = Digester::digest(&bytes).sha256.to_hex();
        assert!(
            hashes.contains(&sha),
            "the package file is the whole file of a stored package ({} bytes)",
            bytes.len()
        );
    }
}
