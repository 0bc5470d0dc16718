//! Submitting, reading and listing reports, always within what the caller may see.

use safeguard_domain::account::{perm, Granted, OrgId, OrgKind, Principal};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::{IntakeState, NewReport, ReportId, ReportSource};
use safeguard_store::{ReportFilter, ReportPage, Store, StoredReport, Submission};
use time::OffsetDateTime;

use crate::EngineError;

/// How a report arrived, for [`submit_report`].
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub source: ReportSource,
    pub state: IntakeState,
    /// The sender's document byte for byte: (media type, bytes).
    pub original: Option<(&'a str, &'a [u8])>,
    /// `(Idempotency-Key, SHA-256 of the request body)`.
    pub idempotency: Option<(&'a str, [u8; 32])>,
}

/// The organisation that will hold a report the caller submits: a reporting company's reports go
/// to the instance's hotline (or coordinator); anyone else's stay with their own organisation.
pub async fn receiving_org(store: &Store, caller: &Principal) -> Result<OrgId, EngineError> {
    if caller.org_kind == OrgKind::Reporter {
        Ok(store
            .home_org()
            .await?
            .ok_or(EngineError::NoReceivingOrganisation)?
            .id)
    } else {
        Ok(caller.org)
    }
}

/// Validates and stores a report. Returns it and whether it was created now (false when an
/// idempotent retry found the first one). Nothing is written when validation fails.
pub async fn submit_report(
    store: &Store,
    caller: &Granted<perm::SubmitReports>,
    report: &NewReport,
    delivery: Delivery<'_>,
    now: OffsetDateTime,
) -> Result<(StoredReport, bool), EngineError> {
    report.validate(now).map_err(EngineError::Invalid)?;
    let principal = caller.principal();
    let holder = receiving_org(store, principal).await?;
    let submission = Submission {
        source: delivery.source,
        reporter_org: principal.org,
        holder_org: holder,
        submitted_by: Some(principal.user),
        actor: principal.username.as_str(),
        state: delivery.state,
        report,
        original: delivery.original,
        idempotency: delivery.idempotency,
    };
    Ok(store.insert_report(&submission).await?)
}

/// A report the caller may see, with the read written to the audit log. A report the caller may
/// not see is answered as not found.
pub async fn read_report(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    id: ReportId,
) -> Result<StoredReport, EngineError> {
    let principal = caller.principal();
    if !store.can_see_report(principal.org, id).await? {
        return Err(EngineError::NotFound {
            what: "report",
            id: id.to_string(),
        });
    }
    store
        .append_audit(&AuditEvent {
            actor_user: Some(principal.user.0),
            actor: principal.username.to_string(),
            action: "report.read".into(),
            object_kind: "report".into(),
            object_id: id.to_string(),
            detail: String::new(),
        })
        .await?;
    Ok(store.report(id).await?)
}

/// One page of the reports the caller may see. The filter's visibility is always the caller's.
pub async fn list_reports(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    mut filter: ReportFilter,
) -> Result<ReportPage, EngineError> {
    filter.visible_to = caller.principal().org;
    Ok(store.list_reports(&filter).await?)
}
