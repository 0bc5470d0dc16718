//! Report intake over the CyberTipline Reporting API: submit → upload → fileinfo → finish (or
//! retract), with the wire documents validated by `safeguard_formats::cybertipline`, files
//! streamed into the evidence vault, and every change committed through the group-commit
//! [`committer::Committer`]. The HTTP edge (`/ispws`) is in the server; this is the use case.

pub mod committer;
pub mod credentials;
pub mod cybertipline;
pub mod expiry;

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use safeguard_domain::account::{Principal, Role};
use safeguard_domain::report::{FieldError, IntakeState, ReportId};
use safeguard_formats::cybertipline::{self as wire, ReportMode, ResponseCode};
use safeguard_store::{
    IntakeActor, IntakeOp, IntakeOutcome, IntakeRefusal, OwnedSubmission, Store,
};
use safeguard_vault::{Vault, VaultError};
use time::OffsetDateTime;
use tokio::io::AsyncRead;

use crate::EngineError;
pub use committer::Committer;
pub use credentials::CredentialCache;

/// How long the receiving organisation is remembered by the intake.
pub const HOME_ORG_TTL: Duration = Duration::from_secs(60);

/// Default cap on one uploaded file (1 GiB).
pub const DEFAULT_MAX_UPLOAD: u64 = 1024 * 1024 * 1024;

/// A refused or failed intake call: the CyberTipline response code and its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {description}", code.code())]
pub struct IntakeError {
    pub code: ResponseCode,
    pub description: String,
}

impl IntakeError {
    /// The code with its documented description and an explanation.
    pub fn new(code: ResponseCode, why: impl AsRef<str>) -> Self {
        let why = why.as_ref();
        let description = if why.is_empty() {
            code.description().to_owned()
        } else {
            format!("{} - {why}", code.description())
        };
        Self { code, description }
    }

    fn rejection(r: &wire::Rejection) -> Self {
        Self {
            code: r.response_code(),
            description: r.description(),
        }
    }

    fn invalid(errors: &[FieldError]) -> Self {
        Self::new(
            ResponseCode::ValidationFailed,
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("intake failed: {e}");
        Self::new(ResponseCode::ServerError, "")
    }

    fn refused(r: &IntakeRefusal) -> Self {
        match r {
            IntakeRefusal::ReportNotFound => Self::new(ResponseCode::ReportDoesNotExist, ""),
            IntakeRefusal::NotOwner => Self::new(
                ResponseCode::NoUpdateAuthorization,
                "the report belongs to another organisation",
            ),
            IntakeRefusal::AlreadyFinished => Self::new(ResponseCode::ReportAlreadyFinished, ""),
            IntakeRefusal::AlreadyRetracted => Self::new(ResponseCode::ReportAlreadyRetracted, ""),
            IntakeRefusal::FileNotFound => Self::new(
                ResponseCode::FileDoesNotExist,
                "no such file in this report",
            ),
            IntakeRefusal::DetailsAlreadyGiven => Self::new(
                ResponseCode::InvalidRequest,
                "file details were already submitted for this file (at most once per file)",
            ),
            IntakeRefusal::BatchedFileCount(n) => match wire::check_batched_file_count(*n) {
                Err(r) => Self::rejection(&r),
                Ok(()) => Self::new(ResponseCode::ValidationFailed, "batched report"),
            },
        }
    }
}

impl From<EngineError> for IntakeError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(errors) => Self::invalid(&errors),
            EngineError::Unauthenticated(why) => {
                Self::new(ResponseCode::AuthenticationRequired, why)
            }
            other => Self::internal(other),
        }
    }
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub file_id: String,
    /// MD5 of the received bytes, lower-case hex.
    pub md5_hex: String,
    pub size: u64,
}

/// The intake use case, shared by every request.
#[derive(Debug)]
pub struct Intake {
    store: Store,
    vault: Arc<Vault>,
    committer: Committer,
    credentials: CredentialCache,
    /// The receiving organisation of reporting companies' reports, remembered briefly (one
    /// query per submit otherwise).
    home_org: std::sync::Mutex<Option<(safeguard_domain::account::OrgId, std::time::Instant)>>,
}

/// A reporter account proven by its password (only role `reporter` may use the intake).
#[derive(Debug, Clone)]
pub struct Reporter(Principal);

impl Reporter {
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    fn actor(&self) -> IntakeActor {
        IntakeActor {
            org: self.0.org,
            user: self.0.user,
            username: self.0.username.to_string(),
        }
    }
}

impl Intake {
    /// Starts the group-commit writer (needs a tokio runtime).
    pub fn new(store: Store, vault: Arc<Vault>) -> Self {
        Self {
            committer: Committer::spawn(store.clone(), committer::DEFAULT_MAX_BATCH),
            credentials: CredentialCache::new(Duration::from_secs(60)),
            home_org: std::sync::Mutex::new(None),
            store,
            vault,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// HTTP Basic credentials → a reporter. 2000 when they do not verify; `Ok(Err(principal))`
    /// when they verify but the account is not a reporter (the caller answers 3000/3100).
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<Reporter, Principal>, IntakeError> {
        let principal = self
            .credentials
            .authenticate(&self.store, username, password)
            .await?;
        Ok(if principal.role == Role::Reporter {
            Ok(Reporter(principal))
        } else {
            Err(principal)
        })
    }

    /// /submit: validates the `<report>` and opens it. Nothing is stored when it is refused.
    pub async fn submit(
        &self,
        who: &Reporter,
        xml: Vec<u8>,
        now: OffsetDateTime,
    ) -> Result<ReportId, IntakeError> {
        let (xml, checked) = tokio::task::spawn_blocking(move || {
            let checked = wire::validate_report(&xml, now);
            (xml, checked)
        })
        .await
        .map_err(IntakeError::internal)?;
        let wire_report = checked.map_err(|r| IntakeError::rejection(&r))?;
        let report =
            cybertipline::to_new_report(&wire_report).map_err(|e| IntakeError::invalid(&e))?;
        report.validate(now).map_err(|e| IntakeError::invalid(&e))?;
        let holder = self.receiving_org(who).await?;
        let op = IntakeOp::Open(Box::new(OwnedSubmission {
            actor: who.actor(),
            holder_org: holder,
            report,
            media_type: "text/xml".into(),
            original: xml,
            at: now,
        }));
        match self.committer.run(op).await? {
            IntakeOutcome::Opened(id) => Ok(id),
            IntakeOutcome::Refused(r) => Err(IntakeError::refused(&r)),
            other => Err(IntakeError::internal(format!("unexpected {other:?}"))),
        }
    }

    /// [`crate::reports::receiving_org`], with the instance's home organisation remembered for
    /// [`HOME_ORG_TTL`] (it changes only when organisations are created).
    async fn receiving_org(
        &self,
        who: &Reporter,
    ) -> Result<safeguard_domain::account::OrgId, IntakeError> {
        if who.principal().org_kind == safeguard_domain::account::OrgKind::Reporter {
            let cached = *self.home_org.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((org, at)) = cached {
                if at.elapsed() < HOME_ORG_TTL {
                    return Ok(org);
                }
            }
        }
        let org = crate::reports::receiving_org(&self.store, who.principal())
            .await
            .map_err(IntakeError::internal)?;
        if who.principal().org_kind == safeguard_domain::account::OrgKind::Reporter {
            *self.home_org.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((org, std::time::Instant::now()));
        }
        Ok(org)
    }

    /// Whether `who` may add to report `id` now (checked before streaming an upload).
    pub async fn check_open(&self, who: &Reporter, id: ReportId) -> Result<bool, IntakeError> {
        let status = self
            .store
            .intake_status(id)
            .await
            .map_err(IntakeError::internal)?
            .ok_or_else(|| IntakeError::refused(&IntakeRefusal::ReportNotFound))?;
        if status.reporter_org != who.principal().org {
            return Err(IntakeError::refused(&IntakeRefusal::NotOwner));
        }
        match status.state {
            IntakeState::Open => Ok(status.batched),
            IntakeState::Finished => Err(IntakeError::refused(&IntakeRefusal::AlreadyFinished)),
            IntakeState::Retracted => Err(IntakeError::refused(&IntakeRefusal::AlreadyRetracted)),
        }
    }

    /// /upload: streams `body` into the vault and attaches it to the report under a new random
    /// 32-hex file id. `max_size` caps the file. On refusal nothing stays referenced; content
    /// stored only for this call is deleted again.
    pub async fn upload<R: AsyncRead + Unpin + Send>(
        &self,
        who: &Reporter,
        id: ReportId,
        body: R,
        max_size: u64,
        now: OffsetDateTime,
    ) -> Result<Uploaded, IntakeError> {
        self.check_open(who, id).await?;
        let stored = match self
            .vault
            .put_async(CappedReader::new(body, max_size))
            .await
        {
            Ok(s) => s,
            Err(VaultError::Source(e)) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(IntakeError::new(
                    ResponseCode::MalformedFile,
                    format!("the file is larger than the cap of {max_size} bytes"),
                ))
            }
            Err(VaultError::TooLarge { .. }) => {
                return Err(IntakeError::new(
                    ResponseCode::MalformedFile,
                    "the file is larger than the vault accepts",
                ))
            }
            Err(VaultError::Source(e)) => {
                return Err(IntakeError::new(
                    ResponseCode::MalformedFile,
                    format!("the file part could not be read: {e}"),
                ))
            }
            Err(e) => {
                tracing::error!("vault put failed: {e}");
                return Err(IntakeError::new(ResponseCode::FileUploadFailed, ""));
            }
        };
        let file_id = new_file_id();
        let op = IntakeOp::Attach {
            actor: who.actor(),
            report: id,
            file_id: file_id.clone(),
            digests: stored.digests,
            size: stored.size,
            at: now,
        };
        let outcome = self.committer.run(op).await;
        let refusal = match outcome {
            Ok(IntakeOutcome::Attached) => {
                return Ok(Uploaded {
                    file_id,
                    md5_hex: stored.digests.md5.to_string(),
                    size: stored.size,
                })
            }
            Ok(IntakeOutcome::Refused(r)) => IntakeError::refused(&r),
            Ok(other) => IntakeError::internal(format!("unexpected {other:?}")),
            Err(e) => e,
        };
        // The report changed state while the file streamed: forget content stored only now.
        if !stored.already_present {
            match self.store.blob_unreferenced(&stored.digests.sha256).await {
                Ok(true) => {
                    if let Err(e) = self.vault.delete(&stored.digests.sha256) {
                        tracing::warn!("could not delete an unreferenced upload: {e}");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("could not check an upload's references: {e}"),
            }
        }
        Err(refusal)
    }

    /// /fileinfo: validates the `<fileDetails>` against its report's mode and stores it with
    /// the original bytes, at most once per file.
    pub async fn file_info(
        &self,
        who: &Reporter,
        xml: Vec<u8>,
        now: OffsetDateTime,
    ) -> Result<ReportId, IntakeError> {
        let (xml, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = wire::parse_file_details(&xml);
            (xml, parsed)
        })
        .await
        .map_err(IntakeError::internal)?;
        let parsed = parsed.map_err(|r| IntakeError::rejection(&r))?;
        let id = ReportId(parsed.value.report_id);
        let batched = self.check_open(who, id).await?;
        let mode = if batched {
            ReportMode::Batched(wire::BatchedReportReason::ViralPotentialMeme)
        } else {
            ReportMode::Standard
        };
        wire::check_file_details(&parsed, mode, now).map_err(|r| IntakeError::rejection(&r))?;
        let metadata =
            cybertipline::file_metadata(&parsed.value).map_err(|e| IntakeError::invalid(&e))?;
        let op = IntakeOp::Details {
            actor: who.actor(),
            report: id,
            file_id: parsed.value.file_id.trim().to_owned(),
            metadata: Box::new(metadata),
            document: xml,
            at: now,
        };
        match self.committer.run(op).await? {
            IntakeOutcome::DetailsStored => Ok(id),
            IntakeOutcome::Refused(r) => Err(IntakeError::refused(&r)),
            other => Err(IntakeError::internal(format!("unexpected {other:?}"))),
        }
    }

    /// /finish: the report becomes immutable; returns every file id.
    pub async fn finish(
        &self,
        who: &Reporter,
        id: ReportId,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, IntakeError> {
        let op = IntakeOp::Finish {
            actor: who.actor(),
            report: id,
            at: now,
        };
        match self.committer.run(op).await? {
            IntakeOutcome::Finished(files) => Ok(files),
            IntakeOutcome::Refused(r) => Err(IntakeError::refused(&r)),
            other => Err(IntakeError::internal(format!("unexpected {other:?}"))),
        }
    }

    /// /retract: cancels an open report.
    pub async fn retract(
        &self,
        who: &Reporter,
        id: ReportId,
        now: OffsetDateTime,
    ) -> Result<(), IntakeError> {
        let op = IntakeOp::Retract {
            actor: who.actor(),
            report: id,
            at: now,
        };
        match self.committer.run(op).await? {
            IntakeOutcome::Retracted => Ok(()),
            IntakeOutcome::Refused(r) => Err(IntakeError::refused(&r)),
            other => Err(IntakeError::internal(format!("unexpected {other:?}"))),
        }
    }
}

/// A new random file id: 32 lower-case hex digits (128 bits, as NCMEC's).
pub fn new_file_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Fails the stream with `FileTooLarge` once more than `cap` bytes went through, so an
/// oversized upload stops early instead of filling the disk.
struct CappedReader<R> {
    inner: R,
    left: u64,
}

impl<R> CappedReader<R> {
    fn new(inner: R, cap: u64) -> Self {
        Self { inner, left: cap }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for CappedReader<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &poll {
            let n = (buf.filled().len() - before) as u64;
            if n > self.left {
                return std::task::Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    "upload exceeds the configured cap",
                )));
            }
            self.left -= n;
        }
        poll
    }
}
