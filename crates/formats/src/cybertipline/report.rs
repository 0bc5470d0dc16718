//! Wire types of the `<report>` document (POST /submit) and the common types it shares with
//! `<fileDetails>`. Field order is the XSD sequence order; names follow the XML (camelCase →
//! snake_case). Optional elements are `Option`, repeatable ones `Vec`.

use super::values::{
    AddressType, AssociatedAccountType, BatchedReportReason, EmailType, EventName, IncidentType,
    PhoneType, XsDate, XsDateTime,
};

/// `<report>`: the root of a CyberTipline report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// `batchedReport`: present for a batched (viral / potential meme) report.
    pub batched_report: Option<BatchedReport>,
    /// `incidentSummary`.
    pub incident_summary: IncidentSummary,
    /// `internetDetails`, each exactly one incident subtype.
    pub internet_details: Vec<InternetDetails>,
    /// `lawEnforcement`.
    pub law_enforcement: Option<LawEnforcement>,
    /// `reporter`.
    pub reporter: Reporter,
    /// `personOrUserReported` (0|1, many only in a batched report).
    pub person_or_user_reported: Vec<PersonOrUserReported>,
    /// `intendedRecipient`.
    pub intended_recipient: Vec<IntendedRecipient>,
    /// `victim`.
    pub victim: Vec<Victim>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

impl Report {
    /// The smallest valid report: incident type and time, and the reporting person's e-mail
    /// (the only data the documentation makes mandatory).
    pub fn new(
        incident_type: IncidentType,
        incident_date_time: XsDateTime,
        reporter_email: impl Into<String>,
    ) -> Self {
        Report {
            batched_report: None,
            incident_summary: IncidentSummary {
                incident_type,
                platform: None,
                escalate_to_high_priority: None,
                report_annotations: None,
                incident_date_time,
                incident_date_time_description: None,
            },
            internet_details: Vec::new(),
            law_enforcement: None,
            reporter: Reporter {
                reporting_person: Person {
                    email: vec![Email::new(reporter_email)],
                    ..Person::default()
                },
                ..Reporter::default()
            },
            person_or_user_reported: Vec::new(),
            intended_recipient: Vec::new(),
            victim: Vec::new(),
            additional_info: None,
        }
    }
}

/// `<batchedReport reason="…"/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchedReport {
    /// `@reason`.
    pub reason: BatchedReportReason,
}

/// `<incidentSummary>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentSummary {
    /// `incidentType`.
    pub incident_type: IncidentType,
    /// `platform`.
    pub platform: Option<String>,
    /// `escalateToHighPriority`: presence escalates the report.
    pub escalate_to_high_priority: Option<String>,
    /// `reportAnnotations`.
    pub report_annotations: Option<ReportAnnotations>,
    /// `incidentDateTime`.
    pub incident_date_time: XsDateTime,
    /// `incidentDateTimeDescription`.
    pub incident_date_time_description: Option<String>,
}

/// `<reportAnnotations>`: each flag is an empty element that is present or absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportAnnotations {
    /// `sextortion`.
    pub sextortion: bool,
    /// `csamSolicitation`.
    pub csam_solicitation: bool,
    /// `minorToMinorInteraction`.
    pub minor_to_minor_interaction: bool,
    /// `spam`.
    pub spam: bool,
    /// `sadisticOnlineExploitation`.
    pub sadistic_online_exploitation: bool,
    /// `informational` (2026 documentation revision; superset).
    pub informational: bool,
}

/// `<internetDetails>`: exactly one incident subtype.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum InternetDetails {
    /// `webPageIncident`.
    WebPage(WebPageIncident),
    /// `emailIncident`.
    Email(EmailIncident),
    /// `newsgroupIncident`.
    Newsgroup(NewsgroupIncident),
    /// `chatImIncident`.
    ChatIm(ChatImIncident),
    /// `onlineGamingIncident`.
    OnlineGaming(OnlineGamingIncident),
    /// `cellPhoneIncident`.
    CellPhone(CellPhoneIncident),
    /// `nonInternetIncident`.
    NonInternet(NonInternetIncident),
    /// `peer2peerIncident`.
    Peer2Peer(Peer2PeerIncident),
}

impl InternetDetails {
    /// The element name of the subtype.
    pub fn element_name(&self) -> &'static str {
        match self {
            InternetDetails::WebPage(_) => "webPageIncident",
            InternetDetails::Email(_) => "emailIncident",
            InternetDetails::Newsgroup(_) => "newsgroupIncident",
            InternetDetails::ChatIm(_) => "chatImIncident",
            InternetDetails::OnlineGaming(_) => "onlineGamingIncident",
            InternetDetails::CellPhone(_) => "cellPhoneIncident",
            InternetDetails::NonInternet(_) => "nonInternetIncident",
            InternetDetails::Peer2Peer(_) => "peer2peerIncident",
        }
    }
}

/// `<webPageIncident>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebPageIncident {
    /// `@thirdPartyHostedContent`.
    pub third_party_hosted_content: Option<bool>,
    /// `url`.
    pub url: Vec<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<emailIncident>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmailIncident {
    /// `emailAddress`: each must also be an e-mail of a reported person, recipient or victim.
    pub email_address: Vec<Email>,
    /// `content`.
    pub content: Option<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<newsgroupIncident>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewsgroupIncident {
    /// `name`.
    pub name: Option<String>,
    /// `emailAddress`.
    pub email_address: Vec<Email>,
    /// `content`.
    pub content: Option<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<chatImIncident>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatImIncident {
    /// `chatClient`.
    pub chat_client: Option<String>,
    /// `chatRoomName`.
    pub chat_room_name: Option<String>,
    /// `content`.
    pub content: Option<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<onlineGamingIncident>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnlineGamingIncident {
    /// `gameName`.
    pub game_name: Option<String>,
    /// `console`.
    pub console: Option<String>,
    /// `content`.
    pub content: Option<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<cellPhoneIncident>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CellPhoneIncident {
    /// `phoneNumber`.
    pub phone_number: Option<Phone>,
    /// `latitude`.
    pub latitude: Option<f64>,
    /// `longitude`.
    pub longitude: Option<f64>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<nonInternetIncident>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NonInternetIncident {
    /// `locationName`.
    pub location_name: Option<String>,
    /// `incidentAddress`.
    pub incident_address: Vec<Address>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<peer2peerIncident>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Peer2PeerIncident {
    /// `client`.
    pub client: Option<String>,
    /// `ipCaptureEvent`.
    pub ip_capture_event: Vec<IpCaptureEvent>,
    /// `fileNames`.
    pub file_names: Option<String>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<lawEnforcement>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LawEnforcement {
    /// `agencyName`.
    pub agency_name: String,
    /// `caseNumber`.
    pub case_number: Option<String>,
    /// `officerContact`.
    pub officer_contact: Option<ContactPerson>,
    /// `reportedToLe`.
    pub reported_to_le: Option<bool>,
    /// `servedLegalProcessDomestic`.
    pub served_legal_process_domestic: Option<bool>,
    /// `servedLegalProcessInternational`.
    pub served_legal_process_international: Option<ServedLegalProcessInternational>,
}

/// `<servedLegalProcessInternational fleaCountry="…">bool</…>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServedLegalProcessInternational {
    /// The element's boolean value.
    pub value: bool,
    /// `@fleaCountry` (ISO 3166-1 alpha-2, schema `country` enumeration).
    pub flea_country: Option<String>,
}

/// `<reporter>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reporter {
    /// `reportingPerson` (its `email` is required by the business rules).
    pub reporting_person: Person,
    /// `contactPerson`.
    pub contact_person: Option<ContactPerson>,
    /// `companyTemplate`.
    pub company_template: Option<String>,
    /// `termsOfService`.
    pub terms_of_service: Option<String>,
    /// `legalURL`.
    pub legal_url: Option<String>,
}

/// `<personOrUserReported>`: the suspect.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PersonOrUserReported {
    /// `personOrUserReportedPerson`.
    pub person_or_user_reported_person: Option<Person>,
    /// `vehicleDescription`.
    pub vehicle_description: Option<String>,
    /// `espIdentifier`.
    pub esp_identifier: Option<String>,
    /// `espService`.
    pub esp_service: Option<String>,
    /// `compromisedAccount`.
    pub compromised_account: Option<bool>,
    /// `screenName`.
    pub screen_name: Option<String>,
    /// `displayName`.
    pub display_name: Vec<String>,
    /// `profileUrl`.
    pub profile_url: Vec<String>,
    /// `profileBio`.
    pub profile_bio: Option<String>,
    /// `ipCaptureEvent`.
    pub ip_capture_event: Vec<IpCaptureEvent>,
    /// `deviceId`.
    pub device_id: Vec<DeviceId>,
    /// `thirdPartyUserReported`.
    pub third_party_user_reported: Option<bool>,
    /// `priorCTReports`.
    pub prior_ct_reports: Vec<i64>,
    /// `groupIdentifier`.
    pub group_identifier: Option<String>,
    /// `accountTemporarilyDisabled`.
    pub account_temporarily_disabled: Option<AccountTemporarilyDisabled>,
    /// `accountPermanentlyDisabled`.
    pub account_permanently_disabled: Option<AccountPermanentlyDisabled>,
    /// `estimatedLocation`.
    pub estimated_location: Option<EstimatedLocation>,
    /// `allEmailsReported`.
    pub all_emails_reported: Option<bool>,
    /// `associatedAccount`.
    pub associated_account: Vec<AssociatedAccount>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<intendedRecipient>`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntendedRecipient {
    /// `intendedRecipientPerson`.
    pub intended_recipient_person: Option<Person>,
    /// `espIdentifier`.
    pub esp_identifier: Option<String>,
    /// `espService`.
    pub esp_service: Option<String>,
    /// `compromisedAccount`.
    pub compromised_account: Option<bool>,
    /// `screenName`.
    pub screen_name: Option<String>,
    /// `displayName`.
    pub display_name: Vec<String>,
    /// `profileUrl`.
    pub profile_url: Vec<String>,
    /// `profileBio`.
    pub profile_bio: Option<String>,
    /// `ipCaptureEvent`.
    pub ip_capture_event: Vec<IpCaptureEvent>,
    /// `deviceId`.
    pub device_id: Vec<DeviceId>,
    /// `priorCTReports`.
    pub prior_ct_reports: Vec<i64>,
    /// `groupIdentifier`.
    pub group_identifier: Option<String>,
    /// `accountTemporarilyDisabled`.
    pub account_temporarily_disabled: Option<AccountTemporarilyDisabled>,
    /// `accountPermanentlyDisabled`.
    pub account_permanently_disabled: Option<AccountPermanentlyDisabled>,
    /// `estimatedLocation`.
    pub estimated_location: Option<EstimatedLocation>,
    /// `allEmailsReported`.
    pub all_emails_reported: Option<bool>,
    /// `additionalInfo` (repeatable here, unlike elsewhere).
    pub additional_info: Vec<String>,
}

/// `<victim>`: a child victim.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Victim {
    /// `victimPerson` (required).
    pub victim_person: Person,
    /// `espIdentifier`.
    pub esp_identifier: Option<String>,
    /// `espService`.
    pub esp_service: Option<String>,
    /// `compromisedAccount`.
    pub compromised_account: Option<bool>,
    /// `screenName`.
    pub screen_name: Option<String>,
    /// `displayName`.
    pub display_name: Vec<String>,
    /// `profileUrl`.
    pub profile_url: Vec<String>,
    /// `profileBio`.
    pub profile_bio: Option<String>,
    /// `ipCaptureEvent`.
    pub ip_capture_event: Vec<IpCaptureEvent>,
    /// `deviceId`.
    pub device_id: Vec<DeviceId>,
    /// `schoolName`.
    pub school_name: Option<String>,
    /// `priorCTReports`.
    pub prior_ct_reports: Vec<i64>,
    /// `accountTemporarilyDisabled`.
    pub account_temporarily_disabled: Option<AccountTemporarilyDisabled>,
    /// `accountPermanentlyDisabled`.
    pub account_permanently_disabled: Option<AccountPermanentlyDisabled>,
    /// `estimatedLocation`.
    pub estimated_location: Option<EstimatedLocation>,
    /// `allEmailsReported`.
    pub all_emails_reported: Option<bool>,
    /// `associatedAccount`.
    pub associated_account: Vec<AssociatedAccount>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

/// `<associatedAccount type="…">`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssociatedAccount {
    /// `@type` (required by the XSD; the documentation calls it `accountType`).
    pub account_type: AssociatedAccountType,
    /// `platform`.
    pub platform: Option<AccountPlatform>,
    /// `firstName`.
    pub first_name: Option<String>,
    /// `middleName`.
    pub middle_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `approximateAge` (exclusive with `dateOfBirth`).
    pub approximate_age: Option<i32>,
    /// `ageAssertionDiscrepancy` (2026 documentation revision; superset).
    pub age_assertion_discrepancy: Option<bool>,
    /// `dateOfBirth`.
    pub date_of_birth: Option<XsDate>,
    /// `phone`.
    pub phone: Vec<Phone>,
    /// `email`.
    pub email: Vec<Email>,
    /// `allEmailsReported`.
    pub all_emails_reported: Option<bool>,
    /// `address`.
    pub address: Vec<Address>,
    /// `espService`.
    pub esp_service: Option<String>,
    /// `espIdentifier`.
    pub esp_identifier: Option<String>,
    /// `profileUrl`.
    pub profile_url: Vec<String>,
    /// `screenName`.
    pub screen_name: Option<String>,
    /// `displayName`.
    pub display_name: Vec<String>,
    /// `profileBio`.
    pub profile_bio: Option<String>,
    /// `groupIdentifier`.
    pub group_identifier: Option<String>,
    /// `compromisedAccount`.
    pub compromised_account: Option<bool>,
    /// `accountTemporarilyDisabled`.
    pub account_temporarily_disabled: Option<AccountTemporarilyDisabled>,
    /// `accountPermanentlyDisabled`.
    pub account_permanently_disabled: Option<AccountPermanentlyDisabled>,
    /// `ipCaptureEvent`.
    pub ip_capture_event: Vec<IpCaptureEvent>,
    /// `deviceId`.
    pub device_id: Vec<DeviceId>,
    /// `priorCTReport` (singular here, unlike `priorCTReports` elsewhere).
    pub prior_ct_report: Vec<i64>,
    /// `additionalInfo`.
    pub additional_info: Option<String>,
}

impl AssociatedAccount {
    /// An account of that type with nothing else set.
    pub fn new(account_type: AssociatedAccountType) -> Self {
        AssociatedAccount {
            account_type,
            platform: None,
            first_name: None,
            middle_name: None,
            last_name: None,
            approximate_age: None,
            age_assertion_discrepancy: None,
            date_of_birth: None,
            phone: Vec::new(),
            email: Vec::new(),
            all_emails_reported: None,
            address: Vec::new(),
            esp_service: None,
            esp_identifier: None,
            profile_url: Vec::new(),
            screen_name: None,
            display_name: Vec::new(),
            profile_bio: None,
            group_identifier: None,
            compromised_account: None,
            account_temporarily_disabled: None,
            account_permanently_disabled: None,
            ip_capture_event: Vec::new(),
            device_id: Vec::new(),
            prior_ct_report: Vec::new(),
            additional_info: None,
        }
    }
}

/// `associatedAccount/platform` with `@thirdPartyUser`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountPlatform {
    /// The platform name.
    pub value: String,
    /// `@thirdPartyUser`.
    pub third_party_user: Option<bool>,
}

/// `person`: a real-world person.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// `firstName`.
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `phone`.
    pub phone: Vec<Phone>,
    /// `email`.
    pub email: Vec<Email>,
    /// `address`.
    pub address: Vec<Address>,
    /// `age`.
    pub age: Option<i32>,
    /// `ageAssertionDiscrepancy` (2026 documentation revision; superset).
    pub age_assertion_discrepancy: Option<bool>,
    /// `dateOfBirth`.
    pub date_of_birth: Option<XsDate>,
}

/// `contactPerson`: a person for professional contact.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContactPerson {
    /// `firstName`.
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `phone`.
    pub phone: Vec<Phone>,
    /// `email`.
    pub email: Vec<Email>,
    /// `address`.
    pub address: Vec<Address>,
}

/// `address`: a physical address.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    /// `@type`.
    pub address_type: Option<AddressType>,
    /// `address` (street).
    pub address: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `zipCode`.
    pub zip_code: Option<String>,
    /// `state` (US postal abbreviation, schema enumeration).
    pub state: Option<String>,
    /// `nonUsaState`.
    pub non_usa_state: Option<String>,
    /// `country` (schema `country` enumeration).
    pub country: Option<String>,
}

/// `phone`: a phone number with attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Phone {
    /// The number.
    pub value: String,
    /// `@type`.
    pub phone_type: Option<PhoneType>,
    /// `@verified`.
    pub verified: Option<bool>,
    /// `@verificationDate`.
    pub verification_date: Option<XsDateTime>,
    /// `@countryCallingCode` (`+1`…`+999`).
    pub country_calling_code: Option<String>,
    /// `@extension` (digits).
    pub extension: Option<String>,
}

/// `email`: an e-mail address with attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// The address.
    pub value: String,
    /// `@type`.
    pub email_type: Option<EmailType>,
    /// `@verified`.
    pub verified: Option<bool>,
    /// `@verificationDate`.
    pub verification_date: Option<XsDateTime>,
}

impl Email {
    /// An address without attributes.
    pub fn new(value: impl Into<String>) -> Self {
        Email {
            value: value.into(),
            ..Email::default()
        }
    }
}

/// `estimatedLocation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EstimatedLocation {
    /// `@verified`.
    pub verified: Option<bool>,
    /// `@timestamp`.
    pub timestamp: Option<XsDateTime>,
    /// `city`.
    pub city: Option<String>,
    /// `region` (a US state code when `countryCode` is `US`).
    pub region: Option<String>,
    /// `countryCode` (required by the business rules).
    pub country_code: Option<String>,
}

/// `ipCaptureEvent`: an IP address and when it was used.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IpCaptureEvent {
    /// `ipAddress` (IPv4, IPv6 or IPv4-mapped IPv6).
    pub ip_address: String,
    /// `eventName`.
    pub event_name: Option<EventName>,
    /// `dateTime`.
    pub date_time: Option<XsDateTime>,
    /// `possibleProxy`.
    pub possible_proxy: Option<bool>,
    /// `port` (1–65535).
    pub port: Option<i32>,
}

/// `deviceId`: a device identifier (IMEI, ICCID, SSID…).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceId {
    /// `idType`.
    pub id_type: String,
    /// `idValue`.
    pub id_value: String,
    /// `eventName`.
    pub event_name: Option<EventName>,
    /// `dateTime`.
    pub date_time: Option<XsDateTime>,
}

/// `accountTemporarilyDisabled`: boolean value with dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountTemporarilyDisabled {
    /// The element's boolean value.
    pub value: bool,
    /// `@disabledDate`.
    pub disabled_date: Option<XsDateTime>,
    /// `@userNotified`.
    pub user_notified: Option<bool>,
    /// `@userNotifiedDate`.
    pub user_notified_date: Option<XsDateTime>,
    /// `@reenabledDate`.
    pub reenabled_date: Option<XsDateTime>,
}

/// `accountPermanentlyDisabled`: boolean value with dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountPermanentlyDisabled {
    /// The element's boolean value.
    pub value: bool,
    /// `@disabledDate`.
    pub disabled_date: Option<XsDateTime>,
    /// `@userNotified`.
    pub user_notified: Option<bool>,
    /// `@userNotifiedDate`.
    pub user_notified_date: Option<XsDateTime>,
}
