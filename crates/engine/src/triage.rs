//! Triage: the analysts' queue, assignment and priority changes in bulk, media views, and the
//! statistics of the dashboard — each within what the caller's organisation may see.

use safeguard_domain::account::{perm, Granted, UserId};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::{ReportFile, ReportId};
use safeguard_store::{BulkChange, QueueFilter, QueuePage, Statistics, Store};
use time::OffsetDateTime;

use crate::EngineError;

/// Most reports one bulk action may change.
pub const MAX_BULK: usize = 500;

/// One page of the triage queue, restricted to what the caller may see.
pub async fn queue(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    mut filter: QueueFilter,
) -> Result<QueuePage, EngineError> {
    filter.visible_to = caller.principal().org;
    Ok(store.queue(&filter).await?)
}

/// Applies `change` to the reports the caller may see among `ids` (the others are ignored, as if
/// missing). An assignee must belong to the caller's organisation. Returns the ids changed.
pub async fn bulk_change(
    store: &Store,
    caller: &Granted<perm::WriteReports>,
    ids: &[ReportId],
    change: BulkChange,
) -> Result<Vec<ReportId>, EngineError> {
    let principal = caller.principal();
    if ids.len() > MAX_BULK {
        return Err(EngineError::Invalid(vec![
            safeguard_domain::report::FieldError::new(
                "ids",
                format!("at most {MAX_BULK} reports at once"),
            ),
        ]));
    }
    if let BulkChange::Assign(Some(user)) = change {
        assignee_in_org(store, caller, user).await?;
    }
    Ok(store
        .bulk_change(
            principal.org,
            ids,
            change,
            principal.user,
            principal.username.as_str(),
        )
        .await?)
}

async fn assignee_in_org(
    store: &Store,
    caller: &Granted<perm::WriteReports>,
    user: UserId,
) -> Result<(), EngineError> {
    let members = store.org_users(caller.principal().org).await?;
    if members.iter().any(|(id, _)| *id == user) {
        Ok(())
    } else {
        Err(EngineError::NotFound {
            what: "user",
            id: user.0.to_string(),
        })
    }
}

/// A file of a report the caller may see, without writing to the audit log (thumbnails are
/// blurred; see [`record_media_view`] for the unblurred view). Unseen reports and unknown files
/// answer as not found.
pub async fn report_file(
    store: &Store,
    caller: &Granted<perm::ViewMedia>,
    id: ReportId,
    file_id: &str,
) -> Result<ReportFile, EngineError> {
    let not_found = || EngineError::NotFound {
        what: "file",
        id: file_id.to_owned(),
    };
    if !store.can_see_report(caller.principal().org, id).await? {
        return Err(not_found());
    }
    let report = store.report(id).await?;
    report
        .report
        .files
        .into_iter()
        .find(|f| f.file_id == file_id)
        .ok_or_else(not_found)
}

/// Writes the `media.view` audit entry for the caller's unblurred view of a file, and returns the
/// file. Nothing unblurred may be sent before this succeeds.
pub async fn record_media_view(
    store: &Store,
    caller: &Granted<perm::ViewMedia>,
    id: ReportId,
    file_id: &str,
) -> Result<ReportFile, EngineError> {
    let file = report_file(store, caller, id, file_id).await?;
    let principal = caller.principal();
    store
        .append_audit(&AuditEvent {
            actor_user: Some(principal.user.0),
            actor: principal.username.to_string(),
            action: "media.view".into(),
            object_kind: "report".into(),
            object_id: id.to_string(),
            detail: format!("file={} sha256={}", file.file_id, file.digests.sha256),
        })
        .await?;
    Ok(file)
}

/// The dashboard's figures for the reports the caller may see, received in `[from, to)`.
pub async fn statistics(
    store: &Store,
    caller: &Granted<perm::ReadStatistics>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Statistics, EngineError> {
    if to <= from {
        return Err(EngineError::Invalid(vec![
            safeguard_domain::report::FieldError::new("to", "must be after from"),
        ]));
    }
    Ok(store.statistics(caller.principal().org, from, to).await?)
}
