//! `safeguard geo`: JSON lines, exit codes, `--mmdb` layering, `geo update` and `geo phone`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn safeguard(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safeguard"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run safeguard")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn prints_one_json_line_per_address() {
    let data = tempfile::tempdir().expect("data dir");
    let output = safeguard(
        data.path(),
        &[
            "geo",
            "193.0.6.139",
            "2001:67c:2e8::1",
            "10.0.0.1",
            "::ffff:192.0.2.1",
            "100.64.0.9",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = lines(&output);
    assert_eq!(answers.len(), 5);
    for answer in &answers {
        for key in ["ip", "country", "asn", "operator", "source", "reserved"] {
            assert!(answer.get(key).is_some(), "missing {key} in {answer}");
        }
    }
    assert_eq!(answers[0]["ip"], "193.0.6.139");
    assert_eq!(answers[0]["country"], "NL");
    assert_eq!(answers[0]["asn"], 3333);
    assert_eq!(answers[0]["source"], "tor-geoipdb");
    assert_eq!(answers[0]["reserved"], Value::Null);
    assert_eq!(answers[1]["country"], "NL");
    assert_eq!(answers[2]["country"], Value::Null);
    assert_eq!(answers[2]["asn"], Value::Null);
    assert_eq!(answers[2]["reserved"], "private");
    assert_eq!(answers[3]["reserved"], "documentation");
    assert_eq!(answers[4]["reserved"], "cgnat");
}

#[test]
fn an_invalid_address_gets_an_error_line_and_exit_1() {
    let data = tempfile::tempdir().expect("data dir");
    let output = safeguard(
        data.path(),
        &["geo", "193.0.6.139", "not-an-ip", "2001:200::1"],
    );
    assert_eq!(output.status.code(), Some(1));
    let answers = lines(&output);
    assert_eq!(
        answers.len(),
        3,
        "the command goes on after the bad address"
    );
    assert_eq!(answers[0]["country"], "NL");
    assert_eq!(answers[1]["ip"], "not-an-ip");
    assert!(answers[1]["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(answers[2]["country"], "JP");
}

#[test]
fn mmdb_answers_first_and_names_itself_as_source() {
    use mmdb_writer::{Value as MmdbValue, Writer};
    let data = tempfile::tempdir().expect("data dir");
    let mut writer = Writer::new("GeoLite2-Country");
    let record = MmdbValue::map([(
        "country",
        MmdbValue::map([("iso_code", MmdbValue::from("FR"))]),
    )]);
    writer
        .insert_value(
            "193.0.0.0/21"
                .parse::<mmdb_writer::ipnet::IpNet>()
                .expect("net"),
            record,
        )
        .expect("insert");
    let mmdb = data.path().join("Test-Country.mmdb");
    std::fs::write(&mmdb, writer.to_bytes().expect("serialise")).expect("write");
    let output = safeguard(
        data.path(),
        &[
            "geo",
            "--mmdb",
            mmdb.to_str().expect("UTF-8 path"),
            "193.0.6.139",
            "202.12.29.1",
        ],
    );
    assert!(output.status.success());
    let answers = lines(&output);
    assert_eq!(answers[0]["country"], "FR");
    assert_eq!(answers[0]["source"], "Test-Country.mmdb");
    assert_eq!(answers[1]["country"], "AU");
    assert_eq!(answers[1]["source"], "tor-geoipdb");
    // A missing database is a setup error, not an empty answer.
    let output = safeguard(
        data.path(),
        &["geo", "--mmdb", "/nonexistent.mmdb", "193.0.6.139"],
    );
    assert!(!output.status.success());
}

#[test]
fn update_writes_a_data_dir_copy_that_takes_precedence() {
    let data = tempfile::tempdir().expect("data dir");
    let source = tempfile::tempdir().expect("source dir");
    // A synthetic one-line IPv4 list in Tor's format: 193.0.0.0/21 -> SE.
    std::fs::write(
        source.path().join("geoip"),
        "# Generated: test\n3238002688,3238004735,SE\n",
    )
    .expect("write");
    let output = safeguard(
        data.path(),
        &[
            "geo",
            "update",
            "--from",
            source.path().join("geoip").to_str().expect("path"),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(data.path().join("geo").join("country.sgrt").is_file());
    let output = safeguard(data.path(), &["geo", "193.0.0.1", "2001:67c:2e8::1"]);
    let answers = lines(&output);
    assert_eq!(answers[0]["country"], "SE");
    // IPv6 was not in the input: it is kept from the embedded table.
    assert_eq!(answers[1]["country"], "NL");

    let output = safeguard(data.path(), &["geo", "update"]);
    assert!(!output.status.success(), "update without input is an error");
}

#[test]
fn phone_numbers_get_their_country() {
    let data = tempfile::tempdir().expect("data dir");
    let output = safeguard(
        data.path(),
        &["geo", "phone", "+44 20 7946 0958", "020 7946 0958"],
    );
    assert_eq!(output.status.code(), Some(1));
    let answers = lines(&output);
    assert_eq!(answers[0]["country"], "GB");
    assert_eq!(answers[0]["e164"], "+442079460958");
    assert!(answers[1]["error"].is_string());
    let output = safeguard(
        data.path(),
        &["geo", "phone", "--region", "GB", "020 7946 0958"],
    );
    assert!(output.status.success());
    assert_eq!(lines(&output)[0]["country"], "GB");
}

#[test]
fn anonymiser_lists_flag_addresses_and_lower_confidence() {
    let data = tempfile::tempdir().expect("data dir");
    let list = data.path().join("anonymisers.txt");
    std::fs::write(&list, "# exits\n193.0.0.0/24 example-tor-exit\n").expect("write");
    let output = safeguard(
        data.path(),
        &[
            "geo",
            "--anonymisers",
            list.to_str().expect("path"),
            "193.0.0.1",
            "193.0.6.139",
        ],
    );
    assert!(output.status.success());
    let answers = lines(&output);
    assert_eq!(answers[0]["anonymiser"], "example-tor-exit");
    assert_eq!(answers[0]["confidence"], "low");
    assert_eq!(answers[1]["anonymiser"], Value::Null);
    assert_eq!(answers[1]["confidence"], "medium");
}

#[test]
fn update_refreshes_the_as_table_from_ip_location_db_csv() {
    let data = tempfile::tempdir().expect("data dir");
    let source = tempfile::tempdir().expect("source dir");
    let csv = source.path().join("asn-ipv4.csv");
    std::fs::write(
        &csv,
        "193.0.0.0,193.0.7.255,64496,\"Example Registry, Ltd\"\n",
    )
    .expect("write");
    let output = safeguard(
        data.path(),
        &["geo", "update", "--asn-from", csv.to_str().expect("path")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = lines(&safeguard(
        data.path(),
        &["geo", "193.0.6.139", "2001:67c:2e8::1"],
    ));
    assert_eq!(answers[0]["asn"], 64496);
    assert_eq!(answers[0]["operator"], "Example Registry, Ltd");
    // Countries still come from the embedded table; IPv6 AS data is kept from it too.
    assert_eq!(answers[0]["country"], "NL");
    assert_eq!(answers[1]["asn"], 3333);
}
