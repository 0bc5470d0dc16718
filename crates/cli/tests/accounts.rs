//! Administrators manage organisations, users and tokens from the command line; a duplicate or
//! unknown name exits non-zero with a clear message.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn safeguard(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeguard"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("SAFEGUARD_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("safeguard runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("stdin");
    }
    drop(input);
    child.wait_with_output().expect("waits")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn orgs_users_and_tokens_are_managed_with_clear_errors() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();

    let ok = safeguard(data, &["org", "add", "Hotline", "--kind", "hotline"], None);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let dup = safeguard(data, &["org", "add", "Hotline", "--kind", "agency"], None);
    assert!(!dup.status.success());
    assert!(
        stderr(&dup).contains("organisation \"Hotline\" already exists"),
        "{}",
        stderr(&dup)
    );
    let bad_kind = safeguard(data, &["org", "add", "Police", "--kind", "police"], None);
    assert!(!bad_kind.status.success());
    assert!(
        stderr(&bad_kind).contains("unknown organisation kind"),
        "{}",
        stderr(&bad_kind)
    );

    let args = [
        "user",
        "add",
        "--org",
        "Hotline",
        "--role",
        "analyst",
        "--username",
        "ana",
        "--password-stdin",
    ];
    let ok = safeguard(
        data,
        &args,
        Some("a long enough password\nignored second line\n"),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let dup = safeguard(data, &args, Some("a long enough password\n"));
    assert!(!dup.status.success());
    assert!(
        stderr(&dup).contains("user \"ana\" already exists"),
        "{}",
        stderr(&dup)
    );
    let unknown_org = safeguard(
        data,
        &[
            "user",
            "add",
            "--org",
            "Nowhere",
            "--role",
            "analyst",
            "--username",
            "bob",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(!unknown_org.status.success());
    assert!(
        stderr(&unknown_org).contains("Nowhere"),
        "{}",
        stderr(&unknown_org)
    );
    let short = safeguard(
        data,
        &[
            "user",
            "add",
            "--org",
            "Hotline",
            "--role",
            "analyst",
            "--username",
            "carl",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(stderr(&short).contains("at least"), "{}", stderr(&short));

    let token = safeguard(data, &["token", "create", "--username", "ana"], None);
    assert!(token.status.success(), "{}", stderr(&token));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    assert!(token.starts_with("sg_") && token.len() == 67, "{token}");
    let unknown_user = safeguard(data, &["token", "create", "--username", "nobody"], None);
    assert!(!unknown_user.status.success());
    assert!(
        stderr(&unknown_user).contains("nobody"),
        "{}",
        stderr(&unknown_user)
    );

    let listed = safeguard(data, &["org", "list"], None);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("hotline"));
    let verified = safeguard(data, &["audit", "verify"], None);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));
}
