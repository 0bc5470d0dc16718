//! Every example document validates, parses without rule violations and survives
//! parse → write → parse unchanged; every response example parses and writes back.

use safeguard_formats::cybertipline::{
    self as ct, check_report, parse_file_details, parse_report, parse_report_done_response,
    parse_report_response, validate_file_details, validate_report, write_file_details,
    write_report, AssociatedAccount, AssociatedAccountType, BatchedReportReason, Email,
    EmailIncident, FileAnnotationChoice, IncidentType, InternetDetails, Person, ReportMode,
    ResponseCode, Victim, XsDateTime,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/cybertipline/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const REPORTS: [&str; 3] = [
    "report.xml",
    "synthetic-report-full.xml",
    "synthetic-report-batched-viral.xml",
];

const FILE_DETAILS: [(&str, ReportMode); 3] = [
    ("file-details.xml", ReportMode::Standard),
    ("synthetic-file-details-full.xml", ReportMode::Standard),
    (
        "synthetic-file-details-viral.xml",
        ReportMode::Batched(BatchedReportReason::ViralPotentialMeme),
    ),
];

#[test]
fn example_reports_validate_and_round_trip() {
    for name in REPORTS {
        let xml = data(name);
        let report = validate_report(xml.as_bytes(), NOW).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = write_report(&report).expect("writable");
        let again = validate_report(written.as_bytes(), NOW)
            .unwrap_or_else(|e| panic!("{name} rewritten: {e}\n{written}"));
        assert_eq!(report, again, "{name} round trip");
        // Writing is deterministic.
        assert_eq!(write_report(&again).expect("writable"), written);
    }
}

#[test]
fn example_file_details_validate_and_round_trip() {
    for (name, mode) in FILE_DETAILS {
        let xml = data(name);
        let details = validate_file_details(xml.as_bytes(), mode, NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = write_file_details(&details).expect("writable");
        let again = validate_file_details(written.as_bytes(), mode, NOW)
            .unwrap_or_else(|e| panic!("{name} rewritten: {e}\n{written}"));
        assert_eq!(details, again, "{name} round trip");
    }
}

#[test]
fn decoded_values_are_faithful() {
    let r = validate_report(data("report.xml").as_bytes(), NOW).expect("valid");
    let s = &r.incident_summary;
    assert_eq!(s.incident_type, IncidentType::ChildPornography);
    assert_eq!(
        s.incident_date_time.to_string(),
        "2012-10-15T08:00:00-07:00"
    );
    let a = s.report_annotations.expect("annotations");
    assert!(a.sextortion && a.csam_solicitation && a.minor_to_minor_interaction && a.spam);
    assert!(a.sadistic_online_exploitation && !a.informational);
    match &r.internet_details[..] {
        [InternetDetails::WebPage(w)] => assert_eq!(w.url, ["http://badsite.com/baduri.html"]),
        other => panic!("unexpected {other:?}"),
    }
    let p = &r.reporter.reporting_person;
    assert_eq!(p.first_name.as_deref(), Some("John"));
    assert_eq!(p.email[0].value, "jsmith@example.com");

    let full = validate_report(data("synthetic-report-full.xml").as_bytes(), NOW).expect("valid");
    assert_eq!(full.internet_details.len(), 2);
    let suspect = &full.person_or_user_reported[0];
    assert_eq!(suspect.ip_capture_event[0].port, Some(51515));
    assert_eq!(suspect.ip_capture_event[1].ip_address, "2001:db8::1");
    assert_eq!(suspect.prior_ct_reports, [123456789]);
    let email = &suspect
        .person_or_user_reported_person
        .as_ref()
        .expect("person")
        .email[0];
    assert_eq!(email.verified, Some(true));
    assert_eq!(
        email.verification_date,
        Some(XsDateTime::parse("2023-12-01T00:00:00Z").expect("date"))
    );
    assert_eq!(
        suspect.associated_account[0].account_type,
        AssociatedAccountType::Linked
    );
    let le = full.law_enforcement.as_ref().expect("law enforcement");
    let intl = le
        .served_legal_process_international
        .as_ref()
        .expect("intl");
    assert_eq!(intl.flea_country.as_deref(), Some("DE"));
    assert!(intl.value);
    assert_eq!(full.victim[0].victim_person.age, Some(13));

    let batched =
        validate_report(data("synthetic-report-batched-viral.xml").as_bytes(), NOW).expect("valid");
    assert_eq!(
        ReportMode::of(&batched),
        ReportMode::Batched(BatchedReportReason::ViralPotentialMeme)
    );
    assert_eq!(batched.person_or_user_reported.len(), 3);

    let f = validate_file_details(
        data("synthetic-file-details-full.xml").as_bytes(),
        ReportMode::Standard,
        NOW,
    )
    .expect("valid");
    assert_eq!(f.report_id, 4564654);
    assert_eq!(f.file_id, "b0754af766b426f2928a02c651ed4b99");
    assert_eq!(f.original_file_hash.len(), 2);
    assert_eq!(f.details[0].name_value_pair[1].name, "DateTimeOriginal");
    match f.annotations {
        Some(FileAnnotationChoice::FileAnnotations(a)) => {
            assert!(a.possible_self_production && a.generative_ai && !a.viral)
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn responses_parse_and_write_back_byte_for_byte() {
    // NCMEC's own examples: our writer reproduces them exactly.
    for name in [
        "submit-response.xml",
        "upload-response.xml",
        "fileinfo-response.xml",
        "retract-response.xml",
        "status-response.xml",
    ] {
        let xml = data(name);
        let r = parse_report_response(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.code(), Some(ResponseCode::Success));
        assert_eq!(r.to_xml(), xml.trim_end(), "{name}");
    }
    let up = parse_report_response(data("upload-response.xml").as_bytes()).expect("valid");
    assert_eq!(up.report_id, Some(4564654));
    assert_eq!(
        up.file_id.as_deref(),
        Some("b0754af766b426f2928a02c651ed4b99")
    );
    assert_eq!(up.hash.as_deref(), Some("fafa5efeaf3cbe3b23b2748d13e629a1"));

    let finish = data("finish-response.xml");
    let done = parse_report_done_response(finish.as_bytes()).expect("valid");
    assert_eq!(done.report_id, 4564654);
    assert_eq!(done.files, ["b0754af766b426f2928a02c651ed4b99"]);
    assert_eq!(done.to_xml(), finish.trim_end());

    let multi =
        parse_report_done_response(data("synthetic-finish-response-multifile.xml").as_bytes())
            .expect("valid");
    assert_eq!(multi.files.len(), 2);
    assert_eq!(
        parse_report_done_response(multi.to_xml().as_bytes()).expect("valid"),
        multi
    );

    let err =
        parse_report_response(data("synthetic-error-response-4100.xml").as_bytes()).expect("valid");
    assert_eq!(err.code(), Some(ResponseCode::ValidationFailed));
    assert_eq!(
        parse_report_response(err.to_xml().as_bytes()).expect("valid"),
        err
    );

    // An empty file list is written as <files/> and reads back empty.
    let empty = ct::ReportDoneResponse::success(1, vec![]);
    assert!(empty.to_xml().contains("<files/>"));
    assert_eq!(
        parse_report_done_response(empty.to_xml().as_bytes())
            .expect("valid")
            .files,
        Vec::<String>::new()
    );
}

#[test]
fn rejection_responses_are_valid_report_responses() {
    let rejection = validate_report(b"not xml", NOW).expect_err("refused");
    let response = rejection.to_response(None);
    let back = parse_report_response(response.to_xml().as_bytes()).expect("valid");
    assert_eq!(back.code(), Some(ResponseCode::MalformedXml));
    assert!(back
        .response_description
        .starts_with("Malformed XML submittal - "));
}

#[test]
fn superset_elements_are_accepted_and_kept() {
    let xml = data("synthetic-report-full.xml")
        .replace(
            "<minorToMinorInteraction>true</minorToMinorInteraction>",
            "<minorToMinorInteraction>true</minorToMinorInteraction>\n            <informational/>",
        )
        .replace(
            "<age>34</age>",
            "<age>34</age>\n            <ageAssertionDiscrepancy>true</ageAssertionDiscrepancy>",
        )
        .replace(
            "<platform thirdPartyUser=\"true\">Other Social</platform>",
            "<platform thirdPartyUser=\"true\">Other Social</platform>\n            <approximateAge>30</approximateAge>\n            <ageAssertionDiscrepancy>false</ageAssertionDiscrepancy>",
        );
    let r = validate_report(xml.as_bytes(), NOW).expect("superset accepted");
    assert!(
        r.incident_summary
            .report_annotations
            .expect("annotations")
            .informational
    );
    let suspect = &r.person_or_user_reported[0];
    assert_eq!(
        suspect
            .person_or_user_reported_person
            .as_ref()
            .expect("person")
            .age_assertion_discrepancy,
        Some(true)
    );
    let account = &suspect.associated_account[0];
    assert_eq!(account.approximate_age, Some(30));
    assert_eq!(account.age_assertion_discrepancy, Some(false));
    let written = write_report(&r).expect("writable");
    assert!(written.contains("<informational/>"));
    assert_eq!(validate_report(written.as_bytes(), NOW).expect("valid"), r);

    // The served XSD stays NCMEC's file; only the validation schema has the additions.
    assert!(!ct::XSD.contains("name=\"informational\""));
    assert!(ct::superset_xsd().contains("name=\"informational\""));
}

#[test]
fn email_incident_address_on_a_victim_is_accepted() {
    let xml = data("report.xml").replace(
        "<webPageIncident>\n            <url>http://badsite.com/baduri.html</url>\n        </webPageIncident>",
        "<emailIncident><emailAddress>Kid@Example.org</emailAddress></emailIncident>",
    )
    .replace(
        "</reporter>",
        "</reporter>\n    <victim><victimPerson><email>kid@example.org</email></victimPerson></victim>",
    );
    let r = validate_report(xml.as_bytes(), NOW).expect("cross-referenced e-mail accepted");
    assert!(matches!(r.internet_details[0], InternetDetails::Email(_)));
}

#[test]
fn a_report_built_in_code_is_written_valid() {
    let mut r = validate_report(data("report.xml").as_bytes(), NOW).expect("valid");
    r.internet_details
        .push(InternetDetails::Email(EmailIncident {
            email_address: vec![Email::new("suspect@example.net")],
            content: Some("Subject: <hello> & \"bye\"\r\nline two".into()),
            additional_info: None,
        }));
    r.victim.push(Victim {
        victim_person: Person {
            first_name: Some("Ünïcødé ✓".into()),
            email: vec![Email::new("suspect@example.net")],
            ..Person::default()
        },
        associated_account: vec![AssociatedAccount::new(
            AssociatedAccountType::ParentGuardian,
        )],
        ..Victim::default()
    });
    let xml = write_report(&r).expect("writable");
    let back = validate_report(xml.as_bytes(), NOW).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(back, r);

    // Characters XML 1.0 cannot carry are refused by the writer, not silently emitted.
    r.additional_info = Some("bell \u{7}".into());
    let err = write_report(&r).expect_err("control character");
    assert_eq!(err.element, "additionalInfo");
}

#[test]
fn parse_then_check_gives_the_same_verdict() {
    let parsed = parse_report(data("synthetic-report-full.xml").as_bytes()).expect("valid");
    check_report(&parsed, NOW).expect("no violation");
    // The incident happened on 2024-03-01: a clock set before it makes it a future date.
    let early = datetime!(2024-01-01 00:00 UTC);
    let e = check_report(&parsed, early).expect_err("future relative to the clock");
    assert!(e.description().contains("incidentDateTime"));
    let fd = parse_file_details(data("file-details.xml").as_bytes()).expect("valid");
    assert_eq!(fd.value.report_id, 4564654);
}

#[test]
fn response_helpers_match_ncmecs_examples() {
    assert_eq!(
        ct::ReportResponse::success(4564654).to_xml(),
        data("submit-response.xml").trim_end()
    );
    assert_eq!(
        ct::ReportResponse::uploaded(
            4564654,
            "b0754af766b426f2928a02c651ed4b99",
            "fafa5efeaf3cbe3b23b2748d13e629a1"
        )
        .to_xml(),
        data("upload-response.xml").trim_end()
    );
    assert_eq!(
        ct::ReportResponse::status("{username}", "{ip address}").to_xml(),
        data("status-response.xml").trim_end()
    );
    let e = ct::ReportResponse::error(ResponseCode::ReportAlreadyFinished, Some(9));
    assert_eq!(e.response_code, 5102);
    assert_eq!(e.response_description, "Report already finished");
}

#[test]
fn validation_is_usable_from_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ct::Report>();
    assert_send_sync::<ct::FileDetails>();
    assert_send_sync::<ct::Rejection>();
    let xml = data("synthetic-report-full.xml");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let xml = xml.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| validate_report(xml.as_bytes(), NOW).is_ok())
                    .filter(|ok| *ok)
                    .count()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), 25);
    }
}

#[test]
fn wire_types_survive_json() {
    for name in [
        "synthetic-report-full.xml",
        "synthetic-report-kitchen-sink.xml",
        "synthetic-report-batched-viral.xml",
    ] {
        let r = validate_report(data(name).as_bytes(), NOW).expect("valid");
        let json = serde_json::to_string(&r).expect("serialisable");
        let back: ct::Report = serde_json::from_str(&json).expect("deserialisable");
        assert_eq!(back, r, "{name}");
    }
    let r = validate_report(data("report.xml").as_bytes(), NOW).expect("valid");
    let json = serde_json::to_value(&r).expect("serialisable");
    // Enumerations and dates keep their wire spelling.
    assert_eq!(
        json["incident_summary"]["incident_type"],
        "Child Pornography (possession, manufacture, and distribution)"
    );
    assert_eq!(
        json["incident_summary"]["incident_date_time"],
        "2012-10-15T08:00:00-07:00"
    );
    let f = validate_file_details(
        data("synthetic-file-details-kitchen-sink.xml").as_bytes(),
        ReportMode::Standard,
        NOW,
    )
    .expect("valid");
    let back: ct::FileDetails =
        serde_json::from_str(&serde_json::to_string(&f).expect("json")).expect("back");
    assert_eq!(back, f);
}

#[test]
fn the_smallest_report_is_valid() {
    let t = XsDateTime::parse("2025-01-02T03:04:05Z").expect("date");
    let r = ct::Report::new(IncidentType::ChildSexTrafficking, t, "esp@example.com");
    let xml = write_report(&r).expect("writable");
    assert_eq!(validate_report(xml.as_bytes(), NOW).expect("valid"), r);
    let f = ct::FileDetails::new(42, "0123456789abcdef0123456789abcdef");
    let xml = write_file_details(&f).expect("writable");
    assert_eq!(
        validate_file_details(xml.as_bytes(), ReportMode::Standard, NOW).expect("valid"),
        f
    );
}

#[test]
fn any_response_dispatches_on_the_root() {
    match ct::parse_any_response(data("finish-response.xml").as_bytes()).expect("valid") {
        ct::AnyResponse::Done(d) => assert_eq!(d.files.len(), 1),
        other => panic!("unexpected {other:?}"),
    }
    let err = ct::ReportResponse::error(ResponseCode::ReportAlreadyRetracted, Some(5)).to_xml();
    let any = ct::parse_any_response(err.as_bytes()).expect("valid");
    assert_eq!(any.response_code(), 5101);
    assert!(matches!(any, ct::AnyResponse::Report(_)));
    let e = ct::parse_any_response(data("report.xml").as_bytes()).expect_err("not a response");
    assert_eq!(e.response_code(), ResponseCode::ValidationFailed);
    let e = ct::parse_any_response(b"<html>oops").expect_err("not XML");
    assert_eq!(e.response_code(), ResponseCode::MalformedXml);
}
