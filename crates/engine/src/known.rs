//! Known material: importing and exporting hash sets (VICS, ICSE, hash lists), curating series,
//! and matching files against every hash set an organisation may use — exactly (MD5, SHA-1,
//! SHA-256, through SQL) and perceptually (PDQ in all eight rotations and mirror images, vPDQ
//! for videos, through the in-memory [`MatchIndex`]). Design: `docs/known-material.md`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use safeguard_domain::account::{Granted, OrgId};
use safeguard_domain::digest::{Digester, FileDigests};
use safeguard_domain::known::{
    check_name, EntryFacts, EntryHashes, EntryId, FileVerdict, HashSet, HashSetId, HashSetPurpose,
    KnownEntry, KnownMatch, MatchHashKind, PdqHash, Series, SeriesId, SeriesStatus,
    PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY,
};
use safeguard_domain::report::FieldError;
use safeguard_formats::hashlist::{HashListOptions, HashListStyle};
use safeguard_formats::known_media::{
    KnownHashes, KnownMediaRecord, PdqHex, PhotoDna, SourceFormat, SourceRef,
};
use safeguard_formats::known_stream::{
    KnownFormat, KnownMediaReader, KnownMediaWriter, KnownReadOptions,
};
use safeguard_formats::vics::{VicsLayout, VicsVersion};
use safeguard_hamming::{HammingIndex, Hash256};
use safeguard_perceptual::vpdq::{self, VpdqFeature};
use safeguard_perceptual::DecodeOptions;
use safeguard_store::{
    EntryFilter, ImportContext, ImportCounts, KnownActor, NewHashSet, NewKnownEntry, Store,
    UpsertOutcome,
};

use crate::EngineError;

/// Records written to the database per transaction during an import.
pub const IMPORT_BATCH: usize = 1_000;

/// Record errors kept (with their line or record number) in an import's report.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Candidate known videos confirmed frame by frame per query video.
const MAX_VIDEO_CANDIDATES: usize = 50;

/// Who acts: a signed-in user, or the local operator at the command line.
#[derive(Debug, Clone)]
pub struct Operator {
    pub user: Option<i64>,
    pub name: String,
    /// The organisation acting (owner of new hash sets, receiving organisation when matching).
    pub org: OrgId,
}

impl Operator {
    /// The operator behind a checked permission.
    pub fn from_granted<P: safeguard_domain::account::RequiredPermission>(
        granted: &Granted<P>,
    ) -> Self {
        let p = granted.principal();
        Self {
            user: Some(p.user.0),
            name: p.username.to_string(),
            org: p.org,
        }
    }

    fn actor(&self) -> KnownActor<'_> {
        KnownActor {
            user: self.user,
            name: &self.name,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::Invalid(vec![FieldError::new(field, message)])
}

fn name_error(field: &str, e: safeguard_domain::known::KnownError) -> EngineError {
    invalid(field, e.to_string())
}

// ---- the match index -------------------------------------------------------------------------

/// The in-memory perceptual index of every known PDQ (and vPDQ frame), filed under entry ids.
///
/// Loaded once from the database at start ([`MatchIndex::load`]) and kept current by the
/// importer ([`import_known`] inserts what it writes). Exact hashes are not held here: SQL
/// indexes answer them. Visibility (which sets an organisation may use, disabled entries) is
/// applied when candidates are read back from the database, so the index never needs a rebuild
/// when a set is shared or switched off.
#[derive(Debug, Default)]
pub struct MatchIndex {
    pdq: RwLock<HammingIndex>,
    frames: RwLock<HammingIndex>,
}

fn hash256(p: &PdqHash) -> Hash256 {
    Hash256::from_bytes(p.0)
}

fn poisoned() -> EngineError {
    EngineError::Conflict("the match index lock was poisoned by a panic".into())
}

impl MatchIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An index over these image hashes, built in one pass (benchmarks, tests).
    pub fn from_pdqs(
        entries: impl IntoIterator<Item = (EntryId, PdqHash)>,
    ) -> Result<Self, EngineError> {
        let index = HammingIndex::from_entries(
            entries
                .into_iter()
                .map(|(id, p)| (id.0 as u64, hash256(&p))),
        )
        .map_err(|e| EngineError::Conflict(format!("match index: {e}")))?;
        Ok(Self {
            pdq: RwLock::new(index),
            frames: RwLock::new(HammingIndex::new()),
        })
    }

    /// Loads every stored PDQ and vPDQ frame, a page at a time.
    pub async fn load(store: &Store) -> Result<Self, EngineError> {
        let mut pdqs = Vec::new();
        let mut after = 0;
        loop {
            let page = store.known_pdq_page(after, 50_000).await?;
            let Some(last) = page.last() else { break };
            after = last.0 .0;
            pdqs.extend(page);
        }
        let index = Self::from_pdqs(pdqs)?;
        let mut frames = Vec::new();
        let mut after = 0;
        loop {
            let page = store.known_frame_page(after, 50_000).await?;
            let Some(last) = page.last() else { break };
            // A page may end inside an entry's frames: take whole entries only, re-read the rest.
            let last_id = last.0 .0;
            let complete: Vec<_> = if page.len() == 50_000 {
                page.into_iter().filter(|(id, _)| id.0 != last_id).collect()
            } else {
                page
            };
            if complete.is_empty() {
                // One entry with more frames than a page: read it whole.
                let all = store.known_frames(EntryId(last_id)).await?;
                frames.extend(all.into_iter().map(|f| (EntryId(last_id), f.pdq)));
                after = last_id;
                continue;
            }
            after = complete.last().map(|(id, _)| id.0).unwrap_or(last_id);
            frames.extend(complete);
        }
        let frame_index = HammingIndex::from_entries(
            frames.into_iter().map(|(id, p)| (id.0 as u64, hash256(&p))),
        )
        .map_err(|e| EngineError::Conflict(format!("match index: {e}")))?;
        *index.frames.write().map_err(|_| poisoned())? = frame_index;
        Ok(index)
    }

    /// Number of image hashes held.
    pub fn len(&self) -> usize {
        self.pdq.read().map(|i| i.len()).unwrap_or(0)
    }

    /// True when no image hash is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Files (or re-files) an entry's PDQ.
    pub fn upsert(&self, id: EntryId, pdq: PdqHash, replace: bool) -> Result<(), EngineError> {
        let mut index = self.pdq.write().map_err(|_| poisoned())?;
        if replace {
            index.remove(id.0 as u64);
        }
        index
            .insert(id.0 as u64, hash256(&pdq))
            .map_err(|e| EngineError::Conflict(format!("match index: {e}")))
    }

    /// Files many PDQs at once; ids in `replaced` lose their old hash first (one scan).
    pub fn upsert_many(
        &self,
        new: &[(EntryId, PdqHash)],
        replaced: &[EntryId],
    ) -> Result<(), EngineError> {
        if new.is_empty() {
            return Ok(());
        }
        let mut index = self.pdq.write().map_err(|_| poisoned())?;
        if !replaced.is_empty() {
            index.remove_all(replaced.iter().map(|id| id.0 as u64));
        }
        index
            .insert_many(new.iter().map(|(id, p)| (id.0 as u64, hash256(p))))
            .map_err(|e| EngineError::Conflict(format!("match index: {e}")))
    }

    /// Files the vPDQ frames of a known video (replacing earlier ones).
    pub fn set_frames(&self, id: EntryId, frames: &[PdqHash]) -> Result<(), EngineError> {
        let mut index = self.frames.write().map_err(|_| poisoned())?;
        index.remove(id.0 as u64);
        index
            .insert_many(frames.iter().map(|p| (id.0 as u64, hash256(p))))
            .map_err(|e| EngineError::Conflict(format!("match index: {e}")))
    }

    /// Entries with an image hash within `max_distance` of any query, best distance each.
    ///
    /// Several queries (the eight orientations of an image) are split over the available
    /// cores: each lookup is independent, so two cores halve the wall time of the eight.
    pub fn search(
        &self,
        queries: &[PdqHash],
        max_distance: u32,
    ) -> Result<Vec<(EntryId, u32)>, EngineError> {
        let q: Vec<Hash256> = queries.iter().map(hash256).collect();
        let index = self.pdq.read().map_err(|_| poisoned())?;
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .min(q.len());
        let found = if threads > 1 && index.len() > 100_000 {
            let chunk = q.len().div_ceil(threads);
            let index = &*index;
            std::thread::scope(|scope| {
                let workers: Vec<_> = q
                    .chunks(chunk)
                    .skip(1)
                    .map(|part| scope.spawn(move || index.search_many(part, max_distance)))
                    .collect();
                let mut all = index.search_many(&q[..chunk.min(q.len())], max_distance);
                for w in workers {
                    // A lookup cannot panic on valid hashes; if a worker did, its share is
                    // searched again here rather than lost.
                    match w.join() {
                        Ok(part) => all.extend(part),
                        Err(_) => all.extend(index.search_many(&q, max_distance)),
                    }
                }
                all
            })
        } else {
            index.search_many(&q, max_distance)
        };
        let mut best: HashMap<u64, u32> = HashMap::with_capacity(found.len());
        for m in found {
            let d = best.entry(m.id).or_insert(m.distance);
            *d = (*d).min(m.distance);
        }
        let mut out: Vec<(EntryId, u32)> = best
            .into_iter()
            .filter_map(|(id, d)| i64::try_from(id).ok().map(|id| (EntryId(id), d)))
            .collect();
        out.sort_by_key(|(id, d)| (*d, *id));
        Ok(out)
    }

    /// Known videos with a frame within `max_distance` of any query frame.
    pub fn search_frames(
        &self,
        queries: &[PdqHash],
        max_distance: u32,
    ) -> Result<Vec<(EntryId, u32)>, EngineError> {
        let q: Vec<Hash256> = queries.iter().map(hash256).collect();
        let index = self.frames.read().map_err(|_| poisoned())?;
        Ok(index
            .search_many(&q, max_distance)
            .into_iter()
            .filter_map(|m| i64::try_from(m.id).ok().map(|id| (EntryId(id), m.distance)))
            .collect())
    }
}

// ---- hashing incoming media ------------------------------------------------------------------

/// The PDQ hashes of an image in its eight orientations (original first, in the order of
/// `safeguard_perceptual::Dihedral::ALL`) and its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImageHashes {
    pub dihedral: [PdqHash; 8],
    pub quality: u8,
}

/// Everything matching looks at for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MediaHashes {
    pub digests: FileDigests,
    /// Set when the file decoded as an image.
    pub image: Option<ImageHashes>,
    /// vPDQ frames, when the file is a video that was hashed.
    pub video: Option<Vec<VpdqFeature>>,
}

impl MediaHashes {
    /// Digests and, when the bytes decode as an image, its dihedral PDQ hashes. Bytes that are
    /// not an image (or are hostile) simply get no perceptual hash.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let image_hashes = || {
            safeguard_perceptual::decode::decode_bytes(bytes, &DecodeOptions::default())
                .ok()
                .map(|img| {
                    let d = safeguard_perceptual::dihedral_image(&img);
                    ImageHashes {
                        dihedral: d.hashes.map(|h| PdqHash(*h.as_bytes())),
                        quality: d.quality,
                    }
                })
        };
        // The digests (about 4 ms per MB) and the decode + PDQ are independent: with a spare
        // core the digests of a photo-sized file run beside the decode instead of before it.
        let spare_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let (digests, image) = if spare_core && bytes.len() >= 32 * 1024 {
            std::thread::scope(|scope| {
                let digests = scope.spawn(|| Digester::digest(bytes));
                let image = image_hashes();
                let digests = digests.join().unwrap_or_else(|_| Digester::digest(bytes));
                (digests, image)
            })
        } else {
            (Digester::digest(bytes), image_hashes())
        };
        Self {
            digests,
            image,
            video: None,
        }
    }

    /// The image's PDQ as stored for known entries (the original orientation).
    pub fn pdq(&self) -> Option<PdqHash> {
        self.image.map(|i| i.dihedral[0])
    }
}

// ---- matching --------------------------------------------------------------------------------

/// Matches one file against every hash set `org` may use (its own and shared ones; every
/// enabled set when `None`): exact digests through SQL, the eight PDQ orientations and vPDQ
/// frames through the index. Known-good lists suppress perceptual hits (see
/// [`FileVerdict::from_matches`]).
pub async fn match_media(
    store: &Store,
    index: &MatchIndex,
    org: Option<OrgId>,
    media: &MediaHashes,
) -> Result<FileVerdict, EngineError> {
    let mut found = store.exact_known_matches(&media.digests, org).await?;
    if let Some(image) = &media.image {
        if image.quality >= PDQ_MIN_QUALITY {
            let candidates = index.search(&image.dihedral, PDQ_MATCH_DISTANCE)?;
            let candidates: Vec<_> = candidates
                .into_iter()
                .filter(|(id, _)| !found.iter().any(|m| m.entry == *id))
                .collect();
            if !candidates.is_empty() {
                found.extend(
                    store
                        .perceptual_known_matches(&candidates, MatchHashKind::Pdq, org)
                        .await?,
                );
            }
        }
    }
    if let Some(frames) = &media.video {
        found.extend(match_video(store, index, org, frames, &found).await?);
    }
    Ok(FileVerdict::from_matches(found))
}

async fn match_video(
    store: &Store,
    index: &MatchIndex,
    org: Option<OrgId>,
    frames: &[VpdqFeature],
    already: &[KnownMatch],
) -> Result<Vec<KnownMatch>, EngineError> {
    let queries: Vec<PdqHash> = frames
        .iter()
        .filter(|f| f.quality >= PDQ_MIN_QUALITY)
        .map(|f| PdqHash(*f.hash.as_bytes()))
        .collect();
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates = index.search_frames(&queries, PDQ_MATCH_DISTANCE)?;
    candidates.retain(|(id, _)| !already.iter().any(|m| m.entry == *id));
    candidates.truncate(MAX_VIDEO_CANDIDATES);
    let mut confirmed = Vec::new();
    for (id, distance) in candidates {
        let stored = store.known_frames(id).await?;
        let compared: Vec<VpdqFeature> = stored
            .iter()
            .map(|f| VpdqFeature {
                frame: f.frame,
                timestamp: f.timestamp_ms as f32 / 1000.0,
                hash: safeguard_perceptual::Pdq::from_bytes(f.pdq.0),
                quality: f.quality,
            })
            .collect();
        let result = vpdq::match_videos(frames, &compared, &vpdq::MatchOptions::default());
        if result.is_match {
            confirmed.push((id, distance));
        }
    }
    if confirmed.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store
        .perceptual_known_matches(&confirmed, MatchHashKind::Vpdq, org)
        .await?)
}

/// Matches a report file and stores its matches and verdict (and its report's). The caller
/// must be able to see the report; the receiving organisation is the caller's.
pub async fn match_report_file(
    store: &Store,
    index: &MatchIndex,
    caller: &Granted<safeguard_domain::account::perm::ReadReports>,
    file_id: &str,
    media: &MediaHashes,
) -> Result<FileVerdict, EngineError> {
    let org = caller.principal().org;
    let not_found = || EngineError::NotFound {
        what: "file",
        id: file_id.to_owned(),
    };
    let (report, sha256) = store.file_report(file_id).await?.ok_or_else(not_found)?;
    if !store.can_see_report(org, report).await? {
        return Err(not_found());
    }
    if sha256 != media.digests.sha256 {
        return Err(invalid(
            "digests",
            "the hashes given are not those of the stored file",
        ));
    }
    let verdict = match_media(store, index, Some(org), media).await?;
    store.record_file_verdict(file_id, &verdict).await?;
    Ok(verdict)
}

/// Matches a file of a report on behalf of the system (the intake pipeline), against the sets
/// usable by the organisation holding the report.
pub async fn match_and_record(
    store: &Store,
    index: &MatchIndex,
    org: OrgId,
    file_id: &str,
    media: &MediaHashes,
) -> Result<FileVerdict, EngineError> {
    let verdict = match_media(store, index, Some(org), media).await?;
    store.record_file_verdict(file_id, &verdict).await?;
    Ok(verdict)
}

// ---- import ----------------------------------------------------------------------------------

/// What to import and where.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The hash set to import into, created (owned by the operator's organisation) when new.
    pub set_name: String,
    /// The format, or `None` to recognise it from the first bytes.
    pub format: Option<KnownFormat>,
    /// Hints for plain hash lists (`--type pdq`).
    pub hash_list: HashListOptions,
    /// The name of the imported file, for the import record.
    pub file_name: Option<String>,
    /// For a new set: what it is for, whether it is shared, where it comes from, its licence.
    pub purpose: HashSetPurpose,
    pub shared: bool,
    pub source: Option<String>,
    pub licence: Option<String>,
}

impl ImportRequest {
    /// Import into `set_name`, format recognised, a private set of known material if new.
    pub fn new(set_name: impl Into<String>) -> Self {
        Self {
            set_name: set_name.into(),
            format: None,
            hash_list: HashListOptions::default(),
            file_name: None,
            purpose: HashSetPurpose::Known,
            shared: false,
            source: None,
            licence: None,
        }
    }
}

/// One record that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordError {
    /// 1-based record number in the file, when known.
    pub record: Option<u64>,
    /// 1-based line, when known.
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.record, self.line) {
            (Some(r), Some(l)) => write!(f, "record {r} (line {l}): {}", self.message),
            (Some(r), None) => write!(f, "record {r}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub import_id: i64,
    pub hash_set: HashSetId,
    pub created_set: bool,
    pub counts: ImportCounts,
    /// The first [`MAX_REPORTED_ERRORS`] record errors (all are counted).
    pub errors: Vec<RecordError>,
}

/// Progress of a running import, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportProgress {
    pub bytes_read: u64,
    pub records: u64,
    pub inserted: u64,
    pub updated: u64,
    pub errors: u64,
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The store record of a parsed record. An entry belongs to one series: of a comma list of
/// series names (some VICS writers), the first is kept.
pub fn record_to_entry(record: &KnownMediaRecord) -> NewKnownEntry {
    let h = &record.hashes;
    NewKnownEntry {
        hashes: EntryHashes {
            md5: h.md5,
            sha1: h.sha1,
            sha256: h.sha256,
            pdq: h.pdq.map(|p| PdqHash(*p.as_bytes())),
            photodna: h.photodna.as_ref().map(PhotoDna::to_base64),
        },
        facts: EntryFacts {
            category: record.category,
            victim_identified: record.victim_identified,
            offender_identified: record.offender_identified,
            distributed: record.is_distributed,
            baseline: record.baseline,
            file_available: record.file_available,
            submissions: record.submissions,
            mime_type: record.mime_type.clone(),
            media_type: record.media_type.clone(),
            media_size: record.media_size,
            external_id: record.external_id.clone(),
            file_names: record.file_names.clone(),
            tags: record.tags.clone(),
            comments: record.comments.clone(),
            source_updated_at: record.updated_at,
        },
        // An entry belongs to one series; of a comma list, the first is kept (docs).
        series: record.series_names().first().map(|s| (*s).to_owned()),
    }
}

enum Parsed {
    Batch(Vec<(SourceRef, NewKnownEntry)>, Vec<RecordError>),
    Fatal(String),
}

fn format_name(f: KnownFormat) -> &'static str {
    match f {
        KnownFormat::Vics => "vics",
        KnownFormat::Icse => "icse",
        KnownFormat::HashList => "hashlist",
    }
}

/// Where a reader error points, from its message: the formats name the record and line in the
/// message itself, so it is kept whole.
fn record_error_of(err: &safeguard_formats::known_stream::KnownMediaError) -> RecordError {
    RecordError {
        record: None,
        line: None,
        message: err.to_string(),
    }
}

/// Streams a VICS, ICSE or hash-list file into a hash set: parsing runs on its own thread while
/// batches of [`IMPORT_BATCH`] records are written, each in one transaction. A bad record is
/// counted and reported (with its record number and line) and the import goes on; a broken
/// file structure (truncated JSON, a CSV header missing) stops it with
/// [`EngineError::InvalidFile`] after recording what was imported up to there.
///
/// Re-importing the same file updates the same entries (see `docs/known-material.md`).
/// New PDQs go into `index` as they are written.
pub async fn import_known<R: Read + Send + 'static>(
    store: &Store,
    index: Option<&MatchIndex>,
    operator: &Operator,
    request: &ImportRequest,
    input: R,
    mut progress: impl FnMut(&ImportProgress),
) -> Result<ImportReport, EngineError> {
    let set_name =
        check_name("hash set name", &request.set_name).map_err(|e| name_error("set", e))?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: input,
        count: Arc::clone(&bytes),
    };
    let reader = KnownMediaReader::open(
        counting,
        KnownReadOptions {
            format: request.format,
            hash_list: request.hash_list,
        },
    )
    .map_err(|e| EngineError::InvalidFile(e.to_string()))?;
    let format = reader.format();
    let region = reader.vics_header().and_then(|h| h.region.clone());

    let (set, created_set) = match store.hash_set_by_name(&set_name).await? {
        Some(set) => (set, false),
        None => (
            store
                .create_hash_set(
                    &NewHashSet {
                        name: &set_name,
                        owner_org: operator.org,
                        purpose: request.purpose,
                        source: request.source.as_deref(),
                        licence: request.licence.as_deref(),
                        category_scheme: region.as_deref(),
                        shared: request.shared,
                    },
                    operator.actor(),
                )
                .await?,
            true,
        ),
    };
    if set.owner_org != operator.org {
        return Err(EngineError::Conflict(format!(
            "the hash set {set_name:?} belongs to another organisation: only its owner may import into it"
        )));
    }
    let import_id = store
        .begin_known_import(
            set.id,
            format_name(format),
            request.file_name.as_deref(),
            operator.org,
            operator.actor(),
        )
        .await?;
    let ctx = ImportContext {
        hash_set: set.id,
        import_id: Some(import_id),
        org: operator.org,
    };

    // Parsing is CPU work on a blocking reader: its own thread, two batches ahead.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Parsed>(2);
    let parser = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let mut errors = Vec::new();
        for item in reader {
            match item {
                Ok(record) => {
                    let entry = record_to_entry(&record);
                    batch.push((record.source, entry));
                }
                Err(e) if e.is_record_error() => errors.push(record_error_of(&e)),
                Err(e) => {
                    let _ = tx.blocking_send(Parsed::Batch(
                        std::mem::take(&mut batch),
                        std::mem::take(&mut errors),
                    ));
                    let _ = tx.blocking_send(Parsed::Fatal(e.to_string()));
                    return;
                }
            }
            if batch.len() >= IMPORT_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(IMPORT_BATCH));
                if tx
                    .blocking_send(Parsed::Batch(full, std::mem::take(&mut errors)))
                    .is_err()
                {
                    return;
                }
            }
        }
        let _ = tx.blocking_send(Parsed::Batch(batch, errors));
    });

    let mut counts = ImportCounts::default();
    let mut reported: Vec<RecordError> = Vec::new();
    let mut fatal = None;
    let mut note_error = |e: RecordError, counts: &mut ImportCounts| {
        counts.errors += 1;
        if reported.len() < MAX_REPORTED_ERRORS {
            reported.push(e);
        }
    };
    let mut write_result = Ok(());
    while let Some(msg) = rx.recv().await {
        match msg {
            Parsed::Fatal(message) => fatal = Some(message),
            Parsed::Batch(batch, errors) => {
                counts.records += errors.len() as u64;
                for e in errors {
                    note_error(e, &mut counts);
                }
                if batch.is_empty() {
                    continue;
                }
                counts.records += batch.len() as u64;
                let records: Vec<NewKnownEntry> = batch.iter().map(|(_, e)| e.clone()).collect();
                let outcomes = match store
                    .upsert_known_entries(ctx, &records, operator.actor())
                    .await
                {
                    Ok(o) => o,
                    Err(e) => {
                        write_result = Err(e);
                        break;
                    }
                };
                let mut new_pdqs = Vec::new();
                let mut replaced = Vec::new();
                for ((source, _), outcome) in batch.iter().zip(outcomes) {
                    match outcome {
                        UpsertOutcome::Inserted { id, pdq } => {
                            counts.inserted += 1;
                            if let Some(p) = pdq {
                                new_pdqs.push((id, p));
                            }
                        }
                        UpsertOutcome::Updated { id, new_pdq } => {
                            counts.updated += 1;
                            if let Some(p) = new_pdq {
                                new_pdqs.push((id, p));
                                replaced.push(id);
                            }
                        }
                        UpsertOutcome::Refused(message) => note_error(
                            RecordError {
                                record: Some(source.ordinal),
                                line: source.line,
                                message,
                            },
                            &mut counts,
                        ),
                    }
                }
                if let Some(index) = index {
                    index.upsert_many(&new_pdqs, &replaced)?;
                }
                progress(&ImportProgress {
                    bytes_read: bytes.load(Ordering::Relaxed),
                    records: counts.records,
                    inserted: counts.inserted,
                    updated: counts.updated,
                    errors: counts.errors,
                });
            }
        }
    }
    drop(rx);
    let _ = parser.join();
    write_result?;
    let sample = if reported.is_empty() && fatal.is_none() {
        None
    } else {
        let mut lines: Vec<String> = reported.iter().map(ToString::to_string).collect();
        if let Some(f) = &fatal {
            lines.push(format!("stopped: {f}"));
        }
        Some(lines.join("\n"))
    };
    store
        .finish_known_import(import_id, &counts, sample.as_deref(), operator.actor())
        .await?;
    progress(&ImportProgress {
        bytes_read: bytes.load(Ordering::Relaxed),
        records: counts.records,
        inserted: counts.inserted,
        updated: counts.updated,
        errors: counts.errors,
    });
    if let Some(message) = fatal {
        return Err(EngineError::InvalidFile(format!(
            "{message} (import {import_id} stopped after {} records: {} inserted, {} updated)",
            counts.records, counts.inserted, counts.updated
        )));
    }
    Ok(ImportReport {
        import_id,
        hash_set: set.id,
        created_set,
        counts,
        errors: reported,
    })
}

// ---- export ----------------------------------------------------------------------------------

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// VICS JSON of the given data-model version (2.0 by default).
    Vics(VicsVersion),
    /// INTERPOL ICSE CSV.
    Icse,
    /// A `hash,type,file_name,comment` hash list.
    HashList,
}

/// Which entries to export: a set, a series, or both (their intersection). At least one.
#[derive(Debug, Clone, Copy)]
pub struct ExportSelection {
    pub hash_set: Option<HashSetId>,
    pub series: Option<SeriesId>,
}

/// The outcome of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    pub written: u64,
    /// Entries the format cannot carry (VICS needs an MD5), with their ids.
    pub skipped: Vec<i64>,
}

/// The format-agnostic record of a stored entry.
pub fn entry_record(
    entry: &KnownEntry,
    category_scheme: Option<&str>,
    ordinal: u64,
) -> KnownMediaRecord {
    let mut r = KnownMediaRecord::new(SourceRef {
        format: SourceFormat::Other,
        ordinal,
        line: None,
    });
    let h = &entry.hashes;
    r.hashes = KnownHashes {
        md5: h.md5,
        sha1: h.sha1,
        sha256: h.sha256,
        pdq: h.pdq.map(|p| PdqHex::from_bytes(p.0)),
        photodna: h.photodna.as_deref().and_then(|p| PhotoDna::parse(p).ok()),
    };
    let f = &entry.facts;
    r.category = f.category;
    r.category_scheme = category_scheme.map(str::to_owned);
    r.series = entry.series_name.clone();
    r.victim_identified = f.victim_identified;
    r.offender_identified = f.offender_identified;
    r.is_distributed = f.distributed;
    r.baseline = f.baseline;
    r.file_available = f.file_available;
    r.submissions = f.submissions;
    r.mime_type = f.mime_type.clone();
    r.media_type = f.media_type.clone();
    r.media_size = f.media_size;
    r.external_id = f.external_id.clone();
    r.updated_at = f.source_updated_at;
    r.file_names = f.file_names.clone();
    r.tags = f.tags.clone();
    r.comments = f.comments.clone();
    r
}

/// Writes the selected entries to `out`, a page at a time (memory does not grow with the set).
pub async fn export_known<W: Write>(
    store: &Store,
    selection: ExportSelection,
    format: ExportFormat,
    out: W,
) -> Result<(W, ExportReport), EngineError> {
    if selection.hash_set.is_none() && selection.series.is_none() {
        return Err(invalid("selection", "name a hash set, a series, or both"));
    }
    let set = match selection.hash_set {
        Some(id) => Some(store.hash_set(id).await?),
        None => None,
    };
    if let Some(series) = selection.series {
        store.series(series).await?;
    }
    let mut writer = match format {
        ExportFormat::Vics(version) => KnownMediaWriter::vics(
            out,
            VicsLayout {
                version,
                region: set
                    .as_ref()
                    .and_then(|s| s.category_scheme.clone())
                    .unwrap_or_else(|| "Default".into()),
                ..VicsLayout::v2_media()
            },
        ),
        ExportFormat::Icse => KnownMediaWriter::icse(out),
        ExportFormat::HashList => KnownMediaWriter::hash_list(out, HashListStyle::Csv),
    }
    .map_err(|e| EngineError::InvalidFile(e.to_string()))?;
    let mut schemes: HashMap<HashSetId, Option<String>> = HashMap::new();
    if let Some(s) = &set {
        schemes.insert(s.id, s.category_scheme.clone());
    }
    let mut report = ExportReport::default();
    let mut after = 0;
    loop {
        let page = store
            .list_known_entries(&EntryFilter {
                hash_set: selection.hash_set,
                series: selection.series,
                after_id: Some(after),
                limit: 1_000,
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id.0;
        for entry in &page {
            let scheme = match schemes.get(&entry.hash_set) {
                Some(s) => s.clone(),
                None => {
                    let s = store.hash_set(entry.hash_set).await?.category_scheme;
                    schemes.insert(entry.hash_set, s.clone());
                    s
                }
            };
            let record = entry_record(entry, scheme.as_deref(), report.written + 1);
            match writer.write(&record) {
                Ok(()) => report.written += 1,
                Err(e) if e.is_record_error() => report.skipped.push(entry.id.0),
                Err(e) => return Err(EngineError::InvalidFile(e.to_string())),
            }
        }
    }
    let out = writer
        .finish()
        .map_err(|e| EngineError::InvalidFile(e.to_string()))?;
    Ok((out, report))
}

// ---- curation (API and command line) ---------------------------------------------------------

/// Stores the vPDQ frames of a known video entry and files them in the index, so that copies
/// of the video (re-encoded, resized) match perceptually. No exchange format carries vPDQ yet:
/// frames come from hashing a known video (`safeguard_perceptual::vpdq::hash_video`).
pub async fn set_video_frames(
    store: &Store,
    index: &MatchIndex,
    entry: EntryId,
    frames: &[VpdqFeature],
) -> Result<(), EngineError> {
    let stored: Vec<safeguard_store::KnownFrame> = frames
        .iter()
        .map(|f| safeguard_store::KnownFrame {
            frame: f.frame,
            timestamp_ms: (f64::from(f.timestamp) * 1000.0).max(0.0) as u64,
            pdq: PdqHash(*f.hash.as_bytes()),
            quality: f.quality,
        })
        .collect();
    store.known_entry(entry).await?;
    store.set_known_frames(entry, &stored).await?;
    let hashes: Vec<PdqHash> = stored
        .iter()
        .filter(|f| f.quality >= PDQ_MIN_QUALITY)
        .map(|f| f.pdq)
        .collect();
    index.set_frames(entry, &hashes)
}

/// The hash sets the operator's organisation may use (its own and shared ones).
pub async fn list_hash_sets(store: &Store, org: OrgId) -> Result<Vec<HashSet>, EngineError> {
    Ok(store.list_hash_sets(Some(org)).await?)
}

/// One hash set, if the organisation may use it.
pub async fn hash_set(store: &Store, org: OrgId, id: HashSetId) -> Result<HashSet, EngineError> {
    let set = store.hash_set(id).await?;
    if set.owner_org != org && !set.shared {
        return Err(EngineError::NotFound {
            what: "hash set",
            id: id.0.to_string(),
        });
    }
    Ok(set)
}

/// A page of a set's entries, if the organisation may use the set.
pub async fn list_entries(
    store: &Store,
    org: OrgId,
    set: HashSetId,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<KnownEntry>, EngineError> {
    hash_set(store, org, set).await?;
    Ok(store
        .list_known_entries(&EntryFilter {
            hash_set: Some(set),
            series: None,
            after_id,
            limit,
        })
        .await?)
}

/// Creates a series worked on by the operator's organisation.
pub async fn create_series(
    store: &Store,
    operator: &Operator,
    name: &str,
    status: SeriesStatus,
    notes: Option<&str>,
) -> Result<Series, EngineError> {
    let name = check_name("series name", name).map_err(|e| name_error("name", e))?;
    Ok(store
        .create_series(&name, status, notes, operator.org, operator.actor())
        .await?)
}

/// Moves entries into a series; the operator's organisation joins the series.
pub async fn add_media_to_series(
    store: &Store,
    operator: &Operator,
    series: SeriesId,
    entries: &[EntryId],
) -> Result<u64, EngineError> {
    if entries.is_empty() {
        return Err(invalid("entries", "name at least one entry"));
    }
    let moved = store
        .add_entries_to_series(series, entries, operator.actor())
        .await?;
    store
        .add_series_org(series, operator.org, operator.actor())
        .await?;
    Ok(moved)
}

/// Sets a series' status; `victim_identified` marks every entry of the series too.
pub async fn set_series_status(
    store: &Store,
    operator: &Operator,
    series: SeriesId,
    status: SeriesStatus,
) -> Result<Series, EngineError> {
    Ok(store
        .set_series_status(series, status, operator.actor())
        .await?)
}

/// Merges series `from` into `into`, keeping `from` as a tombstone and the history of both.
pub async fn merge_series(
    store: &Store,
    operator: &Operator,
    from: SeriesId,
    into: SeriesId,
) -> Result<Series, EngineError> {
    if from == into {
        return Err(invalid("from", "a series cannot be merged into itself"));
    }
    Ok(store.merge_series(from, into, operator.actor()).await?)
}

/// Splits entries of a series out into a new series.
pub async fn split_series(
    store: &Store,
    operator: &Operator,
    from: SeriesId,
    new_name: &str,
    entries: &[EntryId],
) -> Result<Series, EngineError> {
    let name = check_name("series name", new_name).map_err(|e| name_error("name", e))?;
    if entries.is_empty() {
        return Err(invalid("entries", "name at least one entry to split out"));
    }
    Ok(store
        .split_series(from, &name, entries, operator.actor())
        .await?)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn split_search_finds_what_a_scan_finds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut entries: Vec<(EntryId, PdqHash)> = (0..150_000)
            .map(|i| (EntryId(i), PdqHash(rng.gen())))
            .collect();
        let queries: Vec<PdqHash> = (0..8).map(|_| PdqHash(rng.gen())).collect();
        // Near neighbours of some queries, at distances up to 40 (some beyond the radius).
        for (k, q) in queries.iter().enumerate() {
            let mut near = q.0;
            for bit in 0..(k * 5 + 3) {
                near[bit / 8] ^= 1 << (bit % 8);
            }
            entries.push((EntryId(1_000_000 + k as i64), PdqHash(near)));
        }
        let index = MatchIndex::from_pdqs(entries.clone()).expect("index");
        let found = index.search(&queries, PDQ_MATCH_DISTANCE).expect("search");
        let mut expected: Vec<(EntryId, u32)> = entries
            .iter()
            .filter_map(|(id, h)| {
                let d = queries.iter().map(|q| q.distance(h)).min()?;
                (d <= PDQ_MATCH_DISTANCE).then_some((*id, d))
            })
            .collect();
        expected.sort_by_key(|(id, d)| (*d, *id));
        assert_eq!(found, expected);
        assert_eq!(
            found.len(),
            6,
            "distances 3, 8, … 28 are in, 33 and 38 are out"
        );
    }
}
