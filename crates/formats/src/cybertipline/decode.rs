//! Element tree → wire types. Runs after schema validation, so structure and order are already
//! right; what can still fail is a value the types cannot hold (e.g. a year beyond 9999).

use super::file_details::{
    Details, FileAnnotationChoice, FileAnnotations, FileDetails, NameValuePair, OriginalFileHash,
};
use super::report::{
    AccountPermanentlyDisabled, AccountPlatform, AccountTemporarilyDisabled, Address,
    AssociatedAccount, BatchedReport, CellPhoneIncident, ChatImIncident, ContactPerson, DeviceId,
    Email, EmailIncident, EstimatedLocation, IncidentSummary, IntendedRecipient, InternetDetails,
    IpCaptureEvent, LawEnforcement, NewsgroupIncident, NonInternetIncident, OnlineGamingIncident,
    Peer2PeerIncident, Person, PersonOrUserReported, Phone, Report, ReportAnnotations, Reporter,
    ServedLegalProcessInternational, Victim, WebPageIncident,
};
use super::response::{ReportDoneResponse, ReportResponse};
use super::tree::Element;
use super::values::{
    parse_bool, parse_double, parse_int, parse_long, AddressType, AssociatedAccountType,
    BatchedReportReason, DetailsType, EmailType, EventName, FileRelevance, IncidentType,
    IndustryClassification, PhoneType, ValueError, XsDate, XsDateTime,
};

/// A value the wire types cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} (line {line}): {message}")]
pub struct DecodeError {
    /// Element path (an attribute as `…/@name`).
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

type R<T> = Result<T, DecodeError>;

fn fail(e: &Element, what: impl Into<String>) -> DecodeError {
    DecodeError {
        path: e.path.clone(),
        line: e.line,
        message: what.into(),
    }
}

fn value<T>(e: &Element, r: Result<T, ValueError>) -> R<T> {
    r.map_err(|v| fail(e, v.to_string()))
}

fn attr_value<T>(e: &Element, name: &str, r: Result<T, ValueError>) -> R<T> {
    r.map_err(|v| DecodeError {
        path: format!("{}/@{name}", e.path),
        line: e.line,
        message: v.to_string(),
    })
}

fn required<'a>(e: &'a Element, name: &str) -> R<&'a Element> {
    e.child(name)
        .ok_or_else(|| fail(e, format!("missing required element '{name}'")))
}

fn opt_text(e: &Element, name: &str) -> Option<String> {
    e.child(name).map(|c| c.text.clone())
}

fn texts(e: &Element, name: &str) -> Vec<String> {
    e.children_named(name).map(|c| c.text.clone()).collect()
}

fn opt<T>(e: &Element, name: &str, f: impl Fn(&Element) -> R<T>) -> R<Option<T>> {
    e.child(name).map(f).transpose()
}

fn many<T>(e: &Element, name: &str, f: impl Fn(&Element) -> R<T>) -> R<Vec<T>> {
    e.children_named(name).map(f).collect()
}

fn opt_bool(e: &Element, name: &str) -> R<Option<bool>> {
    opt(e, name, |c| value(c, parse_bool(&c.text)))
}

fn opt_int(e: &Element, name: &str) -> R<Option<i32>> {
    opt(e, name, |c| value(c, parse_int(&c.text)))
}

fn longs(e: &Element, name: &str) -> R<Vec<i64>> {
    many(e, name, |c| value(c, parse_long(&c.text)))
}

fn opt_date_time(e: &Element, name: &str) -> R<Option<XsDateTime>> {
    opt(e, name, |c| value(c, XsDateTime::parse(&c.text)))
}

fn opt_date(e: &Element, name: &str) -> R<Option<XsDate>> {
    opt(e, name, |c| value(c, XsDate::parse(&c.text)))
}

fn wire<T>(e: &Element, text: &str, parse: fn(&str) -> Option<T>, kind: &'static str) -> R<T> {
    parse(text).ok_or_else(|| fail(e, format!("'{text}' is not a valid {kind}")))
}

fn opt_enum<T>(
    e: &Element,
    name: &str,
    parse: fn(&str) -> Option<T>,
    kind: &'static str,
) -> R<Option<T>> {
    opt(e, name, |c| wire(c, &c.text, parse, kind))
}

fn attr_bool(e: &Element, name: &str) -> R<Option<bool>> {
    e.attribute(name)
        .map(|v| attr_value(e, name, parse_bool(v)))
        .transpose()
}

fn attr_date_time(e: &Element, name: &str) -> R<Option<XsDateTime>> {
    e.attribute(name)
        .map(|v| attr_value(e, name, XsDateTime::parse(v)))
        .transpose()
}

fn attr_enum<T>(
    e: &Element,
    name: &str,
    parse: fn(&str) -> Option<T>,
    kind: &'static str,
) -> R<Option<T>> {
    e.attribute(name)
        .map(|v| {
            parse(v).ok_or_else(|| DecodeError {
                path: format!("{}/@{name}", e.path),
                line: e.line,
                message: format!("'{v}' is not a valid {kind}"),
            })
        })
        .transpose()
}

fn flag(e: &Element, name: &str) -> bool {
    e.child(name).is_some()
}

/// Decodes a `<report>` element.
pub fn report(e: &Element) -> R<Report> {
    Ok(Report {
        batched_report: opt(e, "batchedReport", |b| {
            let reason = b
                .attribute("reason")
                .ok_or_else(|| fail(b, "missing required attribute 'reason'"))?;
            Ok(BatchedReport {
                reason: wire(
                    b,
                    reason,
                    BatchedReportReason::from_wire,
                    "batchedReport reason",
                )?,
            })
        })?,
        incident_summary: incident_summary(required(e, "incidentSummary")?)?,
        internet_details: many(e, "internetDetails", internet_details)?,
        law_enforcement: opt(e, "lawEnforcement", law_enforcement)?,
        reporter: reporter(required(e, "reporter")?)?,
        person_or_user_reported: many(e, "personOrUserReported", person_or_user_reported)?,
        intended_recipient: many(e, "intendedRecipient", intended_recipient)?,
        victim: many(e, "victim", victim)?,
        additional_info: opt_text(e, "additionalInfo"),
    })
}

fn incident_summary(e: &Element) -> R<IncidentSummary> {
    let t = required(e, "incidentType")?;
    let dt = required(e, "incidentDateTime")?;
    Ok(IncidentSummary {
        incident_type: wire(t, &t.text, IncidentType::from_wire, "incidentType")?,
        platform: opt_text(e, "platform"),
        escalate_to_high_priority: opt_text(e, "escalateToHighPriority"),
        report_annotations: e.child("reportAnnotations").map(|a| ReportAnnotations {
            sextortion: flag(a, "sextortion"),
            csam_solicitation: flag(a, "csamSolicitation"),
            minor_to_minor_interaction: flag(a, "minorToMinorInteraction"),
            spam: flag(a, "spam"),
            sadistic_online_exploitation: flag(a, "sadisticOnlineExploitation"),
            informational: flag(a, "informational"),
        }),
        incident_date_time: value(dt, XsDateTime::parse(&dt.text))?,
        incident_date_time_description: opt_text(e, "incidentDateTimeDescription"),
    })
}

fn internet_details(e: &Element) -> R<InternetDetails> {
    let c = e
        .children
        .first()
        .ok_or_else(|| fail(e, "internetDetails needs exactly one incident subtype"))?;
    Ok(match c.name.as_str() {
        "webPageIncident" => InternetDetails::WebPage(WebPageIncident {
            third_party_hosted_content: attr_bool(c, "thirdPartyHostedContent")?,
            url: texts(c, "url"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "emailIncident" => InternetDetails::Email(EmailIncident {
            email_address: many(c, "emailAddress", email)?,
            content: opt_text(c, "content"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "newsgroupIncident" => InternetDetails::Newsgroup(NewsgroupIncident {
            name: opt_text(c, "name"),
            email_address: many(c, "emailAddress", email)?,
            content: opt_text(c, "content"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "chatImIncident" => InternetDetails::ChatIm(ChatImIncident {
            chat_client: opt_text(c, "chatClient"),
            chat_room_name: opt_text(c, "chatRoomName"),
            content: opt_text(c, "content"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "onlineGamingIncident" => InternetDetails::OnlineGaming(OnlineGamingIncident {
            game_name: opt_text(c, "gameName"),
            console: opt_text(c, "console"),
            content: opt_text(c, "content"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "cellPhoneIncident" => InternetDetails::CellPhone(CellPhoneIncident {
            phone_number: opt(c, "phoneNumber", phone)?,
            latitude: opt(c, "latitude", |x| value(x, parse_double(&x.text)))?,
            longitude: opt(c, "longitude", |x| value(x, parse_double(&x.text)))?,
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "nonInternetIncident" => InternetDetails::NonInternet(NonInternetIncident {
            location_name: opt_text(c, "locationName"),
            incident_address: many(c, "incidentAddress", address)?,
            additional_info: opt_text(c, "additionalInfo"),
        }),
        "peer2peerIncident" => InternetDetails::Peer2Peer(Peer2PeerIncident {
            client: opt_text(c, "client"),
            ip_capture_event: many(c, "ipCaptureEvent", ip_capture_event)?,
            file_names: opt_text(c, "fileNames"),
            additional_info: opt_text(c, "additionalInfo"),
        }),
        other => return Err(fail(c, format!("unknown incident subtype '{other}'"))),
    })
}

fn law_enforcement(e: &Element) -> R<LawEnforcement> {
    Ok(LawEnforcement {
        agency_name: required(e, "agencyName")?.text.clone(),
        case_number: opt_text(e, "caseNumber"),
        officer_contact: opt(e, "officerContact", contact_person)?,
        reported_to_le: opt_bool(e, "reportedToLe")?,
        served_legal_process_domestic: opt_bool(e, "servedLegalProcessDomestic")?,
        served_legal_process_international: opt(e, "servedLegalProcessInternational", |s| {
            Ok(ServedLegalProcessInternational {
                value: value(s, parse_bool(&s.text))?,
                flea_country: s.attribute("fleaCountry").map(str::to_string),
            })
        })?,
    })
}

fn reporter(e: &Element) -> R<Reporter> {
    Ok(Reporter {
        reporting_person: person(required(e, "reportingPerson")?)?,
        contact_person: opt(e, "contactPerson", contact_person)?,
        company_template: opt_text(e, "companyTemplate"),
        terms_of_service: opt_text(e, "termsOfService"),
        legal_url: opt_text(e, "legalURL"),
    })
}

fn person_or_user_reported(e: &Element) -> R<PersonOrUserReported> {
    Ok(PersonOrUserReported {
        person_or_user_reported_person: opt(e, "personOrUserReportedPerson", person)?,
        vehicle_description: opt_text(e, "vehicleDescription"),
        esp_identifier: opt_text(e, "espIdentifier"),
        esp_service: opt_text(e, "espService"),
        compromised_account: opt_bool(e, "compromisedAccount")?,
        screen_name: opt_text(e, "screenName"),
        display_name: texts(e, "displayName"),
        profile_url: texts(e, "profileUrl"),
        profile_bio: opt_text(e, "profileBio"),
        ip_capture_event: many(e, "ipCaptureEvent", ip_capture_event)?,
        device_id: many(e, "deviceId", device_id)?,
        third_party_user_reported: opt_bool(e, "thirdPartyUserReported")?,
        prior_ct_reports: longs(e, "priorCTReports")?,
        group_identifier: opt_text(e, "groupIdentifier"),
        account_temporarily_disabled: opt(e, "accountTemporarilyDisabled", temporarily_disabled)?,
        account_permanently_disabled: opt(e, "accountPermanentlyDisabled", permanently_disabled)?,
        estimated_location: opt(e, "estimatedLocation", estimated_location)?,
        all_emails_reported: opt_bool(e, "allEmailsReported")?,
        associated_account: many(e, "associatedAccount", associated_account)?,
        additional_info: opt_text(e, "additionalInfo"),
    })
}

fn intended_recipient(e: &Element) -> R<IntendedRecipient> {
    Ok(IntendedRecipient {
        intended_recipient_person: opt(e, "intendedRecipientPerson", person)?,
        esp_identifier: opt_text(e, "espIdentifier"),
        esp_service: opt_text(e, "espService"),
        compromised_account: opt_bool(e, "compromisedAccount")?,
        screen_name: opt_text(e, "screenName"),
        display_name: texts(e, "displayName"),
        profile_url: texts(e, "profileUrl"),
        profile_bio: opt_text(e, "profileBio"),
        ip_capture_event: many(e, "ipCaptureEvent", ip_capture_event)?,
        device_id: many(e, "deviceId", device_id)?,
        prior_ct_reports: longs(e, "priorCTReports")?,
        group_identifier: opt_text(e, "groupIdentifier"),
        account_temporarily_disabled: opt(e, "accountTemporarilyDisabled", temporarily_disabled)?,
        account_permanently_disabled: opt(e, "accountPermanentlyDisabled", permanently_disabled)?,
        estimated_location: opt(e, "estimatedLocation", estimated_location)?,
        all_emails_reported: opt_bool(e, "allEmailsReported")?,
        additional_info: texts(e, "additionalInfo"),
    })
}

fn victim(e: &Element) -> R<Victim> {
    Ok(Victim {
        victim_person: person(required(e, "victimPerson")?)?,
        esp_identifier: opt_text(e, "espIdentifier"),
        esp_service: opt_text(e, "espService"),
        compromised_account: opt_bool(e, "compromisedAccount")?,
        screen_name: opt_text(e, "screenName"),
        display_name: texts(e, "displayName"),
        profile_url: texts(e, "profileUrl"),
        profile_bio: opt_text(e, "profileBio"),
        ip_capture_event: many(e, "ipCaptureEvent", ip_capture_event)?,
        device_id: many(e, "deviceId", device_id)?,
        school_name: opt_text(e, "schoolName"),
        prior_ct_reports: longs(e, "priorCTReports")?,
        account_temporarily_disabled: opt(e, "accountTemporarilyDisabled", temporarily_disabled)?,
        account_permanently_disabled: opt(e, "accountPermanentlyDisabled", permanently_disabled)?,
        estimated_location: opt(e, "estimatedLocation", estimated_location)?,
        all_emails_reported: opt_bool(e, "allEmailsReported")?,
        associated_account: many(e, "associatedAccount", associated_account)?,
        additional_info: opt_text(e, "additionalInfo"),
    })
}

fn associated_account(e: &Element) -> R<AssociatedAccount> {
    let t = e
        .attribute("type")
        .ok_or_else(|| fail(e, "missing required attribute 'type'"))?;
    Ok(AssociatedAccount {
        account_type: wire(
            e,
            t,
            AssociatedAccountType::from_wire,
            "associatedAccount type",
        )?,
        platform: opt(e, "platform", |p| {
            Ok(AccountPlatform {
                value: p.text.clone(),
                third_party_user: attr_bool(p, "thirdPartyUser")?,
            })
        })?,
        first_name: opt_text(e, "firstName"),
        middle_name: opt_text(e, "middleName"),
        last_name: opt_text(e, "lastName"),
        approximate_age: opt_int(e, "approximateAge")?,
        age_assertion_discrepancy: opt_bool(e, "ageAssertionDiscrepancy")?,
        date_of_birth: opt_date(e, "dateOfBirth")?,
        phone: many(e, "phone", phone)?,
        email: many(e, "email", email)?,
        all_emails_reported: opt_bool(e, "allEmailsReported")?,
        address: many(e, "address", address)?,
        esp_service: opt_text(e, "espService"),
        esp_identifier: opt_text(e, "espIdentifier"),
        profile_url: texts(e, "profileUrl"),
        screen_name: opt_text(e, "screenName"),
        display_name: texts(e, "displayName"),
        profile_bio: opt_text(e, "profileBio"),
        group_identifier: opt_text(e, "groupIdentifier"),
        compromised_account: opt_bool(e, "compromisedAccount")?,
        account_temporarily_disabled: opt(e, "accountTemporarilyDisabled", temporarily_disabled)?,
        account_permanently_disabled: opt(e, "accountPermanentlyDisabled", permanently_disabled)?,
        ip_capture_event: many(e, "ipCaptureEvent", ip_capture_event)?,
        device_id: many(e, "deviceId", device_id)?,
        prior_ct_report: longs(e, "priorCTReport")?,
        additional_info: opt_text(e, "additionalInfo"),
    })
}

fn person(e: &Element) -> R<Person> {
    Ok(Person {
        first_name: opt_text(e, "firstName"),
        last_name: opt_text(e, "lastName"),
        phone: many(e, "phone", phone)?,
        email: many(e, "email", email)?,
        address: many(e, "address", address)?,
        age: opt_int(e, "age")?,
        age_assertion_discrepancy: opt_bool(e, "ageAssertionDiscrepancy")?,
        date_of_birth: opt_date(e, "dateOfBirth")?,
    })
}

fn contact_person(e: &Element) -> R<ContactPerson> {
    Ok(ContactPerson {
        first_name: opt_text(e, "firstName"),
        last_name: opt_text(e, "lastName"),
        phone: many(e, "phone", phone)?,
        email: many(e, "email", email)?,
        address: many(e, "address", address)?,
    })
}

fn address(e: &Element) -> R<Address> {
    Ok(Address {
        address_type: attr_enum(e, "type", AddressType::from_wire, "address type")?,
        address: opt_text(e, "address"),
        city: opt_text(e, "city"),
        zip_code: opt_text(e, "zipCode"),
        state: opt_text(e, "state"),
        non_usa_state: opt_text(e, "nonUsaState"),
        country: opt_text(e, "country"),
    })
}

fn phone(e: &Element) -> R<Phone> {
    Ok(Phone {
        value: e.text.clone(),
        phone_type: attr_enum(e, "type", PhoneType::from_wire, "phone type")?,
        verified: attr_bool(e, "verified")?,
        verification_date: attr_date_time(e, "verificationDate")?,
        country_calling_code: e.attribute("countryCallingCode").map(str::to_string),
        extension: e.attribute("extension").map(str::to_string),
    })
}

fn email(e: &Element) -> R<Email> {
    Ok(Email {
        value: e.text.clone(),
        email_type: attr_enum(e, "type", EmailType::from_wire, "email type")?,
        verified: attr_bool(e, "verified")?,
        verification_date: attr_date_time(e, "verificationDate")?,
    })
}

fn estimated_location(e: &Element) -> R<EstimatedLocation> {
    Ok(EstimatedLocation {
        verified: attr_bool(e, "verified")?,
        timestamp: attr_date_time(e, "timestamp")?,
        city: opt_text(e, "city"),
        region: opt_text(e, "region"),
        country_code: opt_text(e, "countryCode"),
    })
}

fn ip_capture_event(e: &Element) -> R<IpCaptureEvent> {
    Ok(IpCaptureEvent {
        ip_address: required(e, "ipAddress")?.text.clone(),
        event_name: opt_enum(e, "eventName", EventName::from_wire, "eventName")?,
        date_time: opt_date_time(e, "dateTime")?,
        possible_proxy: opt_bool(e, "possibleProxy")?,
        port: opt_int(e, "port")?,
    })
}

fn device_id(e: &Element) -> R<DeviceId> {
    Ok(DeviceId {
        id_type: required(e, "idType")?.text.clone(),
        id_value: required(e, "idValue")?.text.clone(),
        event_name: opt_enum(e, "eventName", EventName::from_wire, "eventName")?,
        date_time: opt_date_time(e, "dateTime")?,
    })
}

fn temporarily_disabled(e: &Element) -> R<AccountTemporarilyDisabled> {
    Ok(AccountTemporarilyDisabled {
        value: value(e, parse_bool(&e.text))?,
        disabled_date: attr_date_time(e, "disabledDate")?,
        user_notified: attr_bool(e, "userNotified")?,
        user_notified_date: attr_date_time(e, "userNotifiedDate")?,
        reenabled_date: attr_date_time(e, "reenabledDate")?,
    })
}

fn permanently_disabled(e: &Element) -> R<AccountPermanentlyDisabled> {
    Ok(AccountPermanentlyDisabled {
        value: value(e, parse_bool(&e.text))?,
        disabled_date: attr_date_time(e, "disabledDate")?,
        user_notified: attr_bool(e, "userNotified")?,
        user_notified_date: attr_date_time(e, "userNotifiedDate")?,
    })
}

/// Decodes a `<fileDetails>` element.
pub fn file_details(e: &Element) -> R<FileDetails> {
    let report_id = required(e, "reportId")?;
    let annotations = if let Some(a) = e.child("fileAnnotations") {
        Some(FileAnnotationChoice::FileAnnotations(FileAnnotations {
            anime_drawing_virtual_hentai: flag(a, "animeDrawingVirtualHentai"),
            potential_meme: flag(a, "potentialMeme"),
            viral: flag(a, "viral"),
            possible_self_production: flag(a, "possibleSelfProduction"),
            physical_harm: flag(a, "physicalHarm"),
            violence_gore: flag(a, "violenceGore"),
            bestiality: flag(a, "bestiality"),
            live_streaming: flag(a, "liveStreaming"),
            infant: flag(a, "infant"),
            generative_ai: flag(a, "generativeAi"),
        }))
    } else {
        opt_bool(e, "potentialMeme")?.map(FileAnnotationChoice::PotentialMeme)
    };
    Ok(FileDetails {
        report_id: value(report_id, parse_long(&report_id.text))?,
        // xs:token: whitespace collapsed.
        file_id: collapse(&required(e, "fileId")?.text),
        file_name: opt_text(e, "fileName"),
        original_file_name: opt_text(e, "originalFileName"),
        uploaded_to_esp_timestamp: opt_date_time(e, "uploadedToEspTimestamp")?,
        location_of_file: opt_text(e, "locationOfFile"),
        file_viewed_by_esp: opt_bool(e, "fileViewedByEsp")?,
        exif_viewed_by_esp: opt_bool(e, "exifViewedByEsp")?,
        publicly_available: opt_bool(e, "publiclyAvailable")?,
        file_relevance: opt_enum(
            e,
            "fileRelevance",
            FileRelevance::from_wire,
            "fileRelevance",
        )?,
        annotations,
        industry_classification: opt_enum(
            e,
            "industryClassification",
            IndustryClassification::from_wire,
            "industryClassification",
        )?,
        original_file_hash: many(e, "originalFileHash", |h| {
            Ok(OriginalFileHash {
                hash_type: h
                    .attribute("hashType")
                    .ok_or_else(|| fail(h, "missing required attribute 'hashType'"))?
                    .to_string(),
                value: h.text.clone(),
            })
        })?,
        ip_capture_event: opt(e, "ipCaptureEvent", ip_capture_event)?,
        device_id: many(e, "deviceId", device_id)?,
        details: many(e, "details", |d| {
            Ok(Details {
                details_type: attr_enum(d, "type", DetailsType::from_wire, "details type")?,
                name_value_pair: many(d, "nameValuePair", |p| {
                    Ok(NameValuePair {
                        name: required(p, "name")?.text.clone(),
                        value: required(p, "value")?.text.clone(),
                    })
                })?,
            })
        })?,
        additional_info: texts(e, "additionalInfo"),
    })
}

/// Collapses whitespace as `xs:token` does.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes a `<reportResponse>` element.
pub fn report_response(e: &Element) -> R<ReportResponse> {
    let code = required(e, "responseCode")?;
    Ok(ReportResponse {
        response_code: value(code, parse_int(&code.text))?,
        response_description: required(e, "responseDescription")?.text.clone(),
        report_id: opt(e, "reportId", |x| value(x, parse_long(&x.text)))?,
        file_id: e.child("fileId").map(|x| collapse(&x.text)),
        hash: e.child("hash").map(|x| collapse(&x.text)),
    })
}

/// Decodes a `<reportDoneResponse>` element.
pub fn report_done_response(e: &Element) -> R<ReportDoneResponse> {
    let code = required(e, "responseCode")?;
    let id = required(e, "reportId")?;
    let files = required(e, "files")?;
    Ok(ReportDoneResponse {
        response_code: value(code, parse_int(&code.text))?,
        report_id: value(id, parse_long(&id.text))?,
        files: files
            .children_named("fileId")
            .map(|f| f.text.trim().to_string())
            .collect(),
    })
}
