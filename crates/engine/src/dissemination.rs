//! What the API serves for cross-checking and packages, each within what the caller may see:
//! a report's cluster (links among the caller's visible reports only), its organisation's
//! alerts, its package inbox, acknowledging and reporting outcomes.

use safeguard_domain::account::{perm, Granted};
use safeguard_domain::report::ReportId;
use safeguard_store::{
    ClusterView, DeconflictionAlert, Outcome, PackageState, Store, StoredPackage,
};
use serde::Serialize;

use crate::EngineError;

/// A cluster as one organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisibleCluster {
    pub cluster_id: i64,
    /// Reports of the cluster the caller may see.
    pub reports: Vec<ReportId>,
    /// Links between two reports the caller may see, with their reasons.
    pub links: Vec<safeguard_store::LinkReason>,
    /// Members the caller may not see (a count only).
    pub hidden_reports: i64,
}

/// `GET /api/v1/reports/{id}/cluster`.
pub async fn cluster(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    report: ReportId,
) -> Result<Option<VisibleCluster>, EngineError> {
    let org = caller.principal().org;
    if !store.can_see_report(org, report).await? {
        return Err(EngineError::NotFound {
            what: "report",
            id: report.to_string(),
        });
    }
    let Some(ClusterView {
        cluster_id,
        size,
        reports,
        links,
    }) = store.cluster_of_report(report, 1_000).await?
    else {
        return Ok(None);
    };
    let mut visible = Vec::new();
    for r in reports {
        if store.can_see_report(org, r).await? {
            visible.push(r);
        }
    }
    let links = links
        .into_iter()
        .filter(|l| visible.contains(&l.report_a) && visible.contains(&l.report_b))
        .collect();
    Ok(Some(VisibleCluster {
        cluster_id,
        hidden_reports: size - visible.len() as i64,
        reports: visible,
        links,
    }))
}

/// `GET /api/v1/alerts`: the caller's organisation's deconfliction alerts.
pub async fn alerts(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
) -> Result<Vec<DeconflictionAlert>, EngineError> {
    Ok(store.alerts_for(caller.principal().org, 200).await?)
}

/// `GET /api/v1/inbox`.
pub async fn inbox(
    store: &Store,
    caller: &Granted<perm::ReceivePackages>,
) -> Result<Vec<StoredPackage>, EngineError> {
    Ok(store.inbox(caller.principal().org, 200).await?)
}

/// `GET /api/v1/packages/{id}`: the recipient (once sent) or the sender may read it.
pub async fn package(
    store: &Store,
    org: safeguard_domain::account::OrgId,
    id: i64,
) -> Result<StoredPackage, EngineError> {
    let p = store.package(id).await?;
    let recipient_may =
        p.to_org == org && p.state != PackageState::Draft && p.state != PackageState::Approved;
    if p.from_org != org && !recipient_may {
        return Err(EngineError::NotFound {
            what: "package",
            id: id.to_string(),
        });
    }
    Ok(p)
}

async fn received(
    store: &Store,
    caller: &Granted<perm::ReceivePackages>,
    id: i64,
) -> Result<StoredPackage, EngineError> {
    let p = store.package(id).await?;
    if p.to_org != caller.principal().org
        || matches!(p.state, PackageState::Draft | PackageState::Approved)
    {
        return Err(EngineError::NotFound {
            what: "package",
            id: id.to_string(),
        });
    }
    Ok(p)
}

/// `POST /api/v1/packages/{id}/acknowledge`.
pub async fn acknowledge(
    store: &Store,
    caller: &Granted<perm::ReceivePackages>,
    id: i64,
) -> Result<(), EngineError> {
    received(store, caller, id).await?;
    Ok(store
        .set_package_state(
            id,
            PackageState::Acknowledged,
            caller.principal().username.as_str(),
        )
        .await?)
}

/// `POST /api/v1/packages/{id}/outcomes`: outcomes for reports the package carries.
pub async fn report_outcomes(
    store: &Store,
    caller: &Granted<perm::ReceivePackages>,
    id: i64,
    outcomes: &[(ReportId, Outcome, Option<String>)],
) -> Result<(), EngineError> {
    let p = received(store, caller, id).await?;
    let carried: Vec<i64> = p
        .manifest
        .get("reports")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|r| r.get("id")?.as_i64()).collect())
        .unwrap_or_default();
    if let Some((r, _, _)) = outcomes.iter().find(|(r, _, _)| !carried.contains(&r.0)) {
        return Err(EngineError::NotFound {
            what: "report in package",
            id: r.to_string(),
        });
    }
    store.add_outcomes(id, outcomes).await?;
    Ok(store
        .set_package_state(
            id,
            PackageState::OutcomeReported,
            caller.principal().username.as_str(),
        )
        .await?)
}
