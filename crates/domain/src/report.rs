//! The report model, shaped after the CyberTipline report but independent of any wire format:
//! the incident, who reported it, the people and accounts involved, the identifiers they left
//! (e-mail addresses, phone numbers, IP capture events, device IDs, URLs) and the files.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::account::OrgId;
use crate::digest::FileDigests;

/// Database identifier of a report. CyberTipline clients see it as their `reportId` (an `xs:long`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ReportId(pub i64);

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = ($code:expr, $wire:expr) ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Short snake_case code used in the JSON API, the database and URLs.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The exact string of the CyberTipline schema.
            pub fn wire(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses either the short code or the CyberTipline string.
            pub fn parse(text: &str) -> Option<Self> {
                let t = text.trim();
                Self::ALL.iter().copied().find(|v| v.code() == t || v.wire() == t)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| UnknownValue {
                    what: stringify!($name),
                    value: s.chars().take(100).collect(),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A value outside an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

wire_enum! {
    /// The incident types of the CyberTipline.
    pub enum IncidentType {
        ChildPornography = ("child_pornography", "Child Pornography (possession, manufacture, and distribution)"),
        ChildSexTrafficking = ("child_sex_trafficking", "Child Sex Trafficking"),
        ChildSexTourism = ("child_sex_tourism", "Child Sex Tourism"),
        ChildSexualMolestation = ("child_sexual_molestation", "Child Sexual Molestation"),
        MisleadingDomainName = ("misleading_domain_name", "Misleading Domain Name"),
        MisleadingWordsOrImages = ("misleading_words_or_images", "Misleading Words or Digital Images on the Internet"),
        OnlineEnticement = ("online_enticement", "Online Enticement of Children for Sexual Acts"),
        UnsolicitedObsceneMaterial = ("unsolicited_obscene_material", "Unsolicited Obscene Material Sent to a Child"),
    }
}

wire_enum! {
    /// Flags a reporter sets on the whole report.
    pub enum ReportAnnotation {
        Sextortion = ("sextortion", "sextortion"),
        CsamSolicitation = ("csam_solicitation", "csamSolicitation"),
        MinorToMinorInteraction = ("minor_to_minor_interaction", "minorToMinorInteraction"),
        Spam = ("spam", "spam"),
        SadisticOnlineExploitation = ("sadistic_online_exploitation", "sadisticOnlineExploitation"),
        /// Newer schema revisions: the reporter considers the report informational only.
        Informational = ("informational", "informational"),
    }
}

wire_enum! {
    /// Where an identifier was captured.
    pub enum CaptureEvent {
        Login = ("login", "Login"),
        Registration = ("registration", "Registration"),
        Purchase = ("purchase", "Purchase"),
        Upload = ("upload", "Upload"),
        Other = ("other", "Other"),
        Unknown = ("unknown", "Unknown"),
    }
}

wire_enum! {
    /// The part a person or account plays in a report.
    pub enum PartyRole {
        /// The person or user reported ("suspect").
        Reported = ("reported", "personOrUserReported"),
        IntendedRecipient = ("intended_recipient", "intendedRecipient"),
        Victim = ("victim", "victim"),
        /// Someone at the reporting company who filed the report.
        ReportingPerson = ("reporting_person", "reportingPerson"),
        /// Whom law enforcement should contact at the reporting company.
        ContactPerson = ("contact_person", "contactPerson"),
        /// An account associated with a reported person or victim (billing, linked, ...).
        AssociatedAccount = ("associated_account", "associatedAccount"),
    }
}

wire_enum! {
    /// The channel through which the incident happened.
    pub enum ChannelKind {
        WebPage = ("web_page", "webPageIncident"),
        Email = ("email", "emailIncident"),
        Newsgroup = ("newsgroup", "newsgroupIncident"),
        ChatIm = ("chat_im", "chatImIncident"),
        OnlineGaming = ("online_gaming", "onlineGamingIncident"),
        CellPhone = ("cell_phone", "cellPhoneIncident"),
        NonInternet = ("non_internet", "nonInternetIncident"),
        PeerToPeer = ("peer_to_peer", "peer2peerIncident"),
    }
}

wire_enum! {
    /// Whether a file is the reported content itself or supporting material.
    pub enum FileRelevance {
        Reported = ("reported", "Reported"),
        Supplemental = ("supplemental", "Supplemental Reported"),
    }
}

wire_enum! {
    /// Flags a reporter sets on a file.
    pub enum FileAnnotation {
        AnimeDrawingVirtualHentai = ("anime_drawing_virtual_hentai", "animeDrawingVirtualHentai"),
        PotentialMeme = ("potential_meme", "potentialMeme"),
        Viral = ("viral", "viral"),
        PossibleSelfProduction = ("possible_self_production", "possibleSelfProduction"),
        PhysicalHarm = ("physical_harm", "physicalHarm"),
        ViolenceGore = ("violence_gore", "violenceGore"),
        Bestiality = ("bestiality", "bestiality"),
        LiveStreaming = ("live_streaming", "liveStreaming"),
        Infant = ("infant", "infant"),
        GenerativeAi = ("generative_ai", "generativeAi"),
    }
}

wire_enum! {
    /// The industry classification scale (A1, A2, B1, B2).
    pub enum IndustryClassification {
        A1 = ("A1", "A1"),
        A2 = ("A2", "A2"),
        B1 = ("B1", "B1"),
        B2 = ("B2", "B2"),
    }
}

wire_enum! {
    /// How a report reached this instance.
    pub enum ReportSource {
        Api = ("api", "api"),
        CyberTipline = ("cybertipline", "cybertipline"),
        WebForm = ("web_form", "web_form"),
        Federation = ("federation", "federation"),
        Demo = ("demo", "demo"),
    }
}

wire_enum! {
    /// Where a report stands in its intake: CyberTipline reports are open until finished.
    pub enum IntakeState {
        Open = ("open", "OPEN"),
        Finished = ("finished", "FINISHED"),
        Retracted = ("retracted", "RETRACTED"),
    }
}

wire_enum! {
    /// Urgency: 1 means a child in imminent danger; informational reports lack enough to act on.
    pub enum Priority {
        P1 = ("p1", "1"),
        P2 = ("p2", "2"),
        P3 = ("p3", "3"),
        Informational = ("informational", "informational"),
    }
}

/// One IP address seen in connection with a report, with the event and time it was captured.
/// An address alone means little: it is the address *at that time* that identifies a subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IpEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "192.0.2.10"))]
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<CaptureEvent>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_proxy: Option<bool>,
}

/// A device identifier (IMEI, ICCID, SSID, advertising ID...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceId {
    pub id_type: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<CaptureEvent>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
}

/// A phone number as reported; normalisation to E.164 happens in geolocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Phone {
    pub number: String,
    /// The `+NN` calling code, when the reporter gave it apart from the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_calling_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// US state or non-US region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A person or account named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub role: PartyRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    /// The service on which the account exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esp_service: Option<String>,
    /// The reporting company's internal user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esp_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_events: Vec<IpEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<DeviceId>,
    /// Earlier CyberTipline report numbers about this person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior_reports: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
}

impl Party {
    /// An empty party of the given role.
    pub fn new(role: PartyRole) -> Self {
        Self {
            role,
            first_name: None,
            last_name: None,
            age: None,
            date_of_birth: None,
            esp_service: None,
            esp_identifier: None,
            screen_name: None,
            display_names: Vec::new(),
            profile_urls: Vec::new(),
            emails: Vec::new(),
            phones: Vec::new(),
            addresses: Vec::new(),
            ip_events: Vec::new(),
            device_ids: Vec::new(),
            prior_reports: Vec::new(),
            school_name: None,
            additional_info: None,
        }
    }
}

/// The channel of the incident (web page, chat, e-mail...), with what the reporter said of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub kind: ChannelKind,
    /// Chat client, game, newsgroup, P2P client or location name, as applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Chat room, console, or similar second label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_events: Vec<IpEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
}

/// What the report says about the incident itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub incident_type: IncidentType,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The reporter's request to escalate, with its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<ReportAnnotation>,
}

/// What the reporter says about law enforcement already involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LawEnforcement {
    pub agency_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_to_le: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_process_domestic: Option<bool>,
    /// Country of an international legal process, if one was served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_process_international_country: Option<String>,
}

/// A report as submitted, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub incident: Incident,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub law_enforcement: Option<LawEnforcement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    /// A batched report of one viral or meme file (many accounts, one file).
    #[serde(default)]
    pub batched_viral: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
    /// Marks fictional demo data, so it is never mistaken for a real report.
    #[serde(default)]
    pub demo: bool,
}

/// A field that breaks a rule, with the path of the field (`incident.occurred_at`, `parties[2].age`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest free text accepted in any one field, in characters.
pub const MAX_TEXT: usize = 100_000;
/// Longest short label (names, identifiers), in characters.
pub const MAX_LABEL: usize = 2_083;

impl NewReport {
    /// A minimal report of `incident_type` that happened at `occurred_at`.
    pub fn new(incident_type: IncidentType, occurred_at: OffsetDateTime) -> Self {
        Self {
            incident: Incident {
                incident_type,
                occurred_at,
                occurred_at_description: None,
                platform: None,
                escalation: None,
                annotations: Vec::new(),
            },
            channels: Vec::new(),
            law_enforcement: None,
            parties: Vec::new(),
            batched_viral: false,
            additional_info: None,
            demo: false,
        }
    }

    /// Checks the rules every report obeys, whatever its wire format: the incident lies in the
    /// past, text fits its limits, e-mail addresses look like addresses, ages are plausible.
    /// Returns every violation, not just the first.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.incident.occurred_at > now + time::Duration::minutes(5) {
            errors.push(FieldError::new(
                "incident.occurred_at",
                "lies in the future",
            ));
        }
        check_text(
            &mut errors,
            "incident.platform",
            self.incident.platform.as_deref(),
            MAX_LABEL,
        );
        check_text(
            &mut errors,
            "incident.escalation",
            self.incident.escalation.as_deref(),
            MAX_TEXT,
        );
        check_text(
            &mut errors,
            "incident.occurred_at_description",
            self.incident.occurred_at_description.as_deref(),
            MAX_TEXT,
        );
        check_text(
            &mut errors,
            "additional_info",
            self.additional_info.as_deref(),
            MAX_TEXT,
        );
        if let Some(escalation) = &self.incident.escalation {
            if escalation.trim().is_empty() {
                errors.push(FieldError::new("incident.escalation", "is blank"));
            }
        }
        for (i, channel) in self.channels.iter().enumerate() {
            let base = format!("channels[{i}]");
            check_text(
                &mut errors,
                &format!("{base}.name"),
                channel.name.as_deref(),
                MAX_LABEL,
            );
            check_text(
                &mut errors,
                &format!("{base}.content"),
                channel.content.as_deref(),
                MAX_TEXT,
            );
            for (j, url) in channel.urls.iter().enumerate() {
                check_text(
                    &mut errors,
                    &format!("{base}.urls[{j}]"),
                    Some(url),
                    MAX_LABEL,
                );
            }
            for (j, email) in channel.emails.iter().enumerate() {
                check_email(&mut errors, &format!("{base}.emails[{j}]"), email);
            }
            check_ip_events(&mut errors, &base, &channel.ip_events, now);
        }
        for (i, party) in self.parties.iter().enumerate() {
            let base = format!("parties[{i}]");
            if let Some(age) = party.age {
                if age > 150 {
                    errors.push(FieldError::new(format!("{base}.age"), "must be 0 to 150"));
                }
            }
            if let Some(dob) = party.date_of_birth {
                if dob > now.date() {
                    errors.push(FieldError::new(
                        format!("{base}.date_of_birth"),
                        "lies in the future",
                    ));
                }
            }
            for (field, value) in [
                ("first_name", &party.first_name),
                ("last_name", &party.last_name),
                ("esp_service", &party.esp_service),
                ("esp_identifier", &party.esp_identifier),
                ("screen_name", &party.screen_name),
                ("school_name", &party.school_name),
            ] {
                check_text(
                    &mut errors,
                    &format!("{base}.{field}"),
                    value.as_deref(),
                    MAX_LABEL,
                );
            }
            for (j, email) in party.emails.iter().enumerate() {
                check_email(&mut errors, &format!("{base}.emails[{j}]"), email);
            }
            for (j, url) in party.profile_urls.iter().enumerate() {
                check_text(
                    &mut errors,
                    &format!("{base}.profile_urls[{j}]"),
                    Some(url),
                    MAX_LABEL,
                );
            }
            check_ip_events(&mut errors, &base, &party.ip_events, now);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Every IP capture event in the report, wherever it was given.
    pub fn ip_events(&self) -> impl Iterator<Item = &IpEvent> {
        self.channels
            .iter()
            .flat_map(|c| c.ip_events.iter())
            .chain(self.parties.iter().flat_map(|p| p.ip_events.iter()))
    }
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value {
        if v.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("is longer than {max} characters"),
            ));
        }
    }
}

fn check_email(errors: &mut Vec<FieldError>, field: &str, email: &str) {
    if let Err(why) = crate::identifier::NormalisedEmail::parse(email) {
        errors.push(FieldError::new(field, why.to_string()));
    }
}

fn check_ip_events(
    errors: &mut Vec<FieldError>,
    base: &str,
    events: &[IpEvent],
    now: OffsetDateTime,
) {
    for (j, event) in events.iter().enumerate() {
        if event.port == Some(0) {
            errors.push(FieldError::new(
                format!("{base}.ip_events[{j}].port"),
                "must be 1 to 65535",
            ));
        }
        if let Some(at) = event.at {
            if at > now + time::Duration::minutes(5) {
                errors.push(FieldError::new(
                    format!("{base}.ip_events[{j}].at"),
                    "lies in the future",
                ));
            }
        }
    }
}

/// A file attached to a report. The bytes live in the evidence vault under their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportFile {
    /// The public 32-hex file id handed to the reporter.
    pub file_id: String,
    pub digests: FileDigests,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub relevance: FileRelevance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewed_by_reporter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exif_viewed_by_reporter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicly_available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_classification: Option<IndustryClassification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<FileAnnotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_events: Vec<IpEvent>,
}

/// A stored report: what was submitted plus what the instance knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub id: ReportId,
    /// Globally unique id, stable across federated instances.
    pub uid: uuid::Uuid,
    pub source: ReportSource,
    /// The organisation that submitted it.
    pub reporter_org: OrgId,
    pub state: IntakeState,
    pub priority: Option<Priority>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(flatten)]
    pub content: NewReport,
    pub files: Vec<ReportFile>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn enums_accept_code_or_wire_string() {
        assert_eq!(
            IncidentType::parse("Online Enticement of Children for Sexual Acts"),
            Some(IncidentType::OnlineEnticement)
        );
        assert_eq!(
            IncidentType::parse("online_enticement"),
            Some(IncidentType::OnlineEnticement)
        );
        assert_eq!(IncidentType::parse("Enticement"), None);
        assert_eq!(FileRelevance::Supplemental.wire(), "Supplemental Reported");
        assert_eq!(IncidentType::ALL.len(), 8);
    }

    #[test]
    fn json_refuses_unknown_fields_and_values() {
        let ok = r#"{"incident":{"incident_type":"child_pornography","occurred_at":"2024-01-01T00:00:00Z"}}"#;
        assert!(serde_json::from_str::<NewReport>(ok).is_ok());
        let unknown_field = r#"{"incident":{"incident_type":"child_pornography","occurred_at":"2024-01-01T00:00:00Z"},"colour":1}"#;
        assert!(serde_json::from_str::<NewReport>(unknown_field).is_err());
        let bad_type =
            r#"{"incident":{"incident_type":"robbery","occurred_at":"2024-01-01T00:00:00Z"}}"#;
        let err = serde_json::from_str::<NewReport>(bad_type).expect_err("unknown incident type");
        assert!(err.to_string().contains("robbery"), "{err}");
    }

    #[test]
    fn validation_reports_every_broken_field() {
        let now = datetime!(2025-01-01 00:00 UTC);
        let mut report = NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2026-01-01 00:00 UTC),
        );
        let mut victim = Party::new(PartyRole::Victim);
        victim.age = Some(200);
        victim.emails.push("not-an-address".into());
        report.parties.push(victim);
        let errors = report.validate(now).expect_err("three violations");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "incident.occurred_at",
                "parties[0].age",
                "parties[0].emails[0]"
            ]
        );
    }

    #[test]
    fn a_plain_report_in_the_past_is_valid() {
        let now = datetime!(2025-01-01 00:00 UTC);
        let report = NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2024-06-01 12:00 +02:00),
        );
        assert_eq!(report.validate(now), Ok(()));
    }
}
