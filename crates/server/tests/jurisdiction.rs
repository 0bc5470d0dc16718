//! `GET /api/v1/reports/{id}/jurisdiction`: visibility, before and after routing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_domain::report::ReportId;
use safeguard_engine::accounts;
use safeguard_engine::routing::{parse_rules, route_report, Router};
use safeguard_geo::Geolocator;
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jurisdiction_is_shown_to_those_who_may_see_the_report() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    for (name, kind, country) in [
        ("Hotline", OrgKind::Hotline, Some("US")),
        ("Company", OrgKind::Reporter, None),
        ("Agency DE", OrgKind::Agency, Some("DE")),
        ("Agency NL", OrgKind::Agency, Some("NL")),
    ] {
        accounts::add_org(&store, name, kind, country, "test")
            .await
            .expect("org");
    }
    let mut tokens = Vec::new();
    for (org, user, role) in [
        ("Company", "company", Role::Reporter),
        ("Hotline", "analyst", Role::Analyst),
        ("Agency DE", "de", Role::Investigator),
        ("Agency NL", "nl", Role::Investigator),
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
    let (reporter, analyst, de, nl) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    let router = safeguard_server::router(AppState::new(store.clone(), ServerConfig::default()));
    let body = json!({
        "incident": {"incident_type": "online_enticement", "occurred_at": "2024-03-01T18:22:05+01:00",
                     "escalation": "wants to meet the child tonight"},
        "parties": [{"role": "reported", "ip_events": [{"ip": "87.128.1.1"}]}]
    });
    let (status, created) = send(
        &router,
        Request::post("/api/v1/reports")
            .header(header::AUTHORIZATION, format!("Bearer {reporter}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("id");
    let uri = format!("/api/v1/reports/{id}/jurisdiction");

    let (status, before) = send(&router, get(&uri, analyst)).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["routed"], false);
    let (status, _) = send(&router, get(&uri, de)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not referred yet");

    let rules = parse_rules(
        "[[route]]\ncountries = [\"DE\"]\nto = \"Agency DE\"\n[fallback]\nno_jurisdiction = { to = \"Hotline\" }\n",
        "inline",
    )
    .expect("rules");
    let routing = Router::new(&store, Arc::new(rules)).await.expect("router");
    let geo = Geolocator::bundled().expect("geo");
    route_report(&store, &geo, &routing, ReportId(id))
        .await
        .expect("route");

    let (status, after) = send(&router, get(&uri, de)).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["routed"], true);
    assert_eq!(after["priority"], "p1");
    assert_eq!(after["candidates"][0]["country"], "DE");
    assert_eq!(
        after["candidates"][0]["evidence"][0]["signal"],
        "ip_address"
    );
    assert_eq!(after["candidates"][0]["evidence"][0]["value"], "87.128.1.1");
    let rules_fired: Vec<&str> = after["fired_rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(
        rules_fired.contains(&"escalation_requested"),
        "{rules_fired:?}"
    );
    assert_eq!(after["referrals"].as_array().map(Vec::len), Some(1));
    assert!(after["referrals"][0]["due_at"].is_string());
    let (status, _) = send(&router, get(&uri, nl)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&router, get("/api/v1/reports/abc/jurisdiction", analyst)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, doc) = send(
        &router,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert!(doc["paths"]["/api/v1/reports/{id}/jurisdiction"]["get"].is_object());
}
