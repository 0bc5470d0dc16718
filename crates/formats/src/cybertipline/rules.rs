//! Business rules of the API documentation that the XSD does not express (it has almost no
//! facets): lengths, time zones, "in the past", URL / e-mail / IP validity, cross-references,
//! exclusive elements and the batched-report (Appendix E) restrictions.
//!
//! Lengths count UTF-16 code units, as NCMEC's Java server does (`String.length()`).

use std::net::IpAddr;

use time::OffsetDateTime;

use super::file_details::{FileAnnotationChoice, FileDetails};
use super::rejection::{Rejection, Stage, ValidationError};
use super::report::{
    AccountPermanentlyDisabled, AccountTemporarilyDisabled, Address, AssociatedAccount,
    ContactPerson, DeviceId, Email, EstimatedLocation, IntendedRecipient, InternetDetails,
    IpCaptureEvent, Person, PersonOrUserReported, Phone, Report, Victim,
};
use super::tree::{segment, SourceMap};
use super::values::{BatchedReportReason, FileRelevance, UsState, XsDate, XsDateTime};

/// The mode of the report a `<fileDetails>` belongs to (the server knows it from the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// An ordinary report.
    Standard,
    /// A batched report (Appendix E) with that reason.
    Batched(BatchedReportReason),
}

impl ReportMode {
    /// The mode of a report.
    pub fn of(report: &Report) -> Self {
        match &report.batched_report {
            Some(b) => ReportMode::Batched(b.reason),
            None => ReportMode::Standard,
        }
    }
}

/// Maximum URL length (documentation: 2083 characters everywhere).
pub const MAX_URL: usize = 2083;

struct Checker<'a> {
    now: OffsetDateTime,
    source: Option<&'a SourceMap>,
    errors: Vec<ValidationError>,
}

fn len16(s: &str) -> usize {
    s.encode_utf16().count()
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn idx(parent: &str, name: &str, i: usize, total: usize) -> String {
    segment(parent, name, i + 1, total)
}

impl<'a> Checker<'a> {
    fn new(now: OffsetDateTime, source: Option<&'a SourceMap>) -> Self {
        Checker {
            now,
            source,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let line = self.source.and_then(|s| s.line_of(&path));
        self.errors.push(ValidationError {
            stage: Stage::Rule,
            path,
            line,
            message: message.into(),
        });
    }

    fn max(&mut self, path: &str, value: &str, max: usize) {
        let n = len16(value);
        if n > max {
            self.err(path, format!("max length is {max} characters (got {n})"));
        }
    }

    fn opt_max(&mut self, parent: &str, name: &str, value: &Option<String>, max: usize) {
        if let Some(v) = value {
            self.max(&format!("{parent}/{name}"), v, max);
        }
    }

    fn all_max(&mut self, parent: &str, name: &str, values: &[String], max: usize) {
        for (i, v) in values.iter().enumerate() {
            self.max(&idx(parent, name, i, values.len()), v, max);
        }
    }

    fn not_blank(&mut self, path: &str, value: &str) {
        if blank(value) {
            self.err(path, "must not be blank");
        }
    }

    fn url(&mut self, path: &str, value: &str) {
        self.max(path, value, MAX_URL);
        if let Some(problem) = url_problem(value) {
            self.err(path, format!("must be a valid URL ({problem})"));
        }
    }

    fn urls(&mut self, parent: &str, name: &str, values: &[String]) {
        for (i, v) in values.iter().enumerate() {
            self.url(&idx(parent, name, i, values.len()), v);
        }
    }

    fn date_time(&mut self, path: &str, value: &XsDateTime) {
        match value.to_offset() {
            None => self.err(
                path,
                format!(
                    "'{value}' has no time zone (ISO 8601 timestamps must end in Z or +/-hh:mm)"
                ),
            ),
            Some(t) if t >= self.now => self.err(path, format!("'{value}' must be in the past")),
            Some(_) => {}
        }
    }

    /// A dateTime that must carry a zone but need not be in the past.
    fn zoned(&mut self, path: &str, value: &XsDateTime) {
        if value.offset.is_none() {
            self.err(
                path,
                format!(
                    "'{value}' has no time zone (ISO 8601 timestamps must end in Z or +/-hh:mm)"
                ),
            );
        }
    }

    fn date(&mut self, path: &str, value: &XsDate) {
        // A zone-less date is compared with today's date in UTC.
        if value.date >= self.now.to_offset(time::UtcOffset::UTC).date() {
            self.err(path, format!("'{value}' must be in the past"));
        }
    }

    fn email(&mut self, path: &str, e: &Email) {
        if let Some(problem) = email_problem(&e.value) {
            self.err(path, problem);
        }
        self.verification(path, e.verified, &e.verification_date);
    }

    fn verification(&mut self, path: &str, verified: Option<bool>, date: &Option<XsDateTime>) {
        if let Some(d) = date {
            if verified != Some(true) {
                self.err(
                    format!("{path}/@verified"),
                    "must be true when verificationDate is supplied",
                );
            }
            self.date_time(&format!("{path}/@verificationDate"), d);
        }
    }

    fn emails(&mut self, parent: &str, name: &str, values: &[Email]) {
        for (i, e) in values.iter().enumerate() {
            self.email(&idx(parent, name, i, values.len()), e);
        }
    }

    fn phone(&mut self, path: &str, p: &Phone) {
        self.max(path, &p.value, 50);
        if let Some(code) = &p.country_calling_code {
            let digits = code.trim_start_matches('+');
            let number = p.value.trim();
            if number.starts_with(code.as_str())
                || (!digits.is_empty() && number.starts_with(&format!("00{digits}")))
            {
                self.err(
                    path,
                    format!("must not start with the country calling code {code}"),
                );
            }
        }
        if let Some(x) = &p.extension {
            self.max(&format!("{path}/@extension"), x, 10);
        }
        self.verification(path, p.verified, &p.verification_date);
    }

    fn phones(&mut self, parent: &str, name: &str, values: &[Phone]) {
        for (i, p) in values.iter().enumerate() {
            self.phone(&idx(parent, name, i, values.len()), p);
        }
    }

    fn address(&mut self, path: &str, a: &Address) {
        self.opt_max(path, "address", &a.address, 255);
        self.opt_max(path, "city", &a.city, 100);
        self.opt_max(path, "zipCode", &a.zip_code, 20);
        self.opt_max(path, "nonUsaState", &a.non_usa_state, 100);
    }

    fn addresses(&mut self, parent: &str, name: &str, values: &[Address]) {
        for (i, a) in values.iter().enumerate() {
            self.address(&idx(parent, name, i, values.len()), a);
        }
    }

    fn person(&mut self, path: &str, p: &Person) {
        self.opt_max(path, "firstName", &p.first_name, 100);
        self.opt_max(path, "lastName", &p.last_name, 100);
        self.phones(path, "phone", &p.phone);
        self.emails(path, "email", &p.email);
        self.addresses(path, "address", &p.address);
        if let Some(age) = p.age {
            if !(0..=150).contains(&age) {
                self.err(format!("{path}/age"), "must be between 0 and 150");
            }
        }
        if let Some(d) = &p.date_of_birth {
            self.date(&format!("{path}/dateOfBirth"), d);
        }
    }

    fn contact_person(&mut self, path: &str, p: &ContactPerson) {
        self.opt_max(path, "firstName", &p.first_name, 100);
        self.opt_max(path, "lastName", &p.last_name, 100);
        self.phones(path, "phone", &p.phone);
        self.emails(path, "email", &p.email);
        self.addresses(path, "address", &p.address);
    }

    fn ip_events(&mut self, parent: &str, events: &[IpCaptureEvent]) {
        for (i, e) in events.iter().enumerate() {
            self.ip_event(&idx(parent, "ipCaptureEvent", i, events.len()), e);
        }
    }

    fn ip_event(&mut self, path: &str, e: &IpCaptureEvent) {
        let ip = format!("{path}/ipAddress");
        if blank(&e.ip_address) {
            self.err(&ip, "must not be blank");
        } else if e.ip_address.parse::<IpAddr>().is_err() {
            self.err(
                &ip,
                format!(
                    "'{}' must be a valid IPv4, IPv6, or IPv4-mapped IPv6 address",
                    e.ip_address
                ),
            );
        }
        if let Some(d) = &e.date_time {
            self.date_time(&format!("{path}/dateTime"), d);
        }
        if let Some(p) = e.port {
            if !(1..=65535).contains(&p) {
                self.err(
                    format!("{path}/port"),
                    format!("{p} must be between 1 and 65535"),
                );
            }
        }
    }

    fn devices(&mut self, parent: &str, devices: &[DeviceId]) {
        for (i, d) in devices.iter().enumerate() {
            let path = idx(parent, "deviceId", i, devices.len());
            self.not_blank(&format!("{path}/idType"), &d.id_type);
            self.max(&format!("{path}/idType"), &d.id_type, 255);
            self.not_blank(&format!("{path}/idValue"), &d.id_value);
            self.max(&format!("{path}/idValue"), &d.id_value, 2083);
            if let Some(t) = &d.date_time {
                self.date_time(&format!("{path}/dateTime"), t);
            }
        }
    }

    fn prior_reports(&mut self, parent: &str, name: &str, ids: &[i64]) {
        for (i, id) in ids.iter().enumerate() {
            if *id <= 0 {
                self.err(
                    idx(parent, name, i, ids.len()),
                    format!("{id} is not a valid CyberTipline report ID"),
                );
            }
        }
    }

    fn disabled_dates(
        &mut self,
        path: &str,
        disabled: &Option<XsDateTime>,
        notified: &Option<XsDateTime>,
        reenabled: Option<&XsDateTime>,
    ) {
        if let Some(d) = disabled {
            self.date_time(&format!("{path}/@disabledDate"), d);
        }
        if let Some(n) = notified {
            self.date_time(&format!("{path}/@userNotifiedDate"), n);
            if let (Some(d), Some(n)) = (disabled.and_then(|d| d.to_offset()), n.to_offset()) {
                if n < d {
                    self.err(
                        format!("{path}/@userNotifiedDate"),
                        "must be on or after the disabledDate",
                    );
                }
            }
        }
        if let Some(r) = reenabled {
            self.zoned(&format!("{path}/@reenabledDate"), r);
            if let (Some(d), Some(r)) = (disabled.and_then(|d| d.to_offset()), r.to_offset()) {
                if r <= d {
                    self.err(
                        format!("{path}/@reenabledDate"),
                        "must be after the disabledDate",
                    );
                }
            }
        }
    }

    fn temporarily(&mut self, parent: &str, d: &Option<AccountTemporarilyDisabled>) {
        if let Some(d) = d {
            let path = format!("{parent}/accountTemporarilyDisabled");
            self.disabled_dates(
                &path,
                &d.disabled_date,
                &d.user_notified_date,
                d.reenabled_date.as_ref(),
            );
        }
    }

    fn permanently(&mut self, parent: &str, d: &Option<AccountPermanentlyDisabled>) {
        if let Some(d) = d {
            let path = format!("{parent}/accountPermanentlyDisabled");
            self.disabled_dates(&path, &d.disabled_date, &d.user_notified_date, None);
        }
    }

    fn estimated_location(&mut self, parent: &str, l: &Option<EstimatedLocation>) {
        let Some(l) = l else { return };
        let path = format!("{parent}/estimatedLocation");
        self.opt_max(&path, "city", &l.city, 255);
        self.opt_max(&path, "region", &l.region, 255);
        if let Some(t) = &l.timestamp {
            self.date_time(&format!("{path}/@timestamp"), t);
        }
        let country = l.country_code.as_deref().unwrap_or("");
        if blank(country) {
            self.err(
                format!("{path}/countryCode"),
                "must not be blank if estimatedLocation is supplied",
            );
        }
        if country == "US" {
            match l.region.as_deref() {
                Some(r) if !blank(r) => {
                    if UsState::from_wire(r.trim()).is_none() {
                        self.err(
                            format!("{path}/region"),
                            format!("'{r}' must be a valid US state or territory postal abbreviation when countryCode is US"),
                        );
                    }
                }
                _ => {
                    if l.city.as_deref().is_some_and(|c| !blank(c)) {
                        self.err(
                            format!("{path}/region"),
                            "must not be blank if city is supplied and countryCode is US",
                        );
                    }
                }
            }
        }
    }

    fn associated_accounts(&mut self, parent: &str, accounts: &[AssociatedAccount]) {
        for (i, a) in accounts.iter().enumerate() {
            let path = idx(parent, "associatedAccount", i, accounts.len());
            if let Some(p) = &a.platform {
                self.max(&format!("{path}/platform"), &p.value, 256);
            }
            self.opt_max(&path, "firstName", &a.first_name, 256);
            self.opt_max(&path, "middleName", &a.middle_name, 256);
            self.opt_max(&path, "lastName", &a.last_name, 256);
            if let Some(age) = a.approximate_age {
                if !(0..=150).contains(&age) {
                    self.err(
                        format!("{path}/approximateAge"),
                        "must be between 0 and 150",
                    );
                }
                if a.date_of_birth.is_some() {
                    self.err(
                        format!("{path}/approximateAge"),
                        "may not be set if dateOfBirth is supplied",
                    );
                }
            }
            if let Some(d) = &a.date_of_birth {
                self.date(&format!("{path}/dateOfBirth"), d);
            }
            self.phones(&path, "phone", &a.phone);
            self.emails(&path, "email", &a.email);
            self.addresses(&path, "address", &a.address);
            self.opt_max(&path, "espService", &a.esp_service, 256);
            self.opt_max(&path, "espIdentifier", &a.esp_identifier, 256);
            self.urls(&path, "profileUrl", &a.profile_url);
            self.opt_max(&path, "screenName", &a.screen_name, 256);
            self.all_max(&path, "displayName", &a.display_name, 255);
            self.opt_max(&path, "groupIdentifier", &a.group_identifier, 256);
            self.temporarily(&path, &a.account_temporarily_disabled);
            self.permanently(&path, &a.account_permanently_disabled);
            self.ip_events(&path, &a.ip_capture_event);
            self.devices(&path, &a.device_id);
            self.prior_reports(&path, "priorCTReport", &a.prior_ct_report);
        }
    }

    fn person_or_user_reported(&mut self, path: &str, p: &PersonOrUserReported) {
        if let Some(x) = &p.person_or_user_reported_person {
            self.person(&format!("{path}/personOrUserReportedPerson"), x);
        }
        self.opt_max(path, "vehicleDescription", &p.vehicle_description, 300);
        self.opt_max(path, "espIdentifier", &p.esp_identifier, 255);
        self.opt_max(path, "espService", &p.esp_service, 100);
        self.opt_max(path, "screenName", &p.screen_name, 256);
        self.all_max(path, "displayName", &p.display_name, 255);
        self.urls(path, "profileUrl", &p.profile_url);
        self.ip_events(path, &p.ip_capture_event);
        self.devices(path, &p.device_id);
        self.prior_reports(path, "priorCTReports", &p.prior_ct_reports);
        self.opt_max(path, "groupIdentifier", &p.group_identifier, 255);
        self.temporarily(path, &p.account_temporarily_disabled);
        self.permanently(path, &p.account_permanently_disabled);
        self.estimated_location(path, &p.estimated_location);
        self.associated_accounts(path, &p.associated_account);
    }

    fn intended_recipient(&mut self, path: &str, p: &IntendedRecipient) {
        if let Some(x) = &p.intended_recipient_person {
            self.person(&format!("{path}/intendedRecipientPerson"), x);
        }
        self.opt_max(path, "espIdentifier", &p.esp_identifier, 255);
        self.opt_max(path, "espService", &p.esp_service, 100);
        self.opt_max(path, "screenName", &p.screen_name, 256);
        self.all_max(path, "displayName", &p.display_name, 255);
        self.urls(path, "profileUrl", &p.profile_url);
        self.ip_events(path, &p.ip_capture_event);
        self.devices(path, &p.device_id);
        self.prior_reports(path, "priorCTReports", &p.prior_ct_reports);
        self.opt_max(path, "groupIdentifier", &p.group_identifier, 255);
        self.temporarily(path, &p.account_temporarily_disabled);
        self.permanently(path, &p.account_permanently_disabled);
        self.estimated_location(path, &p.estimated_location);
    }

    fn victim(&mut self, path: &str, v: &Victim) {
        self.person(&format!("{path}/victimPerson"), &v.victim_person);
        self.opt_max(path, "espIdentifier", &v.esp_identifier, 255);
        self.opt_max(path, "espService", &v.esp_service, 100);
        self.opt_max(path, "screenName", &v.screen_name, 256);
        self.all_max(path, "displayName", &v.display_name, 255);
        self.urls(path, "profileUrl", &v.profile_url);
        self.ip_events(path, &v.ip_capture_event);
        self.devices(path, &v.device_id);
        self.opt_max(path, "schoolName", &v.school_name, 255);
        self.prior_reports(path, "priorCTReports", &v.prior_ct_reports);
        self.temporarily(path, &v.account_temporarily_disabled);
        self.permanently(path, &v.account_permanently_disabled);
        self.estimated_location(path, &v.estimated_location);
        self.associated_accounts(path, &v.associated_account);
    }

    fn internet_details(&mut self, path: &str, d: &InternetDetails, known_emails: &[String]) {
        let path = format!("{path}/{}", d.element_name());
        let path = path.as_str();
        match d {
            InternetDetails::WebPage(x) => self.urls(path, "url", &x.url),
            InternetDetails::Email(x) => {
                self.incident_emails(path, &x.email_address, known_emails);
            }
            InternetDetails::Newsgroup(x) => {
                self.opt_max(path, "name", &x.name, 255);
                self.incident_emails(path, &x.email_address, known_emails);
            }
            InternetDetails::ChatIm(x) => {
                self.opt_max(path, "chatClient", &x.chat_client, 255);
                self.opt_max(path, "chatRoomName", &x.chat_room_name, 255);
            }
            InternetDetails::OnlineGaming(x) => {
                self.opt_max(path, "gameName", &x.game_name, 255);
                self.opt_max(path, "console", &x.console, 255);
            }
            InternetDetails::CellPhone(x) => {
                if let Some(p) = &x.phone_number {
                    self.phone(&format!("{path}/phoneNumber"), p);
                }
            }
            InternetDetails::NonInternet(x) => {
                self.opt_max(path, "locationName", &x.location_name, 255);
                self.addresses(path, "incidentAddress", &x.incident_address);
            }
            InternetDetails::Peer2Peer(x) => {
                self.opt_max(path, "client", &x.client, 255);
                self.ip_events(path, &x.ip_capture_event);
            }
        }
    }

    fn incident_emails(&mut self, parent: &str, emails: &[Email], known: &[String]) {
        for (i, e) in emails.iter().enumerate() {
            let path = idx(parent, "emailAddress", i, emails.len());
            self.email(&path, e);
            let wanted = normalise_email(&e.value);
            if !known.contains(&wanted) {
                self.err(
                    &path,
                    format!(
                        "'{}' must also be supplied as a personOrUserReported, intendedRecipient or victim email address",
                        e.value
                    ),
                );
            }
        }
    }
}

fn normalise_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What is wrong with a URL, if anything.
pub fn url_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("blank");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters");
    }
    match url::Url::parse(s) {
        Err(_) => Some("not an absolute URL"),
        Ok(u) if !u.has_host() || u.host_str().is_some_and(str::is_empty) => Some("no host"),
        Ok(_) => None,
    }
}

/// What is wrong with an e-mail address, if anything (documentation: well-formed, at most 255
/// characters, local part at most 64).
pub fn email_problem(s: &str) -> Option<String> {
    if blank(s) {
        return Some("must not be blank".into());
    }
    if len16(s) > 255 {
        return Some(format!("max length is 255 characters (got {})", len16(s)));
    }
    let bad = || Some(format!("'{s}' is not a well-formed email address"));
    let Some((local, domain)) = s.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty() || local.contains('@') {
        return bad();
    }
    if len16(local) > 64 {
        return Some(format!(
            "local part (before @) max length is 64 characters (got {})",
            len16(local)
        ));
    }
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !local.chars().all(|c| c == '.' || atext(c))
    {
        return bad();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return bad();
    }
    for l in &labels {
        if l.is_empty()
            || l.len() > 63
            || l.starts_with('-')
            || l.ends_with('-')
            || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return bad();
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return bad();
    }
    None
}

/// Business-rule violations of a report (empty when it passes). `source` adds line numbers.
pub fn report_violations(
    r: &Report,
    now: OffsetDateTime,
    source: Option<&SourceMap>,
) -> Vec<ValidationError> {
    let mut c = Checker::new(now, source);
    let root = "report";
    let s = &r.incident_summary;
    let sp = "report/incidentSummary";
    c.opt_max(sp, "platform", &s.platform, 256);
    if let Some(e) = &s.escalate_to_high_priority {
        let p = format!("{sp}/escalateToHighPriority");
        c.not_blank(&p, e);
        c.max(&p, e, 3000);
    }
    c.date_time(&format!("{sp}/incidentDateTime"), &s.incident_date_time);
    c.opt_max(
        sp,
        "incidentDateTimeDescription",
        &s.incident_date_time_description,
        3000,
    );

    // E-mails an emailIncident / newsgroupIncident address may refer to.
    let mut known: Vec<String> = Vec::new();
    let persons = r
        .person_or_user_reported
        .iter()
        .filter_map(|p| p.person_or_user_reported_person.as_ref())
        .chain(
            r.intended_recipient
                .iter()
                .filter_map(|p| p.intended_recipient_person.as_ref()),
        )
        .chain(r.victim.iter().map(|v| &v.victim_person));
    for p in persons {
        known.extend(p.email.iter().map(|e| normalise_email(&e.value)));
    }
    let n = r.internet_details.len();
    for (i, d) in r.internet_details.iter().enumerate() {
        c.internet_details(&idx(root, "internetDetails", i, n), d, &known);
    }

    if let Some(le) = &r.law_enforcement {
        let p = "report/lawEnforcement";
        c.max(&format!("{p}/agencyName"), &le.agency_name, 255);
        c.opt_max(p, "caseNumber", &le.case_number, 100);
        if let Some(o) = &le.officer_contact {
            c.contact_person(&format!("{p}/officerContact"), o);
        }
    }

    let rp = "report/reporter";
    let person_path = format!("{rp}/reportingPerson");
    if r.reporter.reporting_person.email.is_empty() {
        c.err(
            format!("{person_path}/email"),
            "reportingPerson email is required",
        );
    }
    c.person(&person_path, &r.reporter.reporting_person);
    if let Some(cp) = &r.reporter.contact_person {
        c.contact_person(&format!("{rp}/contactPerson"), cp);
    }
    if let Some(u) = &r.reporter.legal_url {
        c.url(&format!("{rp}/legalURL"), u);
    }

    let n = r.person_or_user_reported.len();
    for (i, p) in r.person_or_user_reported.iter().enumerate() {
        c.person_or_user_reported(&idx(root, "personOrUserReported", i, n), p);
    }
    let n = r.intended_recipient.len();
    for (i, p) in r.intended_recipient.iter().enumerate() {
        c.intended_recipient(&idx(root, "intendedRecipient", i, n), p);
    }
    let n = r.victim.len();
    for (i, v) in r.victim.iter().enumerate() {
        c.victim(&idx(root, "victim", i, n), v);
    }

    match ReportMode::of(r) {
        ReportMode::Standard => {
            if r.person_or_user_reported.len() > 1 {
                c.err(
                    "report/personOrUserReported[2]",
                    "at most one personOrUserReported is allowed unless the report is batched",
                );
            }
        }
        ReportMode::Batched(BatchedReportReason::ViralPotentialMeme) => batched_report(&mut c, r),
    }
    c.errors
}

/// Appendix E, report side.
fn batched_report(c: &mut Checker<'_>, r: &Report) {
    const WHY: &str = "is not allowed in a VIRAL_POTENTIAL_MEME batched report";
    if r.incident_summary.escalate_to_high_priority.is_some() {
        c.err("report/incidentSummary/escalateToHighPriority", WHY);
    }
    let n = r.internet_details.len();
    for i in 0..n {
        c.err(idx("report", "internetDetails", i, n), WHY);
    }
    if r.law_enforcement.is_some() {
        c.err("report/lawEnforcement", WHY);
    }
    let n = r.intended_recipient.len();
    for i in 0..n {
        c.err(idx("report", "intendedRecipient", i, n), WHY);
    }
    let n = r.victim.len();
    for i in 0..n {
        c.err(idx("report", "victim", i, n), WHY);
    }
    if r.additional_info.is_some() {
        c.err("report/additionalInfo", WHY);
    }
    let n = r.person_or_user_reported.len();
    for (i, p) in r.person_or_user_reported.iter().enumerate() {
        let path = idx("report", "personOrUserReported", i, n);
        for name in non_esp_identifier_elements(p) {
            c.err(
                format!("{path}/{name}"),
                "only espIdentifier is allowed in personOrUserReported of a VIRAL_POTENTIAL_MEME batched report",
            );
        }
    }
}

/// The elements of a reported person other than `espIdentifier` that are present.
fn non_esp_identifier_elements(p: &PersonOrUserReported) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut check = |present: bool, name: &'static str| {
        if present {
            v.push(name);
        }
    };
    check(
        p.person_or_user_reported_person.is_some(),
        "personOrUserReportedPerson",
    );
    check(p.vehicle_description.is_some(), "vehicleDescription");
    check(p.esp_service.is_some(), "espService");
    check(p.compromised_account.is_some(), "compromisedAccount");
    check(p.screen_name.is_some(), "screenName");
    check(!p.display_name.is_empty(), "displayName");
    check(!p.profile_url.is_empty(), "profileUrl");
    check(p.profile_bio.is_some(), "profileBio");
    check(!p.ip_capture_event.is_empty(), "ipCaptureEvent");
    check(!p.device_id.is_empty(), "deviceId");
    check(
        p.third_party_user_reported.is_some(),
        "thirdPartyUserReported",
    );
    check(!p.prior_ct_reports.is_empty(), "priorCTReports");
    check(p.group_identifier.is_some(), "groupIdentifier");
    check(
        p.account_temporarily_disabled.is_some(),
        "accountTemporarilyDisabled",
    );
    check(
        p.account_permanently_disabled.is_some(),
        "accountPermanentlyDisabled",
    );
    check(p.estimated_location.is_some(), "estimatedLocation");
    check(p.all_emails_reported.is_some(), "allEmailsReported");
    check(!p.associated_account.is_empty(), "associatedAccount");
    check(p.additional_info.is_some(), "additionalInfo");
    v
}

/// Business-rule violations of a `<fileDetails>` for a report of the given mode. Whether the
/// report and file exist and belong to the caller is the server's check.
pub fn file_details_violations(
    f: &FileDetails,
    mode: ReportMode,
    now: OffsetDateTime,
    source: Option<&SourceMap>,
) -> Vec<ValidationError> {
    let mut c = Checker::new(now, source);
    let p = "fileDetails";
    if f.report_id <= 0 {
        c.err(
            "fileDetails/reportId",
            format!("{} is not a valid CyberTipline report ID", f.report_id),
        );
    }
    c.not_blank("fileDetails/fileId", &f.file_id);
    c.opt_max(p, "originalFileName", &f.original_file_name, 2056);
    if let Some(t) = &f.uploaded_to_esp_timestamp {
        c.date_time("fileDetails/uploadedToEspTimestamp", t);
    }
    if let Some(u) = &f.location_of_file {
        c.url("fileDetails/locationOfFile", u);
    }
    if f.exif_viewed_by_esp == Some(true) && f.file_viewed_by_esp != Some(true) {
        // Point at fileViewedByEsp when present, else at the exifViewedByEsp that needs it.
        if f.file_viewed_by_esp.is_some() {
            c.err(
                "fileDetails/fileViewedByEsp",
                "must be true when exifViewedByEsp is true",
            );
        } else {
            c.err(
                "fileDetails/exifViewedByEsp",
                "fileViewedByEsp must be true when exifViewedByEsp is true",
            );
        }
    }
    let relevance = f.file_relevance.unwrap_or(FileRelevance::Reported);
    if relevance == FileRelevance::SupplementalReported {
        if f.is_potential_meme() {
            let path = match f.annotations {
                Some(FileAnnotationChoice::PotentialMeme(_)) => "fileDetails/potentialMeme",
                _ => "fileDetails/fileAnnotations/potentialMeme",
            };
            c.err(
                path,
                "a Supplemental Reported file may not carry a potential meme annotation",
            );
        }
        if f.industry_classification.is_some() {
            c.err(
                "fileDetails/industryClassification",
                "a Supplemental Reported file may not carry an industryClassification",
            );
        }
    }
    let n = f.original_file_hash.len();
    for (i, h) in f.original_file_hash.iter().enumerate() {
        let path = idx(p, "originalFileHash", i, n);
        c.max(&format!("{path}/@hashType"), &h.hash_type, 64);
    }
    if let Some(e) = &f.ip_capture_event {
        c.ip_event("fileDetails/ipCaptureEvent", e);
    }
    c.devices(p, &f.device_id);
    let n = f.details.len();
    for (i, d) in f.details.iter().enumerate() {
        let path = idx(p, "details", i, n);
        let m = d.name_value_pair.len();
        for (j, pair) in d.name_value_pair.iter().enumerate() {
            let pp = idx(&path, "nameValuePair", j, m);
            c.max(&format!("{pp}/name"), &pair.name, 64);
        }
    }
    if let ReportMode::Batched(BatchedReportReason::ViralPotentialMeme) = mode {
        batched_file_details(&mut c, f, relevance);
    }
    c.errors
}

/// Appendix E, file-details side.
fn batched_file_details(c: &mut Checker<'_>, f: &FileDetails, relevance: FileRelevance) {
    const WHY: &str = "is not allowed for the file of a VIRAL_POTENTIAL_MEME batched report";
    match f.file_annotations() {
        Some(a) => {
            if !a.viral && !a.potential_meme {
                c.err(
                    "fileDetails/fileAnnotations",
                    "the file of a VIRAL_POTENTIAL_MEME batched report must be annotated viral and/or potentialMeme",
                );
            }
            for (name, on) in a.flags() {
                if on && name != "viral" && name != "potentialMeme" {
                    c.err(format!("fileDetails/fileAnnotations/{name}"), WHY);
                }
            }
        }
        None => c.err(
            "fileDetails/fileAnnotations",
            "the file of a VIRAL_POTENTIAL_MEME batched report must carry fileAnnotations/viral and/or fileAnnotations/potentialMeme",
        ),
    }
    if f.original_file_name.is_some() {
        c.err("fileDetails/originalFileName", WHY);
    }
    if f.location_of_file.is_some() {
        c.err("fileDetails/locationOfFile", WHY);
    }
    if !f.original_file_hash.is_empty() {
        c.err("fileDetails/originalFileHash", WHY);
    }
    if f.ip_capture_event.is_some() {
        c.err("fileDetails/ipCaptureEvent", WHY);
    }
    if !f.device_id.is_empty() {
        c.err("fileDetails/deviceId", WHY);
    }
    if !f.details.is_empty() {
        c.err("fileDetails/details", WHY);
    }
    if !f.additional_info.is_empty() {
        c.err("fileDetails/additionalInfo", WHY);
    }
    if relevance != FileRelevance::Reported {
        c.err(
            "fileDetails/fileRelevance",
            "must be Reported for the file of a VIRAL_POTENTIAL_MEME batched report",
        );
    }
}

/// Appendix E: a VIRAL_POTENTIAL_MEME batched report must have exactly one uploaded file when
/// it is finished; otherwise /finish fails with HTTP 400 / 4100. Call with the number of files
/// uploaded to a batched report.
pub fn check_batched_file_count(files: usize) -> Result<(), Rejection> {
    if files == 1 {
        return Ok(());
    }
    Err(Rejection::Invalid(vec![ValidationError {
        stage: Stage::Rule,
        path: "report/batchedReport".into(),
        line: None,
        message: format!(
            "a VIRAL_POTENTIAL_MEME batched report must have exactly 1 uploaded file (has {files}); retract it and resubmit"
        ),
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(url_problem("http://badsite.com/baduri.html"), None);
        assert_eq!(url_problem("https://example.com"), None);
        assert!(url_problem("badsite.com/x").is_some());
        assert!(url_problem("http://exa mple.com").is_some());
        assert!(url_problem("http://example.com/\u{7}").is_some());
        assert!(url_problem("mailto:a@example.com").is_some());
        assert!(url_problem("").is_some());
    }

    #[test]
    fn emails() {
        assert_eq!(email_problem("jsmith@example.com"), None);
        assert_eq!(email_problem("a.b+c@sub.example.co.uk"), None);
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@-x.com",
            "a b@example.com",
            "a@example.123",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(email_problem(&long_local)
            .expect("too long")
            .contains("local part"));
    }

    #[test]
    fn batched_file_count() {
        assert!(check_batched_file_count(1).is_ok());
        for n in [0, 2, 5] {
            let e = check_batched_file_count(n).expect_err("not one");
            assert_eq!(e.response_code().code(), 4100);
            assert!(e.description().contains("batchedReport"));
        }
    }
}
