//! The job queue on several nodes, on SQLite and PostgreSQL alike: concurrent claims never hand
//! one job to two workers, a dead worker's lease expires, retries back off and stop.

mod support;

use std::collections::HashSet;

use safeguard_store::{RetryPolicy, Store};

both_databases!(
    concurrent_workers_claim_each_job_once,
    an_expired_lease_hands_the_job_to_another_worker,
    failures_back_off_then_park,
    deliveries_are_enqueued_once_per_key,
);

async fn concurrent_workers_claim_each_job_once(store: &Store) {
    for subject in 1..=60 {
        store
            .enqueue_job("test.kind", subject)
            .await
            .expect("enqueue");
        store
            .enqueue_job("test.kind", subject)
            .await
            .expect("idempotent enqueue");
    }
    let lease = time::Duration::minutes(5);
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let jobs = store
                    .claim_jobs("test.kind", &format!("w{w}"), 7, lease)
                    .await
                    .expect("claim");
                if jobs.is_empty() {
                    return got;
                }
                for j in jobs {
                    store.complete_job(j.id).await.expect("complete");
                    got.push(j.subject_id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every job claimed exactly once: {all:?}");
    assert_eq!(unique.len(), 60);
    let counts = store.job_counts().await.expect("counts");
    let c = counts.iter().find(|c| c.kind == "test.kind").expect("kind");
    assert_eq!((c.waiting, c.running, c.done, c.parked), (0, 0, 60, 0));
}

async fn an_expired_lease_hands_the_job_to_another_worker(store: &Store) {
    store.enqueue_job("test.lease", 1).await.expect("enqueue");
    let short = time::Duration::milliseconds(300);
    let first = store
        .claim_jobs("test.lease", "dead-node", 10, short)
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    assert!(store
        .claim_jobs("test.lease", "live-node", 10, short)
        .await
        .expect("claim")
        .is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let second = store
        .claim_jobs("test.lease", "live-node", 10, short)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1, "the expired lease is claimed again");
    assert_eq!(second[0].attempts, 2);
    store.complete_job(second[0].id).await.expect("complete");
    // The dead node finishing late changes nothing.
    store
        .complete_job(first[0].id)
        .await
        .expect("complete again");
    let c = store.job_counts().await.expect("counts");
    assert_eq!(
        c.iter().find(|c| c.kind == "test.lease").map(|c| c.done),
        Some(1)
    );
}

async fn failures_back_off_then_park(store: &Store) {
    let policy = RetryPolicy {
        base: time::Duration::seconds(2),
        max_delay: time::Duration::seconds(5),
        max_attempts: 2,
    };
    assert_eq!(policy.delay(1), time::Duration::seconds(2));
    assert_eq!(policy.delay(2), time::Duration::seconds(4));
    assert_eq!(policy.delay(3), time::Duration::seconds(5));
    assert_eq!(policy.delay(60), time::Duration::seconds(5));
    store.enqueue_job("test.retry", 9).await.expect("enqueue");
    let lease = time::Duration::minutes(1);
    let job = store
        .claim_jobs("test.retry", "w", 1, lease)
        .await
        .expect("claim")
        .remove(0);
    assert!(!store
        .retry_job(&job, "first", &policy)
        .await
        .expect("retry"));
    // Not due before its backoff.
    assert!(store
        .claim_jobs("test.retry", "w", 1, lease)
        .await
        .expect("claim")
        .is_empty());
    store
        .fail_job(job.id, "make it due now", time::OffsetDateTime::now_utc())
        .await
        .expect("due");
    let job = store
        .claim_jobs("test.retry", "w", 1, lease)
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(job.attempts, 2);
    assert!(store
        .retry_job(&job, "second", &policy)
        .await
        .expect("park"));
    assert!(store
        .claim_jobs("test.retry", "w", 1, lease)
        .await
        .expect("claim")
        .is_empty());
    let c = store.job_counts().await.expect("counts");
    assert_eq!(
        c.iter().find(|c| c.kind == "test.retry").map(|c| c.parked),
        Some(1)
    );
    assert_eq!(
        store
            .retry_parked_jobs("test.retry")
            .await
            .expect("requeue"),
        1
    );
    assert_eq!(
        store
            .claim_jobs("test.retry", "w", 1, lease)
            .await
            .expect("claim")
            .len(),
        1
    );
}

async fn deliveries_are_enqueued_once_per_key(store: &Store) {
    let first = store
        .enqueue_delivery("peer", "ack", "me/ack/1", Some(1), Some("{}"))
        .await
        .expect("enqueue");
    assert!(first.is_some());
    let again = store
        .enqueue_delivery("peer", "ack", "me/ack/1", Some(1), Some("{}"))
        .await
        .expect("enqueue again");
    assert_eq!(again, None, "the same key is not enqueued twice");
    let jobs = store
        .claim_jobs(
            safeguard_store::JOB_FEDERATION_DELIVER,
            "w",
            10,
            time::Duration::minutes(1),
        )
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1);
    assert_eq!(Some(jobs[0].subject_id), first);
    store
        .record_delivery_attempt(jobs[0].subject_id, Err("peer down"))
        .await
        .expect("attempt");
    store
        .record_delivery_attempt(jobs[0].subject_id, Ok("{\"status\":\"accepted\"}"))
        .await
        .expect("attempt");
    let item = store.outbox_item(jobs[0].subject_id).await.expect("item");
    assert_eq!(item.attempts, 2);
    assert!(item.delivered_at.is_some());
    assert_eq!(item.last_error, None);
    assert!(store.outbox(true, 10).await.expect("pending").is_empty());
    assert_eq!(
        store.set_outbox_body(item.id, "other").await.expect("body"),
        "{}",
        "a kept envelope is never replaced"
    );
}
