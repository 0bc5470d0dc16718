//! Writers: wire types → XML documents in XSD element order.

use super::file_details::{FileAnnotationChoice, FileDetails};
use super::report::{
    AccountPermanentlyDisabled, AccountTemporarilyDisabled, Address, AssociatedAccount,
    ContactPerson, DeviceId, Email, EstimatedLocation, IntendedRecipient, InternetDetails,
    IpCaptureEvent, Person, PersonOrUserReported, Phone, Report, Victim,
};
use super::values::format_double;

/// The `xsi:noNamespaceSchemaLocation` NCMEC's examples carry.
pub const SCHEMA_LOCATION: &str = "https://report.cybertip.org/ispws/xsd";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A value that cannot be written as XML 1.0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a value contains characters not allowed in XML 1.0 (first in element '{element}')")]
pub struct WriteError {
    /// The element (or element of the attribute) holding the character.
    pub element: String,
}

/// A small indenting XML writer (four spaces, like NCMEC's responses).
pub struct XmlWriter {
    out: String,
    depth: usize,
    /// First element whose content had a character XML 1.0 cannot carry.
    bad: Option<String>,
}

impl XmlWriter {
    /// A writer for request documents (`<?xml version="1.0" encoding="UTF-8"?>`).
    pub fn request() -> Self {
        XmlWriter {
            out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into(),
            depth: 0,
            bad: None,
        }
    }

    /// A writer for response documents (declaration with `standalone="yes"`, as NCMEC's).
    pub fn response() -> Self {
        XmlWriter {
            out: "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n".into(),
            depth: 0,
            bad: None,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            let escaped = self.escape(name, v, true);
            self.out.push_str(&escaped);
            self.out.push('"');
        }
    }

    /// Opens an element whose children follow on their own lines.
    pub fn open(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// Closes an element opened with [`XmlWriter::open`].
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// An element with text content.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, String)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        let escaped = self.escape(name, text, false);
        self.out.push_str(&escaped);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// An empty element.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    fn escape(&mut self, element: &str, s: &str, attribute: bool) -> String {
        let mut o = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => o.push_str("&amp;"),
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '"' if attribute => o.push_str("&quot;"),
                // Character references survive end-of-line and attribute normalisation.
                '\r' => o.push_str("&#13;"),
                '\n' if attribute => o.push_str("&#10;"),
                '\t' if attribute => o.push_str("&#9;"),
                '\t' | '\n' => o.push(c),
                c if is_xml_char(c) => o.push(c),
                _ => {
                    if self.bad.is_none() {
                        self.bad = Some(element.to_string());
                    }
                    o.push('\u{fffd}');
                }
            }
        }
        o
    }

    /// The document; characters XML 1.0 cannot carry were replaced by U+FFFD.
    pub fn finish(mut self) -> String {
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out
    }

    /// The document, or an error if some character had to be replaced.
    pub fn finish_strict(self) -> Result<String, WriteError> {
        if let Some(element) = self.bad.clone() {
            return Err(WriteError { element });
        }
        Ok(self.finish())
    }

    fn opt(&mut self, name: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.leaf(name, &[], v);
        }
    }

    fn all(&mut self, name: &str, v: &[String]) {
        for s in v {
            self.leaf(name, &[], s);
        }
    }

    fn opt_bool(&mut self, name: &str, v: Option<bool>) {
        if let Some(b) = v {
            self.leaf(name, &[], bool_text(b));
        }
    }

    fn opt_int(&mut self, name: &str, v: Option<i32>) {
        if let Some(n) = v {
            self.leaf(name, &[], &n.to_string());
        }
    }

    fn longs(&mut self, name: &str, v: &[i64]) {
        for n in v {
            self.leaf(name, &[], &n.to_string());
        }
    }

    fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.empty(name, &[]);
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn root_attrs() -> Vec<(&'static str, String)> {
    vec![
        ("xmlns:xsi", XSI.to_string()),
        ("xsi:noNamespaceSchemaLocation", SCHEMA_LOCATION.to_string()),
    ]
}

/// Writes a `<report>` document in XSD order.
pub fn write_report(r: &Report) -> Result<String, WriteError> {
    let mut w = XmlWriter::request();
    w.open("report", &root_attrs());
    if let Some(b) = &r.batched_report {
        w.empty(
            "batchedReport",
            &[("reason", b.reason.as_str().to_string())],
        );
    }
    let s = &r.incident_summary;
    w.open("incidentSummary", &[]);
    w.leaf("incidentType", &[], s.incident_type.as_str());
    w.opt("platform", &s.platform);
    w.opt("escalateToHighPriority", &s.escalate_to_high_priority);
    if let Some(a) = &s.report_annotations {
        w.open("reportAnnotations", &[]);
        w.flag("sextortion", a.sextortion);
        w.flag("csamSolicitation", a.csam_solicitation);
        w.flag("minorToMinorInteraction", a.minor_to_minor_interaction);
        w.flag("spam", a.spam);
        w.flag("sadisticOnlineExploitation", a.sadistic_online_exploitation);
        w.flag("informational", a.informational);
        w.close("reportAnnotations");
    }
    w.leaf("incidentDateTime", &[], &s.incident_date_time.to_string());
    w.opt(
        "incidentDateTimeDescription",
        &s.incident_date_time_description,
    );
    w.close("incidentSummary");
    for d in &r.internet_details {
        w.open("internetDetails", &[]);
        internet_details(&mut w, d);
        w.close("internetDetails");
    }
    if let Some(le) = &r.law_enforcement {
        w.open("lawEnforcement", &[]);
        w.leaf("agencyName", &[], &le.agency_name);
        w.opt("caseNumber", &le.case_number);
        if let Some(c) = &le.officer_contact {
            contact_person(&mut w, "officerContact", c);
        }
        w.opt_bool("reportedToLe", le.reported_to_le);
        w.opt_bool(
            "servedLegalProcessDomestic",
            le.served_legal_process_domestic,
        );
        if let Some(s) = &le.served_legal_process_international {
            let mut attrs = Vec::new();
            if let Some(c) = &s.flea_country {
                attrs.push(("fleaCountry", c.clone()));
            }
            w.leaf(
                "servedLegalProcessInternational",
                &attrs,
                bool_text(s.value),
            );
        }
        w.close("lawEnforcement");
    }
    let rep = &r.reporter;
    w.open("reporter", &[]);
    person(&mut w, "reportingPerson", &rep.reporting_person);
    if let Some(c) = &rep.contact_person {
        contact_person(&mut w, "contactPerson", c);
    }
    w.opt("companyTemplate", &rep.company_template);
    w.opt("termsOfService", &rep.terms_of_service);
    w.opt("legalURL", &rep.legal_url);
    w.close("reporter");
    for p in &r.person_or_user_reported {
        person_or_user_reported(&mut w, p);
    }
    for p in &r.intended_recipient {
        intended_recipient(&mut w, p);
    }
    for v in &r.victim {
        victim(&mut w, v);
    }
    w.opt("additionalInfo", &r.additional_info);
    w.close("report");
    w.finish_strict()
}

fn internet_details(w: &mut XmlWriter, d: &InternetDetails) {
    let name = d.element_name();
    match d {
        InternetDetails::WebPage(x) => {
            let mut attrs = Vec::new();
            if let Some(b) = x.third_party_hosted_content {
                attrs.push(("thirdPartyHostedContent", bool_text(b).to_string()));
            }
            w.open(name, &attrs);
            w.all("url", &x.url);
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::Email(x) => {
            w.open(name, &[]);
            for e in &x.email_address {
                email(w, "emailAddress", e);
            }
            w.opt("content", &x.content);
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::Newsgroup(x) => {
            w.open(name, &[]);
            w.opt("name", &x.name);
            for e in &x.email_address {
                email(w, "emailAddress", e);
            }
            w.opt("content", &x.content);
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::ChatIm(x) => {
            w.open(name, &[]);
            w.opt("chatClient", &x.chat_client);
            w.opt("chatRoomName", &x.chat_room_name);
            w.opt("content", &x.content);
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::OnlineGaming(x) => {
            w.open(name, &[]);
            w.opt("gameName", &x.game_name);
            w.opt("console", &x.console);
            w.opt("content", &x.content);
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::CellPhone(x) => {
            w.open(name, &[]);
            if let Some(p) = &x.phone_number {
                phone(w, "phoneNumber", p);
            }
            if let Some(v) = x.latitude {
                w.leaf("latitude", &[], &format_double(v));
            }
            if let Some(v) = x.longitude {
                w.leaf("longitude", &[], &format_double(v));
            }
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::NonInternet(x) => {
            w.open(name, &[]);
            w.opt("locationName", &x.location_name);
            for a in &x.incident_address {
                address(w, "incidentAddress", a);
            }
            w.opt("additionalInfo", &x.additional_info);
        }
        InternetDetails::Peer2Peer(x) => {
            w.open(name, &[]);
            w.opt("client", &x.client);
            for e in &x.ip_capture_event {
                ip_capture_event(w, e);
            }
            w.opt("fileNames", &x.file_names);
            w.opt("additionalInfo", &x.additional_info);
        }
    }
    w.close(name);
}

fn person_or_user_reported(w: &mut XmlWriter, p: &PersonOrUserReported) {
    w.open("personOrUserReported", &[]);
    if let Some(x) = &p.person_or_user_reported_person {
        person(w, "personOrUserReportedPerson", x);
    }
    w.opt("vehicleDescription", &p.vehicle_description);
    w.opt("espIdentifier", &p.esp_identifier);
    w.opt("espService", &p.esp_service);
    w.opt_bool("compromisedAccount", p.compromised_account);
    w.opt("screenName", &p.screen_name);
    w.all("displayName", &p.display_name);
    w.all("profileUrl", &p.profile_url);
    w.opt("profileBio", &p.profile_bio);
    for e in &p.ip_capture_event {
        ip_capture_event(w, e);
    }
    for d in &p.device_id {
        device_id(w, d);
    }
    w.opt_bool("thirdPartyUserReported", p.third_party_user_reported);
    w.longs("priorCTReports", &p.prior_ct_reports);
    w.opt("groupIdentifier", &p.group_identifier);
    if let Some(d) = &p.account_temporarily_disabled {
        temporarily_disabled(w, d);
    }
    if let Some(d) = &p.account_permanently_disabled {
        permanently_disabled(w, d);
    }
    if let Some(l) = &p.estimated_location {
        estimated_location(w, l);
    }
    w.opt_bool("allEmailsReported", p.all_emails_reported);
    for a in &p.associated_account {
        associated_account(w, a);
    }
    w.opt("additionalInfo", &p.additional_info);
    w.close("personOrUserReported");
}

fn intended_recipient(w: &mut XmlWriter, p: &IntendedRecipient) {
    w.open("intendedRecipient", &[]);
    if let Some(x) = &p.intended_recipient_person {
        person(w, "intendedRecipientPerson", x);
    }
    w.opt("espIdentifier", &p.esp_identifier);
    w.opt("espService", &p.esp_service);
    w.opt_bool("compromisedAccount", p.compromised_account);
    w.opt("screenName", &p.screen_name);
    w.all("displayName", &p.display_name);
    w.all("profileUrl", &p.profile_url);
    w.opt("profileBio", &p.profile_bio);
    for e in &p.ip_capture_event {
        ip_capture_event(w, e);
    }
    for d in &p.device_id {
        device_id(w, d);
    }
    w.longs("priorCTReports", &p.prior_ct_reports);
    w.opt("groupIdentifier", &p.group_identifier);
    if let Some(d) = &p.account_temporarily_disabled {
        temporarily_disabled(w, d);
    }
    if let Some(d) = &p.account_permanently_disabled {
        permanently_disabled(w, d);
    }
    if let Some(l) = &p.estimated_location {
        estimated_location(w, l);
    }
    w.opt_bool("allEmailsReported", p.all_emails_reported);
    w.all("additionalInfo", &p.additional_info);
    w.close("intendedRecipient");
}

fn victim(w: &mut XmlWriter, v: &Victim) {
    w.open("victim", &[]);
    person(w, "victimPerson", &v.victim_person);
    w.opt("espIdentifier", &v.esp_identifier);
    w.opt("espService", &v.esp_service);
    w.opt_bool("compromisedAccount", v.compromised_account);
    w.opt("screenName", &v.screen_name);
    w.all("displayName", &v.display_name);
    w.all("profileUrl", &v.profile_url);
    w.opt("profileBio", &v.profile_bio);
    for e in &v.ip_capture_event {
        ip_capture_event(w, e);
    }
    for d in &v.device_id {
        device_id(w, d);
    }
    w.opt("schoolName", &v.school_name);
    w.longs("priorCTReports", &v.prior_ct_reports);
    if let Some(d) = &v.account_temporarily_disabled {
        temporarily_disabled(w, d);
    }
    if let Some(d) = &v.account_permanently_disabled {
        permanently_disabled(w, d);
    }
    if let Some(l) = &v.estimated_location {
        estimated_location(w, l);
    }
    w.opt_bool("allEmailsReported", v.all_emails_reported);
    for a in &v.associated_account {
        associated_account(w, a);
    }
    w.opt("additionalInfo", &v.additional_info);
    w.close("victim");
}

fn associated_account(w: &mut XmlWriter, a: &AssociatedAccount) {
    w.open(
        "associatedAccount",
        &[("type", a.account_type.as_str().to_string())],
    );
    if let Some(p) = &a.platform {
        let mut attrs = Vec::new();
        if let Some(b) = p.third_party_user {
            attrs.push(("thirdPartyUser", bool_text(b).to_string()));
        }
        w.leaf("platform", &attrs, &p.value);
    }
    w.opt("firstName", &a.first_name);
    w.opt("middleName", &a.middle_name);
    w.opt("lastName", &a.last_name);
    w.opt_int("approximateAge", a.approximate_age);
    w.opt_bool("ageAssertionDiscrepancy", a.age_assertion_discrepancy);
    if let Some(d) = &a.date_of_birth {
        w.leaf("dateOfBirth", &[], &d.to_string());
    }
    for p in &a.phone {
        phone(w, "phone", p);
    }
    for e in &a.email {
        email(w, "email", e);
    }
    w.opt_bool("allEmailsReported", a.all_emails_reported);
    for x in &a.address {
        address(w, "address", x);
    }
    w.opt("espService", &a.esp_service);
    w.opt("espIdentifier", &a.esp_identifier);
    w.all("profileUrl", &a.profile_url);
    w.opt("screenName", &a.screen_name);
    w.all("displayName", &a.display_name);
    w.opt("profileBio", &a.profile_bio);
    w.opt("groupIdentifier", &a.group_identifier);
    w.opt_bool("compromisedAccount", a.compromised_account);
    if let Some(d) = &a.account_temporarily_disabled {
        temporarily_disabled(w, d);
    }
    if let Some(d) = &a.account_permanently_disabled {
        permanently_disabled(w, d);
    }
    for e in &a.ip_capture_event {
        ip_capture_event(w, e);
    }
    for d in &a.device_id {
        device_id(w, d);
    }
    w.longs("priorCTReport", &a.prior_ct_report);
    w.opt("additionalInfo", &a.additional_info);
    w.close("associatedAccount");
}

fn person(w: &mut XmlWriter, name: &str, p: &Person) {
    w.open(name, &[]);
    w.opt("firstName", &p.first_name);
    w.opt("lastName", &p.last_name);
    for x in &p.phone {
        phone(w, "phone", x);
    }
    for x in &p.email {
        email(w, "email", x);
    }
    for x in &p.address {
        address(w, "address", x);
    }
    w.opt_int("age", p.age);
    w.opt_bool("ageAssertionDiscrepancy", p.age_assertion_discrepancy);
    if let Some(d) = &p.date_of_birth {
        w.leaf("dateOfBirth", &[], &d.to_string());
    }
    w.close(name);
}

fn contact_person(w: &mut XmlWriter, name: &str, p: &ContactPerson) {
    w.open(name, &[]);
    w.opt("firstName", &p.first_name);
    w.opt("lastName", &p.last_name);
    for x in &p.phone {
        phone(w, "phone", x);
    }
    for x in &p.email {
        email(w, "email", x);
    }
    for x in &p.address {
        address(w, "address", x);
    }
    w.close(name);
}

fn address(w: &mut XmlWriter, name: &str, a: &Address) {
    let mut attrs = Vec::new();
    if let Some(t) = a.address_type {
        attrs.push(("type", t.as_str().to_string()));
    }
    w.open(name, &attrs);
    w.opt("address", &a.address);
    w.opt("city", &a.city);
    w.opt("zipCode", &a.zip_code);
    w.opt("state", &a.state);
    w.opt("nonUsaState", &a.non_usa_state);
    w.opt("country", &a.country);
    w.close(name);
}

fn phone(w: &mut XmlWriter, name: &str, p: &Phone) {
    let mut attrs = Vec::new();
    if let Some(t) = p.phone_type {
        attrs.push(("type", t.as_str().to_string()));
    }
    if let Some(b) = p.verified {
        attrs.push(("verified", bool_text(b).to_string()));
    }
    if let Some(d) = &p.verification_date {
        attrs.push(("verificationDate", d.to_string()));
    }
    if let Some(c) = &p.country_calling_code {
        attrs.push(("countryCallingCode", c.clone()));
    }
    if let Some(x) = &p.extension {
        attrs.push(("extension", x.clone()));
    }
    w.leaf(name, &attrs, &p.value);
}

fn email(w: &mut XmlWriter, name: &str, e: &Email) {
    let mut attrs = Vec::new();
    if let Some(t) = e.email_type {
        attrs.push(("type", t.as_str().to_string()));
    }
    if let Some(b) = e.verified {
        attrs.push(("verified", bool_text(b).to_string()));
    }
    if let Some(d) = &e.verification_date {
        attrs.push(("verificationDate", d.to_string()));
    }
    w.leaf(name, &attrs, &e.value);
}

fn estimated_location(w: &mut XmlWriter, l: &EstimatedLocation) {
    let mut attrs = Vec::new();
    if let Some(b) = l.verified {
        attrs.push(("verified", bool_text(b).to_string()));
    }
    if let Some(d) = &l.timestamp {
        attrs.push(("timestamp", d.to_string()));
    }
    w.open("estimatedLocation", &attrs);
    w.opt("city", &l.city);
    w.opt("region", &l.region);
    w.opt("countryCode", &l.country_code);
    w.close("estimatedLocation");
}

fn ip_capture_event(w: &mut XmlWriter, e: &IpCaptureEvent) {
    w.open("ipCaptureEvent", &[]);
    w.leaf("ipAddress", &[], &e.ip_address);
    if let Some(n) = e.event_name {
        w.leaf("eventName", &[], n.as_str());
    }
    if let Some(d) = &e.date_time {
        w.leaf("dateTime", &[], &d.to_string());
    }
    w.opt_bool("possibleProxy", e.possible_proxy);
    w.opt_int("port", e.port);
    w.close("ipCaptureEvent");
}

fn device_id(w: &mut XmlWriter, d: &DeviceId) {
    w.open("deviceId", &[]);
    w.leaf("idType", &[], &d.id_type);
    w.leaf("idValue", &[], &d.id_value);
    if let Some(n) = d.event_name {
        w.leaf("eventName", &[], n.as_str());
    }
    if let Some(t) = &d.date_time {
        w.leaf("dateTime", &[], &t.to_string());
    }
    w.close("deviceId");
}

fn temporarily_disabled(w: &mut XmlWriter, d: &AccountTemporarilyDisabled) {
    let mut attrs = Vec::new();
    if let Some(t) = &d.disabled_date {
        attrs.push(("disabledDate", t.to_string()));
    }
    if let Some(b) = d.user_notified {
        attrs.push(("userNotified", bool_text(b).to_string()));
    }
    if let Some(t) = &d.user_notified_date {
        attrs.push(("userNotifiedDate", t.to_string()));
    }
    if let Some(t) = &d.reenabled_date {
        attrs.push(("reenabledDate", t.to_string()));
    }
    w.leaf("accountTemporarilyDisabled", &attrs, bool_text(d.value));
}

fn permanently_disabled(w: &mut XmlWriter, d: &AccountPermanentlyDisabled) {
    let mut attrs = Vec::new();
    if let Some(t) = &d.disabled_date {
        attrs.push(("disabledDate", t.to_string()));
    }
    if let Some(b) = d.user_notified {
        attrs.push(("userNotified", bool_text(b).to_string()));
    }
    if let Some(t) = &d.user_notified_date {
        attrs.push(("userNotifiedDate", t.to_string()));
    }
    w.leaf("accountPermanentlyDisabled", &attrs, bool_text(d.value));
}

/// Writes a `<fileDetails>` document in XSD order.
pub fn write_file_details(f: &FileDetails) -> Result<String, WriteError> {
    let mut w = XmlWriter::request();
    w.open("fileDetails", &root_attrs());
    w.leaf("reportId", &[], &f.report_id.to_string());
    w.leaf("fileId", &[], &f.file_id);
    w.opt("fileName", &f.file_name);
    w.opt("originalFileName", &f.original_file_name);
    if let Some(t) = &f.uploaded_to_esp_timestamp {
        w.leaf("uploadedToEspTimestamp", &[], &t.to_string());
    }
    w.opt("locationOfFile", &f.location_of_file);
    w.opt_bool("fileViewedByEsp", f.file_viewed_by_esp);
    w.opt_bool("exifViewedByEsp", f.exif_viewed_by_esp);
    w.opt_bool("publiclyAvailable", f.publicly_available);
    if let Some(r) = f.file_relevance {
        w.leaf("fileRelevance", &[], r.as_str());
    }
    match &f.annotations {
        Some(FileAnnotationChoice::PotentialMeme(b)) => w.leaf("potentialMeme", &[], bool_text(*b)),
        Some(FileAnnotationChoice::FileAnnotations(a)) => {
            w.open("fileAnnotations", &[]);
            for (name, on) in a.flags() {
                w.flag(name, on);
            }
            w.close("fileAnnotations");
        }
        None => {}
    }
    if let Some(c) = f.industry_classification {
        w.leaf("industryClassification", &[], c.as_str());
    }
    for h in &f.original_file_hash {
        w.leaf(
            "originalFileHash",
            &[("hashType", h.hash_type.clone())],
            &h.value,
        );
    }
    if let Some(e) = &f.ip_capture_event {
        ip_capture_event(&mut w, e);
    }
    for d in &f.device_id {
        device_id(&mut w, d);
    }
    for d in &f.details {
        let mut attrs = Vec::new();
        if let Some(t) = d.details_type {
            attrs.push(("type", t.as_str().to_string()));
        }
        w.open("details", &attrs);
        for p in &d.name_value_pair {
            w.open("nameValuePair", &[]);
            w.leaf("name", &[], &p.name);
            w.leaf("value", &[], &p.value);
            w.close("nameValuePair");
        }
        w.close("details");
    }
    w.all("additionalInfo", &f.additional_info);
    w.close("fileDetails");
    w.finish_strict()
}
