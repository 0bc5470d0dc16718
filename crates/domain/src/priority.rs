//! Prioritisation: a small, transparent rules engine. Every rule has a name and a weight and
//! says which facts it fired on; the weights add up to a score, and fixed thresholds turn the
//! score into a level (1 = a child in imminent danger, 2, 3), or "informational" when the report
//! lacks anything to act on. See `docs/jurisdiction.md` (Prioritisation).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::report::{
    FileAnnotation, IncidentType, NewReport, PartyRole, Priority, ReportAnnotation, ReportFile,
};

/// What the known-material check said about a report's files. The known-material matcher maps
/// its result into this; until it has run the input is `None` ("not checked yet").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every file matched known material.
    AllKnown,
    /// At least one file matched nothing known: possibly a new victim.
    NewMaterial,
}

/// Thresholds and parameters, with the defaults documented in `docs/jurisdiction.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityPolicy {
    /// Score at or above which a report is level 1.
    pub p1_at: u32,
    /// Score at or above which a report is level 2.
    pub p2_at: u32,
    /// An incident within this many days counts as recent.
    pub recent_days: u32,
    /// A victim this age or younger counts as young.
    pub young_age: u8,
}

impl Default for PriorityPolicy {
    fn default() -> Self {
        Self {
            p1_at: 60,
            p2_at: 25,
            recent_days: 30,
            young_age: 12,
        }
    }
}

/// Everything the rules read.
#[derive(Debug, Clone)]
pub struct PriorityInput<'a> {
    pub report: &'a NewReport,
    pub files: &'a [ReportFile],
    /// `None`: the known-material check has not run yet.
    pub known_material: Option<Verdict>,
    /// Earlier reports sharing an identifier (e-mail, phone, profile URL, device) with this one.
    pub earlier_reports_sharing_identifier: u64,
    pub now: OffsetDateTime,
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiredRule {
    pub rule: String,
    pub weight: u32,
    /// The facts it fired on, readable.
    pub facts: Vec<String>,
}

/// The outcome: the level and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityAssessment {
    pub priority: Priority,
    pub score: u32,
    pub fired: Vec<FiredRule>,
}

/// Rule names, as stored and shown.
pub mod rules {
    pub const ESCALATION: &str = "escalation_requested";
    pub const CONTACT_OFFENCE: &str = "contact_offence_type";
    pub const CHILD_IN_DANGER: &str = "ongoing_abuse_or_child_in_danger";
    pub const YOUNG_VICTIM: &str = "young_victim";
    pub const UNKNOWN_MATERIAL: &str = "unknown_material";
    pub const SELF_GENERATED: &str = "self_generated_or_sextortion";
    pub const RECENT: &str = "recent_incident";
    pub const REPEAT: &str = "repeat_offender";
    pub const NOT_ACTIONABLE: &str = "not_actionable";
}

/// Weights of the rules.
pub mod weights {
    pub const ESCALATION: u32 = 40;
    pub const CONTACT_OFFENCE: u32 = 25;
    pub const CHILD_IN_DANGER: u32 = 35;
    pub const YOUNG_VICTIM: u32 = 15;
    pub const UNKNOWN_MATERIAL: u32 = 15;
    pub const SELF_GENERATED: u32 = 15;
    pub const RECENT: u32 = 10;
    pub const REPEAT: u32 = 15;
}

/// Words in an escalation or description that suggest a child in present danger. Matched
/// case-insensitively as substrings; deliberately few, so that hits are explainable.
const DANGER_WORDS: &[&str] = &[
    "meet",
    "tonight",
    "tomorrow",
    "this weekend",
    "in danger",
    "ongoing",
    "currently abus",
    "live stream",
    "livestream",
    "suicid",
    "self-harm",
    "self harm",
    "kidnap",
    "runaway",
    "missing child",
];

/// Applies the rules.
pub fn assess(input: &PriorityInput<'_>, policy: &PriorityPolicy) -> PriorityAssessment {
    let report = input.report;
    let mut fired = Vec::new();
    let mut fire = |rule: &str, weight: u32, facts: Vec<String>| {
        if !facts.is_empty() {
            fired.push(FiredRule {
                rule: rule.to_owned(),
                weight,
                facts,
            });
        }
    };

    fire(
        rules::ESCALATION,
        weights::ESCALATION,
        report
            .incident
            .escalation
            .iter()
            .map(|e| format!("escalation: {}", clip(e, 120)))
            .collect(),
    );

    let contact = matches!(
        report.incident.incident_type,
        IncidentType::OnlineEnticement
            | IncidentType::ChildSexTrafficking
            | IncidentType::ChildSexualMolestation
            | IncidentType::ChildSexTourism
    );
    fire(
        rules::CONTACT_OFFENCE,
        weights::CONTACT_OFFENCE,
        if contact {
            vec![format!(
                "incident type: {}",
                report.incident.incident_type.code()
            )]
        } else {
            vec![]
        },
    );

    let mut danger = Vec::new();
    for text in [
        report.incident.escalation.as_deref(),
        report.incident.occurred_at_description.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        let lower = text.to_lowercase();
        for word in DANGER_WORDS {
            if lower.contains(word) {
                danger.push(format!("text mentions \"{word}\""));
            }
        }
    }
    if report
        .incident
        .annotations
        .contains(&ReportAnnotation::SadisticOnlineExploitation)
    {
        danger.push("annotation: sadistic_online_exploitation".into());
    }
    for annotation in [
        FileAnnotation::LiveStreaming,
        FileAnnotation::PhysicalHarm,
        FileAnnotation::Infant,
    ] {
        let count = input
            .files
            .iter()
            .filter(|f| f.annotations.contains(&annotation))
            .count();
        if count > 0 {
            danger.push(format!("file annotation {annotation} on {count} file(s)"));
        }
    }
    fire(rules::CHILD_IN_DANGER, weights::CHILD_IN_DANGER, danger);

    let young: Vec<String> = report
        .parties
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == PartyRole::Victim)
        .filter_map(|(i, p)| {
            p.age
                .filter(|age| *age <= policy.young_age)
                .map(|age| format!("parties[{i}] victim aged {age}"))
        })
        .collect();
    fire(rules::YOUNG_VICTIM, weights::YOUNG_VICTIM, young);

    fire(
        rules::UNKNOWN_MATERIAL,
        weights::UNKNOWN_MATERIAL,
        if input.known_material == Some(Verdict::NewMaterial) {
            vec!["a file matched no known material".into()]
        } else {
            vec![]
        },
    );

    let mut self_generated = Vec::new();
    for annotation in [
        ReportAnnotation::Sextortion,
        ReportAnnotation::MinorToMinorInteraction,
    ] {
        if report.incident.annotations.contains(&annotation) {
            self_generated.push(format!("annotation: {annotation}"));
        }
    }
    let self_produced = input
        .files
        .iter()
        .filter(|f| {
            f.annotations
                .contains(&FileAnnotation::PossibleSelfProduction)
        })
        .count();
    if self_produced > 0 {
        self_generated.push(format!(
            "file annotation possible_self_production on {self_produced} file(s)"
        ));
    }
    fire(
        rules::SELF_GENERATED,
        weights::SELF_GENERATED,
        self_generated,
    );

    let age = input.now - report.incident.occurred_at;
    fire(
        rules::RECENT,
        weights::RECENT,
        if age <= Duration::days(i64::from(policy.recent_days)) {
            vec![format!(
                "incident {} day(s) ago (within {})",
                age.whole_days().max(0),
                policy.recent_days
            )]
        } else {
            vec![]
        },
    );

    let mut repeat = Vec::new();
    for (i, party) in report.parties.iter().enumerate() {
        if party.role == PartyRole::Reported && !party.prior_reports.is_empty() {
            repeat.push(format!(
                "parties[{i}] has {} prior report(s)",
                party.prior_reports.len()
            ));
        }
    }
    if input.earlier_reports_sharing_identifier > 0 {
        repeat.push(format!(
            "{} earlier report(s) share an identifier",
            input.earlier_reports_sharing_identifier
        ));
    }
    fire(rules::REPEAT, weights::REPEAT, repeat);

    let score: u32 = fired.iter().map(|r| r.weight).sum();
    let level = if score >= policy.p1_at {
        Priority::P1
    } else if score >= policy.p2_at {
        Priority::P2
    } else {
        Priority::P3
    };

    // A report without anything to act on is informational, unless the rules already found a
    // child in imminent danger: danger outranks missing identifiers.
    let not_actionable = not_actionable_facts(input);
    let priority = if !not_actionable.is_empty() && level != Priority::P1 {
        fired.push(FiredRule {
            rule: rules::NOT_ACTIONABLE.into(),
            weight: 0,
            facts: not_actionable,
        });
        Priority::Informational
    } else {
        level
    };
    PriorityAssessment {
        priority,
        score,
        fired,
    }
}

fn not_actionable_facts(input: &PriorityInput<'_>) -> Vec<String> {
    let report = input.report;
    let mut facts = Vec::new();
    if report.batched_viral {
        facts.push("batched report of a viral file".into());
    }
    if report
        .incident
        .annotations
        .contains(&ReportAnnotation::Informational)
    {
        facts.push("reporter marked it informational".into());
    }
    if input.files.is_empty() && !has_identifier(report) {
        facts.push("no identifiers and no files".into());
    }
    facts
}

/// Whether the report names anything that can lead to a person: an IP address, e-mail, phone,
/// account id, screen name, profile URL, device, or a channel URL.
pub fn has_identifier(report: &NewReport) -> bool {
    report.ip_events().next().is_some()
        || report.parties.iter().any(|p| {
            !p.emails.is_empty()
                || !p.phones.is_empty()
                || !p.profile_urls.is_empty()
                || !p.device_ids.is_empty()
                || p.esp_identifier.is_some()
                || p.screen_name.is_some()
        })
        || report
            .channels
            .iter()
            .any(|c| !c.urls.is_empty() || !c.emails.is_empty() || !c.phones.is_empty())
}

fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digester;
    use crate::report::{FileRelevance, Party};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    /// An old child-pornography report with one suspect e-mail: fires nothing.
    fn plain() -> NewReport {
        let mut r = NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2024-01-01 00:00 UTC),
        );
        let mut suspect = Party::new(PartyRole::Reported);
        suspect.emails.push("someone@example.net".into());
        r.parties.push(suspect);
        r
    }

    fn file(annotations: Vec<FileAnnotation>) -> ReportFile {
        ReportFile {
            file_id: "0".repeat(32),
            digests: Digester::digest(b"synthetic"),
            size: 9,
            original_name: None,
            media_type: None,
            relevance: FileRelevance::Reported,
            viewed_by_reporter: None,
            exif_viewed_by_reporter: None,
            publicly_available: None,
            industry_classification: None,
            annotations,
            location: None,
            ip_events: vec![],
        }
    }

    fn run(
        report: &NewReport,
        files: &[ReportFile],
        verdict: Option<Verdict>,
        shared: u64,
    ) -> PriorityAssessment {
        assess(
            &PriorityInput {
                report,
                files,
                known_material: verdict,
                earlier_reports_sharing_identifier: shared,
                now: NOW,
            },
            &PriorityPolicy::default(),
        )
    }

    fn fired(a: &PriorityAssessment, rule: &str) -> bool {
        a.fired.iter().any(|r| r.rule == rule)
    }

    #[test]
    fn a_plain_old_report_fires_nothing_and_is_level_3() {
        let a = run(&plain(), &[], None, 0);
        assert!(a.fired.is_empty(), "{:?}", a.fired);
        assert_eq!(a.priority, Priority::P3);
    }

    #[test]
    fn escalation_fires_only_when_requested() {
        let mut r = plain();
        assert!(!fired(&run(&r, &[], None, 0), rules::ESCALATION));
        r.incident.escalation = Some("Please look at this quickly".into());
        let a = run(&r, &[], None, 0);
        assert!(fired(&a, rules::ESCALATION));
        assert_eq!(a.priority, Priority::P2);
    }

    #[test]
    fn contact_offence_types_fire() {
        for (t, expected) in [
            (IncidentType::OnlineEnticement, true),
            (IncidentType::ChildSexTrafficking, true),
            (IncidentType::ChildSexualMolestation, true),
            (IncidentType::ChildPornography, false),
            (IncidentType::UnsolicitedObsceneMaterial, false),
        ] {
            let mut r = plain();
            r.incident.incident_type = t;
            assert_eq!(
                fired(&run(&r, &[], None, 0), rules::CONTACT_OFFENCE),
                expected,
                "{t}"
            );
        }
    }

    #[test]
    fn danger_words_annotations_and_file_flags_fire() {
        let mut r = plain();
        r.incident.escalation = Some("Please review".into());
        assert!(!fired(&run(&r, &[], None, 0), rules::CHILD_IN_DANGER));
        r.incident.escalation = Some("He says he will MEET her this weekend".into());
        let a = run(&r, &[], None, 0);
        let rule = a
            .fired
            .iter()
            .find(|f| f.rule == rules::CHILD_IN_DANGER)
            .expect("fired");
        assert_eq!(rule.facts.len(), 2, "{:?}", rule.facts);
        // escalation 40 + danger 35
        assert_eq!(a.priority, Priority::P1);

        let mut sadistic = plain();
        sadistic
            .incident
            .annotations
            .push(ReportAnnotation::SadisticOnlineExploitation);
        assert!(fired(&run(&sadistic, &[], None, 0), rules::CHILD_IN_DANGER));
        let streamed = [file(vec![FileAnnotation::LiveStreaming])];
        assert!(fired(
            &run(&plain(), &streamed, None, 0),
            rules::CHILD_IN_DANGER
        ));
        let meme = [file(vec![FileAnnotation::PotentialMeme])];
        assert!(!fired(
            &run(&plain(), &meme, None, 0),
            rules::CHILD_IN_DANGER
        ));
    }

    #[test]
    fn young_victim_fires_at_or_below_the_age() {
        let mut r = plain();
        let mut victim = Party::new(PartyRole::Victim);
        victim.age = Some(13);
        r.parties.push(victim);
        assert!(!fired(&run(&r, &[], None, 0), rules::YOUNG_VICTIM));
        r.parties[1].age = Some(12);
        assert!(fired(&run(&r, &[], None, 0), rules::YOUNG_VICTIM));
        // A young *suspect* is not a young victim.
        let mut s = plain();
        s.parties[0].age = Some(10);
        assert!(!fired(&run(&s, &[], None, 0), rules::YOUNG_VICTIM));
    }

    #[test]
    fn unknown_material_fires_only_on_a_new_material_verdict() {
        let r = plain();
        assert!(!fired(&run(&r, &[], None, 0), rules::UNKNOWN_MATERIAL));
        assert!(!fired(
            &run(&r, &[], Some(Verdict::AllKnown), 0),
            rules::UNKNOWN_MATERIAL
        ));
        assert!(fired(
            &run(&r, &[], Some(Verdict::NewMaterial), 0),
            rules::UNKNOWN_MATERIAL
        ));
    }

    #[test]
    fn self_generated_and_sextortion_fire() {
        let r = plain();
        assert!(!fired(&run(&r, &[], None, 0), rules::SELF_GENERATED));
        let mut s = plain();
        s.incident.annotations.push(ReportAnnotation::Sextortion);
        assert!(fired(&run(&s, &[], None, 0), rules::SELF_GENERATED));
        let selfie = [file(vec![FileAnnotation::PossibleSelfProduction])];
        assert!(fired(&run(&r, &selfie, None, 0), rules::SELF_GENERATED));
    }

    #[test]
    fn recency_fires_within_the_window() {
        let mut r = plain();
        r.incident.occurred_at = NOW - Duration::days(31);
        assert!(!fired(&run(&r, &[], None, 0), rules::RECENT));
        r.incident.occurred_at = NOW - Duration::days(3);
        assert!(fired(&run(&r, &[], None, 0), rules::RECENT));
    }

    #[test]
    fn repeat_offender_fires_on_prior_reports_or_shared_identifiers() {
        let r = plain();
        assert!(!fired(&run(&r, &[], None, 0), rules::REPEAT));
        assert!(fired(&run(&r, &[], None, 2), rules::REPEAT));
        let mut p = plain();
        p.parties[0].prior_reports.push(1234);
        assert!(fired(&run(&p, &[], None, 0), rules::REPEAT));
        // Prior reports on the victim are not the offender's.
        let mut v = plain();
        let mut victim = Party::new(PartyRole::Victim);
        victim.prior_reports.push(1);
        v.parties.push(victim);
        assert!(!fired(&run(&v, &[], None, 0), rules::REPEAT));
    }

    #[test]
    fn reports_without_anything_to_act_on_are_informational() {
        let bare = NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2024-01-01 00:00 UTC),
        );
        let a = run(&bare, &[], None, 0);
        assert_eq!(a.priority, Priority::Informational);
        assert!(fired(&a, rules::NOT_ACTIONABLE));
        // A file makes it actionable.
        assert_eq!(run(&bare, &[file(vec![])], None, 0).priority, Priority::P3);
        let mut viral = plain();
        viral.batched_viral = true;
        assert_eq!(run(&viral, &[], None, 0).priority, Priority::Informational);
        // Danger outranks missing identifiers.
        let mut urgent = bare.clone();
        urgent.incident.escalation = Some("child in danger tonight".into());
        assert_eq!(run(&urgent, &[], None, 0).priority, Priority::P1);
    }
}
