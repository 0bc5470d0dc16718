//! Intelligence packages: for one recipient organisation, the reports referred to it with their
//! clusters, alerts and ISP subscriber requests, as one signed zip file. See `docs/packages.md`.
//!
//! The zip holds `package.json` (schema `safeguard.package.v1`), `report.html` (readable,
//! printable), `isp/requests.csv` and `isp/letter-<operator>.txt`. The whole file's bytes are
//! signed with the instance's Ed25519 key; the signature travels beside it as `FILE.sig`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use base64::Engine as _;
/// The instance's Ed25519 signing key (re-exported for the server's state).
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use safeguard_domain::account::OrgId;
use safeguard_domain::linking::normalise_ip;
use safeguard_domain::report::{IpEvent, ReportId};
use safeguard_geo::Geolocator;
use safeguard_store::{PackageState, Store};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::EngineError;

/// The schema name every package document carries.
pub const SCHEMA: &str = "safeguard.package.v1";

/// Why a package or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("signature does not match: the file was changed or signed by another key")]
    BadSignature,
    #[error("malformed signature file: {0}")]
    MalformedSignature(&'static str),
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
    #[error("signing key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

// ---------------------------------------------------------------------------------------------
// Signing keys

/// Loads the instance's signing key from `path` (32-byte seed, hex), creating it (mode 0600) if
/// absent. Returns the key and whether it was created now.
pub fn load_or_create_signing_key(path: &Path) -> Result<(SigningKey, bool), PackageError> {
    let key_err = |reason: String| PackageError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|_| key_err("not hex".into()))?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| key_err("not 32 bytes".into()))?;
            Ok((SigningKey::from_bytes(&seed), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            remove_stale_temp_keys(path);
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            // Written whole to a temporary file, then linked to its name (never replacing a
            // key another process created meanwhile): a crash (kill -9, power loss) leaves
            // either no key file or a complete one, never an empty key that would fail every
            // later start.
            let mut temp_name = path.as_os_str().to_owned();
            temp_name.push(format!(
                ".tmp-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            let temp = std::path::PathBuf::from(temp_name);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let written = (|| {
                let mut file = options.open(&temp)?;
                file.write_all(hex::encode(key.to_bytes()).as_bytes())?;
                file.write_all(b"\n")?;
                file.sync_all()?;
                std::fs::hard_link(&temp, path)
            })();
            let _ = std::fs::remove_file(&temp);
            match written {
                Ok(()) => {
                    if let Some(dir) = path.parent() {
                        std::fs::File::open(dir)?.sync_all()?;
                    }
                    Ok((key, true))
                }
                // Another process created it first: use that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_signing_key(path)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(key_err(e.to_string())),
    }
}

/// Removes the temporary files a creation interrupted by a crash left beside the key file
/// (they hold a key that was never used).
fn remove_stale_temp_keys(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let mut prefix = name.to_owned();
    prefix.push(".tmp-");
    let prefix = prefix.to_string_lossy().into_owned();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A public key as published: 64 hex digits or standard base64 of the 32 bytes.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, PackageError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| PackageError::MalformedKey("bad hex"))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| PackageError::MalformedKey("neither 64 hex digits nor base64"))?
    };
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| PackageError::MalformedKey("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| PackageError::MalformedKey("not a curve point"))
}

/// The detached signature file's content: `ed25519 <base64 signature>\n`.
pub fn sign_file(key: &SigningKey, bytes: &[u8]) -> String {
    let signature = key.sign(bytes);
    format!(
        "ed25519 {}\n",
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    )
}

/// Verifies a package file's bytes against its detached signature and the sender's public key.
pub fn verify_file(
    bytes: &[u8],
    signature_file: &str,
    key: &VerifyingKey,
) -> Result<(), PackageError> {
    let encoded =
        signature_file
            .trim()
            .strip_prefix("ed25519 ")
            .ok_or(PackageError::MalformedSignature(
                "expected `ed25519 <base64>`",
            ))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| PackageError::MalformedSignature("not base64"))?;
    let raw: [u8; 64] = raw
        .try_into()
        .map_err(|_| PackageError::MalformedSignature("not 64 bytes"))?;
    key.verify_strict(bytes, &Signature::from_bytes(&raw))
        .or_else(|_| key.verify(bytes, &Signature::from_bytes(&raw)))
        .map_err(|_| PackageError::BadSignature)
}

// ---------------------------------------------------------------------------------------------
// Network operators (geolocation) and ISP requests

/// A network operator as the geolocation crate names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Operator {
    pub asn: Option<u32>,
    pub name: String,
}

/// Who operates an address (implemented over `safeguard-geo` by the caller).
pub trait OperatorLookup {
    fn operator(&self, ip: IpAddr) -> Option<Operator>;
}

/// No geolocation: every address goes to "unknown operator".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOperators;

impl OperatorLookup for NoOperators {
    fn operator(&self, _ip: IpAddr) -> Option<Operator> {
        None
    }
}

/// Operators from the geolocation data: the AS number and name from the first configured MMDB
/// ASN database that knows the address, else from the bundled IP-to-ASN table (see
/// [`Geolocator::lookup`]). Reserved ranges (private, CGNAT, documentation…) have no operator.
impl OperatorLookup for Geolocator {
    fn operator(&self, ip: IpAddr) -> Option<Operator> {
        let answer = self.lookup(ip).ok()?;
        if answer.reserved.is_some() {
            return None;
        }
        match (answer.asn, answer.operator) {
            (asn, Some(name)) if !name.trim().is_empty() => Some(Operator {
                asn,
                name: name.trim().to_owned(),
            }),
            (Some(asn), _) => Some(Operator {
                asn: Some(asn),
                name: format!("AS{asn}"),
            }),
            _ => None,
        }
    }
}

/// One IP at one time to ask an operator about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IspRequestItem {
    pub ip: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub port: Option<u16>,
    pub reports: Vec<i64>,
}

/// The requests to one operator, deduplicated by (IP, time, port), with their cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IspRequest {
    pub operator: Operator,
    pub items: Vec<IspRequestItem>,
    pub cost_per_ip_cents: i64,
    pub currency: String,
    pub cost_cents: i64,
}

/// One request line's identity: IP, UTC time in nanoseconds, port.
type ItemKey = (String, i128, Option<u16>);

/// Groups IP events (with times) by operator; events without a time cannot be asked about.
pub fn isp_requests(
    events: &[(ReportId, IpEvent)],
    operators: &(dyn OperatorLookup + Sync),
    costs: &[(String, i64, String)],
) -> Vec<IspRequest> {
    let mut grouped: BTreeMap<Operator, BTreeMap<ItemKey, IspRequestItem>> = BTreeMap::new();
    for (report, ev) in events {
        let Some(at) = ev.at else { continue };
        let operator = operators.operator(ev.ip).unwrap_or(Operator {
            asn: None,
            name: "unknown operator".into(),
        });
        let ip = normalise_ip(ev.ip);
        let at = at.to_offset(time::UtcOffset::UTC);
        let item = grouped
            .entry(operator)
            .or_default()
            .entry((ip.clone(), at.unix_timestamp_nanos(), ev.port))
            .or_insert_with(|| IspRequestItem {
                ip,
                at,
                port: ev.port,
                reports: Vec::new(),
            });
        if !item.reports.contains(&report.0) {
            item.reports.push(report.0);
        }
    }
    grouped
        .into_iter()
        .map(|(operator, items)| {
            let (cost_per_ip_cents, currency) = costs
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(&operator.name))
                .map(|(_, c, cur)| (*c, cur.clone()))
                .unwrap_or((0, "EUR".into()));
            let items: Vec<IspRequestItem> = items.into_values().collect();
            IspRequest {
                cost_cents: cost_per_ip_cents * items.len() as i64,
                operator,
                items,
                cost_per_ip_cents,
                currency,
            }
        })
        .collect()
}

/// CSV of all requests: operator, ASN, IP, time (RFC 3339 UTC), port, report ids.
pub fn isp_csv(requests: &[IspRequest]) -> String {
    let mut out = String::from("operator,asn,ip,time_utc,port,reports\n");
    for r in requests {
        for i in &r.items {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                csv_field(&r.operator.name),
                r.operator.asn.map(|a| a.to_string()).unwrap_or_default(),
                i.ip,
                rfc3339(i.at),
                i.port.map(|p| p.to_string()).unwrap_or_default(),
                csv_field(
                    &i.reports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ));
        }
    }
    out
}

fn csv_field(text: &str) -> String {
    // Quote always when needed; neutralise spreadsheet formulas.
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A plain-text request letter to one operator.
pub fn isp_letter(request: &IspRequest, from: &str, package_uid: &str) -> String {
    let mut out = format!(
        "To: {}{}\nFrom: {from}\nReference: package {package_uid}\n\n\
         Request for subscriber information\n\n\
         Please identify the subscriber to whom each of the following IP addresses was assigned\n\
         at the time given (UTC). This request concerns the investigation of child sexual\n\
         exploitation; please do not notify the subscriber.\n\n",
        request.operator.name,
        request
            .operator
            .asn
            .map(|a| format!(" (AS{a})"))
            .unwrap_or_default()
    );
    for (n, item) in request.items.iter().enumerate() {
        out.push_str(&format!(
            "{:>4}. {}  {}{}\n",
            n + 1,
            item.ip,
            rfc3339(item.at),
            item.port.map(|p| format!("  port {p}")).unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\n{} address(es). Agreed cost: {}.{:02} {} per address, {}.{:02} {} in total.\n",
        request.items.len(),
        request.cost_per_ip_cents / 100,
        request.cost_per_ip_cents % 100,
        request.currency,
        request.cost_cents / 100,
        request.cost_cents % 100,
        request.currency
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// The package document

/// One report in a package, minimised to what the recipient may see.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageReport {
    pub id: i64,
    pub uid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub priority: Option<String>,
    pub content: safeguard_domain::report::NewReport,
    pub files: Vec<PackageFile>,
    pub cluster: PackageCluster,
    pub bundles: Vec<i64>,
    /// Filled by the geolocation step when it runs (typed slot; `null` until then).
    pub geolocation: Option<serde_json::Value>,
    /// Filled by known-material matching when it runs (typed slot; `null` until then).
    pub known_material: Option<serde_json::Value>,
}

/// A file's identity (the media never travel in the package).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageFile {
    pub sha256: String,
    pub md5: String,
    pub size: u64,
    pub media_type: Option<String>,
}

/// A report's cluster as the recipient sees it: links only among its own reports; the number of
/// linked reports elsewhere, never their ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageCluster {
    pub cluster_id: Option<i64>,
    pub reports_in_package: Vec<i64>,
    pub links: Vec<PackageLink>,
    pub linked_reports_elsewhere: i64,
}

/// A link reason between two of the recipient's reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageLink {
    pub report_a: i64,
    pub report_b: i64,
    pub kind: String,
    pub value: String,
}

/// The package document (`package.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageDocument {
    pub schema: String,
    pub package_uid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub from_org: String,
    pub to_org: String,
    pub reports: Vec<PackageReport>,
    pub alerts: Vec<safeguard_store::DeconflictionAlert>,
    pub isp_requests: Vec<IspRequest>,
    pub isp_cost_total_cents: i64,
}

/// A built package: its id, its zip bytes and the detached signature.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    pub id: i64,
    pub document: PackageDocument,
    pub zip: Vec<u8>,
    pub signature: String,
}

/// Most referrals one package carries; more wait for the next package.
pub const MAX_REPORTS_PER_PACKAGE: i64 = 500;

/// Builds, stores (as a draft) and signs a package for `to_org`: the reports `from_org`
/// referred to it that no package carries yet (at most [`MAX_REPORTS_PER_PACKAGE`]). Each
/// referral goes into one package only; with none waiting, nothing is built (a conflict).
pub async fn build_package(
    store: &Store,
    from_org: OrgId,
    to_org: OrgId,
    operators: &(dyn OperatorLookup + Sync),
    key: &SigningKey,
    actor: &str,
) -> Result<BuiltPackage, EngineError> {
    if from_org == to_org {
        return Err(EngineError::Conflict(
            "a package goes to another organisation".into(),
        ));
    }
    let waiting = store
        .waiting_referrals(from_org, to_org, MAX_REPORTS_PER_PACKAGE)
        .await?;
    if waiting.is_empty() {
        let to = store.org(to_org).await?;
        return Err(EngineError::Conflict(format!(
            "no referral to {} is waiting for a package",
            to.name
        )));
    }
    let referral_ids: Vec<i64> = waiting.iter().map(|(id, _)| *id).collect();
    let mut ids: Vec<ReportId> = waiting.iter().map(|(_, r)| *r).collect();
    ids.dedup();
    build_package_inner(
        store,
        from_org,
        to_org,
        &ids,
        &referral_ids,
        operators,
        key,
        actor,
    )
    .await
}

/// Builds, stores (as a draft) and signs a package for `to_org` holding the reports `ids` (the
/// federation sends one package per referral that reaches a national agency). The referrals
/// from `from_org` to `to_org` of those reports that no package carries yet are marked as
/// carried by it.
pub async fn build_package_of(
    store: &Store,
    from_org: OrgId,
    to_org: OrgId,
    ids: &[ReportId],
    operators: &(dyn OperatorLookup + Sync),
    key: &SigningKey,
    actor: &str,
) -> Result<BuiltPackage, EngineError> {
    let wanted: BTreeSet<i64> = ids.iter().map(|r| r.0).collect();
    let referral_ids: Vec<i64> = store
        .waiting_referrals(from_org, to_org, i64::MAX)
        .await?
        .into_iter()
        .filter(|(_, r)| wanted.contains(&r.0))
        .map(|(id, _)| id)
        .collect();
    build_package_inner(
        store,
        from_org,
        to_org,
        ids,
        &referral_ids,
        operators,
        key,
        actor,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn build_package_inner(
    store: &Store,
    from_org: OrgId,
    to_org: OrgId,
    ids: &[ReportId],
    referral_ids: &[i64],
    operators: &(dyn OperatorLookup + Sync),
    key: &SigningKey,
    actor: &str,
) -> Result<BuiltPackage, EngineError> {
    let from = store.org(from_org).await?;
    let to = store.org(to_org).await?;
    let in_package: BTreeSet<i64> = ids.iter().map(|r| r.0).collect();
    let mut reports = Vec::new();
    let mut events = Vec::new();
    for id in ids {
        let stored = store.report(*id).await?;
        let r = &stored.report;
        for p in &r.content.parties {
            events.extend(p.ip_events.iter().map(|e| (*id, e.clone())));
        }
        for c in &r.content.channels {
            events.extend(c.ip_events.iter().map(|e| (*id, e.clone())));
        }
        for f in &r.files {
            events.extend(f.ip_events.iter().map(|e| (*id, e.clone())));
        }
        let view = store.cluster_of_report(*id, 10_000).await?;
        let cluster = match view {
            Some(v) => PackageCluster {
                cluster_id: Some(v.cluster_id),
                reports_in_package: v
                    .reports
                    .iter()
                    .map(|r| r.0)
                    .filter(|r| in_package.contains(r))
                    .collect(),
                links: v
                    .links
                    .iter()
                    .filter(|l| {
                        in_package.contains(&l.report_a.0) && in_package.contains(&l.report_b.0)
                    })
                    .map(|l| PackageLink {
                        report_a: l.report_a.0,
                        report_b: l.report_b.0,
                        kind: l.kind.code().to_owned(),
                        value: l.value.clone(),
                    })
                    .collect(),
                linked_reports_elsewhere: v.size
                    - v.reports
                        .iter()
                        .filter(|r| in_package.contains(&r.0))
                        .count() as i64,
            },
            None => PackageCluster {
                cluster_id: None,
                reports_in_package: vec![id.0],
                links: Vec::new(),
                linked_reports_elsewhere: 0,
            },
        };
        reports.push(PackageReport {
            id: id.0,
            uid: r.uid.to_string(),
            received_at: r.received_at,
            priority: r.priority.map(|p| p.code().to_owned()),
            content: r.content.clone(),
            files: r
                .files
                .iter()
                .map(|f| PackageFile {
                    sha256: f.digests.sha256.to_hex(),
                    md5: f.digests.md5.to_hex(),
                    size: f.size,
                    media_type: f.media_type.clone(),
                })
                .collect(),
            cluster,
            bundles: store.bundles_of_report(*id).await?,
            geolocation: None,
            known_material: None,
        });
    }
    let costs = store.isp_costs().await?;
    let requests = isp_requests(&events, operators, &costs);
    let total: i64 = requests.iter().map(|r| r.cost_cents).sum();
    let document = PackageDocument {
        schema: SCHEMA.into(),
        package_uid: uuid::Uuid::now_v7().to_string(),
        created_at: OffsetDateTime::now_utc(),
        from_org: from.name.to_string(),
        to_org: to.name.to_string(),
        reports,
        alerts: store.alerts_for(to_org, 1_000).await?,
        isp_requests: requests,
        isp_cost_total_cents: total,
    };
    let manifest = serde_json::to_value(&document)
        .map_err(|e| EngineError::Conflict(format!("package document: {e}")))?;
    // The file is made before the row, and its hash stored with it in one transaction: a
    // crash (kill -9) leaves either no package or a complete one whose file can be exported
    // again byte for byte (`safeguard package export`).
    let zip =
        package_zip(&document).map_err(|e| EngineError::Conflict(format!("package file: {e}")))?;
    let sha: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&zip).into()
    };
    let id = store
        .insert_package_for_referrals(
            &document.package_uid,
            from_org,
            to_org,
            &manifest,
            total,
            Some(&sha),
            actor,
            referral_ids,
        )
        .await?;
    let signature = sign_file(key, &zip);
    Ok(BuiltPackage {
        id,
        document,
        zip,
        signature,
    })
}

/// Moves a package along its life (approve, send, acknowledge, outcome reported).
pub async fn advance(
    store: &Store,
    id: i64,
    next: PackageState,
    actor: &str,
) -> Result<(), EngineError> {
    Ok(store.set_package_state(id, next, actor).await?)
}

/// Writes the zip: `package.json`, `report.html`, `isp/requests.csv`, one letter per operator.
/// Entries have a fixed timestamp so that the same document gives the same bytes.
pub fn package_zip(doc: &PackageDocument) -> Result<Vec<u8>, PackageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        zip.start_file("package.json", options)?;
        zip.write_all(&serde_json::to_vec_pretty(doc)?)?;
        zip.start_file("report.html", options)?;
        zip.write_all(html_report(doc).as_bytes())?;
        zip.start_file("isp/requests.csv", options)?;
        zip.write_all(isp_csv(&doc.isp_requests).as_bytes())?;
        for (n, r) in doc.isp_requests.iter().enumerate() {
            let slug: String = r
                .operator
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .take(40)
                .collect();
            zip.start_file(format!("isp/letter-{:02}-{slug}.txt", n + 1), options)?;
            zip.write_all(isp_letter(r, &doc.from_org, &doc.package_uid).as_bytes())?;
        }
        zip.finish()?;
    }
    Ok(out.into_inner())
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The readable report: one page per report when printed.
pub fn html_report(doc: &PackageDocument) -> String {
    let mut h = String::new();
    h.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Intelligence package {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#111}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:.2em .5em;text-align:left}}.report{{margin-top:2em}}\
         @media print{{body{{margin:0;font-size:10pt}}.report{{page-break-before:always}}a{{color:#000}}}}</style>\
         </head><body><h1>Intelligence package</h1><p>Package {} &middot; from {} to {} &middot; schema {}</p>",
        esc(&doc.package_uid),
        esc(&doc.package_uid),
        esc(&doc.from_org),
        esc(&doc.to_org),
        esc(&doc.schema)
    ));
    h.push_str(&format!(
        "<p>{} report(s), {} deconfliction alert(s), {} ISP request(s), ISP cost {}.{:02}</p>",
        doc.reports.len(),
        doc.alerts.len(),
        doc.isp_requests.len(),
        doc.isp_cost_total_cents / 100,
        doc.isp_cost_total_cents % 100
    ));
    if !doc.alerts.is_empty() {
        h.push_str("<h2>Deconfliction</h2><table><tr><th>Identifier</th><th>Your reports</th><th>Other organisations</th></tr>");
        for a in &doc.alerts {
            h.push_str(&format!(
                "<tr><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.kind),
                esc(&a.value),
                a.own_reports
                    .iter()
                    .map(|r| r.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                a.other_org_count
            ));
        }
        h.push_str("</table>");
    }
    for r in &doc.reports {
        h.push_str(&format!(
            "<section class=\"report\"><h2>Report {} ({})</h2><p>Type: {} &middot; received {} &middot; priority {}</p>",
            r.id,
            esc(&r.uid),
            esc(r.content.incident.incident_type.code()),
            esc(&rfc3339(r.received_at)),
            esc(r.priority.as_deref().unwrap_or("not set"))
        ));
        for p in &r.content.parties {
            h.push_str(&format!("<h3>{}</h3><ul>", esc(p.role.code())));
            let mut item = |label: &str, value: &str| {
                h.push_str(&format!("<li>{}: {}</li>", esc(label), esc(value)));
            };
            if let Some(s) = &p.screen_name {
                item("screen name", s);
            }
            if let Some(s) = &p.esp_identifier {
                item("user id", s);
            }
            for e in &p.emails {
                item("e-mail", e);
            }
            for ph in &p.phones {
                item("phone", &ph.number);
            }
            for ev in &p.ip_events {
                item(
                    "IP",
                    &format!(
                        "{} {}",
                        ev.ip,
                        ev.at.map(rfc3339).unwrap_or_else(|| "(no time)".into())
                    ),
                );
            }
            h.push_str("</ul>");
        }
        if !r.files.is_empty() {
            h.push_str("<h3>Files</h3><table><tr><th>SHA-256</th><th>MD5</th><th>Size</th></tr>");
            for f in &r.files {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&f.sha256),
                    esc(&f.md5),
                    f.size
                ));
            }
            h.push_str("</table>");
        }
        h.push_str(&format!(
            "<h3>Linked reports</h3><p>In this package: {}; elsewhere: {}</p>",
            r.cluster
                .reports_in_package
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            r.cluster.linked_reports_elsewhere
        ));
        if !r.cluster.links.is_empty() {
            h.push_str("<table><tr><th>Report</th><th>Report</th><th>Shared</th></tr>");
            for l in &r.cluster.links {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                    l.report_a,
                    l.report_b,
                    esc(&l.kind),
                    esc(&l.value)
                ));
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }
    if !doc.isp_requests.is_empty() {
        h.push_str("<section class=\"report\"><h2>ISP subscriber requests</h2>");
        for r in &doc.isp_requests {
            h.push_str(&format!(
                "<h3>{}</h3><table><tr><th>IP</th><th>Time (UTC)</th><th>Port</th><th>Reports</th></tr>",
                esc(&r.operator.name)
            ));
            for i in &r.items {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&i.ip),
                    esc(&rfc3339(i.at)),
                    i.port.map(|p| p.to_string()).unwrap_or_default(),
                    i.reports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }
    h.push_str("</body></html>\n");
    h
}
