//! The public "Trace an Object" router in-process: it answers only its own routes. Every internal
//! URL (API, CyberTipline endpoints, analysts' pages, media, static scripts) is refused with 404,
//! though the internal router answers them; only published crops are served; tips are
//! rate-limited and spam-checked, and a refused tip is not stored.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_domain::victim::ObjectState;
use safeguard_engine::accounts;
use safeguard_server::public::{PublicState, RateLimit};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{KnownActor, Store, StoreOptions};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use tower::ServiceExt;

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    public: Router,
    internal: Router,
}

async fn world(limit: RateLimit) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .unwrap();
    accounts::add_org(&store, "Demo Hotline", OrgKind::Hotline, Some("US"), "test")
        .await
        .unwrap();
    accounts::add_org(
        &store,
        "Demo Agency Netherlands",
        OrgKind::Agency,
        Some("NL"),
        "test",
    )
    .await
    .unwrap();
    for (org, user, role) in [
        ("Demo Hotline", "specialist", Role::Specialist),
        ("Demo Hotline", "reviewer", Role::Reviewer),
        ("Demo Agency Netherlands", "reviewer.nl", Role::Reviewer),
    ] {
        accounts::add_user(&store, org, user, role, "a long test password", "test")
            .await
            .unwrap();
    }
    let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
    let vault = Vault::open(&dir.path().join("vault"), keys, VaultConfig::default()).unwrap();
    let hotline = store.org_by_name("Demo Hotline").await.unwrap();
    // Series of synthetic scenes, a clue, and one object published after two approvals.
    safeguard_engine::victim::demo::seed(&store, &vault, hotline.id)
        .await
        .unwrap();
    let config = ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    };
    let public = safeguard_server::public::router(PublicState::new(store.clone(), limit), &config)
        .layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40_000))));
    let internal = safeguard_server::router(AppState::new(store.clone(), config));
    World {
        _dir: dir,
        store,
        public,
        internal,
    }
}

async fn call(app: &Router, method: Method, uri: &str, body: &str) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

const INTERNAL: &[(&str, &str)] = &[
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/reports/1"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/hash-sets"),
    ("GET", "/healthz"),
    ("POST", "/ispws/submit"),
    ("GET", "/ispws/status"),
    ("POST", "/ispws/upload"),
    ("GET", "/reports/1"),
    ("GET", "/reports/1/files/abc/thumbnail"),
    ("POST", "/reports/1/files/abc/reveal"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/queue"),
    ("GET", "/dashboard"),
    ("GET", "/settings"),
    ("GET", "/static/app.css"),
    ("GET", "/static/report.js"),
    ("GET", "/victim"),
    ("GET", "/victim/objects"),
    ("GET", "/victim/objects/1/crop"),
    ("POST", "/victim/objects/1/crop/reveal"),
    ("POST", "/victim/objects/2/approve"),
    ("GET", "/victim/series/1"),
    ("GET", "/victim/series/1/media/1/thumbnail"),
    ("POST", "/victim/series/1/media/1/reveal"),
    ("GET", "/victim/tips"),
    ("GET", "/objects/1/../../api/v1/reports"),
    ("GET", "/%2e%2e/api/v1/reports"),
];

#[tokio::test]
async fn internal_urls_are_refused_by_the_public_router() {
    let w = world(RateLimit::default()).await;
    for (method, uri) in INTERNAL {
        let m: Method = method.parse().unwrap();
        let (status, body) = call(&w.public, m, uri, "csrf=x").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {body}");
        assert!(
            !body.contains("Safeguard"),
            "{method} {uri} gives nothing internal away"
        );
    }
    // The same paths exist on the internal router: the test would catch a merged router.
    let reachable = [
        "/api/v1/openapi.json",
        "/login",
        "/static/app.css",
        "/healthz",
    ];
    for uri in reachable {
        let (status, _) = call(&w.internal, Method::GET, uri, "").await;
        assert_eq!(status, StatusCode::OK, "internal {uri}");
    }
    for uri in [
        "/victim/objects",
        "/victim/objects/1/crop",
        "/victim/series/1",
    ] {
        let (status, _) = call(&w.internal, Method::GET, uri, "").await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "internal {uri} asks for sign-in"
        );
    }
}

#[tokio::test]
async fn only_published_crops_are_served_and_tips_are_checked() {
    let w = world(RateLimit {
        burst: 5,
        refill_every: Duration::from_secs(3600),
        max_tracked: 1000,
    })
    .await;
    let published = w
        .store
        .list_public_objects(&[ObjectState::Published])
        .await
        .unwrap();
    assert_eq!(published.len(), 1);
    let id = published[0].id;
    let (status, page) = call(&w.public, Method::GET, "/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("data-object=\"{id}\"")));
    let (status, png) = call(&w.public, Method::GET, &format!("/objects/{id}/image"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!png.contains("DemoCam") && !png.contains("Exif"));

    // A pending crop of the same clue is not public.
    let spec = w
        .store
        .credentials(&safeguard_domain::account::Username::parse("specialist").unwrap())
        .await
        .unwrap();
    let pending = w
        .store
        .add_public_object(
            &safeguard_store::NewObject {
                clue: published[0].clue,
                title: "Pending crop",
                question: "Where is this from?",
                crop_png: b"\x89PNG pending",
                crop_width: 1,
                crop_height: 1,
            },
            KnownActor {
                user: Some(spec.principal.user.0),
                name: "specialist",
            },
        )
        .await
        .unwrap();
    for uri in [
        format!("/objects/{}", pending.id),
        format!("/objects/{}/image", pending.id),
        "/objects/999999/image".to_owned(),
        "/objects/not-a-number".to_owned(),
    ] {
        assert_eq!(
            call(&w.public, Method::GET, &uri, "").await.0,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let (_, page) = call(&w.public, Method::GET, "/", "").await;
    assert!(!page.contains("Pending crop"));
    assert_eq!(
        call(
            &w.public,
            Method::POST,
            &format!("/objects/{}", pending.id),
            "text=about+the+pending+crop+here"
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    let tips_before = w.store.public_statistics().await.unwrap().tips_received;
    let uri = format!("/objects/{id}");
    // Honeypot, too short, too many links: refused and not stored.
    for body in [
        "text=A+perfectly+normal+looking+tip&website=http%3A%2F%2Fspam.example",
        "text=short",
        "text=see+http%3A%2F%2Fa.example+http%3A%2F%2Fb.example+www.c.example",
    ] {
        let (status, _) = call(&w.public, Method::POST, &uri, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    // The fifth request of the burst (the one to the pending crop counted too) is accepted.
    let (status, page) = call(
        &w.public,
        Method::POST,
        &uri,
        "text=This+bag+is+sold+at+a+market+stall&country=Netherlands",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Thank you"));
    // The burst is spent: refused before anything is read.
    let (status, _) = call(
        &w.public,
        Method::POST,
        &uri,
        "text=Another+tip+about+the+same+bag+here",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        w.store.public_statistics().await.unwrap().tips_received,
        tips_before + 1
    );
    // Nothing of the address is stored with the tip.
    let tips = w.store.list_tips(Some(id), None, 10).await.unwrap();
    assert!(tips
        .iter()
        .all(|t| !t.body.contains("192.0.2.10") && t.contact.is_none()));
    let audit = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().all(|e| !e.event.detail.contains("192.0.2.10")));
}
