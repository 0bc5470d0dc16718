//! What the command-line integration tests share: running the real binary on a data folder,
//! starting `safeguard serve` on a free port, and a reporting company with its reporter account.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// `safeguard --data-dir DATA`, with the environment that would override the folder removed.
pub fn safeguard(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_safeguard"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("SAFEGUARD_DATABASE_URL")
        .env_remove("SAFEGUARD_VAULT_KEY")
        .env("RUST_LOG", "error");
    cmd
}

/// Runs `cmd` to its end, with `stdin` written to it if given.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("safeguard runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("waits")
}

/// Runs `cmd`, asserts it succeeded and returns its standard output.
pub fn run_ok(cmd: &mut Command, stdin: Option<&str>) -> String {
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `safeguard serve` on a free port and returns it with its base URL.
pub fn start_server(data_dir: &Path) -> (Child, String) {
    let mut child = safeguard(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .strip_prefix("Safeguard listening on ")
        .unwrap_or_else(|| panic!("address line, got {line:?}"))
        .to_owned();
    (child, url)
}

/// The organisations `Hotline` and `Company`, and Company's reporter account `company` with
/// `password`.
pub fn reporting_company(data: &Path, password: &str) {
    run_ok(
        safeguard(data).args(["org", "add", "Hotline", "--kind", "hotline"]),
        None,
    );
    run_ok(
        safeguard(data).args(["org", "add", "Company", "--kind", "reporter"]),
        None,
    );
    run_ok(
        safeguard(data).args([
            "user",
            "add",
            "--org",
            "Company",
            "--role",
            "reporter",
            "--username",
            "company",
            "--password-stdin",
        ]),
        Some(&format!("{password}\n")),
    );
}
