//! A report's neighbourhood in the linking index: each identifier it carries, and the other
//! reports carrying the same one (IP addresses only within the time window), for the cluster
//! view. Bounded: linking stops indexing an identifier past the fan-out cap, and callers pass a
//! per-identifier limit.

use std::collections::BTreeMap;

use safeguard_domain::linking::KeyKind;
use safeguard_domain::report::ReportId;
use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError};

/// One identifier of a report and who else carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedIdentifier {
    pub kind: KeyKind,
    /// The value, redacted as linking stores it.
    pub value: String,
    /// Hex of the index key.
    pub key_hash: String,
    /// Past the fan-out cap: it links nothing.
    pub too_common: bool,
    /// Reports carrying it in all (the report itself included).
    pub report_count: i64,
    /// Other reports carrying it (IP addresses: within the window), lowest ids first, at most
    /// the limit asked for.
    pub others: Vec<ReportId>,
}

impl Store {
    /// The identifiers of `report` in the linking index and, for each that links, up to
    /// `per_identifier` other reports carrying it. IP addresses count only when the two events
    /// are at most `ip_window_micros` apart.
    pub async fn shared_identifiers(
        &self,
        report: ReportId,
        ip_window_micros: i64,
        per_identifier: usize,
    ) -> Result<Vec<SharedIdentifier>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.key_hash, k.event_at, s.kind, s.redacted, s.too_common, s.report_count \
             FROM link_key k JOIN link_key_stat s ON s.key_hash = k.key_hash WHERE k.report_id = $1",
        )
        .bind(report.0)
        .fetch_all(&self.read)
        .await?;
        // key -> (identifier, event times of this report)
        let mut keys: BTreeMap<Vec<u8>, (SharedIdentifier, Vec<i64>)> = BTreeMap::new();
        for r in &rows {
            let hash: Vec<u8> = r.try_get("key_hash")?;
            let at: Option<i64> = r.try_get("event_at")?;
            let entry = match keys.entry(hash.clone()) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => v.insert((
                    SharedIdentifier {
                        kind: r
                            .try_get::<String, _>("kind")?
                            .parse()
                            .map_err(StoreError::corrupt)?,
                        value: r.try_get("redacted")?,
                        key_hash: hex::encode(&hash),
                        too_common: r.try_get::<i64, _>("too_common")? != 0,
                        report_count: r.try_get("report_count")?,
                        others: Vec::new(),
                    },
                    Vec::new(),
                )),
            };
            if let Some(at) = at {
                entry.1.push(at);
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for (hash, (mut ident, times)) in keys {
            if !ident.too_common {
                let rows = sqlx::query(
                    "SELECT report_id, event_at FROM link_key WHERE key_hash = $1 AND report_id <> $2 \
                     ORDER BY report_id",
                )
                .bind(hash)
                .bind(report.0)
                .fetch_all(&self.read)
                .await?;
                for r in &rows {
                    let other = ReportId(r.try_get("report_id")?);
                    let at: Option<i64> = r.try_get("event_at")?;
                    let in_window = ident.kind != KeyKind::Ip
                        || match at {
                            Some(at) => times.iter().any(|t| (t - at).abs() <= ip_window_micros),
                            None => times.is_empty(),
                        };
                    if in_window && ident.others.last() != Some(&other) {
                        ident.others.push(other);
                        if ident.others.len() >= per_identifier {
                            break;
                        }
                    }
                }
            }
            out.push(ident);
        }
        out.sort_by(|a, b| (a.kind.code(), &a.value).cmp(&(b.kind.code(), &b.value)));
        Ok(out)
    }
}
