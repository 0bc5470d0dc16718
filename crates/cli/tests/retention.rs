//! `safeguard retention`: the example file is accepted and shows every class; a purge on a fresh
//! instance deletes nothing; a bad file is refused with a clear error and exit code 1.

mod support;

use support::{run, run_ok, safeguard};

#[test]
fn show_purge_and_a_bad_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/retention.example.toml"
    );
    let out = run_ok(
        safeguard(data).args(["retention", "show", "--config", example]),
        None,
    );
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let classes: Vec<&str> = lines
        .iter()
        .map(|l| l["class"].as_str().expect("class"))
        .collect();
    assert_eq!(
        classes,
        [
            "unfinished_intake",
            "informational",
            "referred",
            "media",
            "public_tips"
        ]
    );
    assert_eq!(lines[1]["period"], "365 days");
    assert!(lines.iter().all(|l| l["due"] == 0));

    let out = run_ok(safeguard(data).args(["retention", "purge"]), None);
    assert!(out.lines().all(|l| l.contains("\"purged\":0")), "{out}");

    let bad = data.join("bad.toml");
    std::fs::write(&bad, "informational = \"forever\"\n").expect("write");
    let out = run(
        safeguard(data).args([
            "retention",
            "purge",
            "--config",
            bad.to_str().expect("path"),
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("informational") && err.contains("keep"),
        "{err}"
    );
}
