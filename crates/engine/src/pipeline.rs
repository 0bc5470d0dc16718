//! The after-acknowledgement pipeline: what happens to every report once its sender was told it
//! is stored. A finished report (an `/ispws/finish`, a JSON API submission, a demo report) leaves
//! a durable `report.finished` job in the same transaction; a worker claims it and, in order:
//!
//! 1. **matches** every file against known material — exact digests through SQL, PDQ in its
//!    eight orientations and vPDQ video frames through one in-memory [`MatchIndex`] per process,
//!    loaded at start and following later imports by an entry-id watermark — and records each
//!    file's verdict and the report's ([`known::match_and_record`]);
//! 2. **routes** the report with the real known-material verdict fed to the priority rules, so
//!    "unknown material (possible new victim)" fires on facts ([`routing::route_report_with`]);
//! 3. **links** the report to earlier ones by identifiers (its files' own IP events included),
//!    file hashes and PDQ near-duplicate groups (groups stored in `blob_pdq`, so they are the same
//!    in every process and after a restart).
//!
//! Every step is idempotent: a job re-run after a crash replaces the file verdicts it wrote,
//! adds no referral the report already has and finds the report already linked. A failed job is
//! released with its error and retried with exponential backoff. [`Pipeline::process_job`] is the
//! one dispatcher by job kind, so that any worker process (the server's background task, a
//! separate worker) runs the same code.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use safeguard_domain::digest::Sha256;
use safeguard_domain::known::{PdqHash, Verdict as FileVerdictKind, PDQ_MIN_QUALITY};
use safeguard_domain::linking::{keys_of_report, normalise_ip, FileKeys, KeyKind, LinkKey};
use safeguard_domain::priority::Verdict;
use safeguard_domain::report::{ReportFile, ReportId};
use safeguard_geo::Geolocator;
use safeguard_hamming::{HammingIndex, Hash256};
use safeguard_perceptual::vpdq::{self, VideoOptions};
use safeguard_store::{
    BlobPdq, Job, KnownWatermark, LinkOutcome, Store, StoreError, StoredReport, JOB_REPORT_FINISHED,
};
use safeguard_vault::{Vault, VaultError};
use serde::Serialize;
use time::OffsetDateTime;

use crate::known::{self, MatchIndex, MediaHashes};
use crate::linking::LinkConfig;
use crate::routing::{self, RoutingError, RulesFile};
use crate::EngineError;

/// The job kinds this pipeline handles.
pub const JOB_KINDS: &[&str] = &[JOB_REPORT_FINISHED];

/// Largest file decoded for perceptual hashing by default (bigger ones are matched by their
/// exact digests only).
pub const DEFAULT_MAX_MEDIA_BYTES: u64 = 256 * 1024 * 1024;

/// File name extensions tried as video when a file is not an image.
const VIDEO_EXTENSIONS: [&str; 8] = ["mp4", "mov", "avi", "mkv", "webm", "m4v", "wmv", "mpg"];

/// What can go wrong in the pipeline. Every error fails the job, which is retried later.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error("reading evidence: {0}")]
    Vault(#[from] VaultError),
    #[error("no handler for job kind {0:?}")]
    UnknownJobKind(String),
    #[error("background task failed: {0}")]
    Task(String),
}

impl From<StoreError> for PipelineError {
    fn from(e: StoreError) -> Self {
        Self::Engine(e.into())
    }
}

/// How the pipeline behaves.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub link: LinkConfig,
    /// How videos are hashed (vPDQ through ffmpeg); `None` matches videos by digests only.
    pub video: Option<VideoOptions>,
    /// Where decrypted copies of videos are written for ffmpeg (private 0600 files, removed at
    /// once); the system's temporary folder when `None`.
    pub scratch_dir: Option<PathBuf>,
    /// Largest file decoded for perceptual hashing.
    pub max_media_bytes: u64,
    /// Jobs claimed at a time.
    pub batch: u32,
    /// How long a claimed job stays leased to this worker.
    pub lease: time::Duration,
    /// Hamming distance within which two images share a PDQ link group.
    pub pdq_group_distance: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            link: LinkConfig::default(),
            video: Some(VideoOptions::default()),
            scratch_dir: None,
            max_media_bytes: DEFAULT_MAX_MEDIA_BYTES,
            batch: 50,
            lease: time::Duration::minutes(10),
            pdq_group_distance: 31,
        }
    }
}

/// Routing needs a geolocator and a rule file; without them the pipeline matches and links only.
#[derive(Debug, Clone)]
pub struct RoutingSetup {
    pub geolocator: Arc<Geolocator>,
    pub rules: Arc<RulesFile>,
}

/// What matching decided for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub file_id: String,
    pub verdict: FileVerdictKind,
    /// Matches counted for the verdict.
    pub matches: usize,
    /// Whether the file was hashed as an image or a video (not only by its digests).
    pub perceptual: bool,
    /// The PDQ near-duplicate group the file was filed in (representative PDQ, hex).
    pub pdq_group: Option<String>,
}

/// What the pipeline did for one report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    pub report_id: ReportId,
    pub files: Vec<FileOutcome>,
    /// The verdict fed to the priority rules (`None`: no media file to judge).
    pub known_material: Option<Verdict>,
    /// `None` when no routing rules are configured.
    pub routing: Option<routing::RoutingOutcome>,
    pub link: LinkOutcome,
}

/// The outcome of one job.
#[derive(Debug, Clone, Serialize)]
pub enum JobOutcome {
    Report(Box<ReportOutcome>),
    /// The subject no longer exists (a purged report): nothing to do.
    Gone,
}

/// What one pass over the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassSummary {
    pub done: u64,
    pub failed: u64,
}

/// PDQ near-duplicate groups: the representatives (one per group) in an exact Hamming index,
/// following the `blob_pdq` table by row id.
#[derive(Debug, Default)]
struct Groups {
    index: HammingIndex,
    pdq_of: HashMap<u64, PdqHash>,
    after: i64,
}

/// The pipeline of one worker process: its match index and group index, and what it needs to
/// route. Share it behind an `Arc`.
#[derive(Debug)]
pub struct Pipeline {
    store: Store,
    vault: Vault,
    index: MatchIndex,
    watermark: tokio::sync::Mutex<KnownWatermark>,
    groups: Mutex<Groups>,
    routing: Option<RoutingSetup>,
    config: PipelineConfig,
}

fn poisoned() -> PipelineError {
    PipelineError::Task("the PDQ group lock was poisoned by a panic".into())
}

impl Pipeline {
    /// Loads the match index (every known PDQ and vPDQ frame) and the PDQ groups.
    pub async fn start(
        store: Store,
        vault: Vault,
        routing: Option<RoutingSetup>,
        config: PipelineConfig,
    ) -> Result<Self, PipelineError> {
        // The watermark is read before loading: entries written meanwhile are read again by the
        // first refresh and re-filed (not duplicated).
        let watermark = store.known_watermark().await?;
        let index = MatchIndex::load(&store).await?;
        let pipeline = Self {
            store,
            vault,
            index,
            watermark: tokio::sync::Mutex::new(watermark),
            groups: Mutex::new(Groups::default()),
            routing,
            config,
        };
        pipeline.refresh_known().await?;
        pipeline.refresh_groups().await?;
        Ok(pipeline)
    }

    /// The match index (for callers that import in the same process and file what they write).
    pub fn index(&self) -> &MatchIndex {
        &self.index
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Files in the match index every known PDQ and vPDQ frame written since the last refresh
    /// (by any process: a `safeguard import` while the server runs). Returns how many entries
    /// were added. Entries whose PDQ was changed in place keep their old PDQ in this index until
    /// the next start.
    pub async fn refresh_known(&self) -> Result<usize, PipelineError> {
        let mut watermark = self.watermark.lock().await;
        let mut added = 0;
        loop {
            let page = self
                .store
                .known_pdq_page(watermark.pdq_entry, 10_000)
                .await?;
            let Some(last) = page.last() else { break };
            watermark.pdq_entry = last.0 .0;
            let ids: Vec<_> = page.iter().map(|(id, _)| *id).collect();
            self.index.upsert_many(&page, &ids)?;
            added += page.len();
        }
        loop {
            let page = self
                .store
                .known_frame_page(watermark.frame_entry, 10_000)
                .await?;
            if page.is_empty() {
                break;
            }
            let mut entries: Vec<_> = page.iter().map(|(id, _)| *id).collect();
            entries.dedup();
            for entry in entries {
                let frames: Vec<PdqHash> = self
                    .store
                    .known_frames(entry)
                    .await?
                    .into_iter()
                    .filter(|f| f.quality >= PDQ_MIN_QUALITY)
                    .map(|f| f.pdq)
                    .collect();
                self.index.set_frames(entry, &frames)?;
                watermark.frame_entry = watermark.frame_entry.max(entry.0);
                added += 1;
            }
        }
        if added > 0 {
            tracing::info!(added, "match index: new known entries filed");
        }
        Ok(added)
    }

    /// Reads the PDQ group representatives filed since the last refresh (by any worker).
    async fn refresh_groups(&self) -> Result<(), PipelineError> {
        loop {
            let after = self.groups.lock().map_err(|_| poisoned())?.after;
            let page = self.store.pdq_representatives_after(after, 10_000).await?;
            if page.is_empty() {
                return Ok(());
            }
            let mut groups = self.groups.lock().map_err(|_| poisoned())?;
            for (id, pdq) in page {
                if id <= groups.after {
                    continue;
                }
                groups.after = id;
                let key = id as u64;
                groups
                    .index
                    .insert(key, Hash256::from_bytes(pdq.0))
                    .map_err(|e| PipelineError::Task(format!("PDQ groups: {e}")))?;
                groups.pdq_of.insert(key, pdq);
            }
        }
    }

    /// The group of an image: the one it was filed in, else the nearest representative within
    /// the distance, else a new group it represents.
    async fn pdq_group(
        &self,
        sha256: &Sha256,
        pdq: PdqHash,
        quality: u8,
    ) -> Result<PdqHash, PipelineError> {
        if let Some(filed) = self.store.blob_pdq(sha256).await? {
            return Ok(filed.group);
        }
        self.refresh_groups().await?;
        let nearest = {
            let groups = self.groups.lock().map_err(|_| poisoned())?;
            groups
                .index
                .search(&Hash256::from_bytes(pdq.0), self.config.pdq_group_distance)
                .into_iter()
                .min_by_key(|m| (m.distance, m.id))
                .and_then(|m| groups.pdq_of.get(&m.id).copied())
        };
        let filed = self
            .store
            .file_blob_pdq(
                sha256,
                &BlobPdq {
                    pdq,
                    quality,
                    group: nearest.unwrap_or(pdq),
                },
            )
            .await?;
        Ok(filed.group)
    }

    /// Runs one job: the dispatcher by job kind. It does not complete or fail the job in the
    /// queue (see [`Pipeline::run_pass`]); an error means "retry later".
    pub async fn process_job(&self, job: &Job) -> Result<JobOutcome, PipelineError> {
        match job.kind.as_str() {
            JOB_REPORT_FINISHED => {
                let id = ReportId(job.subject_id);
                if !self.store.report_exists(id).await? {
                    return Ok(JobOutcome::Gone);
                }
                Ok(JobOutcome::Report(Box::new(self.process_report(id).await?)))
            }
            other => Err(PipelineError::UnknownJobKind(other.to_owned())),
        }
    }

    /// Matches, routes and links one stored report (idempotent).
    pub async fn process_report(&self, id: ReportId) -> Result<ReportOutcome, PipelineError> {
        let stored = self.store.report(id).await?;
        let mut files = Vec::with_capacity(stored.report.files.len());
        for file in &stored.report.files {
            files.push(self.match_file(&stored, file).await?);
        }
        let known_material = report_verdict(&files);
        let routing = match &self.routing {
            Some(setup) => {
                let router = routing::Router::new(&self.store, setup.rules.current()).await?;
                Some(
                    routing::route_report_with(
                        &self.store,
                        &setup.geolocator,
                        &router,
                        id,
                        known_material,
                        OffsetDateTime::now_utc(),
                    )
                    .await?,
                )
            }
            None => None,
        };
        let groups: HashMap<String, Option<String>> = files
            .iter()
            .map(|f| (f.file_id.clone(), f.pdq_group.clone()))
            .collect();
        let link = link_stored_report(&self.store, &stored, &self.config.link, |file| {
            groups.get(&file.file_id).cloned().flatten()
        })
        .await?;
        Ok(ReportOutcome {
            report_id: id,
            files,
            known_material,
            routing,
            link,
        })
    }

    async fn match_file(
        &self,
        stored: &StoredReport,
        file: &ReportFile,
    ) -> Result<FileOutcome, PipelineError> {
        let media = self.hash_file(file).await?;
        let verdict = known::match_and_record(
            &self.store,
            &self.index,
            stored.holder_org,
            &file.file_id,
            &media,
        )
        .await?;
        let pdq_group = match media.image {
            Some(image) if image.quality >= PDQ_MIN_QUALITY => Some(
                self.pdq_group(&file.digests.sha256, image.dihedral[0], image.quality)
                    .await?
                    .to_hex(),
            ),
            _ => None,
        };
        Ok(FileOutcome {
            file_id: file.file_id.clone(),
            verdict: verdict.verdict,
            matches: verdict.matches.len(),
            perceptual: media.image.is_some() || media.video.is_some(),
            pdq_group,
        })
    }

    /// Digests and perceptual hashes of a stored file. Content missing from the vault, or too
    /// large to decode, is matched by the digests the database holds.
    async fn hash_file(&self, file: &ReportFile) -> Result<MediaHashes, PipelineError> {
        let digests_only = || MediaHashes {
            digests: file.digests,
            image: None,
            video: None,
        };
        if file.size > self.config.max_media_bytes {
            return Ok(digests_only());
        }
        let bytes = match self
            .vault
            .read_to_vec_async(&file.digests.sha256, self.config.max_media_bytes)
            .await
        {
            Ok(bytes) => bytes,
            Err(VaultError::NotFound { .. }) | Err(VaultError::TooLarge { .. }) => {
                tracing::warn!(file = %file.file_id, "content not in the vault (or too large): matched by digests only");
                return Ok(digests_only());
            }
            Err(e) => return Err(e.into()),
        };
        let looks_like_video = file
            .media_type
            .as_deref()
            .is_some_and(|t| t.starts_with("video/"))
            || file
                .original_name
                .as_deref()
                .and_then(|n| n.rsplit_once('.'))
                .is_some_and(|(_, ext)| {
                    VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
                });
        let video = self.config.video.clone().filter(|_| looks_like_video);
        let scratch = self.config.scratch_dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut media = MediaHashes::of_bytes(&bytes);
            if media.image.is_none() {
                if let Some(options) = video {
                    media.video = hash_video_bytes(&bytes, scratch.as_deref(), &options);
                }
            }
            media
        })
        .await
        .map_err(|e| PipelineError::Task(e.to_string()))
    }

    /// Claims due jobs in batches and runs them until none is left. A failed job is released to
    /// be retried after [`retry_delay`].
    pub async fn run_pass(&self, worker: &str) -> Result<PassSummary, PipelineError> {
        let mut summary = PassSummary::default();
        loop {
            self.refresh_known().await?;
            let mut jobs = Vec::new();
            for kind in JOB_KINDS {
                jobs.extend(
                    self.store
                        .claim_jobs(kind, worker, self.config.batch, self.config.lease)
                        .await?,
                );
            }
            if jobs.is_empty() {
                return Ok(summary);
            }
            for job in jobs {
                match self.process_job(&job).await {
                    Ok(_) => {
                        self.store.complete_job(job.id).await?;
                        summary.done += 1;
                    }
                    Err(e) => {
                        let retry = OffsetDateTime::now_utc() + retry_delay(job.attempts);
                        self.store.fail_job(job.id, &e.to_string(), retry).await?;
                        tracing::warn!(job = job.id, kind = %job.kind, subject = job.subject_id, attempts = job.attempts, error = %e, "pipeline job failed; retried later");
                        summary.failed += 1;
                    }
                }
            }
        }
    }

    /// Runs [`Pipeline::run_pass`] every `interval` until `shutdown` resolves.
    pub async fn run(
        self: Arc<Self>,
        interval: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let worker = crate::routing::node_worker_id("pipeline");
        tokio::pin!(shutdown);
        loop {
            match self.run_pass(&worker).await {
                Ok(s) if s.done + s.failed > 0 => {
                    tracing::debug!(done = s.done, failed = s.failed, "pipeline pass")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pipeline pass failed"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {},
            }
        }
    }
}

/// The one dispatcher by job kind, as a free function (see [`Pipeline::process_job`]).
pub async fn process_job(pipeline: &Pipeline, job: &Job) -> Result<JobOutcome, PipelineError> {
    pipeline.process_job(job).await
}

/// Delay before retrying a job that failed on its `attempts`-th try: 30 s doubling per attempt,
/// at most an hour.
pub fn retry_delay(attempts: i64) -> time::Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 7) as u32;
    time::Duration::seconds((30i64 << exponent).min(3600))
}

/// The verdict the priority rules see: `NewMaterial` when a media file (an image or a video, or
/// any file that matched something) matched nothing known; `AllKnown` when every such file
/// matched known material or a known-good list; `None` when the report has no such file.
pub fn report_verdict(files: &[FileOutcome]) -> Option<Verdict> {
    let judged: Vec<_> = files
        .iter()
        .filter(|f| f.perceptual || f.verdict != FileVerdictKind::Unknown)
        .collect();
    if judged.is_empty() {
        None
    } else if judged.iter().any(|f| f.verdict == FileVerdictKind::Unknown) {
        Some(Verdict::NewMaterial)
    } else {
        Some(Verdict::AllKnown)
    }
}

/// The link keys of a stored report: its identifiers, its files' hashes and PDQ groups, and the
/// IP events given in its files' details (fileDetails `ipCaptureEvent`).
pub fn report_link_keys(
    stored: &StoredReport,
    config: &LinkConfig,
    mut pdq_group: impl FnMut(&ReportFile) -> Option<String>,
) -> Vec<LinkKey> {
    let files: Vec<FileKeys> = stored
        .report
        .files
        .iter()
        .map(|f| FileKeys {
            digests: f.digests,
            pdq_group: pdq_group(f),
        })
        .collect();
    let (mut keys, errors) = keys_of_report(&stored.report.content, &files, config.normalise);
    for e in &errors {
        tracing::debug!(report = stored.report.id.0, "identifier not linked: {e}");
    }
    for event in stored.report.files.iter().flat_map(|f| f.ip_events.iter()) {
        let key = LinkKey {
            kind: KeyKind::Ip,
            value: normalise_ip(event.ip),
            at: event.at,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Links a stored report with [`report_link_keys`] (idempotent like
/// [`crate::linking::link_report`]).
pub async fn link_stored_report(
    store: &Store,
    stored: &StoredReport,
    config: &LinkConfig,
    pdq_group: impl FnMut(&ReportFile) -> Option<String>,
) -> Result<LinkOutcome, EngineError> {
    let keys = report_link_keys(stored, config, pdq_group);
    Ok(store
        .link_report(
            stored.report.id,
            &keys,
            stored.report.content.batched_viral,
            config.settings,
        )
        .await?)
}

/// Links a report by id with its files' IP events and the PDQ groups filed by the pipeline
/// (for `safeguard link run`).
pub async fn link_report_by_id(
    store: &Store,
    report: ReportId,
    config: &LinkConfig,
) -> Result<LinkOutcome, EngineError> {
    let stored = store.report(report).await?;
    let mut groups = HashMap::new();
    for file in &stored.report.files {
        if let Some(filed) = store.blob_pdq(&file.digests.sha256).await? {
            if filed.quality >= PDQ_MIN_QUALITY {
                groups.insert(file.file_id.clone(), filed.group.to_hex());
            }
        }
    }
    link_stored_report(store, &stored, config, |f| groups.get(&f.file_id).cloned()).await
}

/// vPDQ of a video held in memory: written to a private temporary file for ffmpeg and removed.
fn hash_video_bytes(
    bytes: &[u8],
    scratch: Option<&std::path::Path>,
    options: &VideoOptions,
) -> Option<Vec<vpdq::VpdqFeature>> {
    use std::io::Write as _;
    let mut builder = tempfile::Builder::new();
    builder.prefix("sg-video-");
    let made = match scratch {
        Some(dir) => builder.tempfile_in(dir),
        None => builder.tempfile(),
    };
    let mut file = match made {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "no scratch file for video hashing");
            return None;
        }
    };
    if let Err(e) = file.write_all(bytes).and_then(|()| file.flush()) {
        tracing::warn!(error = %e, "writing the scratch file for video hashing");
        return None;
    }
    match vpdq::hash_video(file.path(), options) {
        Ok(frames) => Some(frames),
        Err(e) => {
            tracing::info!(error = %e, "no vPDQ for a file that looked like a video");
            None
        }
    }
}
