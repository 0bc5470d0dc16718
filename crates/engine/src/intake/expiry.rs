//! Unfinished CyberTipline reports expire at the later of 24 h after opening and 1 h after the
//! last change (documentation: "auto-deleted … whichever is later"). Their files leave the
//! vault when no other report refers to the same content.

use std::sync::Arc;
use std::time::Duration;

use safeguard_store::{Store, StoreError};
use safeguard_vault::Vault;
use time::OffsetDateTime;

/// Reports removed per transaction.
const BATCH: u32 = 200;

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    pub reports: usize,
    pub blobs_deleted: usize,
}

/// Removes every report whose time is up at `now` (the clock is a parameter so tests can drive
/// it), then deletes released content from the vault.
pub async fn expire_once(
    store: &Store,
    vault: &Vault,
    now: OffsetDateTime,
) -> Result<ExpiryRun, StoreError> {
    let mut run = ExpiryRun::default();
    loop {
        let expired = store.expire_unfinished(now, BATCH).await?;
        run.reports += expired.reports.len();
        for blob in &expired.released {
            // The store no longer refers to it; deleting the file is best effort (a failure
            // leaves an orphan that `vault verify` lists, never a dangling reference).
            match vault.delete(&blob.sha256) {
                Ok(true) => run.blobs_deleted += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!("expiry: could not delete a blob: {e}"),
            }
        }
        if expired.reports.len() < BATCH as usize {
            return Ok(run);
        }
    }
}

/// Runs [`expire_once`] every `period` on the wall clock until the runtime stops.
pub fn spawn_expiry_task(
    store: Store,
    vault: Arc<Vault>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match expire_once(&store, &vault, OffsetDateTime::now_utc()).await {
                Ok(run) if run.reports > 0 => tracing::info!(
                    "expired {} unfinished CyberTipline reports ({} blobs deleted)",
                    run.reports,
                    run.blobs_deleted
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("intake expiry failed: {e}"),
            }
        }
    })
}
