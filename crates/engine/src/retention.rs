//! Retention: a period per data class (unfinished intake, informational reports, referred
//! reports, media, public tips), read from a small TOML file, and the purge that deletes what
//! those periods make due — rows and evidence files — keeping a tombstone with hashes and an
//! audit entry for each (see [`safeguard_store::Store::purge`]).
//!
//! ```toml
//! # days, or "keep" for never
//! unfinished_intake = 30
//! informational = 365
//! referred = 1825
//! media = 1825
//! public_tips = 180
//! ```
//!
//! The purge runs on demand (`safeguard retention purge`, with `--dry-run` to list only) or
//! every hour in `serve` / `worker` when they are given a retention file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use safeguard_store::{DataClass, PurgeCandidate, Store};
use safeguard_vault::Vault;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::EngineError;

/// The actor written to the audit log for purges.
pub const RETENTION_ACTOR: &str = "system:retention";

/// Rows looked at per query.
const BATCH: u32 = 500;

/// What is wrong with a retention file.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// How long one data class is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Never deleted.
    Keep,
    /// Deleted this many days after it was received.
    Days(u32),
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keep => f.write_str("keep"),
            Self::Days(d) => write!(f, "{d} days"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPeriod {
    Days(i64),
    Word(String),
}

/// The period of every data class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    periods: BTreeMap<DataClass, Period>,
}

impl Default for RetentionPolicy {
    /// Unfinished intake 30 days, informational reports one year, referred reports and media
    /// five years, public tips 180 days.
    fn default() -> Self {
        Self {
            periods: BTreeMap::from([
                (DataClass::UnfinishedIntake, Period::Days(30)),
                (DataClass::Informational, Period::Days(365)),
                (DataClass::Referred, Period::Days(5 * 365)),
                (DataClass::Media, Period::Days(5 * 365)),
                (DataClass::PublicTips, Period::Days(180)),
            ]),
        }
    }
}

impl RetentionPolicy {
    /// Reads a retention file; classes it does not name keep their default period.
    pub fn load(path: &Path) -> Result<Self, RetentionError> {
        let text = std::fs::read_to_string(path).map_err(|source| RetentionError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| RetentionError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Parses the text of a retention file (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, RetentionError> {
        let raw: BTreeMap<String, RawPeriod> = toml::from_str(text).map_err(|e| {
            RetentionError::Invalid(match e.message().trim() {
                "" => e.to_string().trim().to_owned(),
                m => m.to_owned(),
            })
        })?;
        let mut policy = Self::default();
        for (name, value) in raw {
            let class: DataClass =
                name.parse()
                    .map_err(|e: safeguard_store::UnknownDataClass| {
                        RetentionError::Invalid(e.to_string())
                    })?;
            let period = match value {
                RawPeriod::Days(d) if (1..=36_500).contains(&d) => Period::Days(d as u32),
                RawPeriod::Days(d) => {
                    return Err(RetentionError::Invalid(format!(
                        "{name} = {d}: a period is 1 to 36500 days, or \"keep\""
                    )))
                }
                RawPeriod::Word(w) if w.trim() == "keep" => Period::Keep,
                RawPeriod::Word(w) => {
                    return Err(RetentionError::Invalid(format!(
                        "{name} = {w:?}: a period is a number of days, or \"keep\""
                    )))
                }
            };
            policy.periods.insert(class, period);
        }
        Ok(policy)
    }

    /// The period of `class`.
    pub fn period(&self, class: DataClass) -> Period {
        self.periods.get(&class).copied().unwrap_or(Period::Keep)
    }

    /// The classes with their periods, in a fixed order.
    pub fn periods(&self) -> impl Iterator<Item = (DataClass, Period)> + '_ {
        DataClass::ALL.into_iter().map(|c| (c, self.period(c)))
    }

    /// What was received before this time is due, for `class` at `now` (`None`: kept forever).
    pub fn cutoff(&self, class: DataClass, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.period(class) {
            Period::Keep => None,
            Period::Days(d) => Some(now - Duration::days(i64::from(d))),
        }
    }
}

/// What a purge did (or, dry, would do) for one class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassRun {
    /// Rows due.
    pub due: usize,
    /// Rows deleted (0 in a dry run).
    pub purged: usize,
    /// Files removed with them.
    pub files: usize,
    /// Evidence files deleted from the vault (content no report refers to any more).
    pub blobs_deleted: usize,
}

/// A purge over every class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeRun {
    pub classes: BTreeMap<DataClass, ClassRun>,
}

impl PurgeRun {
    /// Rows deleted over all classes.
    pub fn purged(&self) -> usize {
        self.classes.values().map(|c| c.purged).sum()
    }
}

/// Deletes everything `policy` makes due at `now` (or, with `dry_run`, only counts it). Each row
/// goes in its own transaction with its tombstone and audit entry; evidence files the store
/// releases are then deleted from the vault (best effort: a file that cannot be deleted is
/// logged and stays an orphan that `vault verify` lists, never a dangling reference).
pub async fn purge_due(
    store: &Store,
    vault: &Vault,
    policy: &RetentionPolicy,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<PurgeRun, EngineError> {
    let mut run = PurgeRun::default();
    // Reports before media: a purged report takes its files with it.
    for class in DataClass::ALL {
        let Some(cutoff) = policy.cutoff(class, now) else {
            continue;
        };
        let entry = run.classes.entry(class).or_default();
        if dry_run {
            loop {
                // Counting only: page through without deleting.
                let limit = entry.due as u32 + BATCH;
                let due = store.retention_candidates(class, cutoff, limit).await?;
                let more = due.len() == limit as usize;
                entry.due = due.len();
                if !more {
                    break;
                }
            }
            continue;
        }
        loop {
            let due: Vec<PurgeCandidate> = store.retention_candidates(class, cutoff, BATCH).await?;
            let full = due.len() == BATCH as usize;
            let mut progress = false;
            for candidate in &due {
                entry.due += 1;
                let Some(purged) = store.purge(candidate, cutoff, RETENTION_ACTOR).await? else {
                    continue;
                };
                progress = true;
                entry.purged += 1;
                entry.files += purged.files;
                for blob in &purged.released {
                    match vault.delete(&blob.sha256) {
                        Ok(true) => entry.blobs_deleted += 1,
                        Ok(false) => {}
                        Err(e) => tracing::warn!("retention: could not delete a blob: {e}"),
                    }
                }
            }
            if !full || !progress {
                break;
            }
        }
    }
    Ok(run)
}

/// Runs [`purge_due`] every `period` until the runtime stops.
pub fn spawn_retention_task(
    store: Store,
    vault: Arc<Vault>,
    policy: RetentionPolicy,
    period: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge_due(&store, &vault, &policy, OffsetDateTime::now_utc(), false).await {
                Ok(run) if run.purged() > 0 => {
                    for (class, c) in &run.classes {
                        if c.purged > 0 {
                            tracing::info!(
                                class = class.as_str(),
                                purged = c.purged,
                                files = c.files,
                                blobs_deleted = c.blobs_deleted,
                                "retention purge"
                            );
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed; retried next hour"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_refuses_nonsense() {
        let p = RetentionPolicy::parse("informational = 90\nmedia = \"keep\"\n").expect("parses");
        assert_eq!(p.period(DataClass::Informational), Period::Days(90));
        assert_eq!(p.period(DataClass::Media), Period::Keep);
        assert_eq!(p.period(DataClass::PublicTips), Period::Days(180));
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        assert_eq!(
            p.cutoff(DataClass::Informational, now),
            Some(OffsetDateTime::UNIX_EPOCH + Duration::days(910))
        );
        assert_eq!(p.cutoff(DataClass::Media, now), None);
        for bad in [
            "informational = 0",
            "informational = -3",
            "media = \"forever\"",
            "emails = 30",
            "informational = ",
        ] {
            let err = RetentionPolicy::parse(bad).expect_err(bad);
            assert!(!err.to_string().trim().is_empty(), "{bad}: {err:?}");
        }
    }
}
