//! The JSON API end to end, in process: a router over a fresh SQLite database per test.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts;
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use serde_json::{json, Value};
use tower::ServiceExt;

struct TestApp {
    store: Store,
    router: axum::Router,
    /// Token of a reporter account of "Company".
    reporter: String,
    /// Token of an analyst of the hotline.
    analyst: String,
    /// Token of an analyst of an agency that was referred nothing.
    other_agency: String,
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn new() -> Self {
        Self::with_config(ServerConfig::default()).await
    }

    async fn with_config(config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
            .await
            .expect("store");
        accounts::add_org(&store, "Hotline", OrgKind::Hotline, Some("US"), "test")
            .await
            .expect("org");
        accounts::add_org(&store, "Company", OrgKind::Reporter, None, "test")
            .await
            .expect("org");
        accounts::add_org(&store, "Agency", OrgKind::Agency, Some("DE"), "test")
            .await
            .expect("org");
        let mut tokens = Vec::new();
        for (org, user, role) in [
            ("Company", "company", Role::Reporter),
            ("Hotline", "analyst", Role::Analyst),
            ("Agency", "inv", Role::Analyst),
        ] {
            accounts::add_user(&store, org, user, role, "a long test password", "test")
                .await
                .expect("user");
            tokens.push(
                accounts::create_token(&store, user, "test", "test")
                    .await
                    .expect("token")
                    .token,
            );
        }
        let router = safeguard_server::router(AppState::new(store.clone(), config));
        let mut tokens = tokens.into_iter();
        let mut next = || tokens.next().expect("three tokens");
        Self {
            store,
            router,
            reporter: next(),
            analyst: next(),
            other_agency: next(),
            _dir: dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, headers, value)
    }

    async fn post_report(
        &self,
        token: &str,
        body: &str,
        key: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut builder = Request::post("/api/v1/reports")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            builder = builder.header("Idempotency-Key", key);
        }
        self.send(builder.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    async fn get(
        &self,
        token: Option<&str>,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut builder = Request::get(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(builder.body(Body::empty()).expect("request"))
            .await
    }

    async fn report_count(&self) -> i64 {
        self.store.count_reports().await.expect("count")
    }
}

fn valid_report() -> Value {
    json!({
        "incident": {"incident_type": "online_enticement", "occurred_at": "2024-03-01T18:22:05+01:00"},
        "parties": [{"role": "reported", "emails": ["someone@example.net"], "ip_events": [{"ip": "192.0.2.1"}]}]
    })
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn a_report_is_created_read_back_and_listed() {
    let app = TestApp::new().await;
    let (status, headers, body) = app
        .post_report(&app.reporter, &valid_report().to_string(), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(
        headers[header::LOCATION],
        format!("/api/v1/reports/{id}").as_str()
    );
    assert_eq!(body["incident"]["incident_type"], "online_enticement");
    assert_eq!(body["parties"][0]["emails"][0], "someone@example.net");

    // The hotline receives it, the reporter reads back its own, an unrelated agency cannot.
    let (status, _, body) = app
        .get(Some(&app.analyst), &format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = app
        .get(Some(&app.reporter), &format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = app
        .get(Some(&app.other_agency), &format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another agency's report answers as missing"
    );
    assert_eq!(error_code(&body), "not_found");

    let (status, _, page) = app
        .get(
            Some(&app.analyst),
            "/api/v1/reports?incident_type=online_enticement",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let (_, _, empty) = app.get(Some(&app.other_agency), "/api/v1/reports").await;
    assert_eq!(empty["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn every_bad_request_gets_a_typed_error_and_writes_nothing() {
    let app = TestApp::with_config(ServerConfig {
        max_json_body: 4_096,
        ..ServerConfig::default()
    })
    .await;
    let huge = json!({
        "incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00Z"},
        "additional_info": "x".repeat(10_000)
    })
    .to_string();
    let future = json!({"incident": {"incident_type": "child_pornography", "occurred_at": "2999-01-01T00:00:00Z"}});
    let unknown = json!({"incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00Z"}, "colour": "red"});
    let bad_enum =
        json!({"incident": {"incident_type": "robbery", "occurred_at": "2024-01-01T00:00:00Z"}});
    let no_zone = json!({"incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00"}});
    let bad_ip = json!({"incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00Z"},
        "parties": [{"role": "reported", "ip_events": [{"ip": "999.1.1.1"}]}]});
    let bad_email = json!({"incident": {"incident_type": "child_pornography", "occurred_at": "2024-01-01T00:00:00Z"},
        "parties": [{"role": "victim", "emails": ["not an address"], "age": 151}]});
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            "{\"incident\": ".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "not JSON at all",
            "<report/>".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "unknown field",
            unknown.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "unknown incident type",
            bad_enum.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "time without zone",
            no_zone.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "bad IP address",
            bad_ip.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "incident in the future",
            future.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "bad e-mail and age",
            bad_email.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "oversize body",
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got, _, reply) = app.post_report(&app.reporter, &body, None).await;
        assert_eq!(got, status, "{what}: {reply}");
        assert_eq!(error_code(&reply), code, "{what}: {reply}");
        assert!(
            !reply["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{what}: a clear message"
        );
    }
    let (_, _, reply) = app
        .post_report(&app.reporter, &unknown.to_string(), None)
        .await;
    assert_eq!(
        reply["error"]["field"], "colour",
        "the unknown field is named"
    );
    let (_, _, reply) = app
        .post_report(&app.reporter, &bad_email.to_string(), None)
        .await;
    let fields: Vec<_> = reply["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(
        fields,
        vec![json!("parties[0].age"), json!("parties[0].emails[0]")]
    );

    // Wrong media type, wrong token, no token.
    let request = Request::post("/api/v1/reports")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.reporter))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(valid_report().to_string()))
        .expect("request");
    let (status, _, reply) = app.send(request).await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (status, headers, reply) = app
        .post_report("sg_wrong", &valid_report().to_string(), None)
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, _, _) = app.get(None, "/api/v1/reports").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, reply) = app.get(Some(&app.analyst), "/api/v1/reports/abc").await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::BAD_REQUEST, "invalid_path")
    );
    let (status, _, reply) = app.get(Some(&app.analyst), "/api/v1/reports?limit=0").await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, _, reply) = app.get(Some(&app.analyst), "/api/v1/reports?sort=up").await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );

    assert_eq!(app.report_count().await, 0, "nothing was half-written");
    assert_eq!(app.store.verify_audit().await.expect("verify").broken, None);
}

#[tokio::test]
async fn a_retried_request_with_the_same_key_creates_one_report() {
    let app = TestApp::new().await;
    let body = valid_report().to_string();
    let (first, _, a) = app.post_report(&app.reporter, &body, Some("retry-1")).await;
    let (second, _, b) = app.post_report(&app.reporter, &body, Some("retry-1")).await;
    assert_eq!(first, StatusCode::CREATED);
    assert_eq!(
        second,
        StatusCode::OK,
        "the retry answers with the first report"
    );
    assert_eq!(a["id"], b["id"]);
    let mut other = valid_report();
    other["incident"]["incident_type"] = json!("child_pornography");
    let (status, _, reply) = app
        .post_report(&app.reporter, &other.to_string(), Some("retry-1"))
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::CONFLICT, "conflict")
    );
    let (status, _, _) = app.post_report(&app.reporter, &body, Some("retry-2")).await;
    assert_eq!(status, StatusCode::CREATED, "a new key is a new report");
    assert_eq!(app.report_count().await, 2);
}

#[tokio::test]
async fn roles_without_the_permission_are_refused() {
    let app = TestApp::new().await;
    accounts::add_user(
        &app.store,
        "Hotline",
        "auditor",
        Role::Auditor,
        "a long test password",
        "test",
    )
    .await
    .expect("user");
    let auditor = accounts::create_token(&app.store, "auditor", "t", "test")
        .await
        .expect("token")
        .token;
    let (status, _, reply) = app
        .post_report(&auditor, &valid_report().to_string(), None)
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, _, _) = app.get(Some(&auditor), "/api/v1/reports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let app = TestApp::new().await;
    let (status, headers, _) = app.get(None, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("x-request-id"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let (status, _, doc) = app.get(None, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in ["/api/v1/reports", "/api/v1/reports/{id}"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["NewReport"].is_object());
}
