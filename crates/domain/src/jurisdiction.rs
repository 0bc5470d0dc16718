//! Signals → candidate jurisdictions: which countries a report most likely belongs to, with a
//! confidence and the evidence behind each.
//!
//! Pure logic. Geolocation (IP address → country, phone number → country) happens outside this
//! module (the engine asks `safeguard-geo`) and is fed in as [`IpFinding`] and [`PhoneFinding`].
//! The scoring is deliberately simple so an analyst can recompute it by hand; see
//! `docs/jurisdiction.md`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The kind of signal a piece of evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// An IP capture event, geolocated.
    IpAddress,
    /// A phone number's numbering plan.
    Phone,
    /// A postal address or country field given in the report.
    Address,
    /// The country of an international legal process law enforcement already served.
    LawEnforcement,
    /// The reporting company's stated location (weak: where the company is, not the user).
    ReporterLocation,
    /// The UTC offset of the incident time (very weak; only supports other evidence).
    TimeZone,
}

impl SignalKind {
    /// Every kind, strongest cap first.
    pub const ALL: [SignalKind; 6] = [
        SignalKind::IpAddress,
        SignalKind::LawEnforcement,
        SignalKind::Address,
        SignalKind::Phone,
        SignalKind::ReporterLocation,
        SignalKind::TimeZone,
    ];

    /// The most one kind of signal can contribute, however many items of it there are: ten IP
    /// addresses in one country are still only IP evidence.
    pub fn cap(self) -> f64 {
        match self {
            SignalKind::IpAddress => 0.8,
            SignalKind::LawEnforcement => 0.7,
            SignalKind::Address => 0.7,
            SignalKind::Phone => 0.6,
            SignalKind::ReporterLocation => 0.15,
            SignalKind::TimeZone => 0.05,
        }
    }
}

/// One reason to consider a country.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub signal: SignalKind,
    /// The value the signal was read from (an IP address, a number, a field path and value).
    pub value: String,
    /// The data source that gave the country (`bundled IPFire`, an MMDB file, `libphonenumber`,
    /// `report`).
    pub source: String,
    /// How much this one item counts, 0–1 (before the per-kind cap).
    pub weight: f64,
    /// Why the weight is what it is (proxy flagged, data without history...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A country the report may belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// 0–1; see `docs/jurisdiction.md` for how it is combined.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
}

/// A signal that named no country (a reserved address, an unplaceable number), kept so the
/// analyst sees it was considered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unplaced {
    pub signal: SignalKind,
    pub value: String,
    pub why: String,
}

/// The result: candidates best first, and the signals that gave no country.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    pub candidates: Vec<Candidate>,
    pub unplaced: Vec<Unplaced>,
}

impl Assessment {
    /// The best candidate, if any.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}

/// How far the geolocation data behind an IP answer can be trusted (mirrors the geo crate's
/// confidence without depending on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeoQuality {
    /// A configured commercial/open MMDB, refined below registration level.
    Refined,
    /// Registry-level data (where the block is registered or announced).
    Registry,
}

/// What geolocation said about one IP capture event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpFinding {
    /// The address as reported (an IPv4-mapped IPv6 address is located as IPv4 by the
    /// geolocator; it is shown here as given).
    pub ip: IpAddr,
    /// When the address was captured. The data is today's: see [`IP_HISTORY_NOTE`].
    pub at: Option<OffsetDateTime>,
    pub country: Option<String>,
    /// Name of the data set that gave the country.
    pub source: String,
    pub quality: GeoQuality,
    /// The special-purpose range the address is in (its name), if any: no country then.
    pub reserved: Option<String>,
    /// Label of an anonymiser list entry covering the address.
    pub anonymiser: Option<String>,
    /// The reporter's `possible_proxy` flag.
    pub possible_proxy: bool,
}

/// What the phone numbering plan said about one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFinding {
    /// The number as reported (with its calling code if given apart).
    pub number: String,
    pub country: Option<String>,
    /// Why no country, when there is none (not E.164, non-geographic code...).
    pub why_none: Option<String>,
}

/// A country named in the report's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatedCountry {
    /// Field path, e.g. `parties[0].addresses[1].country`.
    pub field: String,
    /// The value as given.
    pub value: String,
}

/// Everything the assessment reads.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub ips: Vec<IpFinding>,
    pub phones: Vec<PhoneFinding>,
    /// Country fields of addresses in the report.
    pub addresses: Vec<StatedCountry>,
    /// `law_enforcement.legal_process_international_country`.
    pub law_enforcement: Option<StatedCountry>,
    /// The reporting organisation's country (`organisation.country`).
    pub reporter_country: Option<String>,
    /// The incident time as the reporter gave it (its UTC offset is the signal).
    pub incident_time: Option<OffsetDateTime>,
}

/// Note attached to every located IP address: the bundled data has no history.
pub const IP_HISTORY_NOTE: &str =
    "located with current data; no historical geolocation for the capture time";

/// Weight of one located IP address from registry-level data.
pub const W_IP_REGISTRY: f64 = 0.6;
/// Weight of one located IP address from refined (MMDB) data.
pub const W_IP_REFINED: f64 = 0.7;
/// Factor applied to an IP address flagged as a proxy or on an anonymiser list.
pub const PROXY_FACTOR: f64 = 0.25;
/// Weight of a phone number's numbering plan.
pub const W_PHONE: f64 = 0.5;
/// Weight of a country field of an address.
pub const W_ADDRESS: f64 = 0.6;
/// Weight of the country of an international legal process.
pub const W_LAW_ENFORCEMENT: f64 = 0.7;
/// Weight of the reporting company's country.
pub const W_REPORTER: f64 = 0.15;
/// Weight of a matching time zone offset.
pub const W_TIME_ZONE: f64 = 0.05;

/// Normalises a country code from untrusted text: two ASCII letters, upper-cased, `UK` → `GB`.
/// Codes that name no jurisdiction (`EU`, `AP`, `ZZ`, `XX`, `??`) give `None`.
pub fn normalise_country(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() != 2 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let upper = t.to_ascii_uppercase();
    match upper.as_str() {
        "EU" | "AP" | "ZZ" | "XX" => None,
        "UK" => Some("GB".to_owned()),
        _ => Some(upper),
    }
}

/// Ranks the countries the signals point to. Deterministic: equal confidences are ordered by
/// country code.
pub fn assess(signals: &Signals) -> Assessment {
    let mut by_country: BTreeMap<String, Vec<Evidence>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for ip in &signals.ips {
        let value = ip.ip.to_string();
        if let Some(kind) = &ip.reserved {
            unplaced.push(Unplaced {
                signal: SignalKind::IpAddress,
                value,
                why: format!("special-purpose range ({kind}): no country"),
            });
            continue;
        }
        let Some(country) = ip.country.as_deref().and_then(normalise_country) else {
            unplaced.push(Unplaced {
                signal: SignalKind::IpAddress,
                value,
                why: "no data set knows the address".into(),
            });
            continue;
        };
        let base = match ip.quality {
            GeoQuality::Refined => W_IP_REFINED,
            GeoQuality::Registry => W_IP_REGISTRY,
        };
        let mut notes = Vec::new();
        let mut weight = base;
        if ip.possible_proxy || ip.anonymiser.is_some() {
            weight *= PROXY_FACTOR;
            match &ip.anonymiser {
                Some(label) => notes.push(format!("anonymiser ({label}): exit country only")),
                None => notes.push("reporter flagged a possible proxy".to_owned()),
            }
        }
        if let Some(at) = ip.at {
            notes.push(format!("captured {at}; {IP_HISTORY_NOTE}"));
        } else {
            notes.push(IP_HISTORY_NOTE.to_owned());
        }
        by_country.entry(country).or_default().push(Evidence {
            signal: SignalKind::IpAddress,
            value,
            source: ip.source.clone(),
            weight,
            note: Some(notes.join("; ")),
        });
    }
    for phone in &signals.phones {
        match phone.country.as_deref().and_then(normalise_country) {
            Some(country) => by_country.entry(country).or_default().push(Evidence {
                signal: SignalKind::Phone,
                value: phone.number.clone(),
                source: "libphonenumber".into(),
                weight: W_PHONE,
                note: Some("numbering plan of issue; numbers roam and are ported".into()),
            }),
            None => unplaced.push(Unplaced {
                signal: SignalKind::Phone,
                value: phone.number.clone(),
                why: phone
                    .why_none
                    .clone()
                    .unwrap_or_else(|| "no country for the number".into()),
            }),
        }
    }
    for (kind, stated, weight) in signals
        .addresses
        .iter()
        .map(|s| (SignalKind::Address, s, W_ADDRESS))
        .chain(
            signals
                .law_enforcement
                .iter()
                .map(|s| (SignalKind::LawEnforcement, s, W_LAW_ENFORCEMENT)),
        )
    {
        match normalise_country(&stated.value) {
            Some(country) => by_country.entry(country).or_default().push(Evidence {
                signal: kind,
                value: format!("{} = {}", stated.field, stated.value.trim()),
                source: "report".into(),
                weight,
                note: None,
            }),
            None => unplaced.push(Unplaced {
                signal: kind,
                value: format!("{} = {}", stated.field, truncate(&stated.value, 40)),
                why: "not an ISO 3166-1 alpha-2 country code".into(),
            }),
        }
    }
    if let Some(country) = signals
        .reporter_country
        .as_deref()
        .and_then(normalise_country)
    {
        by_country
            .entry(country.clone())
            .or_default()
            .push(Evidence {
                signal: SignalKind::ReporterLocation,
                value: country,
                source: "organisation".into(),
                weight: W_REPORTER,
                note: Some("where the reporting company is, not where its user is".into()),
            });
    }
    // The time zone only supports countries that other evidence already names: an offset is
    // shared by dozens of countries and proves nothing alone.
    if let Some(at) = signals.incident_time {
        let minutes = i32::from(at.offset().whole_minutes());
        if minutes != 0 {
            for (country, evidence) in by_country.iter_mut() {
                if country_uses_offset(country, minutes) {
                    evidence.push(Evidence {
                        signal: SignalKind::TimeZone,
                        value: at.offset().to_string(),
                        source: "built-in time zone table".into(),
                        weight: W_TIME_ZONE,
                        note: Some("incident time offset matches the country".into()),
                    });
                }
            }
        }
    }
    let mut candidates: Vec<Candidate> = by_country
        .into_iter()
        .map(|(country, evidence)| Candidate {
            confidence: combine(&evidence),
            country,
            evidence,
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.country.cmp(&b.country))
    });
    Assessment {
        candidates,
        unplaced,
    }
}

/// Noisy-OR within each signal kind, capped at the kind's [`SignalKind::cap`], then noisy-OR
/// across kinds; rounded to three decimals so stored and shown values agree.
pub fn combine(evidence: &[Evidence]) -> f64 {
    let mut missing = 1.0;
    for kind in SignalKind::ALL {
        let mut kind_missing = 1.0;
        for e in evidence.iter().filter(|e| e.signal == kind) {
            kind_missing *= 1.0 - e.weight.clamp(0.0, 1.0);
        }
        let kind_score = (1.0 - kind_missing).min(kind.cap());
        missing *= 1.0 - kind_score;
    }
    ((1.0 - missing) * 1000.0).round() / 1000.0
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Offsets in minutes (standard and summer time) of the countries the table knows. Countries
/// not listed never receive time zone evidence (the signal is too weak to be worth a full tz
/// database here).
const OFFSETS: &[(&str, &[i32])] = &[
    ("AR", &[-180]),
    ("AT", &[60, 120]),
    ("AU", &[480, 570, 600, 630, 660]),
    ("BE", &[60, 120]),
    ("BG", &[120, 180]),
    ("BR", &[-300, -240, -180, -120]),
    ("CA", &[-480, -420, -360, -300, -240, -210, -180, -150]),
    ("CH", &[60, 120]),
    ("CN", &[480]),
    ("CZ", &[60, 120]),
    ("DE", &[60, 120]),
    ("DK", &[60, 120]),
    ("EE", &[120, 180]),
    ("ES", &[0, 60, 120]),
    ("FI", &[120, 180]),
    ("FR", &[60, 120]),
    ("GB", &[0, 60]),
    ("GR", &[120, 180]),
    ("HR", &[60, 120]),
    ("HU", &[60, 120]),
    ("ID", &[420, 480, 540]),
    ("IE", &[0, 60]),
    ("IN", &[330]),
    ("IT", &[60, 120]),
    ("JP", &[540]),
    ("KR", &[540]),
    ("LT", &[120, 180]),
    ("LU", &[60, 120]),
    ("LV", &[120, 180]),
    ("MX", &[-480, -420, -360, -300]),
    ("MY", &[480]),
    ("NL", &[60, 120]),
    ("NO", &[60, 120]),
    ("NZ", &[720, 780]),
    ("PH", &[480]),
    ("PL", &[60, 120]),
    ("PT", &[-60, 0, 60]),
    ("RO", &[120, 180]),
    (
        "RU",
        &[120, 180, 240, 300, 360, 420, 480, 540, 600, 660, 720],
    ),
    ("SE", &[60, 120]),
    ("SG", &[480]),
    ("SI", &[60, 120]),
    ("SK", &[60, 120]),
    ("TH", &[420]),
    ("TR", &[180]),
    ("UA", &[120, 180]),
    ("US", &[-600, -540, -480, -420, -360, -300, -240]),
    ("VN", &[420]),
    ("ZA", &[120]),
];

/// Whether `country` (upper-case alpha-2) uses the UTC offset `minutes` at some time of year,
/// per the built-in table.
pub fn country_uses_offset(country: &str, minutes: i32) -> bool {
    OFFSETS
        .binary_search_by(|(c, _)| (*c).cmp(country))
        .ok()
        .and_then(|i| OFFSETS.get(i))
        .is_some_and(|(_, offsets)| offsets.contains(&minutes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ip(text: &str, country: Option<&str>) -> IpFinding {
        IpFinding {
            ip: text.parse().expect("literal"),
            at: None,
            country: country.map(str::to_owned),
            source: "test".into(),
            quality: GeoQuality::Registry,
            reserved: None,
            anonymiser: None,
            possible_proxy: false,
        }
    }

    #[test]
    fn offset_table_is_sorted_for_binary_search() {
        assert!(OFFSETS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(country_uses_offset("DE", 120));
        assert!(!country_uses_offset("DE", 480));
        assert!(!country_uses_offset("ZZ", 0));
    }

    #[test]
    fn country_codes_are_normalised_and_non_jurisdictions_dropped() {
        assert_eq!(normalise_country(" de "), Some("DE".into()));
        assert_eq!(normalise_country("uk"), Some("GB".into()));
        assert_eq!(normalise_country("EU"), None);
        assert_eq!(normalise_country("Germany"), None);
        assert_eq!(normalise_country("D1"), None);
        assert_eq!(normalise_country("ÄÖ"), None);
    }

    #[test]
    fn several_ips_in_one_country_are_capped() {
        let signals = Signals {
            ips: (1..=10)
                .map(|i| ip(&format!("87.128.0.{i}"), Some("DE")))
                .collect(),
            ..Signals::default()
        };
        let a = assess(&signals);
        assert_eq!(a.candidates.len(), 1);
        assert_eq!(a.candidates[0].confidence, SignalKind::IpAddress.cap());
        assert_eq!(a.candidates[0].evidence.len(), 10);
    }

    #[test]
    fn independent_kinds_reinforce_each_other() {
        let signals = Signals {
            ips: vec![ip("87.128.0.1", Some("DE"))],
            phones: vec![PhoneFinding {
                number: "+49 30 1234567".into(),
                country: Some("DE".into()),
                why_none: None,
            }],
            ..Signals::default()
        };
        let a = assess(&signals);
        // 1 - (1 - 0.6)(1 - 0.5) = 0.8
        assert_eq!(a.candidates[0].confidence, 0.8);
    }

    #[test]
    fn proxy_flag_and_anonymiser_lower_the_weight() {
        let mut flagged = ip("87.128.0.1", Some("DE"));
        flagged.possible_proxy = true;
        let mut listed = ip("145.53.0.1", Some("NL"));
        listed.anonymiser = Some("tor-exit".into());
        let a = assess(&Signals {
            ips: vec![flagged, listed, ip("112.198.0.1", Some("PH"))],
            ..Signals::default()
        });
        let order: Vec<_> = a.candidates.iter().map(|c| c.country.as_str()).collect();
        assert_eq!(order, ["PH", "DE", "NL"]);
        assert_eq!(a.candidates[1].confidence, 0.15);
        let note = a.candidates[2].evidence[0].note.clone().unwrap_or_default();
        assert!(note.contains("tor-exit"), "{note}");
    }

    #[test]
    fn reserved_and_unknown_addresses_give_no_country() {
        let mut reserved = ip("10.1.2.3", Some("US"));
        reserved.reserved = Some("private".into());
        let a = assess(&Signals {
            ips: vec![reserved, ip("203.0.113.9", None)],
            ..Signals::default()
        });
        assert!(a.candidates.is_empty());
        assert_eq!(a.unplaced.len(), 2);
        assert!(a.unplaced[0].why.contains("private"));
    }

    #[test]
    fn time_zone_only_supports_existing_candidates() {
        let alone = assess(&Signals {
            incident_time: Some(datetime!(2024-05-01 10:00 +02:00)),
            ..Signals::default()
        });
        assert!(alone.candidates.is_empty());
        let with_reporter = assess(&Signals {
            reporter_country: Some("DE".into()),
            incident_time: Some(datetime!(2024-05-01 10:00 +02:00)),
            ..Signals::default()
        });
        let c = &with_reporter.candidates[0];
        assert_eq!(c.evidence.len(), 2);
        assert_eq!(c.evidence[1].signal, SignalKind::TimeZone);
        // 1 - 0.85 * 0.95
        assert_eq!(c.confidence, 0.193);
    }

    #[test]
    fn stated_countries_that_are_not_codes_are_reported_unplaced() {
        let a = assess(&Signals {
            addresses: vec![StatedCountry {
                field: "parties[0].addresses[0].country".into(),
                value: "Germany".into(),
            }],
            law_enforcement: Some(StatedCountry {
                field: "law_enforcement.legal_process_international_country".into(),
                value: "fr".into(),
            }),
            ..Signals::default()
        });
        assert_eq!(a.candidates.len(), 1);
        assert_eq!(a.candidates[0].country, "FR");
        assert_eq!(a.candidates[0].confidence, W_LAW_ENFORCEMENT);
        assert_eq!(a.unplaced[0].signal, SignalKind::Address);
    }
}
