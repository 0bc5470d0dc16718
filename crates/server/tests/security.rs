//! Limits, headers and failure answers: rate limits answer 429 with `Retry-After` in each part's
//! envelope, every answer carries the security headers (CSP without inline scripts), cookies are
//! `Secure` by default, and a failing or panicking handler tells the client nothing of its
//! internals.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts;
use safeguard_engine::intake::Intake;
use safeguard_server::ratelimit::{Bucket, RateLimits};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use tower::ServiceExt;

const PASSWORD: &str = "a long security password";

struct App {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
    token: String,
}

async fn app(config: ServerConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .unwrap();
    accounts::add_org(&store, "Hotline", OrgKind::Hotline, Some("US"), "t")
        .await
        .unwrap();
    accounts::add_org(&store, "Company", OrgKind::Reporter, Some("US"), "t")
        .await
        .unwrap();
    accounts::add_user(&store, "Hotline", "analyst", Role::Analyst, PASSWORD, "t")
        .await
        .unwrap();
    accounts::add_user(&store, "Company", "company", Role::Reporter, PASSWORD, "t")
        .await
        .unwrap();
    let token = accounts::create_token(&store, "analyst", "t", "t")
        .await
        .unwrap()
        .token;
    let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
    let vault =
        Arc::new(Vault::open(&dir.path().join("vault"), keys, VaultConfig::default()).unwrap());
    let intake = Arc::new(Intake::new(store.clone(), vault));
    let app = safeguard_server::router(AppState::new(store.clone(), config).with_intake(intake));
    App {
        _dir: dir,
        store,
        app,
        token,
    }
}

fn tight(address_burst: u32, account_burst: u32) -> ServerConfig {
    ServerConfig {
        rate_limits: Some(RateLimits {
            per_address: Bucket {
                burst: address_burst,
                per_second: 0.01,
            },
            per_account: Bucket {
                burst: account_burst,
                per_second: 0.01,
            },
            max_keys: 1000,
        }),
        ..ServerConfig::default()
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn from(ip: &str, builder: axum::http::request::Builder) -> Request<Body> {
    let mut req = builder.body(Body::empty()).unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

#[tokio::test]
async fn an_account_over_its_limit_gets_429_with_retry_after_in_json() {
    let a = app(tight(1000, 3)).await;
    let call = || {
        Request::builder()
            .uri("/api/v1/reports")
            .header(header::AUTHORIZATION, format!("Bearer {}", a.token))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(send(&a.app, call()).await.status, StatusCode::OK);
    }
    let refused = send(&a.app, call()).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let json: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(json["error"]["code"], "rate_limited", "{json}");
    // Another account is not held back by this one.
    let other = accounts::create_token(&a.store, "analyst", "second", "t")
        .await
        .unwrap()
        .token;
    let ok = send(
        &a.app,
        Request::builder()
            .uri("/api/v1/reports")
            .header(header::AUTHORIZATION, format!("Bearer {other}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn an_address_over_its_limit_gets_429_in_each_parts_envelope() {
    let a = app(tight(2, 1000)).await;
    for _ in 0..2 {
        let ok = send(
            &a.app,
            from("192.0.2.7", Request::builder().uri("/healthz")),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    // JSON for the API…
    let api = send(
        &a.app,
        from("192.0.2.7", Request::builder().uri("/api/v1/reports")),
    )
    .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(api.headers.contains_key(header::RETRY_AFTER));
    assert!(api.body.contains("\"rate_limited\""), "{}", api.body);
    // …a reportResponse for the CyberTipline endpoints…
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("company:{PASSWORD}"));
    let ispws = send(
        &a.app,
        from(
            "192.0.2.7",
            Request::builder()
                .uri("/ispws/status")
                .header(header::AUTHORIZATION, format!("Basic {basic}")),
        ),
    )
    .await;
    assert_eq!(ispws.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(ispws.headers.contains_key(header::RETRY_AFTER));
    assert!(
        ispws.body.contains("<reportResponse>") && ispws.body.contains("<responseCode>"),
        "{}",
        ispws.body
    );
    // …and a page for the browser.
    let web = send(&a.app, from("192.0.2.7", Request::builder().uri("/login"))).await;
    assert_eq!(web.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(web.headers.contains_key(header::RETRY_AFTER));
    assert!(
        web.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        web.headers
    );
    // Another address is served.
    let other = send(
        &a.app,
        from("192.0.2.8", Request::builder().uri("/healthz")),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn password_guesses_for_one_reporter_share_a_bucket_whatever_the_address() {
    let a = app(tight(1000, 2)).await;
    let mut last = StatusCode::OK;
    for (i, password) in ["wrong one", "wrong two", "wrong three"].iter().enumerate() {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("company:{password}"));
        last = send(
            &a.app,
            from(
                &format!("198.51.100.{i}"),
                Request::builder()
                    .uri("/ispws/status")
                    .header(header::AUTHORIZATION, format!("Basic {basic}")),
            ),
        )
        .await
        .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_a_csp_without_inline_script() {
    let a = app(ServerConfig::default()).await;
    for path in [
        "/login",
        "/healthz",
        "/api/v1/reports",
        "/ispws/xsd",
        "/nowhere",
    ] {
        let answer = send(
            &a.app,
            Request::builder().uri(path).body(Body::empty()).unwrap(),
        )
        .await;
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
        assert!(answer.headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn cookies_are_secure_unless_turned_off_for_plain_local_http() {
    let a = app(ServerConfig::default()).await;
    let login = send(
        &a.app,
        Request::builder()
            .uri("/login")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let cookies: Vec<&str> = login
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(!cookies.is_empty());
    for c in cookies {
        assert!(
            c.contains("; Secure") && c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
    }
}

#[tokio::test]
async fn failures_and_panics_tell_the_client_nothing_of_the_internals() {
    let a = app(ServerConfig::default()).await;
    // A handler that panics with a secret in the message, behind the real outer layers.
    let panicking: Router<AppState> = Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let secret = std::hint::black_box("evidence-key-0123456789");
            if !secret.is_empty() {
                panic!("internal detail {secret} at src/vault.rs:42");
            }
            "never"
        }),
    );
    let app = safeguard_server::with_outer_layers(panicking, &ServerConfig::default())
        .with_state(AppState::new(a.store.clone(), ServerConfig::default()));
    let answer = send(
        &app,
        Request::builder().uri("/boom").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!answer.body.contains("evidence-key"), "{}", answer.body);
    assert!(!answer.body.contains("src/"), "{}", answer.body);
    assert!(answer.body.contains("\"internal\""), "{}", answer.body);

    // A database that went away: a clear 5xx without the driver's message.
    a.store.close().await;
    let answer = send(
        &a.app,
        Request::builder()
            .uri("/api/v1/reports")
            .header(header::AUTHORIZATION, format!("Bearer {}", a.token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(answer.status.is_server_error() || answer.status == StatusCode::UNAUTHORIZED);
    for leak in ["sqlx", "sqlite", "pool", "closed", "src/"] {
        assert!(
            !answer.body.to_lowercase().contains(leak),
            "{leak}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn api_reads_are_audited_and_auditors_see_the_chain_checked() {
    use safeguard_domain::account::{perm, Granted};
    use safeguard_domain::report::{IntakeState, ReportSource};
    use safeguard_engine::reports::{submit_report, Delivery};
    use safeguard_server::web::session::{token_digest, SESSION_COOKIE};

    let a = app(ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    })
    .await;
    accounts::add_user(&a.store, "Hotline", "auditor", Role::Auditor, PASSWORD, "t")
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let analyst = accounts::authenticate_password(&a.store, "analyst", PASSWORD)
        .await
        .unwrap();
    let (stored, _) = submit_report(
        &a.store,
        &Granted::<perm::SubmitReports>::check(analyst).unwrap(),
        &safeguard_engine::demo::DemoReports::new(3, now).next_report(),
        Delivery {
            source: ReportSource::Api,
            state: IntakeState::Finished,
            original: None,
            idempotency: None,
        },
        now,
    )
    .await
    .unwrap();
    let id = stored.report.id.0;
    for path in [
        format!("/api/v1/reports/{id}"),
        format!("/api/v1/reports/{id}/jurisdiction"),
        format!("/api/v1/reports/{id}/cluster"),
    ] {
        let answer = send(
            &a.app,
            Request::builder()
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", a.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    }
    let actions: Vec<String> = a
        .store
        .audit_for_object("report", &id.to_string(), 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.actor == "analyst")
        .map(|e| e.event.action)
        .collect();
    for action in ["report.read", "report.routing.read", "report.cluster.read"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }

    // The auditors' page: the chain is checked on each visit, entries listed.
    let auditor = a
        .store
        .credentials(&safeguard_domain::account::Username::parse("auditor").unwrap())
        .await
        .unwrap()
        .principal
        .user;
    let visit = |store: Store, app: Router| async move {
        let token = format!("audit-{}", rand_token());
        let expires = (time::OffsetDateTime::now_utc().unix_timestamp() + 600) * 1_000_000;
        store
            .create_session(&token_digest(&token), auditor, "csrf", false, expires)
            .await
            .unwrap();
        send(
            &app,
            Request::builder()
                .uri("/audit")
                .header(header::COOKIE, format!("{SESSION_COOKIE}={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    };
    let page = visit(a.store.clone(), a.app.clone()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Intact"), "{}", page.body);
    // Entries by the auditor's organisation's users are listed (the analyst's reads).
    assert!(page.body.contains("report.routing.read"));
    // An entry edited in the database shows as a broken chain.
    a.store
        .execute_admin("UPDATE audit_log SET detail = 'edited' WHERE seq = 2")
        .await
        .unwrap();
    let page = visit(a.store.clone(), a.app.clone()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("BROKEN"), "{}", page.body);
}

fn rand_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_408() {
    let a = app(ServerConfig::default()).await;
    let config = ServerConfig {
        request_timeout: std::time::Duration::from_millis(50),
        ..ServerConfig::default()
    };
    // A handler that never finishes, behind the real outer layers.
    let stuck: Router<AppState> = Router::new().route(
        "/stuck",
        axum::routing::get(|| async {
            std::future::pending::<()>().await;
            "never"
        }),
    );
    let app = safeguard_server::with_outer_layers(stuck, &config)
        .with_state(AppState::new(a.store.clone(), config.clone()));
    let answer = send(
        &app,
        Request::builder()
            .uri("/stuck")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
}
