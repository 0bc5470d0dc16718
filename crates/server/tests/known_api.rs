//! The known-material API: reading needs ReadReports, curating series ManageKnownMaterial.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts::{add_org, add_user, create_token};
use safeguard_engine::known::{import_known, ImportRequest, Operator};
use safeguard_server::{router, AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};
use serde_json::{json, Value};
use tower::ServiceExt;

const VICS: &str = r#"{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
"value": [
 {"MediaID": 1, "MD5": "00000000000000000000000000000001", "Series": "Red"},
 {"MediaID": 2, "MD5": "00000000000000000000000000000002", "Series": "Red"},
 {"MediaID": 3, "MD5": "00000000000000000000000000000003", "Series": "Blue"}
]}"#;

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, value)
}

#[tokio::test]
async fn series_are_read_by_analysts_and_curated_by_specialists() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let org = add_org(&store, "Hotline", OrgKind::Hotline, None, "test")
        .await
        .expect("org");
    add_user(
        &store,
        "Hotline",
        "spec",
        Role::Specialist,
        "long enough password",
        "test",
    )
    .await
    .expect("specialist");
    add_user(
        &store,
        "Hotline",
        "ana",
        Role::Analyst,
        "long enough password",
        "test",
    )
    .await
    .expect("analyst");
    let spec = create_token(&store, "spec", "t", "test")
        .await
        .expect("t")
        .token;
    let ana = create_token(&store, "ana", "t", "test")
        .await
        .expect("t")
        .token;
    let operator = Operator {
        user: None,
        name: "test".into(),
        org: org.id,
    };
    let report = import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("SET"),
        std::io::Cursor::new(VICS.as_bytes().to_vec()),
        |_| {},
    )
    .await
    .expect("import");
    let app = router(AppState::new(store.clone(), ServerConfig::default()));

    let (status, sets) = call(&app, Method::GET, "/api/v1/hash-sets", &ana, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sets[0]["name"], "SET");
    assert_eq!(sets[0]["entries"], 3);
    let uri = format!("/api/v1/hash-sets/{}/entries?limit=2", report.hash_set.0);
    let (status, page) = call(&app, Method::GET, &uri, &ana, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(2));
    let next = page["next_after_id"].as_i64().expect("more pages");
    let uri = format!(
        "/api/v1/hash-sets/{}/entries?after_id={next}",
        report.hash_set.0
    );
    let (_, page) = call(&app, Method::GET, &uri, &ana, None).await;
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));
    assert!(page["next_after_id"].is_null());
    let (status, _) = call(&app, Method::GET, "/api/v1/hash-sets/999", &ana, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An analyst reads but may not curate.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/series",
        &ana,
        Some(json!({"name": "Green"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, green) = call(
        &app,
        Method::POST,
        "/api/v1/series",
        &spec,
        Some(json!({"name": "Green"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{green}");
    let green_id = green["id"].as_i64().expect("id");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/series",
        &spec,
        Some(json!({"name": "Green"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/series",
        &spec,
        Some(json!({"name": "X", "bogus": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, all) = call(&app, Method::GET, "/api/v1/series", &ana, None).await;
    let id_of = |name: &str| {
        all.as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .and_then(|s| s["id"].as_i64())
            .expect("series")
    };
    let (red, blue) = (id_of("Red"), id_of("Blue"));
    let (status, moved) = call(
        &app,
        Method::POST,
        &format!("/api/v1/series/{green_id}/media"),
        &spec,
        Some(json!({"entries": [3]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["moved"], 1);
    let (status, merged) = call(
        &app,
        Method::POST,
        &format!("/api/v1/series/{green_id}/merge"),
        &spec,
        Some(json!({"from": red})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["entries"], 3);
    let (status, done) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/series/{green_id}/status"),
        &spec,
        Some(json!({"status": "victim_identified"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "victim_identified");
    let (status, detail) = call(
        &app,
        Method::GET,
        &format!("/api/v1/series/{green_id}"),
        &ana,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["create", "add_media", "merge_in", "status"]);
    assert_eq!(detail["history"][1]["actor"], "spec");
    let (_, blue_detail) = call(
        &app,
        Method::GET,
        &format!("/api/v1/series/{blue}"),
        &ana,
        None,
    )
    .await;
    assert_eq!(blue_detail["series"]["entries"], 0);
    let (status, split) = call(
        &app,
        Method::POST,
        &format!("/api/v1/series/{green_id}/split"),
        &spec,
        Some(json!({"name": "Green 2", "entries": [1]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{split}");
    assert_eq!(split["entries"], 1);

    let (_, doc) = call(&app, Method::GET, "/api/v1/openapi.json", &ana, None).await;
    assert!(doc["paths"]["/api/v1/series/{id}/merge"]["post"].is_object());
}
