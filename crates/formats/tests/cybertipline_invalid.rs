//! Table of invalid documents, each a small edit of a valid example, with the response code it
//! must get (4110 malformed, 4100 validation) and what its description must name.

use safeguard_formats::cybertipline::{
    validate_file_details, validate_report, BatchedReportReason, Rejection, ReportMode,
    ResponseCode, Stage,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
const BATCHED: ReportMode = ReportMode::Batched(BatchedReportReason::ViralPotentialMeme);

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/cybertipline/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Applies replacements, each of which must match: an edit that silently does nothing would
/// make its case test the unedited (valid) document.
fn edit(base: &str, edits: &[(&str, &str)]) -> String {
    let mut s = base.to_string();
    for (from, to) in edits {
        assert!(s.contains(from), "edit anchor not found: {from}");
        s = s.replacen(from, to, 1);
    }
    s
}

#[derive(Clone, Copy)]
enum Target {
    Report,
    FileDetails(ReportMode),
}

struct Case {
    name: &'static str,
    target: Target,
    body: Vec<u8>,
    code: ResponseCode,
    /// Substrings the description must contain (the offending element, …).
    names: Vec<&'static str>,
    /// Whether the description must carry a line number.
    line: bool,
}

fn case(
    name: &'static str,
    target: Target,
    body: impl Into<Vec<u8>>,
    code: ResponseCode,
    names: &[&'static str],
) -> Case {
    Case {
        name,
        target,
        body: body.into(),
        code,
        names: names.to_vec(),
        line: true,
    }
}

const R: Target = Target::Report;
const FS: Target = Target::FileDetails(ReportMode::Standard);
const FB: Target = Target::FileDetails(BATCHED);
const V: ResponseCode = ResponseCode::ValidationFailed;
const M: ResponseCode = ResponseCode::MalformedXml;

fn cases() -> Vec<Case> {
    let doc = data("report.xml");
    let full = data("synthetic-report-full.xml");
    let batched = data("synthetic-report-batched-viral.xml");
    let fd = data("file-details.xml");
    let fd_full = data("synthetic-file-details-full.xml");
    let fd_viral = data("synthetic-file-details-viral.xml");
    let long = |n: usize| "x".repeat(n);
    let law_enforcement = {
        let start = full.find("    <lawEnforcement>").expect("block");
        let end = full.find("</lawEnforcement>\n").expect("block") + "</lawEnforcement>\n".len();
        full[start..end].to_string()
    };
    let mut v = vec![
        // ---- schema (XSD) violations: 4100 with libxml2's message and line ----
        case(
            "missing incidentType",
            R,
            edit(&full, &[("<incidentType>Online Enticement of Children for Sexual Acts</incidentType>", "")]),
            V,
            &["incidentType", "platform"],
        ),
        case(
            "elements out of order (lawEnforcement after reporter)",
            R,
            edit(
                &full.replacen(&law_enforcement, "", 1),
                &[("    <personOrUserReported>", &format!("{law_enforcement}    <personOrUserReported>"))],
            ),
            V,
            &["lawEnforcement"],
        ),
        case(
            "incidentSummary after internetDetails",
            R,
            edit(&doc, &[("<internetDetails>", "<internetDetails><webPageIncident/></internetDetails><incidentSummary/><internetDetails>")]),
            V,
            &["incidentSummary"],
        ),
        case(
            "bad incidentType enumeration",
            R,
            edit(&doc, &[("Child Pornography (possession, manufacture, and distribution)", "Child Porn")]),
            V,
            &["incidentType", "Child Porn"],
        ),
        case(
            "bad eventName enumeration",
            R,
            edit(&full, &[("<eventName>Login</eventName>", "<eventName>Logon</eventName>")]),
            V,
            &["eventName"],
        ),
        case(
            "unknown element",
            R,
            edit(&doc, &[("<incidentDateTime>", "<favouriteColour>blue</favouriteColour><incidentDateTime>")]),
            V,
            &["favouriteColour"],
        ),
        case(
            "boolean that is not a boolean",
            R,
            edit(&full, &[("<compromisedAccount>false</compromisedAccount>", "<compromisedAccount>maybe</compromisedAccount>")]),
            V,
            &["compromisedAccount"],
        ),
        case(
            "annotation flag set to false",
            R,
            edit(&full, &[("<minorToMinorInteraction>true</minorToMinorInteraction>", "<minorToMinorInteraction>false</minorToMinorInteraction>")]),
            V,
            &["minorToMinorInteraction"],
        ),
        case(
            "country not in the enumeration",
            R,
            edit(&full, &[("<country>DE</country>", "<country>XX</country>")]),
            V,
            &["country"],
        ),
        case(
            "associatedAccount without its required type",
            R,
            edit(&full, &[("<associatedAccount type=\"Linked\">", "<associatedAccount>")]),
            V,
            &["associatedAccount", "type"],
        ),
        case(
            "two incident subtypes in one internetDetails",
            R,
            edit(&doc, &[("</webPageIncident>", "</webPageIncident><emailIncident/>")]),
            V,
            &["emailIncident"],
        ),
        case(
            "missing reporter",
            R,
            edit(&doc, &[("<reporter>", "<!--"), ("</reporter>", "-->")]),
            V,
            &["reporter"],
        ),
        case(
            "port that is not an int",
            R,
            edit(&full, &[("<port>51515</port>", "<port>http</port>")]),
            V,
            &["port"],
        ),
        case(
            "incidentDateTime that is not a dateTime",
            R,
            edit(&doc, &[("2012-10-15T08:00:00-07:00", "yesterday")]),
            V,
            &["incidentDateTime"],
        ),
        case(
            "countryCallingCode breaking its pattern",
            R,
            edit(&full, &[("countryCallingCode=\"+1\"", "countryCallingCode=\"1\"")]),
            V,
            &["countryCallingCode"],
        ),
        case(
            "batchedReport with an unknown reason",
            R,
            edit(&batched, &[("VIRAL_POTENTIAL_MEME", "BECAUSE")]),
            V,
            &["batchedReport", "reason"],
        ),
        case(
            "namespaced root element",
            R,
            edit(&doc, &[("<report ", "<report xmlns=\"urn:example:not-ncmec\" ")]),
            V,
            &["report"],
        ),
        case(
            "wrong root element for /submit",
            R,
            fd.clone(),
            V,
            &["root element must be 'report'", "fileDetails"],
        ),
        case(
            "wrong root element for /fileinfo",
            FS,
            doc.clone(),
            V,
            &["root element must be 'fileDetails'"],
        ),
        case(
            "fileDetails without fileId",
            FS,
            edit(&fd, &[("<fileId>b0754af766b426f2928a02c651ed4b99</fileId>", "")]),
            V,
            &["fileId"],
        ),
        case(
            "legacy potentialMeme and fileAnnotations together",
            FS,
            edit(&fd_full, &[("<fileAnnotations>", "<potentialMeme>true</potentialMeme>\n    <fileAnnotations>")]),
            V,
            &["fileAnnotations"],
        ),
        case(
            "bad industryClassification",
            FS,
            edit(&fd_full, &[("<industryClassification>B2</industryClassification>", "<industryClassification>C3</industryClassification>")]),
            V,
            &["industryClassification"],
        ),
        // ---- not well-formed / not XML: 4110 ----
        case(
            "malformed XML (missing end tag)",
            R,
            edit(&doc, &[("</reporter>", "")]),
            M,
            &["Malformed XML submittal", "reporter"],
        ),
        case("two root elements", R, format!("{doc}\n<report/>"), M, &["Extra content"]),
        case("undeclared entity", R, edit(&doc, &[("John", "&john;")]), M, &["john"]),
        case(
            "XXE external entity",
            R,
            edit(&doc, &[("<report ", "<!DOCTYPE report [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<report "), ("John", "&xxe;")]),
            M,
            &["DOCTYPE"],
        ),
        case(
            "billion laughs",
            R,
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE report [\n<!ENTITY lol \"lol\">\n{}]>\n<report>&lol9;</report>",
                (1..10)
                    .map(|i| format!("<!ENTITY lol{i} \"{}\">\n", format!("&lol{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10)))
                    .collect::<String>()
            ),
            M,
            &["DOCTYPE"],
        ),
        // ---- business rules after the schema: 4100 naming element and line ----
        case(
            "zone-less incidentDateTime",
            R,
            edit(&doc, &[("2012-10-15T08:00:00-07:00", "2012-10-15T08:00:00")]),
            V,
            &["report/incidentSummary/incidentDateTime", "time zone", "line 13"],
        ),
        case(
            "future incidentDateTime",
            R,
            edit(&doc, &[("2012-10-15T08:00:00-07:00", "2099-01-01T00:00:00Z")]),
            V,
            &["incidentDateTime", "must be in the past", "line 13"],
        ),
        case(
            "over-long platform",
            R,
            edit(&full, &[("<platform>Example Chat for Android</platform>", &format!("<platform>{}</platform>", long(257)))]),
            V,
            &["report/incidentSummary/platform", "max length is 256"],
        ),
        case(
            "over-long reportingPerson firstName",
            R,
            edit(&doc, &[("<firstName>John</firstName>", &format!("<firstName>{}</firstName>", long(101)))]),
            V,
            &["reportingPerson/firstName", "max length is 100"],
        ),
        case(
            "over-long escalateToHighPriority",
            R,
            edit(&full, &[("User states intent to meet the child this weekend.", &long(3001))]),
            V,
            &["escalateToHighPriority", "max length is 3000"],
        ),
        case(
            "blank escalateToHighPriority",
            R,
            edit(&full, &[("User states intent to meet the child this weekend.", "   ")]),
            V,
            &["escalateToHighPriority", "must not be blank"],
        ),
        case(
            "over-long displayName",
            R,
            edit(&full, &[("<displayName>R. User</displayName>", &format!("<displayName>{}</displayName>", long(256)))]),
            V,
            &["personOrUserReported/displayName", "max length is 255"],
        ),
        case(
            "bad URL (no scheme)",
            R,
            edit(&doc, &[("http://badsite.com/baduri.html", "badsite.com/baduri.html")]),
            V,
            &["webPageIncident/url", "valid URL"],
        ),
        case(
            "URL with whitespace",
            R,
            edit(&doc, &[("http://badsite.com/baduri.html", "http://badsite.com/bad uri.html")]),
            V,
            &["url", "whitespace"],
        ),
        case(
            "over-long URL",
            R,
            edit(&doc, &[("http://badsite.com/baduri.html", &format!("http://badsite.com/{}", long(2070)))]),
            V,
            &["url", "max length is 2083"],
        ),
        case(
            "bad legalURL",
            R,
            edit(&full, &[("<legalURL>https://example.com/law-enforcement</legalURL>", "<legalURL>law enforcement page</legalURL>")]),
            V,
            &["reporter/legalURL"],
        ),
        case(
            "bad e-mail",
            R,
            edit(&doc, &[("jsmith@example.com", "jsmith.example.com")]),
            V,
            &["reportingPerson/email", "well-formed"],
        ),
        case(
            "e-mail local part over 64",
            R,
            edit(&doc, &[("jsmith@example.com", &format!("{}@example.com", long(65)))]),
            V,
            &["email", "local part"],
        ),
        case(
            "reportingPerson without e-mail",
            R,
            edit(&doc, &[("<email>jsmith@example.com</email>", "")]),
            V,
            &["reportingPerson/email", "required"],
        ),
        case(
            "bad IPv4",
            R,
            edit(&full, &[("192.0.2.10", "192.0.2.300")]),
            V,
            &["ipCaptureEvent[1]/ipAddress", "192.0.2.300"],
        ),
        case(
            "bad IPv6",
            R,
            edit(&full, &[("2001:db8::1", "2001:db8:::1")]),
            V,
            &["ipCaptureEvent[2]/ipAddress"],
        ),
        case(
            "port above 65535",
            R,
            edit(&full, &[("<port>51515</port>", "<port>70000</port>")]),
            V,
            &["ipCaptureEvent[1]/port", "between 1 and 65535"],
        ),
        case(
            "port 0",
            R,
            edit(&full, &[("<port>51515</port>", "<port>0</port>")]),
            V,
            &["port"],
        ),
        case(
            "e-mail in emailIncident not on any person",
            R,
            edit(&doc, &[(
                "<webPageIncident>\n            <url>http://badsite.com/baduri.html</url>\n        </webPageIncident>",
                "<emailIncident><emailAddress>nobody@example.org</emailAddress></emailIncident>",
            )]),
            V,
            &["emailIncident/emailAddress", "nobody@example.org"],
        ),
        case(
            "approximateAge with dateOfBirth",
            R,
            edit(&full, &[(
                "<platform thirdPartyUser=\"true\">Other Social</platform>",
                "<platform thirdPartyUser=\"true\">Other Social</platform><approximateAge>30</approximateAge><dateOfBirth>1990-01-01</dateOfBirth>",
            )]),
            V,
            &["associatedAccount/approximateAge", "dateOfBirth"],
        ),
        case(
            "age above 150",
            R,
            edit(&full, &[("<age>34</age>", "<age>151</age>")]),
            V,
            &["personOrUserReportedPerson/age", "between 0 and 150"],
        ),
        case(
            "dateOfBirth in the future",
            R,
            edit(&full, &[("<age>13</age>", "<dateOfBirth>2099-01-01</dateOfBirth>")]),
            V,
            &["victimPerson/dateOfBirth", "past"],
        ),
        case(
            "verificationDate without verified=true",
            R,
            edit(&full, &[("verified=\"true\" verificationDate", "verified=\"false\" verificationDate")]),
            V,
            &["email/@verified", "verificationDate"],
        ),
        case(
            "zone-less ipCaptureEvent dateTime",
            R,
            edit(&full, &[("<dateTime>2023-11-30T09:00:00Z</dateTime>", "<dateTime>2023-11-30T09:00:00</dateTime>")]),
            V,
            &["ipCaptureEvent[2]/dateTime", "time zone"],
        ),
        case(
            "estimatedLocation without countryCode",
            R,
            edit(&full, &[("<countryCode>DE</countryCode>", "")]),
            V,
            &["estimatedLocation/countryCode"],
        ),
        case(
            "US estimatedLocation with a bad region",
            R,
            edit(&full, &[("<countryCode>DE</countryCode>", "<region>ZZ</region><countryCode>US</countryCode>")]),
            V,
            &["estimatedLocation/region", "ZZ"],
        ),
        case(
            "userNotifiedDate before disabledDate",
            R,
            edit(&full, &[("userNotified=\"false\"", "userNotified=\"true\" userNotifiedDate=\"2024-03-01T10:00:00Z\"")]),
            V,
            &["accountPermanentlyDisabled/@userNotifiedDate", "on or after"],
        ),
        case(
            "phone number starting with its country calling code",
            R,
            edit(&full, &[(">5555550100<", ">+15555550100<")]),
            V,
            &["contactPerson/phone", "country calling code"],
        ),
        case(
            "two personOrUserReported in a standard report",
            R,
            edit(&full, &[("    <intendedRecipient>", "    <personOrUserReported><espIdentifier>u2</espIdentifier></personOrUserReported>\n    <intendedRecipient>")]),
            V,
            &["personOrUserReported[2]", "batched"],
        ),
        case(
            "negative priorCTReports",
            R,
            edit(&full, &[("<priorCTReports>123456789</priorCTReports>", "<priorCTReports>-5</priorCTReports>")]),
            V,
            &["priorCTReports", "valid CyberTipline report ID"],
        ),
        case(
            "batched report with a victim",
            R,
            edit(&batched, &[("</report>", "<victim><victimPerson><age>13</age></victimPerson></victim>\n</report>")]),
            V,
            &["report/victim", "VIRAL_POTENTIAL_MEME"],
        ),
        case(
            "batched report with internetDetails and lawEnforcement",
            R,
            edit(&batched, &[("    <reporter>", "    <internetDetails><webPageIncident><url>https://example.com/x</url></webPageIncident></internetDetails>\n    <lawEnforcement><agencyName>EPD</agencyName></lawEnforcement>\n    <reporter>")]),
            V,
            &["report/internetDetails", "report/lawEnforcement"],
        ),
        case(
            "batched report escalated",
            R,
            edit(&batched, &[("<incidentDateTime>", "<escalateToHighPriority>urgent</escalateToHighPriority><incidentDateTime>")]),
            V,
            &["escalateToHighPriority", "VIRAL_POTENTIAL_MEME"],
        ),
        case(
            "batched report person with more than espIdentifier",
            R,
            edit(&batched, &[("<espIdentifier>user-1002</espIdentifier>", "<espIdentifier>user-1002</espIdentifier><screenName>meme_fan</screenName>")]),
            V,
            &["personOrUserReported[2]/screenName", "only espIdentifier"],
        ),
        case(
            "batched report with additionalInfo",
            R,
            edit(&batched, &[("</report>", "<additionalInfo>more</additionalInfo>\n</report>")]),
            V,
            &["report/additionalInfo"],
        ),
        case(
            "exif viewed without file viewed",
            FS,
            edit(&fd_full, &[("<fileViewedByEsp>true</fileViewedByEsp>", "<fileViewedByEsp>false</fileViewedByEsp>")]),
            V,
            &["fileDetails/fileViewedByEsp", "exifViewedByEsp"],
        ),
        case(
            "exif viewed, file viewed absent",
            FS,
            edit(&fd_full, &[("<fileViewedByEsp>true</fileViewedByEsp>", "")]),
            V,
            &["fileDetails/exifViewedByEsp", "fileViewedByEsp must be true", "line 11"],
        ),
        case(
            "supplemental file with industryClassification",
            FS,
            edit(&fd_full, &[("<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental Reported</fileRelevance>")]),
            V,
            &["fileDetails/industryClassification", "Supplemental"],
        ),
        case(
            "supplemental file annotated potentialMeme",
            FS,
            edit(&fd_viral, &[
                ("<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental Reported</fileRelevance>"),
                ("<industryClassification>A2</industryClassification>", ""),
            ]),
            V,
            &["fileAnnotations/potentialMeme", "Supplemental"],
        ),
        case(
            "batched fileDetails without viral/potentialMeme",
            FB,
            edit(&fd_viral, &[("<potentialMeme/>", ""), ("<viral/>", "")]),
            V,
            &["fileDetails/fileAnnotations", "viral"],
        ),
        case(
            "batched fileDetails without fileAnnotations",
            FB,
            edit(&fd_viral, &[("<fileAnnotations>", "<!--"), ("</fileAnnotations>", "-->")]),
            V,
            &["fileAnnotations"],
        ),
        case(
            "batched fileDetails with another annotation",
            FB,
            edit(&fd_viral, &[("<viral/>", "<viral/><generativeAi/>")]),
            V,
            &["fileAnnotations/generativeAi"],
        ),
        case(
            "batched fileDetails with forbidden elements",
            FB,
            edit(&fd_viral, &[
                ("<fileId>c1865bf877c537f3039b13d762fe5caa</fileId>", "<fileId>c1865bf877c537f3039b13d762fe5caa</fileId><originalFileName>a.jpg</originalFileName>"),
                ("</fileDetails>", "<additionalInfo>x</additionalInfo></fileDetails>"),
            ]),
            V,
            &["fileDetails/originalFileName", "fileDetails/additionalInfo"],
        ),
        case(
            "batched fileDetails marked supplemental",
            FB,
            edit(&fd_viral, &[
                ("<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental Reported</fileRelevance>"),
            ]),
            V,
            &["fileDetails/fileRelevance", "must be Reported"],
        ),
        case(
            "hashType over 64 characters",
            FS,
            edit(&fd_full, &[("hashType=\"MD5\"", &format!("hashType=\"{}\"", long(65)))]),
            V,
            &["originalFileHash[1]/@hashType", "max length is 64"],
        ),
        case(
            "future uploadedToEspTimestamp",
            FS,
            edit(&fd_full, &[("2024-03-01T17:05:00Z</uploadedToEspTimestamp>", "2030-03-01T17:05:00Z</uploadedToEspTimestamp>")]),
            V,
            &["uploadedToEspTimestamp", "past"],
        ),
        case(
            "reportId zero",
            FS,
            edit(&fd, &[("<reportId>4564654</reportId>", "<reportId>0</reportId>")]),
            V,
            &["fileDetails/reportId"],
        ),
        case(
            "bad IP in fileDetails",
            FS,
            edit(&fd, &[("63.116.246.17", "63.116.246")]),
            V,
            &["fileDetails/ipCaptureEvent/ipAddress"],
        ),
    ];
    // Bodies without line information.
    for (name, body) in [
        ("non-XML body", b"hello, this is not XML".to_vec()),
        (
            "JSON body",
            br#"{"report": {"incidentSummary": {}}}"#.to_vec(),
        ),
        ("empty body", Vec::new()),
        ("not UTF-8", b"<report>\xe9t\xe9</report>".to_vec()),
    ] {
        v.push(Case {
            name,
            target: R,
            body,
            code: M,
            names: vec!["Malformed XML submittal"],
            line: false,
        });
    }
    v
}

fn run(c: &Case) -> Rejection {
    let result = match c.target {
        Target::Report => validate_report(&c.body, NOW).map(|_| ()),
        Target::FileDetails(mode) => validate_file_details(&c.body, mode, NOW).map(|_| ()),
    };
    match result {
        Ok(()) => panic!("case '{}' was accepted", c.name),
        Err(e) => e,
    }
}

#[test]
fn every_invalid_document_gets_its_code_and_names_the_element() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let e = run(c);
        let description = e.description();
        if e.response_code() != c.code {
            failures.push(format!(
                "{}: expected {}, got {} ({description})",
                c.name,
                c.code.code(),
                e.response_code().code()
            ));
            continue;
        }
        for n in &c.names {
            if !description.contains(n) {
                failures.push(format!(
                    "{}: description lacks '{n}': {description}",
                    c.name
                ));
            }
        }
        if c.line && !description.contains("line ") {
            failures.push(format!(
                "{}: description lacks a line: {description}",
                c.name
            ));
        }
        // Every violation of a 4100 names an element path.
        for v in e.errors() {
            if v.path.is_empty() || v.element().is_empty() {
                failures.push(format!("{}: violation without element: {v}", c.name));
            }
        }
        let response = e.to_response(None);
        assert_eq!(response.response_code, c.code.code());
        assert_eq!(e.http_status(), 400);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_errors_carry_libxml_messages_lines_and_paths() {
    let doc = data("report.xml");
    let bad = edit(
        &doc,
        &[
            ("<reporter>", "<reporterX>"),
            ("</reporter>", "</reporterX>"),
        ],
    );
    let e = validate_report(bad.as_bytes(), NOW).expect_err("invalid");
    let first = &e.errors()[0];
    assert_eq!(first.stage, Stage::Schema);
    assert_eq!(first.path, "report/reporterX");
    assert_eq!(first.line, Some(20));
    assert!(first.message.contains("Element 'reporterX'"), "{first}");
    assert!(first.message.contains("not expected"), "{first}");
    assert!(e
        .description()
        .starts_with("Validation failed - line 20: report/reporterX: Element 'reporterX'"));
}

#[test]
fn rule_errors_list_every_violation() {
    let full = data("synthetic-report-full.xml");
    let bad = edit(
        &full,
        &[
            ("<port>51515</port>", "<port>0</port>"),
            ("192.0.2.10", "not-an-ip"),
            ("<age>34</age>", "<age>200</age>"),
        ],
    );
    let e = validate_report(bad.as_bytes(), NOW).expect_err("invalid");
    let paths: Vec<&str> = e.errors().iter().map(|v| v.path.as_str()).collect();
    assert!(
        paths.contains(&"report/personOrUserReported/ipCaptureEvent[1]/port"),
        "{paths:?}"
    );
    assert!(paths.contains(&"report/personOrUserReported/ipCaptureEvent[1]/ipAddress"));
    assert!(paths.contains(&"report/personOrUserReported/personOrUserReportedPerson/age"));
    assert!(e
        .errors()
        .iter()
        .all(|v| v.stage == Stage::Rule && v.line.is_some()));
}
