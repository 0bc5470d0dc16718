//! A report acknowledged to its sender survives `kill -9` of the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::{reporting_company, run_ok, safeguard, start_server};

#[test]
fn acknowledged_reports_survive_kill_9() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    reporting_company(data, "a long test password");
    let token = run_ok(
        safeguard(data).args(["token", "create", "--username", "company"]),
        None,
    )
    .trim()
    .to_owned();

    let (mut server, url) = start_server(data);
    let acknowledged = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|worker| {
            let (url, token, acknowledged, stop) = (url.clone(), token.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let marker = format!("worker {worker} report {n}");
                    let body = serde_json::json!({
                        "incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00Z"},
                        "additional_info": marker,
                    });
                    match client
                        .post(format!("{url}/api/v1/reports"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                    {
                        Ok(resp) if resp.status() == reqwest::StatusCode::CREATED => {
                            let value: serde_json::Value = resp.json().expect("json");
                            let id = value["id"].as_i64().expect("id");
                            acknowledged.lock().expect("lock").push((id, marker));
                        }
                        // The server was killed mid-request: nothing was acknowledged.
                        Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    while acknowledged.lock().expect("lock").len() < 150
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    server.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().expect("sender thread");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 150,
        "only {} reports acknowledged before the kill",
        acknowledged.len()
    );

    let (mut server, url) = start_server(data);
    let client = reqwest::blocking::Client::new();
    for (id, marker) in &acknowledged {
        let resp = client
            .get(format!("{url}/api/v1/reports/{id}"))
            .bearer_auth(&token)
            .send()
            .expect("get");
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::OK,
            "acknowledged report {id} lost"
        );
        let value: serde_json::Value = resp.json().expect("json");
        assert_eq!(
            value["additional_info"],
            marker.as_str(),
            "report {id} intact"
        );
    }
    server.kill().expect("stop");
    server.wait().expect("reaped");
    let verified = run_ok(safeguard(data).args(["audit", "verify"]), None);
    assert!(verified.contains("intact"), "{verified}");
}
