//! `safeguard demo --reports N --no-serve`: the reports are stored in batches with their files;
//! a small set waits for the pipeline (one `report.finished` job each), a large one (here forced
//! with `--pipeline-up-to`) is routed as it is created, so referrals exist at once and no job
//! waits.

mod support;

use support::{run_ok, safeguard};

async fn counts(data: &std::path::Path) -> (i64, i64, i64, i64) {
    let store = safeguard_store::Store::connect(
        &safeguard_store::Store::default_url(data),
        safeguard_store::StoreOptions {
            migrate: false,
            ..safeguard_store::StoreOptions::default()
        },
    )
    .await
    .expect("store");
    let reports = store.count_reports().await.expect("count");
    let jobs = store
        .job_counts()
        .await
        .expect("jobs")
        .into_iter()
        .find(|c| c.kind == safeguard_store::JOB_REPORT_FINISHED)
        .map(|c| c.waiting)
        .unwrap_or(0);
    let verified = store.verify_audit().await.expect("verify");
    assert!(verified.broken.is_none(), "the audit chain holds");
    let referrals = store.count_referrals().await.expect("referrals");
    let files = store.count_report_files().await.expect("files");
    (reports, jobs, referrals, files)
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_data_in_batches_small_and_at_scale() {
    for (reports, up_to) in [(300u64, 20_000u64), (300, 100)] {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path();
        let out = run_ok(
            safeguard(data).args([
                "demo",
                "--reports",
                &reports.to_string(),
                "--pipeline-up-to",
                &up_to.to_string(),
                "--no-serve",
            ]),
            None,
        );
        assert!(out.contains("DEMO DATA"), "{out}");
        let (stored, waiting, referrals, files) = counts(data).await;
        assert_eq!(stored, reports as i64);
        // Reports have 0 to 2 files each.
        assert!(files > 0 && files < 2 * reports as i64, "{files} files");
        if reports > up_to {
            assert_eq!(waiting, 0, "routed at creation: no job waits");
            assert!(referrals > 0, "routed at creation: referrals exist");
        } else {
            assert_eq!(waiting, reports as i64, "one pipeline job per report");
        }
    }
}
