//! The after-acknowledgement pipeline end to end on SQLite: reports whose files are a copy of a
//! known entry, an unknown synthetic image and a re-encoding of it go through matching, routing
//! (with the example rules and the bundled geolocation data) and linking; the verdicts, the
//! priority rule facts, the referrals and the links must be exactly as expected, and running the
//! jobs again must add nothing. Every image is generated here.

mod support;

use std::io::Cursor;

use std::path::Path;
use std::sync::Arc;
use support::{jpeg, pattern, png};

use safeguard_domain::account::{OrgId, OrgName, Role, Username};
use safeguard_domain::known::Verdict as FileVerdict;
use safeguard_domain::linking::KeyKind;
use safeguard_domain::priority::{rules, Verdict};
use safeguard_domain::report::{
    FileRelevance, IncidentType, IntakeState, IpEvent, NewReport, Party, PartyRole, ReportId,
    ReportSource,
};
use safeguard_engine::demo::ORGS;
use safeguard_engine::known::{import_known, ImportRequest, MediaHashes, Operator};
use safeguard_engine::pipeline::{JobOutcome, Pipeline, PipelineConfig, RoutingSetup};
use safeguard_engine::routing::RulesFile;
use safeguard_formats::known_media::{KnownMediaRecord, PdqHex, SourceFormat, SourceRef};
use safeguard_formats::known_stream::KnownMediaWriter;
use safeguard_formats::vics::VicsLayout;
use safeguard_geo::Geolocator;
use safeguard_store::{
    FileMetadata, IntakeActor, IntakeOp, IntakeOutcome, Job, NewFile, NewUser, OwnedSubmission,
    Store, StoreOptions, Submission, JOB_REPORT_FINISHED,
};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use time::{Duration, OffsetDateTime};

/// A VICS set holding pattern `seed` (its PNG's digests and PDQ) in `series`.
fn known_set(seed: u64, series: &str) -> Vec<u8> {
    let mut w = KnownMediaWriter::vics(Vec::new(), VicsLayout::v2_media()).expect("writer");
    let h = MediaHashes::of_bytes(&png(&pattern(seed, 400, 300)));
    let mut r = KnownMediaRecord::new(SourceRef {
        format: SourceFormat::Other,
        ordinal: 1,
        line: None,
    });
    r.hashes.md5 = Some(h.digests.md5);
    r.hashes.sha1 = Some(h.digests.sha1);
    r.hashes.sha256 = Some(h.digests.sha256);
    r.hashes.pdq = Some(PdqHex::from_bytes(h.pdq().expect("image").0));
    r.category = Some(1);
    r.series = Some(series.to_owned());
    w.write(&r).expect("write");
    w.finish().expect("finish")
}

struct Env {
    store: Store,
    vault: Vault,
    reporter: IntakeActor,
    hotline: OrgId,
    operator: Operator,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    for org in ORGS {
        store
            .create_org(
                &OrgName::parse(org.name).expect("name"),
                org.kind,
                org.country,
            )
            .await
            .expect("org");
    }
    let hotline = store.org_by_name("Demo Hotline").await.expect("hotline").id;
    let company = store
        .org_by_name("Demo Social Network")
        .await
        .expect("company")
        .id;
    let user = store
        .create_user(&NewUser {
            org: company,
            username: Username::parse("pipeline-reporter").expect("username"),
            role: Role::Reporter,
            password_hash: "x".into(),
        })
        .await
        .expect("user");
    let vault = Vault::open(
        &dir.path().join("vault"),
        KeyRing::new(MasterKey::generate(KeyId::generate())),
        VaultConfig::default(),
    )
    .expect("vault");
    Env {
        store,
        vault,
        reporter: IntakeActor {
            org: company,
            user: user.id,
            username: user.username.to_string(),
        },
        hotline,
        operator: Operator {
            user: None,
            name: "test".into(),
            org: hotline,
        },
        _dir: dir,
    }
}

fn ip_event(text: &str, at: OffsetDateTime) -> IpEvent {
    IpEvent {
        ip: text.parse().expect("literal address"),
        event: None,
        at: Some(at),
        port: None,
        possible_proxy: None,
    }
}

/// A recent child-pornography report with one reported party (fictional).
fn report(email: &str, ips: Vec<IpEvent>) -> NewReport {
    let mut r = NewReport::new(
        IncidentType::ChildPornography,
        OffsetDateTime::now_utc() - Duration::days(200),
    );
    let mut suspect = Party::new(PartyRole::Reported);
    suspect.emails.push(email.to_owned());
    suspect.ip_events = ips;
    r.parties.push(suspect);
    r
}

impl Env {
    /// A finished report through the API path (insert, then files attached).
    async fn api_report(&self, content: &NewReport, files: &[Vec<u8>]) -> ReportId {
        let (stored, _) = self
            .store
            .insert_report(&Submission {
                source: ReportSource::Api,
                reporter_org: self.reporter.org,
                holder_org: self.hotline,
                submitted_by: None,
                actor: "test",
                state: IntakeState::Finished,
                report: content,
                original: None,
                idempotency: None,
            })
            .await
            .expect("insert");
        for (n, bytes) in files.iter().enumerate() {
            let blob = self.vault.put_bytes(bytes).expect("vault");
            self.store
                .attach_file(&NewFile {
                    report: stored.report.id,
                    file_id: &format!("{:016x}{n:016x}", stored.report.id.0),
                    digests: blob.digests,
                    size: blob.size,
                    original_name: Some("synthetic.png"),
                    media_type: Some("image/png"),
                    relevance: FileRelevance::Reported,
                    actor_user: None,
                    actor: "test",
                })
                .await
                .expect("attach");
        }
        stored.report.id
    }

    /// A report through the CyberTipline intake operations, its one file carrying its own IP
    /// capture events (fileDetails ipCaptureEvent).
    async fn intake_report(
        &self,
        content: NewReport,
        bytes: &[u8],
        file_ips: Vec<IpEvent>,
    ) -> ReportId {
        let now = OffsetDateTime::now_utc();
        let opened = self
            .store
            .intake(&IntakeOp::Open(Box::new(OwnedSubmission {
                actor: self.reporter.clone(),
                holder_org: self.hotline,
                report: content,
                media_type: "text/xml".into(),
                original: b"<report/>".to_vec(),
                at: now,
            })))
            .await
            .expect("open");
        let IntakeOutcome::Opened(id) = opened else {
            panic!("expected Opened, got {opened:?}")
        };
        let blob = self.vault.put_bytes(bytes).expect("vault");
        let file_id = format!("{:032x}", 0xf11e_0000u64 + id.0 as u64);
        let outcomes = self
            .store
            .intake_batch(&[
                IntakeOp::Attach {
                    actor: self.reporter.clone(),
                    report: id,
                    file_id: file_id.clone(),
                    digests: blob.digests,
                    size: blob.size,
                    at: now,
                },
                IntakeOp::Details {
                    actor: self.reporter.clone(),
                    report: id,
                    file_id: file_id.clone(),
                    metadata: Box::new(FileMetadata {
                        original_name: Some("upload.jpg".into()),
                        ip_events: file_ips,
                        ..FileMetadata::default()
                    }),
                    document: b"<fileDetails/>".to_vec(),
                    at: now,
                },
                IntakeOp::Finish {
                    actor: self.reporter.clone(),
                    report: id,
                    at: now,
                },
            ])
            .await
            .expect("intake batch");
        assert!(
            matches!(outcomes.last(), Some(Ok(IntakeOutcome::Finished(_)))),
            "{outcomes:?}"
        );
        id
    }

    async fn import(&self, name: &str, set: Vec<u8>) {
        import_known(
            &self.store,
            None,
            &self.operator,
            &ImportRequest::new(name),
            Cursor::new(set),
            |_| {},
        )
        .await
        .expect("import");
    }

    async fn pipeline(&self) -> Pipeline {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/routing.example.toml");
        Pipeline::start(
            self.store.clone(),
            self.vault.clone(),
            Some(RoutingSetup {
                geolocator: Arc::new(Geolocator::bundled().expect("bundled geolocation")),
                rules: Arc::new(RulesFile::load(rules).expect("rules")),
            }),
            PipelineConfig {
                // No video in these reports; do not depend on ffmpeg.
                video: None,
                ..PipelineConfig::default()
            },
        )
        .await
        .expect("pipeline")
    }

    async fn org_name(&self, id: OrgId) -> String {
        self.store
            .org(id)
            .await
            .expect("org")
            .name
            .as_str()
            .to_owned()
    }

    /// Everything a re-run could duplicate, for one report.
    async fn footprint(&self, id: ReportId) -> (usize, usize, usize, usize) {
        let stored = self.store.report(id).await.expect("report");
        let mut matches = 0;
        for f in &stored.report.files {
            matches += self
                .store
                .file_known_matches(&f.file_id)
                .await
                .expect("matches")
                .len();
        }
        let referrals = self.store.referrals(id).await.expect("referrals").len();
        let cluster = self
            .store
            .cluster_of_report(id, 100)
            .await
            .expect("cluster")
            .expect("linked");
        let fired = self
            .store
            .routing(id)
            .await
            .expect("routing")
            .expect("routed")
            .fired
            .len();
        (matches, referrals, cluster.links.len(), fired)
    }
}

fn fired(routing: &safeguard_store::StoredRouting, rule: &str) -> Option<Vec<String>> {
    routing
        .fired
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.facts.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_reports_are_matched_routed_and_linked_once() {
    let env = env().await;
    env.import("SYNTH_KNOWN", known_set(1, "Series P")).await;
    for seed in [1, 7] {
        let q = MediaHashes::of_bytes(&png(&pattern(seed, 400, 300)))
            .image
            .expect("image")
            .quality;
        assert!(
            q >= 50,
            "pattern {seed} has PDQ quality {q}: the test would prove nothing"
        );
    }
    let when = OffsetDateTime::now_utc() - Duration::days(3);

    // 1: an exact copy of the known entry; a German address.
    let known = env
        .api_report(
            &report(
                "shared.person@example.org",
                vec![ip_event("87.128.1.1", when)],
            ),
            &[png(&pattern(1, 400, 300))],
        )
        .await;
    // 2: an unknown synthetic image through the CyberTipline intake; the only IP is the file's
    //    own capture event, in the Philippines.
    let unknown = env
        .intake_report(
            report("someone.else@example.org", vec![]),
            &png(&pattern(7, 400, 300)),
            vec![ip_event("112.198.3.3", when)],
        )
        .await;
    // 3: the unknown image re-encoded as JPEG (a PDQ near-duplicate), sharing report 1's e-mail.
    let reencoded = env
        .api_report(
            &report("Shared.Person@example.org", vec![]),
            &[jpeg(&pattern(7, 400, 300), 70)],
        )
        .await;
    // 4: no file; a party IP equal to report 2's file IP, at the same time.
    let same_ip = env
        .api_report(
            &report("third@example.org", vec![ip_event("112.198.3.3", when)]),
            &[],
        )
        .await;

    let pipeline = env.pipeline().await;
    let summary = pipeline.run_pass("test-worker").await.expect("pass");
    assert_eq!((summary.done, summary.failed), (4, 0));

    // Verdicts.
    let verdict = |id| {
        let store = env.store.clone();
        async move {
            store
                .report_known_verdict(id)
                .await
                .expect("verdict")
                .map(|v| v.0)
        }
    };
    assert_eq!(verdict(known).await, Some(FileVerdict::Known));
    assert_eq!(verdict(unknown).await, Some(FileVerdict::Unknown));
    assert_eq!(verdict(reencoded).await, Some(FileVerdict::Unknown));
    let series = env
        .store
        .report_known_verdict(known)
        .await
        .expect("v")
        .expect("v")
        .1;
    let p = env
        .store
        .series_by_name("Series P")
        .await
        .expect("s")
        .expect("exists");
    assert_eq!(series, vec![p.id]);

    // Priority facts: the unknown-material rule sees the real verdict.
    let routing = |id| {
        let store = env.store.clone();
        async move { store.routing(id).await.expect("routing").expect("routed") }
    };
    let r_known = routing(known).await;
    let r_unknown = routing(unknown).await;
    assert_eq!(
        fired(&r_known, rules::UNKNOWN_MATERIAL),
        None,
        "{r_known:#?}"
    );
    assert_eq!(
        fired(&r_unknown, rules::UNKNOWN_MATERIAL),
        Some(vec!["a file matched no known material".to_owned()]),
        "{r_unknown:#?}"
    );
    assert_eq!(
        fired(&routing(reencoded).await, rules::UNKNOWN_MATERIAL).map(|f| f.len()),
        Some(1)
    );
    assert_eq!(
        fired(&routing(same_ip).await, rules::UNKNOWN_MATERIAL),
        None
    );

    // Jurisdiction and referrals: the file's own IP event places report 2 in the Philippines.
    assert_eq!(
        r_unknown.candidates.first().map(|c| c.country.as_str()),
        Some("PH"),
        "{r_unknown:#?}"
    );
    assert_eq!(
        r_known.candidates.first().map(|c| c.country.as_str()),
        Some("DE")
    );
    let mut to = Vec::new();
    for r in &r_known.referrals {
        to.push(env.org_name(r.to_org).await);
    }
    assert_eq!(to, vec!["Demo Coordinator (EU)".to_owned()]);
    assert!(!r_unknown.referrals.is_empty());

    // Links: e-mail (1–3), PDQ near-duplicate (2–3), the file's IP event (2–4): one cluster.
    let cluster = env
        .store
        .cluster_of_report(known, 100)
        .await
        .expect("cluster")
        .expect("linked");
    let mut members = cluster.reports.clone();
    members.sort();
    assert_eq!(members, vec![known, unknown, reencoded, same_ip]);
    let mut kinds: Vec<_> = cluster
        .links
        .iter()
        .map(|l| {
            let mut pair = [l.report_a, l.report_b];
            pair.sort();
            (pair, l.kind)
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ([known, reencoded], KeyKind::Email),
            ([unknown, reencoded], KeyKind::Pdq),
            ([unknown, same_ip], KeyKind::Ip),
        ],
        "{cluster:#?}"
    );

    // Re-running every job (as after a crash before it was marked done) duplicates nothing.
    let before = [
        env.footprint(known).await,
        env.footprint(unknown).await,
        env.footprint(reencoded).await,
        env.footprint(same_ip).await,
    ];
    assert_eq!(before[0].0, 1, "one match for the copy of the known entry");
    let expected = [
        Some(Verdict::AllKnown),
        Some(Verdict::NewMaterial),
        Some(Verdict::NewMaterial),
        None,
    ];
    for (n, id) in [known, unknown, reencoded, same_ip].into_iter().enumerate() {
        let job = Job {
            id: 0,
            kind: JOB_REPORT_FINISHED.to_owned(),
            subject_id: id.0,
            attempts: 2,
        };
        match pipeline.process_job(&job).await.expect("re-run") {
            JobOutcome::Report(outcome) => {
                assert_eq!(outcome.known_material, expected[n], "report {n}");
                assert!(outcome.link.already_linked);
                assert!(outcome.link.links.is_empty());
            }
            JobOutcome::Gone => panic!("report {n} is there"),
        }
    }
    let after = [
        env.footprint(known).await,
        env.footprint(unknown).await,
        env.footprint(reencoded).await,
        env.footprint(same_ip).await,
    ];
    assert_eq!(before, after);
    // Nothing is left in the queue.
    assert_eq!(
        pipeline.run_pass("test-worker").await.expect("pass").done,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_material_imported_after_start_is_matched_without_restart() {
    let env = env().await;
    env.import("SYNTH_FIRST", known_set(1, "Series P")).await;
    let pipeline = env.pipeline().await;
    assert_eq!(pipeline.index().len(), 1);
    // Imported by another process while the pipeline runs (the importer does not feed its index).
    env.import("SYNTH_LATER", known_set(8, "Series Q")).await;
    // A re-encoded copy: found only through the perceptual index, not by exact digests.
    let id = env
        .api_report(
            &report("x@example.org", vec![]),
            &[jpeg(&pattern(8, 400, 300), 70)],
        )
        .await;
    let summary = pipeline.run_pass("w").await.expect("pass");
    assert_eq!((summary.done, summary.failed), (1, 0));
    assert_eq!(pipeline.index().len(), 2);
    let (verdict, series) = env
        .store
        .report_known_verdict(id)
        .await
        .expect("v")
        .expect("matched");
    assert_eq!(verdict, FileVerdict::Known);
    let q = env
        .store
        .series_by_name("Series Q")
        .await
        .expect("s")
        .expect("exists");
    assert_eq!(series, vec![q.id]);
    let routing = env.store.routing(id).await.expect("r").expect("routed");
    assert_eq!(fired(&routing, rules::UNKNOWN_MATERIAL), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_is_retried_later_with_backoff() {
    let env = env().await;
    let id = env
        .api_report(
            &report("y@example.org", vec![]),
            &[png(&pattern(2, 400, 300))],
        )
        .await;
    // The evidence is there, but the database row of the file points at content whose bytes
    // are corrupted on disk: reading fails, the job fails and is released for later.
    let stored = env.store.report(id).await.expect("report");
    let sha = stored.report.files[0].digests.sha256;
    let mut corrupted = 0;
    for entry in walk(env.vault.dir()) {
        if entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.'))
        {
            let mut bytes = std::fs::read(&entry).expect("read");
            if bytes.len() > 64 {
                let last = bytes.len() - 1;
                bytes[last] ^= 0xff;
                std::fs::write(&entry, bytes).expect("write");
                corrupted += 1;
            }
        }
    }
    assert!(corrupted >= 1, "the blob of {sha} was found and damaged");
    let pipeline = env.pipeline().await;
    let summary = pipeline.run_pass("w").await.expect("pass");
    assert_eq!((summary.done, summary.failed), (0, 1));
    // Not due again at once: the next pass claims nothing.
    let again = pipeline.run_pass("w").await.expect("pass");
    assert_eq!((again.done, again.failed), (0, 0));
    assert!(env.store.routing(id).await.expect("r").is_none());
    assert_eq!(
        safeguard_engine::pipeline::retry_delay(1),
        Duration::seconds(30)
    );
    assert_eq!(
        safeguard_engine::pipeline::retry_delay(3),
        Duration::seconds(120)
    );
    assert_eq!(
        safeguard_engine::pipeline::retry_delay(50),
        Duration::hours(1)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
