//! Incremental linking: each new report is joined to earlier reports that share an identifier,
//! clusters are kept current, viral files are bundled and organisations that turn out to work on
//! the same cluster are alerted. See `docs/linking.md`.

use std::collections::HashMap;

use safeguard_domain::digest::Sha256;
use safeguard_domain::linking::{keys_of_report, FileKeys, LinkKey, NormaliseOptions};
use safeguard_domain::report::ReportId;
use safeguard_hamming::{HammingIndex, Hash256};
use safeguard_store::{LinkOutcome, LinkSettings, Store};

use crate::EngineError;

/// How linking behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkConfig {
    pub settings: LinkSettings,
    pub normalise: NormaliseOptions,
}

/// Where PDQ near-duplicate groups come from: the known-material store keeps PDQs per file; this
/// trait lets linking use them without depending on how they are stored.
pub trait PdqSource {
    /// The group (a representative PDQ, hex) of the file with this SHA-256, if it has a PDQ.
    fn pdq_group(&mut self, sha256: &Sha256) -> Option<String>;
}

/// No PDQs known: files link by exact hashes only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPdq;

impl PdqSource for NoPdq {
    fn pdq_group(&mut self, _sha256: &Sha256) -> Option<String> {
        None
    }
}

/// Near-duplicate groups over the exact Hamming index: a file's PDQ joins the group of the first
/// representative within `max_distance`, or founds a new group. PDQs are fed in with
/// [`PdqGroups::add_pdq`] (from the known-material engineer's PDQ table).
#[derive(Debug)]
pub struct PdqGroups {
    index: HammingIndex,
    representatives: Vec<Hash256>,
    pdq_of_file: HashMap<[u8; 32], Hash256>,
    max_distance: u32,
}

impl PdqGroups {
    /// `max_distance`: 31 is PDQ's usual near-duplicate threshold.
    pub fn new(max_distance: u32) -> Self {
        Self {
            index: HammingIndex::new(),
            representatives: Vec::new(),
            pdq_of_file: HashMap::new(),
            max_distance,
        }
    }

    /// Tells the source a file's PDQ.
    pub fn add_pdq(&mut self, sha256: &Sha256, pdq: Hash256) {
        self.pdq_of_file.insert(*sha256.as_bytes(), pdq);
    }
}

impl PdqSource for PdqGroups {
    fn pdq_group(&mut self, sha256: &Sha256) -> Option<String> {
        let pdq = *self.pdq_of_file.get(sha256.as_bytes())?;
        let nearest = self
            .index
            .search(&pdq, self.max_distance)
            .into_iter()
            .min_by_key(|m| (m.distance, m.id));
        let representative = match nearest {
            Some(m) => self.representatives.get(m.id as usize).copied()?,
            None => {
                let id = self.representatives.len() as u64;
                self.index.insert(id, pdq).ok()?;
                self.representatives.push(pdq);
                pdq
            }
        };
        Some(representative.to_hex())
    }
}

/// The link keys of a stored report (normalised, deduplicated) and whether the reporter marked
/// it as a batched viral report.
pub async fn keys_of_stored_report(
    store: &Store,
    report: ReportId,
    config: &LinkConfig,
    pdq: &mut dyn PdqSource,
) -> Result<(Vec<LinkKey>, bool), EngineError> {
    let stored = store.report(report).await?;
    let files: Vec<FileKeys> = stored
        .report
        .files
        .iter()
        .map(|f| FileKeys {
            digests: f.digests,
            pdq_group: pdq.pdq_group(&f.digests.sha256),
        })
        .collect();
    let (keys, errors) = keys_of_report(&stored.report.content, &files, config.normalise);
    for e in &errors {
        tracing::debug!(report = report.0, "identifier not linked: {e}");
    }
    Ok((keys, stored.report.content.batched_viral))
}

/// Links a stored report to earlier ones (idempotent: linking twice does nothing the second time).
pub async fn link_report(
    store: &Store,
    report: ReportId,
    config: &LinkConfig,
    pdq: &mut dyn PdqSource,
) -> Result<LinkOutcome, EngineError> {
    let (keys, batched_viral) = keys_of_stored_report(store, report, config, pdq).await?;
    Ok(store
        .link_report(report, &keys, batched_viral, config.settings)
        .await?)
}

/// Links several stored reports in order, in one write transaction (one commit for all: use
/// batches of tens to hundreds when catching up on many reports). Same result as calling
/// [`link_report`] on each in turn.
pub async fn link_reports(
    store: &Store,
    reports: &[ReportId],
    config: &LinkConfig,
    pdq: &mut dyn PdqSource,
) -> Result<Vec<LinkOutcome>, EngineError> {
    let mut inputs = Vec::with_capacity(reports.len());
    for &report in reports {
        let (keys, batched_viral) = keys_of_stored_report(store, report, config, pdq).await?;
        inputs.push((report, keys, batched_viral));
    }
    Ok(store.link_reports(&inputs, config.settings).await?)
}
