//! Jurisdiction, prioritisation and routing of stored reports: geolocate the report's signals,
//! rank candidate countries, apply the priority rules, plan referrals from the routing rule
//! file and store it all (idempotently: re-running adds no duplicate referral).
//!
//! The rule file is TOML (see `config/routing.example.toml` and `docs/jurisdiction.md`); it is
//! re-read when its modification time changes or on [`RulesFile::reload`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use safeguard_domain::account::{perm, Granted, OrgId};
use safeguard_domain::jurisdiction::{
    self, Assessment, GeoQuality, IpFinding, PhoneFinding, Signals, StatedCountry,
};
use safeguard_domain::priority::{self, PriorityAssessment, PriorityInput, Verdict};
use safeguard_domain::report::{Phone, ReportId};
use safeguard_domain::routing::{RoutedCountry, RoutingRules, Skipped};
use safeguard_geo::{Confidence, E164Phone, Geolocator};
use safeguard_store::{
    NewReferral, Referral, RetryPolicy, RoutingRecord, Store, StoreError, StoredReport,
    StoredRouting, JOB_REPORT_FINISHED,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::EngineError;

/// What can go wrong while routing.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The rule file is not valid TOML or does not fit the model.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The rule file parses but breaks a rule (duplicate country, bad code...).
    #[error("{file}: {source}")]
    Rules {
        file: String,
        #[source]
        source: safeguard_domain::routing::RulesError,
    },
    #[error("reading {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The rules name an organisation the database does not have.
    #[error("the routing rules name organisation {0:?}, which does not exist")]
    UnknownOrganisation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parses and validates a rule file's text. `file` names it in errors, which give the line and
/// column of the offending TOML.
pub fn parse_rules(text: &str, file: &str) -> Result<RoutingRules, RoutingError> {
    let rules: RoutingRules = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((0, 0));
        RoutingError::Syntax {
            file: file.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })?;
    rules.validate().map_err(|source| RoutingError::Rules {
        file: file.to_owned(),
        source,
    })
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, column)
}

/// A rule file on disk, re-read when it changes.
#[derive(Debug)]
pub struct RulesFile {
    path: PathBuf,
    loaded: Mutex<(Option<SystemTime>, Arc<RoutingRules>)>,
}

impl RulesFile {
    /// Loads the file; an invalid file is an error here (at start-up).
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, RoutingError> {
        let path = path.into();
        let (mtime, rules) = read_rules(&path)?;
        Ok(Self {
            path,
            loaded: Mutex::new((mtime, Arc::new(rules))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file now. On error the rules in force stay in force.
    pub fn reload(&self) -> Result<Arc<RoutingRules>, RoutingError> {
        let (mtime, rules) = read_rules(&self.path)?;
        let rules = Arc::new(rules);
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        *loaded = (mtime, rules.clone());
        Ok(rules)
    }

    /// The rules in force, re-read first if the file's modification time changed. A changed
    /// file that no longer parses is logged and the previous rules stay in force, so that a bad
    /// edit does not stop routing.
    pub fn current(&self) -> Arc<RoutingRules> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let (known, rules) = {
            let loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
            (loaded.0, loaded.1.clone())
        };
        if mtime.is_some() && mtime != known {
            match self.reload() {
                Ok(fresh) => {
                    tracing::info!(file = %self.path.display(), "routing rules reloaded");
                    return fresh;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "routing rules changed but do not load; keeping the previous rules");
                    let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
                    // Do not retry the same broken version on every call.
                    loaded.0 = mtime;
                }
            }
        }
        rules
    }
}

fn read_rules(path: &Path) -> Result<(Option<SystemTime>, RoutingRules), RoutingError> {
    let file = path.display().to_string();
    let io = |source| RoutingError::Io {
        file: file.clone(),
        source,
    };
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path).map_err(io)?;
    Ok((mtime, parse_rules(&text, &file)?))
}

/// Rules with their organisation names resolved against the database.
#[derive(Debug, Clone)]
pub struct Router {
    pub rules: Arc<RoutingRules>,
    by_name: HashMap<String, OrgId>,
    names: HashMap<OrgId, String>,
    countries: HashMap<OrgId, Option<String>>,
}

impl Router {
    /// Resolves every organisation the rules name; a missing one is an error.
    pub async fn new(store: &Store, rules: Arc<RoutingRules>) -> Result<Self, RoutingError> {
        let orgs = store.list_orgs().await?;
        let by_name: HashMap<String, OrgId> = orgs
            .iter()
            .map(|o| (o.name.as_str().to_owned(), o.id))
            .collect();
        for name in rules.organisation_names() {
            if !by_name.contains_key(name) {
                return Err(RoutingError::UnknownOrganisation(name.to_owned()));
            }
        }
        Ok(Self {
            names: orgs
                .iter()
                .map(|o| (o.id, o.name.as_str().to_owned()))
                .collect(),
            countries: orgs.iter().map(|o| (o.id, o.country.clone())).collect(),
            by_name,
            rules,
        })
    }

    fn org(&self, name: &str) -> Result<OrgId, RoutingError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| RoutingError::UnknownOrganisation(name.to_owned()))
    }
}

/// The outcome of routing one report.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingOutcome {
    pub report_id: ReportId,
    pub assessment: Assessment,
    pub priority: PriorityAssessment,
    pub skipped: Vec<Skipped>,
    /// Every referral of the report after this run (earlier ones included).
    pub referrals: Vec<Referral>,
}

/// Turns a report's identifiers into located signals.
pub fn signals(
    stored: &StoredReport,
    geolocator: &Geolocator,
    reporter_country: Option<String>,
) -> Signals {
    let report = &stored.report;
    let content = &report.content;
    let mut signals = Signals {
        reporter_country,
        incident_time: Some(content.incident.occurred_at),
        ..Signals::default()
    };
    let events = content
        .ip_events()
        .chain(report.files.iter().flat_map(|f| f.ip_events.iter()));
    for event in events {
        let finding = match geolocator.lookup(event.ip) {
            Ok(answer) => IpFinding {
                ip: event.ip,
                at: event.at,
                country: answer.country.map(|c| c.as_str().to_owned()),
                source: answer.source,
                quality: if answer.confidence == Confidence::High {
                    GeoQuality::Refined
                } else {
                    GeoQuality::Registry
                },
                reserved: answer.reserved.map(|r| r.to_string()),
                anonymiser: answer.anonymiser,
                possible_proxy: event.possible_proxy == Some(true),
            },
            Err(e) => IpFinding {
                ip: event.ip,
                at: event.at,
                country: None,
                source: format!("error: {e}"),
                quality: GeoQuality::Registry,
                reserved: None,
                anonymiser: None,
                possible_proxy: event.possible_proxy == Some(true),
            },
        };
        signals.ips.push(finding);
    }
    let phones = content
        .parties
        .iter()
        .flat_map(|p| p.phones.iter())
        .chain(content.channels.iter().flat_map(|c| c.phones.iter()));
    for phone in phones {
        signals.phones.push(locate_phone(phone));
    }
    for (i, party) in content.parties.iter().enumerate() {
        for (j, address) in party.addresses.iter().enumerate() {
            if let Some(country) = &address.country {
                signals.addresses.push(StatedCountry {
                    field: format!("parties[{i}].addresses[{j}].country"),
                    value: country.clone(),
                });
            }
        }
    }
    signals.law_enforcement = content
        .law_enforcement
        .as_ref()
        .and_then(|le| le.legal_process_international_country.clone())
        .map(|value| StatedCountry {
            field: "law_enforcement.legal_process_international_country".into(),
            value,
        });
    signals
}

/// The numbering-plan country of a reported number: E.164 as given, else with the calling code
/// the reporter gave apart.
pub fn locate_phone(phone: &Phone) -> PhoneFinding {
    let shown = match &phone.country_calling_code {
        Some(cc) => format!("{} {}", cc.trim(), phone.number.trim()),
        None => phone.number.trim().to_owned(),
    };
    let parsed =
        E164Phone::parse(&phone.number).or_else(|first| match &phone.country_calling_code {
            Some(cc) => {
                let digits = cc.trim().trim_start_matches('+');
                E164Phone::parse(&format!("+{digits}{}", phone.number.trim()))
            }
            None => Err(first),
        });
    match parsed {
        Ok(number) => PhoneFinding {
            number: number.e164(),
            country: number.country().map(|c| c.as_str().to_owned()),
            why_none: number
                .country()
                .is_none()
                .then(|| "non-geographic calling code".to_owned()),
        },
        Err(e) => PhoneFinding {
            number: shown.chars().take(64).collect(),
            country: None,
            why_none: Some(e.to_string()),
        },
    }
}

/// Routes one report with the known-material verdict unknown yet (`None`).
pub async fn route_report(
    store: &Store,
    geolocator: &Geolocator,
    router: &Router,
    report_id: ReportId,
) -> Result<RoutingOutcome, RoutingError> {
    route_report_with(
        store,
        geolocator,
        router,
        report_id,
        None,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// Routes one report: candidates, priority, referrals, stored in one transaction.
pub async fn route_report_with(
    store: &Store,
    geolocator: &Geolocator,
    router: &Router,
    report_id: ReportId,
    known_material: Option<Verdict>,
    now: OffsetDateTime,
) -> Result<RoutingOutcome, RoutingError> {
    let planned = plan_routing(store, geolocator, router, report_id, known_material, now).await?;
    let all = store.save_routing(&planned.record()).await?;
    Ok(planned.into_outcome(all))
}

/// Routes several reports as [`route_report_with`] would, storing all their results in one
/// transaction (one commit for the batch: the cost that dominates routing one by one). On error
/// nothing of the batch is stored. Outcomes are in the order of `reports`.
pub async fn route_reports_with(
    store: &Store,
    geolocator: &Geolocator,
    router: &Router,
    reports: &[(ReportId, Option<Verdict>)],
    now: OffsetDateTime,
) -> Result<Vec<RoutingOutcome>, RoutingError> {
    let mut planned = Vec::with_capacity(reports.len());
    for &(report_id, known_material) in reports {
        planned
            .push(plan_routing(store, geolocator, router, report_id, known_material, now).await?);
    }
    let records: Vec<RoutingRecord<'_>> = planned.iter().map(Planned::record).collect();
    let all = store.save_routings(&records).await?;
    Ok(planned
        .into_iter()
        .zip(all)
        .map(|(p, referrals)| p.into_outcome(referrals))
        .collect())
}

/// One report's routing decided, not yet stored.
struct Planned {
    report_id: ReportId,
    assessment: Assessment,
    priority: PriorityAssessment,
    skipped: Vec<Skipped>,
    referrals: Vec<NewReferral>,
}

impl Planned {
    fn record(&self) -> RoutingRecord<'_> {
        RoutingRecord {
            report_id: self.report_id,
            actor: "routing",
            assessment: &self.assessment,
            priority: &self.priority,
            skipped: &self.skipped,
            referrals: &self.referrals,
        }
    }

    fn into_outcome(self, referrals: Vec<Referral>) -> RoutingOutcome {
        RoutingOutcome {
            report_id: self.report_id,
            assessment: self.assessment,
            priority: self.priority,
            skipped: self.skipped,
            referrals,
        }
    }
}

async fn plan_routing(
    store: &Store,
    geolocator: &Geolocator,
    router: &Router,
    report_id: ReportId,
    known_material: Option<Verdict>,
    now: OffsetDateTime,
) -> Result<Planned, RoutingError> {
    let stored = store.report(report_id).await?;
    let report = &stored.report;
    let reporter_country = router
        .countries
        .get(&report.reporter_org)
        .cloned()
        .flatten();
    let assessment = jurisdiction::assess(&signals(&stored, geolocator, reporter_country));
    let shared = store.earlier_reports_sharing_identifier(report_id).await?;
    let priority = priority::assess(
        &PriorityInput {
            report: &report.content,
            files: &report.files,
            known_material,
            earlier_reports_sharing_identifier: shared,
            now,
        },
        &router.rules.priority,
    );
    let plan = router.rules.plan(
        &assessment.candidates,
        report.content.incident.incident_type,
        priority.priority,
    );
    let mut referrals = Vec::with_capacity(plan.referrals.len());
    for planned in &plan.referrals {
        referrals.push(NewReferral {
            from_org: stored.holder_org,
            to_org: router.org(&planned.first_hop)?,
            via_org: None,
            reason: planned.reason(),
            due_at: planned.due_in.map(|d| now + d),
            route: planned.routes.clone(),
        });
    }
    Ok(Planned {
        report_id,
        assessment,
        priority,
        skipped: plan.skipped,
        referrals,
    })
}

/// An intermediary passes a referral it holds to the next organisation(s) on its routes. The
/// onward referral records the intermediary as `via`; the held one becomes `forwarded`.
pub async fn forward_referral(
    store: &Store,
    router: &Router,
    referral: &Referral,
) -> Result<Vec<Referral>, RoutingError> {
    let holder = router
        .names
        .get(&referral.to_org)
        .cloned()
        .unwrap_or_default();
    let mut onward: Vec<(String, Vec<RoutedCountry>)> = Vec::new();
    for route in &referral.route {
        if route.path.first() != Some(&holder) || route.path.len() < 2 {
            continue;
        }
        let rest = RoutedCountry {
            path: route.path[1..].to_vec(),
            ..route.clone()
        };
        let next = rest.path[0].clone();
        match onward.iter_mut().find(|(n, _)| *n == next) {
            Some((_, routes)) => routes.push(rest),
            None => onward.push((next, vec![rest])),
        }
    }
    let mut all = Vec::new();
    for (next, routes) in onward {
        let reason = format!("forwarded by {holder}");
        all = store
            .forward_referral(referral.id, router.org(&next)?, &routes, &reason)
            .await?;
    }
    Ok(all)
}

/// What one pass over the job queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobsProcessed {
    pub routed: u64,
    pub failed: u64,
}

/// How long a claimed routing job stays leased to its worker: if the node dies, another node
/// claims the job once the lease has expired.
pub const DEFAULT_LEASE: time::Duration = time::Duration::minutes(5);

/// Routes every due `report.finished` job, in batches, until none is left. A job that fails is
/// released with its error and retried later with exponential backoff, and parked after
/// [`RetryPolicy::default`]'s maximum number of tries.
pub async fn process_finished_jobs(
    store: &Store,
    geolocator: &Geolocator,
    rules: &RulesFile,
    worker: &str,
) -> Result<JobsProcessed, RoutingError> {
    process_finished_jobs_leased(store, geolocator, rules, worker, DEFAULT_LEASE).await
}

/// [`process_finished_jobs`] with the lease given.
pub async fn process_finished_jobs_leased(
    store: &Store,
    geolocator: &Geolocator,
    rules: &RulesFile,
    worker: &str,
    lease: time::Duration,
) -> Result<JobsProcessed, RoutingError> {
    let mut done = JobsProcessed::default();
    let policy = RetryPolicy::default();
    loop {
        let router = Router::new(store, rules.current()).await?;
        let jobs = store
            .claim_jobs(JOB_REPORT_FINISHED, worker, 20, lease)
            .await?;
        if jobs.is_empty() {
            return Ok(done);
        }
        for job in jobs {
            match route_report(store, geolocator, &router, ReportId(job.subject_id)).await {
                Ok(_) => {
                    store.complete_job(job.id).await?;
                    done.routed += 1;
                }
                Err(e) => {
                    let parked = store.retry_job(&job, &e.to_string(), &policy).await?;
                    tracing::warn!(job = job.id, report = job.subject_id, parked, error = %e, "routing failed");
                    done.failed += 1;
                }
            }
        }
    }
}

/// A worker name unique per node and process: host name, process id and a random suffix. It
/// is written into the leases this process holds (`job.locked_by`).
pub fn node_worker_id(role: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!(
        "{role}@{host}:{}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Runs [`process_finished_jobs`] every `interval` until `shutdown` resolves: the background
/// worker that routes reports submitted through the API or finished through intake.
pub async fn run_worker(
    store: Store,
    geolocator: Arc<Geolocator>,
    rules: Arc<RulesFile>,
    interval: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    run_worker_leased(store, geolocator, rules, interval, DEFAULT_LEASE, shutdown).await
}

/// [`run_worker`] with the lease given (shorter leases hand a dead node's jobs over sooner).
pub async fn run_worker_leased(
    store: Store,
    geolocator: Arc<Geolocator>,
    rules: Arc<RulesFile>,
    interval: std::time::Duration,
    lease: time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let worker = node_worker_id("routing");
    tracing::info!(worker = %worker, "routing worker started");
    tokio::pin!(shutdown);
    loop {
        if let Err(e) =
            process_finished_jobs_leased(&store, &geolocator, &rules, &worker, lease).await
        {
            tracing::warn!(error = %e, "routing worker pass failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {},
        }
    }
}

/// The stored jurisdiction, priority and referrals of a report the caller may see (not found
/// otherwise), with the read written to the audit log. `None` when the report was not routed
/// yet.
pub async fn read_routing(
    store: &Store,
    caller: &Granted<perm::ReadReports>,
    id: ReportId,
) -> Result<Option<StoredRouting>, EngineError> {
    let principal = caller.principal();
    if !store.can_see_report(principal.org, id).await? {
        return Err(EngineError::NotFound {
            what: "report",
            id: id.to_string(),
        });
    }
    store
        .append_audit(&safeguard_domain::audit::AuditEvent {
            actor_user: Some(principal.user.0),
            actor: principal.username.to_string(),
            action: "report.read_jurisdiction".into(),
            object_kind: "report".into(),
            object_id: id.to_string(),
            detail: String::new(),
        })
        .await?;
    Ok(store.routing(id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text = "min_confidence = 0.3\n\n[[route]]\ncountries = [\"DE\"]\nto = 5\n";
        match parse_rules(text, "rules.toml") {
            Err(RoutingError::Syntax { line, column, .. }) => {
                assert_eq!((line, column), (5, 6));
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let unknown = "[[route]]\ncountries = [\"DE\"]\nto = \"A\"\ncolour = 1\n";
        let e = parse_rules(unknown, "rules.toml").expect_err("unknown field");
        assert!(e.to_string().starts_with("rules.toml:4:"), "{e}");
        let semantic = "[[route]]\ncountries = [\"Germany\"]\nto = \"A\"\n";
        let e = parse_rules(semantic, "rules.toml").expect_err("bad code");
        assert!(e.to_string().contains("route[0].countries[0]"), "{e}");
    }

    #[test]
    fn phones_are_located_with_a_separate_calling_code() {
        let given = locate_phone(&Phone {
            number: "30 901820".into(),
            country_calling_code: Some("+49".into()),
            verified: None,
        });
        assert_eq!(given.country.as_deref(), Some("DE"), "{given:?}");
        let bare = locate_phone(&Phone {
            number: "0301234567".into(),
            country_calling_code: None,
            verified: None,
        });
        assert_eq!(bare.country, None);
        assert!(bare.why_none.is_some());
    }

    #[test]
    fn the_bundled_example_rules_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/routing.example.toml");
        let rules = RulesFile::load(&path).expect("example loads");
        let current = rules.current();
        assert!(current
            .routes
            .iter()
            .any(|r| r.countries.contains(&"DE".to_owned())));
    }
}
