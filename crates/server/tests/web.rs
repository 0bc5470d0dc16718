//! The web application driven in-process through the router (`tower::ServiceExt::oneshot`), each
//! test on a fresh SQLite database in a temporary folder.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use safeguard_domain::account::{perm, Granted, OrgKind, Role};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{FileRelevance, IntakeState, ReportId, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::DemoReports;
use safeguard_engine::reports::{submit_report, Delivery};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{NewFile, Store, StoreOptions};
use time::OffsetDateTime;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
    /// Reports held by the hotline.
    hotline_reports: Vec<ReportId>,
    /// A report held by the German agency.
    agency_report: ReportId,
    /// The file attached to `hotline_reports[0]`.
    file_id: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = Store::default_url(dir.path());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    accounts::add_org(&store, "Hotline", OrgKind::Hotline, Some("US"), "test")
        .await
        .unwrap();
    accounts::add_org(&store, "Agency DE", OrgKind::Agency, Some("DE"), "test")
        .await
        .unwrap();
    accounts::add_org(&store, "Company", OrgKind::Reporter, Some("US"), "test")
        .await
        .unwrap();
    for (org, user, role) in [
        ("Hotline", "analyst", Role::Analyst),
        ("Hotline", "colleague", Role::Analyst),
        ("Hotline", "auditor", Role::Auditor),
        ("Agency DE", "agent", Role::Analyst),
        ("Company", "reporter", Role::Reporter),
    ] {
        accounts::add_user(&store, org, user, role, PASSWORD, "test")
            .await
            .unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let mut demo = DemoReports::new(7, now);
    let submit = |username: &'static str| {
        let store = store.clone();
        async move {
            let p = accounts::authenticate_password(&store, username, PASSWORD)
                .await
                .unwrap();
            Granted::<perm::SubmitReports>::check(p).unwrap()
        }
    };
    let reporter = submit("reporter").await;
    let mut hotline_reports = Vec::new();
    for _ in 0..6 {
        let (r, _) = submit_report(
            &store,
            &reporter,
            &demo.next_report(),
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
        hotline_reports.push(r.report.id);
    }
    let agent = submit("agent").await;
    let (agency, _) = submit_report(
        &store,
        &agent,
        &demo.next_report(),
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
    let digests = Digester::digest(b"synthetic test file");
    let file_id = digests.sha256.to_hex()[..32].to_owned();
    store
        .attach_file(&NewFile {
            report: hotline_reports[0],
            file_id: &file_id,
            digests,
            size: 19,
            original_name: Some("pattern.png"),
            media_type: Some("image/png"),
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .unwrap();
    let config = ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    };
    let app = safeguard_server::router(AppState::new(store.clone(), config));
    World {
        _dir: dir,
        store,
        app,
        hotline_reports,
        agency_report: agency.report.id,
        file_id,
    }
}

/// A browser: a cookie jar in front of the router.
struct Browser {
    app: Router,
    cookies: HashMap<String, String>,
    /// Extra headers on every request (e.g. a foreign Origin).
    origin: Option<String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    content_type: String,
    set_cookies: Vec<String>,
    body: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the first `name="csrf"` hidden field (or the meta tag).
    fn csrf(&self) -> String {
        let text = self.text();
        let marker = "name=\"csrf\" value=\"";
        let start = text.find(marker).expect("a form with a CSRF field") + marker.len();
        text[start..start + text[start..].find('"').unwrap()].to_owned()
    }
}

impl Browser {
    fn new(world: &World) -> Self {
        Self {
            app: world.app.clone(),
            cookies: HashMap::new(),
            origin: None,
        }
    }

    async fn send(&mut self, req: Request<Body>) -> Page {
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Page {
            status,
            location,
            content_type,
            set_cookies,
            body,
        }
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080");
        if !self.cookies.is_empty() {
            let jar = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            b = b.header(header::COOKIE, jar);
        }
        if let Some(o) = &self.origin {
            b = b.header(header::ORIGIN, o);
        }
        b
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn sign_in(&mut self, username: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", PASSWORD),
                ("next", "/queue"),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from a page's forms).
    async fn session_csrf(&mut self) -> String {
        self.get("/settings").await.csrf()
    }
}

async fn signed_in(world: &World, username: &str) -> Browser {
    let mut b = Browser::new(world);
    let page = b.sign_in(username).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    b
}

async fn audit_actions(store: &Store, report: ReportId) -> Vec<String> {
    store
        .audit_for_object("report", &report.to_string(), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_session() {
    let w = world().await;
    let mut b = Browser::new(&w);
    // Pages need a session: the queue sends to the sign-in page.
    let page = b.get("/queue").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.unwrap().starts_with("/login?next=%2Fqueue"));

    let form = b.get("/login").await;
    let csrf = form.csrf();
    let wrong = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "analyst"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("Wrong username or password"));
    assert!(!b.cookies.contains_key("sg_session"));

    let ok = b.sign_in("analyst").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location.as_deref(), Some("/queue"));
    let cookie = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("sg_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains("Secure"),
        "Secure is off when configured off"
    );
    let session_cookie = b.cookies["sg_session"].clone();

    let queue = b.get("/queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    let html = queue.text();
    assert!(html.contains("analyst") && html.contains("Hotline") && html.contains("Triage queue"));

    let csrf = queue.csrf();
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert!(!b.cookies.contains_key("sg_session"));
    // The old cookie, replayed, opens nothing: the session ended on the server.
    b.cookies.insert("sg_session".into(), session_cookie);
    let replay = b.get("/queue").await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert!(replay.location.unwrap().starts_with("/login"));
    let actions: Vec<String> = w
        .store
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert!(actions.contains(&"web.sign_in".to_owned()));
    assert!(actions.contains(&"web.sign_out".to_owned()));
}

#[tokio::test]
async fn posts_without_the_session_csrf_token_are_refused() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    let id = w.hotline_reports[1].to_string();
    let missing = b
        .post("/queue/bulk", &[("id", &id), ("action", "assign_me")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = b
        .post(
            "/queue/bulk",
            &[("csrf", "0000"), ("id", &id), ("action", "assign_me")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // A cross-site page that somehow learnt the token is still refused by its Origin.
    let csrf = b.session_csrf().await;
    b.origin = Some("https://evil.example".into());
    let foreign = b
        .post(
            "/queue/bulk",
            &[("csrf", &csrf), ("id", &id), ("action", "assign_me")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    b.origin = None;
    assert!(!audit_actions(&w.store, w.hotline_reports[1])
        .await
        .contains(&"report.assign".into()));
    // Sign-out and the sign-in form need their tokens too.
    assert_eq!(b.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    let mut stranger = Browser::new(&w);
    let login = stranger
        .post("/login", &[("username", "analyst"), ("password", PASSWORD)])
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    // With the token the same POST goes through.
    let ok = b
        .post(
            "/queue/bulk",
            &[("csrf", &csrf), ("id", &id), ("action", "assign_me")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_their_absolute_limit() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    assert_eq!(b.get("/queue").await.status, StatusCode::OK);
    // 31 minutes without activity.
    w.store
        .execute_admin("UPDATE web_session SET last_seen_at = last_seen_at - 1860000000")
        .await
        .unwrap();
    let idle = b.get("/queue").await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER);
    assert!(idle.location.unwrap().contains("expired=1"));
    // Still ended, even if activity were recorded again.
    assert_eq!(b.get("/queue").await.status, StatusCode::SEE_OTHER);

    let mut c = signed_in(&w, "analyst").await;
    assert_eq!(c.get("/queue").await.status, StatusCode::OK);
    // Active, but 12 hours after sign-in.
    w.store
        .execute_admin(
            "UPDATE web_session SET expires_at = last_seen_at - 1 WHERE ended_at IS NULL",
        )
        .await
        .unwrap();
    let absolute = c.get("/queue").await;
    assert_eq!(absolute.status, StatusCode::SEE_OTHER);
    assert!(absolute.location.unwrap().contains("expired=1"));
}

#[tokio::test]
async fn another_agencys_report_answers_404_like_a_missing_one() {
    let w = world().await;
    let mut agent = signed_in(&w, "agent").await;
    let own = agent.get(&format!("/reports/{}", w.agency_report)).await;
    assert_eq!(own.status, StatusCode::OK);
    let foreign = agent
        .get(&format!("/reports/{}", w.hotline_reports[0]))
        .await;
    let missing = agent.get("/reports/999999").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        foreign.text(),
        missing.text(),
        "nothing tells the two apart"
    );
    let thumb = agent
        .get(&format!(
            "/reports/{}/files/{}/thumbnail",
            w.hotline_reports[0], w.file_id
        ))
        .await;
    assert_eq!(thumb.status, StatusCode::NOT_FOUND);
    let csrf = agent.session_csrf().await;
    let reveal = agent
        .post(
            &format!(
                "/reports/{}/files/{}/reveal",
                w.hotline_reports[0], w.file_id
            ),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(reveal.status, StatusCode::NOT_FOUND);
    // Its queue lists only its own report.
    let queue = agent.get("/queue").await.text();
    assert!(queue.contains(&format!("/reports/{}\"", w.agency_report)));
    assert!(!queue.contains(&format!("/reports/{}\"", w.hotline_reports[0])));
    // A bulk action on the foreign report changes nothing.
    let id = w.hotline_reports[0].to_string();
    agent
        .post(
            "/queue/bulk",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("action", "priority"),
                ("priority", "p1"),
            ],
        )
        .await;
    assert!(!audit_actions(&w.store, w.hotline_reports[0])
        .await
        .contains(&"report.priority".into()));
    let mut analyst = signed_in(&w, "analyst").await;
    assert_eq!(
        analyst
            .get(&format!("/reports/{}", w.hotline_reports[0]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        analyst
            .get(&format!("/reports/{}", w.agency_report))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bulk_actions_change_the_queue_and_audit_each_report() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    let csrf = b.session_csrf().await;
    let [a, c, d, e] = [
        w.hotline_reports[2],
        w.hotline_reports[3],
        w.hotline_reports[4],
        w.hotline_reports[5],
    ];
    let (a_s, c_s, d_s, e_s) = (a.to_string(), c.to_string(), d.to_string(), e.to_string());
    let foreign = w.agency_report.to_string();
    let assign = b
        .post(
            "/queue/bulk",
            &[
                ("csrf", &csrf),
                ("id", &a_s),
                ("id", &c_s),
                ("id", &foreign),
                ("action", "assign_me"),
                ("back", "/queue"),
            ],
        )
        .await;
    assert_eq!(assign.status, StatusCode::SEE_OTHER);
    assert_eq!(assign.location.as_deref(), Some("/queue?done=2"));
    for r in [a, c] {
        assert_eq!(
            audit_actions(&w.store, r)
                .await
                .iter()
                .filter(|x| *x == "report.assign")
                .count(),
            1
        );
        assert_eq!(
            w.store.report_assignee(r).await.unwrap().unwrap().1,
            "analyst"
        );
    }
    assert!(w
        .store
        .report_assignee(w.agency_report)
        .await
        .unwrap()
        .is_none());
    // Assigning again changes nothing, so no new entry.
    b.post(
        "/queue/bulk",
        &[("csrf", &csrf), ("id", &a_s), ("action", "assign_me")],
    )
    .await;
    assert_eq!(
        audit_actions(&w.store, a)
            .await
            .iter()
            .filter(|x| *x == "report.assign")
            .count(),
        1
    );

    // Assign to a colleague.
    let colleague = w
        .store
        .org_users(w.store.org_by_name("Hotline").await.unwrap().id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, n)| n == "colleague")
        .unwrap()
        .0;
    let to = colleague.0.to_string();
    b.post(
        "/queue/bulk",
        &[
            ("csrf", &csrf),
            ("id", &d_s),
            ("action", "assign"),
            ("assignee", &to),
        ],
    )
    .await;
    assert_eq!(
        w.store.report_assignee(d).await.unwrap().unwrap().1,
        "colleague"
    );
    // Someone of another organisation cannot be assigned.
    let agent_id = w
        .store
        .org_users(w.store.org_by_name("Agency DE").await.unwrap().id)
        .await
        .unwrap()[0]
        .0
         .0
        .to_string();
    let refused = b
        .post(
            "/queue/bulk",
            &[
                ("csrf", &csrf),
                ("id", &d_s),
                ("action", "assign"),
                ("assignee", &agent_id),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // Priorities: d becomes P1, e P3, a informational.
    b.post(
        "/queue/bulk",
        &[
            ("csrf", &csrf),
            ("id", &d_s),
            ("action", "priority"),
            ("priority", "p1"),
        ],
    )
    .await;
    b.post(
        "/queue/bulk",
        &[
            ("csrf", &csrf),
            ("id", &e_s),
            ("action", "priority"),
            ("priority", "p3"),
        ],
    )
    .await;
    b.post(
        "/queue/bulk",
        &[("csrf", &csrf), ("id", &a_s), ("action", "informational")],
    )
    .await;
    for r in [d, e, a] {
        assert!(audit_actions(&w.store, r)
            .await
            .contains(&"report.priority".to_owned()));
    }
    // Queue order: P1, P3, then unset (oldest first), informational last.
    let html = b.get("/queue").await.text();
    let pos = |id: ReportId| html.find(&format!("href=\"/reports/{id}\"")).unwrap();
    assert!(pos(d) < pos(e));
    assert!(pos(e) < pos(w.hotline_reports[0]));
    assert!(pos(w.hotline_reports[0]) < pos(w.hotline_reports[1]));
    assert!(pos(c) < pos(a), "informational comes last");
    // Filter by priority.
    let p1 = b.get("/queue?priority=p1").await.text();
    assert!(
        p1.contains(&format!("href=\"/reports/{d}\""))
            && !p1.contains(&format!("href=\"/reports/{e}\""))
    );
    // Hostile filter values are a clear 400, not a panic.
    assert_eq!(
        b.get("/queue?priority=p9").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.get("/queue?after=1.x").await.status,
        StatusCode::BAD_REQUEST
    );
    // The auditor may not change reports.
    let mut auditor = signed_in(&w, "auditor").await;
    let acsrf = auditor.session_csrf().await;
    let denied = auditor
        .post(
            "/queue/bulk",
            &[("csrf", &acsrf), ("id", &e_s), ("action", "assign_me")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn queue_pages_by_keyset_and_saves_views() {
    let w = world().await;
    // More reports than one page (50).
    let p = accounts::authenticate_password(&w.store, "reporter", PASSWORD)
        .await
        .unwrap();
    let g = Granted::<perm::SubmitReports>::check(p).unwrap();
    let mut demo = DemoReports::new(99, OffsetDateTime::now_utc());
    for _ in 0..50 {
        submit_report(
            &w.store,
            &g,
            &demo.next_report(),
            Delivery {
                source: ReportSource::Api,
                state: IntakeState::Open,
                original: None,
                idempotency: None,
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }
    let mut b = signed_in(&w, "analyst").await;
    let first = b.get("/queue").await.text();
    let marker = "href=\"/queue?after=";
    let start = first.find(marker).expect("a next page link") + "href=\"".len();
    let next = first[start..start + first[start..].find('"').unwrap()].replace("&amp;", "&");
    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    let count = |html: &str| html.matches("<tr data-href=").count();
    assert_eq!(count(&first), 50);
    assert_eq!(count(&second.text()), 6);
    // No report appears on both pages.
    for line in second
        .text()
        .lines()
        .filter(|l| l.contains("<tr data-href="))
    {
        assert!(!first.contains(line.trim()));
    }
    let csrf = b.session_csrf().await;
    let saved = b
        .post(
            "/queue/views",
            &[
                ("csrf", &csrf),
                ("name", "Open only"),
                ("query", "state=open&bogus=1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location.as_deref(), Some("/queue?state=open"));
    let html = b.get("/queue").await.text();
    assert!(html.contains("Open only") && html.contains("href=\"/queue?state=open\""));
    let open = b.get("/queue?state=open").await.text();
    assert_eq!(count(&open), 50);
}

#[tokio::test]
async fn revealing_a_file_writes_media_view_before_sending_it() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    let report = w.hotline_reports[0];
    let page = b.get(&format!("/reports/{report}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("pattern.png") && html.contains("Blurred preview"));
    assert!(html.contains(&Digester::digest(b"synthetic test file").sha256.to_hex()));
    assert!(!audit_actions(&w.store, report)
        .await
        .contains(&"media.view".into()));

    let thumb = b
        .get(&format!("/reports/{report}/files/{}/thumbnail", w.file_id))
        .await;
    assert_eq!(thumb.status, StatusCode::OK);
    assert_eq!(thumb.content_type, "image/png");
    let blurred = image::load_from_memory(&thumb.body).unwrap();
    // Default wellness settings: greyscale, 160 px.
    assert!(matches!(blurred, image::DynamicImage::ImageLuma8(_)));
    assert_eq!(blurred.width(), 160);
    // Thumbnails are not audited; only reveals are.
    assert!(!audit_actions(&w.store, report)
        .await
        .contains(&"media.view".into()));

    let path = format!("/reports/{report}/files/{}/reveal", w.file_id);
    assert_eq!(b.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
    assert!(!audit_actions(&w.store, report)
        .await
        .contains(&"media.view".into()));
    let csrf = b.session_csrf().await;
    let revealed = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(revealed.status, StatusCode::OK);
    assert_eq!(revealed.content_type, "image/png");
    assert_ne!(revealed.body, thumb.body);
    let entries = w
        .store
        .audit_for_object("report", &report.to_string(), 100)
        .await
        .unwrap();
    let view = entries
        .iter()
        .find(|e| e.event.action == "media.view")
        .unwrap();
    assert_eq!(view.event.actor, "analyst");
    assert!(view.event.detail.contains(&w.file_id));
    // The history on the page shows it.
    let html = b.get(&format!("/reports/{report}")).await.text();
    assert!(html.contains("media.view"));
    // An unknown file is a 404, and writes nothing.
    let unknown = b
        .post(
            &format!("/reports/{report}/files/ffffffffffffffffffffffffffffffff/reveal"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_actions(&w.store, report)
            .await
            .iter()
            .filter(|a| *a == "media.view")
            .count(),
        1
    );
    // The auditor may not view media at all.
    let mut auditor = signed_in(&w, "auditor").await;
    let t = auditor
        .get(&format!("/reports/{report}/files/{}/thumbnail", w.file_id))
        .await;
    assert_eq!(t.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn wellness_settings_change_the_thumbnails() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    let csrf = b.session_csrf().await;
    let saved = b
        .post(
            "/settings",
            &[("csrf", &csrf), ("blur", "8"), ("thumbnail_px", "96")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(saved.text().contains("Settings saved"));
    let thumb = b
        .get(&format!(
            "/reports/{}/files/{}/thumbnail",
            w.hotline_reports[0], w.file_id
        ))
        .await;
    let img = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!(img.width(), 96);
    assert!(
        matches!(img, image::DynamicImage::ImageRgb8(_)),
        "greyscale was unticked"
    );
    let bad = b
        .post(
            "/settings",
            &[("csrf", &csrf), ("blur", "0"), ("thumbnail_px", "96")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn dashboard_and_csv_export_count_visible_reports() {
    let w = world().await;
    let mut b = signed_in(&w, "auditor").await;
    let today = OffsetDateTime::now_utc().date();
    let page = b.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("<svg") && html.contains("id=\"total\">6<"));
    assert!(html.contains("No data yet"));
    let csv = b
        .get(&format!("/dashboard.csv?from={today}&to={today}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.text();
    assert!(text.starts_with("section,label,value\n"));
    assert!(
        text.contains("\"total\",\"reports received\",6\n"),
        "{text}"
    );
    assert!(text.contains(&format!("\"received per day\",\"{today}\",6\n")));
    let by_type: i64 = text
        .lines()
        .filter(|l| l.starts_with("\"incident type\""))
        .map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(by_type, 6);
    // A period before anything was received counts nothing.
    let empty = b
        .get("/dashboard.csv?from=2020-01-01&to=2020-01-31")
        .await
        .text();
    assert!(empty.contains("\"total\",\"reports received\",0\n"));
    assert_eq!(
        b.get("/dashboard.csv?from=2020-13-01").await.status,
        StatusCode::BAD_REQUEST
    );
    // The agency sees only its own report in its figures.
    let mut agent = signed_in(&w, "agent").await;
    let agency = agent
        .get(&format!("/dashboard.csv?from={today}&to={today}"))
        .await
        .text();
    assert!(agency.contains("\"total\",\"reports received\",1\n"));
    // A reporting company has no statistics.
    let mut reporter = signed_in(&w, "reporter").await;
    assert_eq!(
        reporter.get("/dashboard").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn totp_second_factor_is_asked_after_the_password() {
    let w = world().await;
    let secret = totp_rs::Secret::generate_secret().to_encoded().to_string();
    let user = w
        .store
        .credentials(&safeguard_domain::account::Username::parse("analyst").unwrap())
        .await
        .unwrap()
        .principal
        .user;
    w.store.set_totp_secret(user, Some(&secret)).await.unwrap();
    let mut b = Browser::new(&w);
    let signed = b.sign_in("analyst").await;
    assert!(signed.location.unwrap().starts_with("/login/totp"));
    // The password alone opens no page.
    let queue = b.get("/queue").await;
    assert_eq!(queue.location.as_deref(), Some("/login/totp"));
    let form = b.get("/login/totp").await;
    let csrf = form.csrf();
    let wrong = b
        .post("/login/totp", &[("csrf", &csrf), ("code", "000000x")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let bytes = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "analyst".into(),
    )
    .unwrap();
    let code = totp.generate_current().unwrap();
    let ok = b
        .post("/login/totp", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/queue").await.status, StatusCode::OK);
    // The enrolment page shows a new secret and its otpauth address.
    let enrol = b.get("/settings/totp").await.text();
    assert!(enrol.contains("otpauth://totp/Safeguard:analyst?secret="));
    // A guesser gets five wrong codes in all (one was spent above), then the session is ended.
    let mut guesser = Browser::new(&w);
    guesser.sign_in("analyst").await;
    let gcsrf = guesser.get("/login/totp").await.csrf();
    for _ in 0..4 {
        let page = guesser
            .post("/login/totp", &[("csrf", &gcsrf), ("code", "12345x")])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let stopped = guesser
        .post("/login/totp", &[("csrf", &gcsrf), ("code", &code)])
        .await;
    assert_eq!(
        stopped.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even a right code"
    );
    let after = guesser.get("/queue").await;
    assert!(after.location.unwrap().starts_with("/login?"));
}

#[tokio::test]
async fn static_assets_are_served_and_pages_carry_no_inline_script() {
    let w = world().await;
    let mut b = signed_in(&w, "analyst").await;
    for (path, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/queue.js", "text/javascript"),
        ("/static/report.js", "text/javascript"),
    ] {
        let asset = b.get(path).await;
        assert_eq!(asset.status, StatusCode::OK);
        assert!(asset.content_type.starts_with(kind));
    }
    assert_eq!(b.get("/static/nope.js").await.status, StatusCode::NOT_FOUND);
    for path in [
        "/queue",
        &format!("/reports/{}", w.hotline_reports[0]),
        "/dashboard",
        "/settings",
    ] {
        let html = b.get(path).await.text();
        assert!(
            !html.contains("<script>") && !html.contains("style=\""),
            "{path}"
        );
        assert!(!html.contains(" onclick="), "{path}");
    }
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_username_for_a_while() {
    let w = world().await;
    let mut b = Browser::new(&w);
    for _ in 0..10 {
        let csrf = b.get("/login").await.csrf();
        let page = b
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", "Analyst"),
                    ("password", "guess guess"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, without being checked.
    let locked = b.sign_in("analyst").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text().contains("Too many failed sign-ins"));
    // Other accounts are not affected.
    let mut c = Browser::new(&w);
    assert_eq!(c.sign_in("colleague").await.status, StatusCode::SEE_OTHER);
    let failures = w
        .store
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == "web.sign_in_failed")
        .count();
    assert_eq!(failures, 10);
}
