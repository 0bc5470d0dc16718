//! Routing rules: which organisation receives a report for each candidate country, through
//! which intermediaries, with which deadline; what happens to countries no rule covers; which
//! organisations accept which reports.
//!
//! The model deserialises from the routing TOML file (loading, with line numbers in errors, is
//! the engine's); evaluation is pure: candidates + incident type + priority → a plan of
//! referrals.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::Duration;

use crate::jurisdiction::{normalise_country, Candidate};
use crate::priority::PriorityPolicy;
use crate::report::{IncidentType, Priority};

/// The whole rule file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    /// Candidates below this confidence are not routed (default 0.3).
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// At most this many countries per report are routed, best first (default 3).
    #[serde(default = "default_max_countries")]
    pub max_countries: usize,
    /// Deadlines per priority.
    #[serde(default)]
    pub due: DueDates,
    /// Country → organisation rules (`[[route]]`).
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    /// Where reports go that no route covers.
    #[serde(default)]
    pub fallback: Fallback,
    /// What organisations accept (`[[organisation]]`).
    #[serde(default, rename = "organisation")]
    pub organisations: Vec<OrgFilter>,
    /// Priority thresholds (`[priority]`); defaults when absent.
    #[serde(default)]
    pub priority: PriorityPolicy,
}

fn default_min_confidence() -> f64 {
    0.3
}

fn default_max_countries() -> usize {
    3
}

/// Countries → one receiving organisation, optionally through intermediaries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    /// The receiving organisation, by name.
    pub to: String,
    /// Intermediaries, first hop first (e.g. a regional coordinator). The referral goes to the
    /// first; each forwards to the next.
    #[serde(default)]
    pub via: Vec<String>,
}

/// A destination without a country rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub to: String,
    #[serde(default)]
    pub via: Vec<String>,
}

/// Fallback destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// For a candidate country that has no route (e.g. an INTERPOL-like organisation).
    #[serde(default)]
    pub unknown_country: Option<Target>,
    /// When the report gets no routed country at all (no signal, or nothing confident enough,
    /// or every target declined): e.g. the hotline's own queue.
    #[serde(default)]
    pub no_jurisdiction: Option<Target>,
}

/// What one organisation accepts. Organisations without an entry accept everything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFilter {
    pub name: String,
    /// Incident types accepted; absent means all.
    #[serde(default)]
    pub incident_types: Option<Vec<IncidentType>>,
    /// The least urgent priority accepted (`p2` accepts P1 and P2); absent means all.
    #[serde(default)]
    pub least_urgent: Option<Priority>,
}

/// A duration written `36h`, `7d` or `90m` in the rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueIn(pub Duration);

impl<'de> Deserialize<'de> for DueIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(DueIn)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses `<n>m`, `<n>h` or `<n>d` (n a positive integer).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("{t:?} is not a duration like \"24h\", \"7d\" or \"90m\"");
    let unit = t.chars().last().ok_or_else(bad)?;
    let number = &t[..t.len() - unit.len_utf8()];
    let n: i64 = number.parse().map_err(|_| bad())?;
    if n <= 0 || n > 3650 * 24 * 60 {
        return Err(bad());
    }
    match unit {
        'm' => Ok(Duration::minutes(n)),
        'h' => Ok(Duration::hours(n)),
        'd' => Ok(Duration::days(n)),
        _ => Err(bad()),
    }
}

/// Deadlines per priority (`[due]`): P1 24 h, P2 7 d, P3 30 d, informational none by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DueDates {
    pub p1: Option<DueIn>,
    pub p2: Option<DueIn>,
    pub p3: Option<DueIn>,
    pub informational: Option<DueIn>,
}

impl Default for DueDates {
    fn default() -> Self {
        Self {
            p1: Some(DueIn(Duration::hours(24))),
            p2: Some(DueIn(Duration::days(7))),
            p3: Some(DueIn(Duration::days(30))),
            informational: None,
        }
    }
}

impl DueDates {
    /// The deadline for a priority, if any.
    pub fn for_priority(&self, priority: Priority) -> Option<Duration> {
        match priority {
            Priority::P1 => self.p1,
            Priority::P2 => self.p2,
            Priority::P3 => self.p3,
            Priority::Informational => self.informational,
        }
        .map(|d| d.0)
    }
}

/// A rule file that parses but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {why}")]
pub struct RulesError {
    /// Where in the file (`route[2].countries[0]`).
    pub place: String,
    pub why: String,
}

/// How a country reached its destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutedCountry {
    /// The candidate country; `None` for the no-jurisdiction fallback.
    pub country: Option<String>,
    pub confidence: f64,
    /// Every organisation on the way, first hop first, final recipient last.
    pub path: Vec<String>,
    /// Which rule sent it (`route DE`, `fallback unknown_country`, `fallback no_jurisdiction`).
    pub rule: String,
}

/// One referral to create: to the first hop, carrying every route through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedReferral {
    pub first_hop: String,
    pub routes: Vec<RoutedCountry>,
    pub due_in: Option<Duration>,
}

impl PlannedReferral {
    /// A one-line reason for the referral row.
    pub fn reason(&self) -> String {
        self.routes
            .iter()
            .map(|r| {
                let what = r.country.as_deref().unwrap_or("no jurisdiction");
                format!("{what} ({}): {}", r.rule, r.path.join(" → "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A country not routed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skipped {
    pub country: Option<String>,
    pub organisation: Option<String>,
    pub why: String,
}

/// The outcome of evaluating the rules for one report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingPlan {
    pub referrals: Vec<PlannedReferral>,
    pub skipped: Vec<Skipped>,
}

impl RoutingRules {
    /// Rules with no routes and default settings (everything falls through).
    pub fn empty() -> Self {
        Self {
            min_confidence: default_min_confidence(),
            max_countries: default_max_countries(),
            due: DueDates::default(),
            routes: Vec::new(),
            fallback: Fallback::default(),
            organisations: Vec::new(),
            priority: PriorityPolicy::default(),
        }
    }

    /// Checks what deserialisation cannot: valid country codes, no country in two routes,
    /// names present, numbers in range, thresholds ordered. Normalises country codes.
    pub fn validate(mut self) -> Result<Self, RulesError> {
        let err = |place: String, why: &str| RulesError {
            place,
            why: why.to_owned(),
        };
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(err("min_confidence".into(), "must be between 0 and 1"));
        }
        if self.max_countries == 0 {
            return Err(err("max_countries".into(), "must be at least 1"));
        }
        if self.priority.p2_at > self.priority.p1_at {
            return Err(err("priority.p2_at".into(), "must not exceed p1_at"));
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, route) in self.routes.iter_mut().enumerate() {
            if route.countries.is_empty() {
                return Err(err(format!("route[{i}].countries"), "is empty"));
            }
            check_name(&route.to, &format!("route[{i}].to"))?;
            for (j, via) in route.via.iter().enumerate() {
                check_name(via, &format!("route[{i}].via[{j}]"))?;
            }
            for (j, country) in route.countries.iter_mut().enumerate() {
                let place = format!("route[{i}].countries[{j}]");
                let code = normalise_country(country).ok_or_else(|| {
                    err(place.clone(), "is not an ISO 3166-1 alpha-2 country code")
                })?;
                if let Some(first) = seen.insert(code.clone(), i) {
                    return Err(RulesError {
                        place,
                        why: format!("{code} is already routed by route[{first}]"),
                    });
                }
                *country = code;
            }
        }
        for (name, target) in [
            ("unknown_country", &self.fallback.unknown_country),
            ("no_jurisdiction", &self.fallback.no_jurisdiction),
        ] {
            if let Some(t) = target {
                check_name(&t.to, &format!("fallback.{name}.to"))?;
            }
        }
        let mut names = BTreeSet::new();
        for (i, org) in self.organisations.iter().enumerate() {
            check_name(&org.name, &format!("organisation[{i}].name"))?;
            if !names.insert(org.name.as_str()) {
                return Err(err(
                    format!("organisation[{i}].name"),
                    "appears twice; merge the entries",
                ));
            }
        }
        Ok(self)
    }

    /// Every organisation name the rules mention (to resolve them against the database).
    pub fn organisation_names(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        for route in &self.routes {
            names.insert(route.to.as_str());
            names.extend(route.via.iter().map(String::as_str));
        }
        for t in [
            &self.fallback.unknown_country,
            &self.fallback.no_jurisdiction,
        ]
        .into_iter()
        .flatten()
        {
            names.insert(t.to.as_str());
            names.extend(t.via.iter().map(String::as_str));
        }
        names.extend(self.organisations.iter().map(|o| o.name.as_str()));
        names
    }

    /// Why `org` declines a report of this type and priority, if it does.
    pub fn declines(
        &self,
        org: &str,
        incident: IncidentType,
        priority: Priority,
    ) -> Option<String> {
        let filter = self.organisations.iter().find(|o| o.name == org)?;
        if let Some(types) = &filter.incident_types {
            if !types.contains(&incident) {
                return Some(format!("{org} does not accept incident type {incident}"));
            }
        }
        if let Some(least) = filter.least_urgent {
            if urgency_rank(priority) > urgency_rank(least) {
                return Some(format!(
                    "{org} accepts priority {least} or more urgent, the report is {priority}"
                ));
            }
        }
        None
    }

    /// Plans the referrals for a report.
    pub fn plan(
        &self,
        candidates: &[Candidate],
        incident: IncidentType,
        priority: Priority,
    ) -> RoutingPlan {
        let mut skipped = Vec::new();
        let mut routed: Vec<RoutedCountry> = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            if candidate.confidence < self.min_confidence {
                skipped.push(Skipped {
                    country: Some(candidate.country.clone()),
                    organisation: None,
                    why: format!(
                        "confidence {} below the minimum {}",
                        candidate.confidence, self.min_confidence
                    ),
                });
                continue;
            }
            if i >= self.max_countries {
                skipped.push(Skipped {
                    country: Some(candidate.country.clone()),
                    organisation: None,
                    why: format!("beyond the {} best candidates", self.max_countries),
                });
                continue;
            }
            let (path, rule) = match self
                .routes
                .iter()
                .find(|r| r.countries.contains(&candidate.country))
            {
                Some(route) => (
                    chain(&route.via, &route.to),
                    format!("route {}", candidate.country),
                ),
                None => match &self.fallback.unknown_country {
                    Some(t) => (chain(&t.via, &t.to), "fallback unknown_country".to_owned()),
                    None => {
                        skipped.push(Skipped {
                            country: Some(candidate.country.clone()),
                            organisation: None,
                            why: "no route for the country and no unknown_country fallback".into(),
                        });
                        continue;
                    }
                },
            };
            self.admit(
                &mut routed,
                &mut skipped,
                RoutedCountry {
                    country: Some(candidate.country.clone()),
                    confidence: candidate.confidence,
                    path,
                    rule,
                },
                incident,
                priority,
            );
        }
        if routed.is_empty() {
            match &self.fallback.no_jurisdiction {
                Some(t) => self.admit(
                    &mut routed,
                    &mut skipped,
                    RoutedCountry {
                        country: None,
                        confidence: 0.0,
                        path: chain(&t.via, &t.to),
                        rule: "fallback no_jurisdiction".into(),
                    },
                    incident,
                    priority,
                ),
                None => skipped.push(Skipped {
                    country: None,
                    organisation: None,
                    why: "nothing routed and no no_jurisdiction fallback".into(),
                }),
            }
        }
        let due_in = self.due.for_priority(priority);
        let mut referrals: Vec<PlannedReferral> = Vec::new();
        for route in routed {
            let Some(first) = route.path.first().cloned() else {
                continue;
            };
            match referrals.iter_mut().find(|r| r.first_hop == first) {
                Some(existing) => {
                    // Two countries with the same final recipient travel as one route.
                    if !existing.routes.iter().any(|r| r.path == route.path) {
                        existing.routes.push(route);
                    }
                }
                None => referrals.push(PlannedReferral {
                    first_hop: first,
                    routes: vec![route],
                    due_in,
                }),
            }
        }
        RoutingPlan { referrals, skipped }
    }

    fn admit(
        &self,
        routed: &mut Vec<RoutedCountry>,
        skipped: &mut Vec<Skipped>,
        route: RoutedCountry,
        incident: IncidentType,
        priority: Priority,
    ) {
        let Some(last) = route.path.last() else {
            return;
        };
        match self.declines(last, incident, priority) {
            Some(why) => skipped.push(Skipped {
                country: route.country.clone(),
                organisation: Some(last.clone()),
                why,
            }),
            None => routed.push(route),
        }
    }
}

fn chain(via: &[String], to: &str) -> Vec<String> {
    via.iter().cloned().chain([to.to_owned()]).collect()
}

fn check_name(name: &str, place: &str) -> Result<(), RulesError> {
    if name.trim().is_empty() {
        return Err(RulesError {
            place: place.to_owned(),
            why: "is blank".into(),
        });
    }
    Ok(())
}

/// 1 for P1 … 4 for informational.
fn urgency_rank(p: Priority) -> u8 {
    match p {
        Priority::P1 => 1,
        Priority::P2 => 2,
        Priority::P3 => 3,
        Priority::Informational => 4,
    }
}

impl fmt::Display for DueIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}h", self.0.whole_hours())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(country: &str, confidence: f64) -> Candidate {
        Candidate {
            country: country.into(),
            confidence,
            evidence: vec![],
        }
    }

    fn rules() -> RoutingRules {
        let mut r = RoutingRules::empty();
        r.routes = vec![
            Route {
                countries: vec!["de".into()],
                to: "Agency DE".into(),
                via: vec!["Coordinator EU".into()],
            },
            Route {
                countries: vec!["NL".into()],
                to: "Agency NL".into(),
                via: vec!["Coordinator EU".into()],
            },
            Route {
                countries: vec!["PH".into()],
                to: "Agency PH".into(),
                via: vec![],
            },
        ];
        r.fallback.unknown_country = Some(Target {
            to: "Interpol-like".into(),
            via: vec![],
        });
        r.fallback.no_jurisdiction = Some(Target {
            to: "Hotline".into(),
            via: vec![],
        });
        r.organisations = vec![OrgFilter {
            name: "Agency PH".into(),
            incident_types: Some(vec![IncidentType::OnlineEnticement]),
            least_urgent: Some(Priority::P2),
        }];
        r.validate().expect("valid")
    }

    #[test]
    fn countries_through_one_coordinator_share_its_referral() {
        let plan = rules().plan(
            &[candidate("DE", 0.8), candidate("NL", 0.6)],
            IncidentType::ChildPornography,
            Priority::P2,
        );
        assert_eq!(plan.referrals.len(), 1);
        let r = &plan.referrals[0];
        assert_eq!(r.first_hop, "Coordinator EU");
        assert_eq!(r.routes[0].path, ["Coordinator EU", "Agency DE"]);
        assert_eq!(r.routes[1].path, ["Coordinator EU", "Agency NL"]);
        assert_eq!(r.due_in, Some(Duration::days(7)));
        assert!(r
            .reason()
            .contains("DE (route DE): Coordinator EU → Agency DE"));
    }

    #[test]
    fn unknown_countries_and_empty_candidates_fall_back() {
        let plan = rules().plan(
            &[candidate("BR", 0.6)],
            IncidentType::ChildPornography,
            Priority::P3,
        );
        assert_eq!(plan.referrals[0].first_hop, "Interpol-like");
        let none = rules().plan(&[], IncidentType::ChildPornography, Priority::P1);
        assert_eq!(none.referrals[0].first_hop, "Hotline");
        assert_eq!(none.referrals[0].routes[0].country, None);
        assert_eq!(none.referrals[0].due_in, Some(Duration::hours(24)));
        let weak = rules().plan(
            &[candidate("DE", 0.15)],
            IncidentType::ChildPornography,
            Priority::P3,
        );
        assert_eq!(weak.referrals[0].first_hop, "Hotline");
        assert!(weak.skipped[0].why.contains("below the minimum"));
    }

    #[test]
    fn organisation_filters_decline_by_type_and_priority() {
        let r = rules();
        let accepted = r.plan(
            &[candidate("PH", 0.6)],
            IncidentType::OnlineEnticement,
            Priority::P1,
        );
        assert_eq!(accepted.referrals[0].first_hop, "Agency PH");
        let wrong_type = r.plan(
            &[candidate("PH", 0.6)],
            IncidentType::ChildPornography,
            Priority::P1,
        );
        assert_eq!(wrong_type.referrals[0].first_hop, "Hotline");
        assert!(wrong_type.skipped[0].why.contains("incident type"));
        let too_low = r.plan(
            &[candidate("PH", 0.6)],
            IncidentType::OnlineEnticement,
            Priority::P3,
        );
        assert!(
            too_low.skipped[0].why.contains("priority p2"),
            "{:?}",
            too_low.skipped
        );
    }

    #[test]
    fn validation_names_the_place() {
        let mut r = rules();
        r.routes[1].countries.push("Germany".into());
        assert_eq!(
            r.validate().expect_err("bad code").place,
            "route[1].countries[1]"
        );
        let mut dup = rules();
        dup.routes[2].countries.push("DE".into());
        let e = dup.validate().expect_err("duplicate");
        assert!(e.why.contains("route[0]"), "{e}");
    }

    #[test]
    fn durations_parse_strictly() {
        assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("1é").is_err());
        assert!(parse_duration("").is_err());
    }
}
