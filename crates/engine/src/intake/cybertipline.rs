//! From the validated CyberTipline wire documents to the domain model: a `<report>` becomes a
//! [`NewReport`] (the same model the JSON API stores), a `<fileDetails>` the report file's
//! [`FileMetadata`].
//!
//! The wire types have already passed the XSD and the documented business rules, so a failure
//! here means a value the domain cannot hold (e.g. an IP address the rules let through but the
//! model cannot parse); it is answered as a validation failure, never a panic.

use safeguard_domain::report::{
    Address, CaptureEvent, Channel, ChannelKind, DeviceId, FieldError, FileAnnotation,
    FileRelevance, IncidentType, IndustryClassification, IpEvent, LawEnforcement, NewReport, Party,
    PartyRole, Phone, ReportAnnotation,
};
use safeguard_formats::cybertipline as wire;
use safeguard_store::FileMetadata;

/// Collects conversion errors with the element path they come from.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }
}

/// The domain report of a validated `<report>`.
pub fn to_new_report(r: &wire::Report) -> Result<NewReport, Vec<FieldError>> {
    let mut e = Errors::default();
    let s = &r.incident_summary;
    let incident_type = IncidentType::parse(s.incident_type.as_str());
    let occurred_at = s.incident_date_time.to_offset();
    let (Some(incident_type), Some(occurred_at)) = (incident_type, occurred_at) else {
        e.push(
            "report/incidentSummary",
            "incidentType and a zoned incidentDateTime are required",
        );
        return Err(e.0);
    };
    let mut report = NewReport::new(incident_type, occurred_at);
    report.incident.platform = s.platform.clone();
    report.incident.escalation = s.escalate_to_high_priority.clone();
    report.incident.occurred_at_description = s.incident_date_time_description.clone();
    if let Some(a) = &s.report_annotations {
        for (on, annotation) in [
            (a.sextortion, ReportAnnotation::Sextortion),
            (a.csam_solicitation, ReportAnnotation::CsamSolicitation),
            (
                a.minor_to_minor_interaction,
                ReportAnnotation::MinorToMinorInteraction,
            ),
            (a.spam, ReportAnnotation::Spam),
            (
                a.sadistic_online_exploitation,
                ReportAnnotation::SadisticOnlineExploitation,
            ),
            (a.informational, ReportAnnotation::Informational),
        ] {
            if on {
                report.incident.annotations.push(annotation);
            }
        }
    }
    for (i, d) in r.internet_details.iter().enumerate() {
        let path = format!("report/internetDetails[{}]", i + 1);
        report.channels.push(channel(d, &path, &mut e));
    }
    report.law_enforcement = r.law_enforcement.as_ref().map(|le| LawEnforcement {
        agency_name: le.agency_name.clone(),
        case_number: le.case_number.clone(),
        reported_to_le: le.reported_to_le,
        legal_process_domestic: le.served_legal_process_domestic,
        legal_process_international_country: le
            .served_legal_process_international
            .as_ref()
            .filter(|p| p.value)
            .map(|p| p.flea_country.clone().unwrap_or_default()),
    });

    let rep = &r.reporter;
    let mut reporting = person(
        PartyRole::ReportingPerson,
        &rep.reporting_person,
        "report/reporter/reportingPerson",
        &mut e,
    );
    reporting.additional_info = rep.legal_url.as_ref().map(|u| format!("legalURL: {u}"));
    report.parties.push(reporting);
    if let Some(c) = &rep.contact_person {
        report.parties.push(contact(
            PartyRole::ContactPerson,
            c,
            "report/reporter/contactPerson",
            &mut e,
        ));
    }
    if let Some(le) = &r.law_enforcement {
        if let Some(c) = &le.officer_contact {
            let mut officer = contact(
                PartyRole::ContactPerson,
                c,
                "report/lawEnforcement/officerContact",
                &mut e,
            );
            officer.esp_service = Some(format!("law enforcement: {}", le.agency_name));
            report.parties.push(officer);
        }
    }
    for (i, p) in r.person_or_user_reported.iter().enumerate() {
        let path = format!("report/personOrUserReported[{}]", i + 1);
        let mut party = match &p.person_or_user_reported_person {
            Some(person_) => person(PartyRole::Reported, person_, &path, &mut e),
            None => Party::new(PartyRole::Reported),
        };
        account(
            &mut party,
            AccountFields {
                esp_identifier: &p.esp_identifier,
                esp_service: &p.esp_service,
                screen_name: &p.screen_name,
                display_name: &p.display_name,
                profile_url: &p.profile_url,
                ip: &p.ip_capture_event,
                devices: &p.device_id,
                prior: &p.prior_ct_reports,
            },
            &path,
            &mut e,
        );
        party.additional_info = join_info([
            p.additional_info.clone(),
            p.vehicle_description
                .as_ref()
                .map(|v| format!("vehicle: {v}")),
            p.profile_bio.as_ref().map(|b| format!("profile bio: {b}")),
            p.group_identifier.as_ref().map(|g| format!("group: {g}")),
        ]);
        report.parties.push(party);
        for (j, a) in p.associated_account.iter().enumerate() {
            report.parties.push(associated(
                a,
                &format!("{path}/associatedAccount[{}]", j + 1),
                &mut e,
            ));
        }
    }
    for (i, p) in r.intended_recipient.iter().enumerate() {
        let path = format!("report/intendedRecipient[{}]", i + 1);
        let mut party = match &p.intended_recipient_person {
            Some(person_) => person(PartyRole::IntendedRecipient, person_, &path, &mut e),
            None => Party::new(PartyRole::IntendedRecipient),
        };
        account(
            &mut party,
            AccountFields {
                esp_identifier: &p.esp_identifier,
                esp_service: &p.esp_service,
                screen_name: &p.screen_name,
                display_name: &p.display_name,
                profile_url: &p.profile_url,
                ip: &p.ip_capture_event,
                devices: &p.device_id,
                prior: &p.prior_ct_reports,
            },
            &path,
            &mut e,
        );
        party.additional_info = join_info(
            p.additional_info
                .iter()
                .cloned()
                .map(Some)
                .chain([p.profile_bio.as_ref().map(|b| format!("profile bio: {b}"))]),
        );
        report.parties.push(party);
    }
    for (i, v) in r.victim.iter().enumerate() {
        let path = format!("report/victim[{}]", i + 1);
        let mut party = person(PartyRole::Victim, &v.victim_person, &path, &mut e);
        account(
            &mut party,
            AccountFields {
                esp_identifier: &v.esp_identifier,
                esp_service: &v.esp_service,
                screen_name: &v.screen_name,
                display_name: &v.display_name,
                profile_url: &v.profile_url,
                ip: &v.ip_capture_event,
                devices: &v.device_id,
                prior: &v.prior_ct_reports,
            },
            &path,
            &mut e,
        );
        party.school_name = v.school_name.clone();
        party.additional_info = join_info([
            v.additional_info.clone(),
            v.profile_bio.as_ref().map(|b| format!("profile bio: {b}")),
        ]);
        report.parties.push(party);
        for (j, a) in v.associated_account.iter().enumerate() {
            report.parties.push(associated(
                a,
                &format!("{path}/associatedAccount[{}]", j + 1),
                &mut e,
            ));
        }
    }
    report.batched_viral = r.batched_report.is_some();
    report.additional_info = r.additional_info.clone();
    if e.0.is_empty() {
        Ok(report)
    } else {
        Err(e.0)
    }
}

fn join_info(parts: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn channel(d: &wire::InternetDetails, path: &str, e: &mut Errors) -> Channel {
    use wire::InternetDetails as D;
    let kind = match d {
        D::WebPage(_) => ChannelKind::WebPage,
        D::Email(_) => ChannelKind::Email,
        D::Newsgroup(_) => ChannelKind::Newsgroup,
        D::ChatIm(_) => ChannelKind::ChatIm,
        D::OnlineGaming(_) => ChannelKind::OnlineGaming,
        D::CellPhone(_) => ChannelKind::CellPhone,
        D::NonInternet(_) => ChannelKind::NonInternet,
        D::Peer2Peer(_) => ChannelKind::PeerToPeer,
    };
    let mut c = Channel {
        kind,
        name: None,
        detail: None,
        content: None,
        urls: Vec::new(),
        emails: Vec::new(),
        phones: Vec::new(),
        ip_events: Vec::new(),
        additional_info: None,
    };
    let path = format!("{path}/{}", d.element_name());
    match d {
        D::WebPage(w) => {
            c.urls = w.url.clone();
            c.detail = w
                .third_party_hosted_content
                .map(|t| format!("thirdPartyHostedContent={t}"));
            c.additional_info = w.additional_info.clone();
        }
        D::Email(m) => {
            c.emails = m.email_address.iter().map(|a| a.value.clone()).collect();
            c.content = m.content.clone();
            c.additional_info = m.additional_info.clone();
        }
        D::Newsgroup(n) => {
            c.name = n.name.clone();
            c.emails = n.email_address.iter().map(|a| a.value.clone()).collect();
            c.content = n.content.clone();
            c.additional_info = n.additional_info.clone();
        }
        D::ChatIm(ch) => {
            c.name = ch.chat_client.clone();
            c.detail = ch.chat_room_name.clone();
            c.content = ch.content.clone();
            c.additional_info = ch.additional_info.clone();
        }
        D::OnlineGaming(g) => {
            c.name = g.game_name.clone();
            c.detail = g.console.clone();
            c.content = g.content.clone();
            c.additional_info = g.additional_info.clone();
        }
        D::CellPhone(p) => {
            c.phones = p.phone_number.iter().map(phone).collect();
            c.detail = match (p.latitude, p.longitude) {
                (Some(lat), Some(lon)) => Some(format!("{lat},{lon}")),
                _ => None,
            };
            c.additional_info = p.additional_info.clone();
        }
        D::NonInternet(n) => {
            c.name = n.location_name.clone();
            let addresses: Vec<String> = n
                .incident_address
                .iter()
                .map(|a| {
                    [
                        &a.address,
                        &a.city,
                        &a.zip_code,
                        &a.state,
                        &a.non_usa_state,
                        &a.country,
                    ]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
                })
                .collect();
            c.detail = (!addresses.is_empty()).then(|| addresses.join("; "));
            c.additional_info = n.additional_info.clone();
        }
        D::Peer2Peer(p) => {
            c.name = p.client.clone();
            c.content = p.file_names.clone();
            c.ip_events = ip_events(&p.ip_capture_event, &path, e);
            c.additional_info = p.additional_info.clone();
        }
    }
    c
}

fn phone(p: &wire::Phone) -> Phone {
    Phone {
        number: match &p.extension {
            Some(x) => format!("{} x{x}", p.value),
            None => p.value.clone(),
        },
        country_calling_code: p.country_calling_code.clone(),
        verified: p.verified,
    }
}

fn address(a: &wire::Address) -> Address {
    Address {
        kind: a.address_type.map(|t| t.as_str().to_owned()),
        street: a.address.clone(),
        city: a.city.clone(),
        zip_code: a.zip_code.clone(),
        state: a.state.clone().or_else(|| a.non_usa_state.clone()),
        country: a.country.clone(),
    }
}

fn age(value: Option<i32>, path: &str, e: &mut Errors) -> Option<u8> {
    let v = value?;
    match u8::try_from(v) {
        Ok(a) => Some(a),
        Err(_) => {
            e.push(path, "age must be 0 to 150");
            None
        }
    }
}

fn person(role: PartyRole, p: &wire::Person, path: &str, e: &mut Errors) -> Party {
    let mut party = Party::new(role);
    party.first_name = p.first_name.clone();
    party.last_name = p.last_name.clone();
    party.age = age(p.age, &format!("{path}/age"), e);
    party.date_of_birth = p.date_of_birth.as_ref().map(|d| d.date);
    party.phones = p.phone.iter().map(phone).collect();
    party.emails = p.email.iter().map(|m| m.value.clone()).collect();
    party.addresses = p.address.iter().map(address).collect();
    party
}

fn contact(role: PartyRole, c: &wire::ContactPerson, _path: &str, _e: &mut Errors) -> Party {
    let mut party = Party::new(role);
    party.first_name = c.first_name.clone();
    party.last_name = c.last_name.clone();
    party.phones = c.phone.iter().map(phone).collect();
    party.emails = c.email.iter().map(|m| m.value.clone()).collect();
    party.addresses = c.address.iter().map(address).collect();
    party
}

struct AccountFields<'a> {
    esp_identifier: &'a Option<String>,
    esp_service: &'a Option<String>,
    screen_name: &'a Option<String>,
    display_name: &'a [String],
    profile_url: &'a [String],
    ip: &'a [wire::IpCaptureEvent],
    devices: &'a [wire::DeviceId],
    prior: &'a [i64],
}

fn account(party: &mut Party, a: AccountFields<'_>, path: &str, e: &mut Errors) {
    party.esp_identifier = a.esp_identifier.clone();
    party.esp_service = a.esp_service.clone();
    party.screen_name = a.screen_name.clone();
    party.display_names = a.display_name.to_vec();
    party.profile_urls = a.profile_url.to_vec();
    party.ip_events = ip_events(a.ip, path, e);
    party.device_ids = a.devices.iter().map(device).collect();
    party.prior_reports = a.prior.to_vec();
}

fn associated(a: &wire::AssociatedAccount, path: &str, e: &mut Errors) -> Party {
    let mut party = Party::new(PartyRole::AssociatedAccount);
    party.first_name = a.first_name.clone();
    party.last_name = a.last_name.clone();
    party.age = age(a.approximate_age, &format!("{path}/approximateAge"), e);
    party.date_of_birth = a.date_of_birth.as_ref().map(|d| d.date);
    party.phones = a.phone.iter().map(phone).collect();
    party.emails = a.email.iter().map(|m| m.value.clone()).collect();
    party.addresses = a.address.iter().map(address).collect();
    account(
        &mut party,
        AccountFields {
            esp_identifier: &a.esp_identifier,
            esp_service: &a.esp_service,
            screen_name: &a.screen_name,
            display_name: &a.display_name,
            profile_url: &a.profile_url,
            ip: &a.ip_capture_event,
            devices: &a.device_id,
            prior: &a.prior_ct_report,
        },
        path,
        e,
    );
    party.additional_info = join_info([
        Some(format!(
            "associated account type: {}",
            a.account_type.as_str()
        )),
        a.platform
            .as_ref()
            .map(|p| format!("platform: {}", p.value)),
        a.middle_name.as_ref().map(|m| format!("middle name: {m}")),
        a.profile_bio.as_ref().map(|b| format!("profile bio: {b}")),
        a.group_identifier.as_ref().map(|g| format!("group: {g}")),
        a.additional_info.clone(),
    ]);
    party
}

fn capture(name: Option<wire::EventName>) -> Option<CaptureEvent> {
    name.and_then(|n| CaptureEvent::parse(n.as_str()))
}

fn ip_event(ev: &wire::IpCaptureEvent, path: &str, e: &mut Errors) -> Option<IpEvent> {
    let Ok(ip) = ev.ip_address.trim().parse() else {
        e.push(path, format!("not an IP address: {:?}", ev.ip_address));
        return None;
    };
    let port = match ev.port {
        Some(p) => match u16::try_from(p) {
            Ok(p) => Some(p),
            Err(_) => {
                e.push(path, "port must be 1 to 65535");
                None
            }
        },
        None => None,
    };
    Some(IpEvent {
        ip,
        event: capture(ev.event_name),
        at: ev.date_time.as_ref().and_then(|t| t.to_offset()),
        port,
        possible_proxy: ev.possible_proxy,
    })
}

fn ip_events(events: &[wire::IpCaptureEvent], path: &str, e: &mut Errors) -> Vec<IpEvent> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, ev)| ip_event(ev, &format!("{path}/ipCaptureEvent[{}]", i + 1), e))
        .collect()
}

fn device(d: &wire::DeviceId) -> DeviceId {
    DeviceId {
        id_type: d.id_type.clone(),
        value: d.id_value.clone(),
        event: capture(d.event_name),
        at: d.date_time.as_ref().and_then(|t| t.to_offset()),
    }
}

/// The report file's metadata of a validated `<fileDetails>`.
pub fn file_metadata(d: &wire::FileDetails) -> Result<FileMetadata, Vec<FieldError>> {
    let mut e = Errors::default();
    let mut annotations = Vec::new();
    match &d.annotations {
        Some(wire::FileAnnotationChoice::PotentialMeme(true)) => {
            annotations.push(FileAnnotation::PotentialMeme);
        }
        Some(wire::FileAnnotationChoice::PotentialMeme(false)) | None => {}
        Some(wire::FileAnnotationChoice::FileAnnotations(a)) => {
            for (name, on) in a.flags() {
                if on {
                    match FileAnnotation::parse(name) {
                        Some(x) => annotations.push(x),
                        None => e.push("fileDetails/fileAnnotations", format!("unknown {name}")),
                    }
                }
            }
        }
    }
    let ip_events = d
        .ip_capture_event
        .as_ref()
        .and_then(|ev| ip_event(ev, "fileDetails/ipCaptureEvent", &mut e))
        .into_iter()
        .collect();
    let relevance = d
        .file_relevance
        .map(|r| FileRelevance::parse(r.as_str()).unwrap_or(FileRelevance::Reported));
    let metadata = FileMetadata {
        original_name: d.original_file_name.clone().or_else(|| d.file_name.clone()),
        relevance,
        viewed_by_reporter: d.file_viewed_by_esp,
        exif_viewed_by_reporter: d.exif_viewed_by_esp,
        publicly_available: d.publicly_available,
        industry_classification: d
            .industry_classification
            .and_then(|c| IndustryClassification::parse(c.as_str())),
        annotations,
        location: d.location_of_file.clone(),
        ip_events,
    };
    if e.0.is_empty() {
        Ok(metadata)
    } else {
        Err(e.0)
    }
}
