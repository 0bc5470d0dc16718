//! A report's neighbourhood for the cluster view: each identifier it carries and the reports
//! the caller may see that carry it too (the reason of each link), with the reports it may not
//! see counted, never named.

use std::collections::BTreeMap;

use safeguard_domain::account::{perm, Granted};
use safeguard_domain::linking::KeyKind;
use safeguard_domain::report::ReportId;
use safeguard_store::{LinkSettings, Store};
use serde::Serialize;

use crate::EngineError;

/// Other reports fetched per identifier (linking caps an identifier at 50 reports anyway).
pub const PER_IDENTIFIER: usize = 25;

/// One identifier of the report, as the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphIdentifier {
    pub kind: KeyKind,
    /// Redacted value.
    pub value: String,
    /// Past the fan-out cap: carried by too many reports to link anything.
    pub too_common: bool,
    /// Reports carrying it in all, this one included.
    pub report_count: i64,
    /// Other reports carrying it that the caller may see.
    pub visible: Vec<ReportId>,
    /// Other reports carrying it that the caller may not see, or beyond the page.
    pub not_shown: i64,
}

/// The report, its cluster and its identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportGraph {
    pub report: ReportId,
    pub cluster_id: Option<i64>,
    pub identifiers: Vec<GraphIdentifier>,
}

/// The neighbourhood of `report`; not found when the caller may not see the report.
pub async fn report_graph(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    report: ReportId,
) -> Result<ReportGraph, EngineError> {
    let org = caller.principal().org;
    if !store.can_see_report(org, report).await? {
        return Err(EngineError::NotFound {
            what: "report",
            id: report.to_string(),
        });
    }
    let window = LinkSettings::default().ip_window_micros;
    let shared = store
        .shared_identifiers(report, window, PER_IDENTIFIER)
        .await?;
    let mut seen: BTreeMap<ReportId, bool> = BTreeMap::new();
    let mut identifiers = Vec::with_capacity(shared.len());
    for s in shared {
        let mut visible = Vec::new();
        for other in &s.others {
            let ok = match seen.get(other) {
                Some(ok) => *ok,
                None => {
                    let ok = store.can_see_report(org, *other).await?;
                    seen.insert(*other, ok);
                    ok
                }
            };
            if ok {
                visible.push(*other);
            }
        }
        let not_shown = if s.too_common {
            0
        } else {
            (s.report_count - 1 - visible.len() as i64).max(0)
        };
        identifiers.push(GraphIdentifier {
            kind: s.kind,
            value: s.value,
            too_common: s.too_common,
            report_count: s.report_count,
            visible,
            not_shown,
        });
    }
    Ok(ReportGraph {
        report,
        cluster_id: store.cluster_id(report).await?,
        identifiers,
    })
}
