//! The package, cluster and known-material pages driven in-process through the router: each
//! step scoped to the caller's organisation and role, every form checked for its CSRF token.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use safeguard_domain::account::{perm, Granted, OrgKind, Role};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{FileRelevance, IntakeState, ReportId, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::DemoReports;
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
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
    /// Reports held by the hotline; 0..3 referred to Agency DE, 3 to Agency NL.
    reports: Vec<ReportId>,
    /// A report the Dutch agency holds itself.
    nl_report: ReportId,
    /// The file of `reports[0]`.
    file_id: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = Store::default_url(dir.path());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    for (name, kind, country) in [
        ("Hotline", OrgKind::Hotline, "US"),
        ("Agency DE", OrgKind::Agency, "DE"),
        ("Agency NL", OrgKind::Agency, "NL"),
        ("Company", OrgKind::Reporter, "US"),
    ] {
        accounts::add_org(&store, name, kind, Some(country), "test")
            .await
            .unwrap();
    }
    for (org, user, role) in [
        ("Hotline", "analyst", Role::Analyst),
        ("Hotline", "colleague", Role::Analyst),
        ("Hotline", "specialist", Role::Specialist),
        ("Agency DE", "agent.de", Role::Investigator),
        ("Agency NL", "agent.nl", Role::Investigator),
        ("Agency NL", "analyst.nl", Role::Analyst),
        ("Company", "reporter", Role::Reporter),
    ] {
        accounts::add_user(&store, org, user, role, PASSWORD, "test")
            .await
            .unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let mut demo = DemoReports::new(11, now);
    let granted = |username: &'static str| {
        let store = store.clone();
        async move {
            let p = accounts::authenticate_password(&store, username, PASSWORD)
                .await
                .unwrap();
            Granted::<perm::SubmitReports>::check(p).unwrap()
        }
    };
    let delivery = || Delivery {
        source: ReportSource::Api,
        state: IntakeState::Finished,
        original: None,
        idempotency: None,
    };
    let reporter = granted("reporter").await;
    let mut reports = Vec::new();
    for n in 0..5 {
        let mut report = demo.next_report();
        if n < 3 {
            // Reports 0, 1 and 2 share an e-mail address: linking joins them.
            report.parties[0].emails = vec!["shared.demo@example.net".into()];
        }
        let (r, _) = submit_report(&store, &reporter, &report, delivery(), now)
            .await
            .unwrap();
        reports.push(r.report.id);
    }
    let nl = granted("analyst.nl").await;
    let (nl_report, _) = submit_report(&store, &nl, &demo.next_report(), delivery(), now)
        .await
        .unwrap();
    let digests = Digester::digest(b"synthetic test file for series");
    let file_id = digests.sha256.to_hex()[..32].to_owned();
    store
        .attach_file(&NewFile {
            report: reports[0],
            file_id: &file_id,
            digests,
            size: 30,
            original_name: Some("pattern.png"),
            media_type: Some("image/png"),
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .unwrap();
    let hotline = store.org_by_name("Hotline").await.unwrap().id;
    let de = store.org_by_name("Agency DE").await.unwrap().id;
    let nl_org = store.org_by_name("Agency NL").await.unwrap().id;
    for r in &reports[..3] {
        store
            .insert_referral(*r, hotline, de, "geo DE")
            .await
            .unwrap();
    }
    store
        .insert_referral(reports[3], hotline, nl_org, "geo NL")
        .await
        .unwrap();
    let mut pdq = NoPdq;
    for r in reports.iter().chain([&nl_report.report.id]) {
        link_report(&store, *r, &LinkConfig::default(), &mut pdq)
            .await
            .unwrap();
    }
    let config = ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    };
    let key = safeguard_engine::packages::SigningKey::from_bytes(&[7; 32]);
    let app = safeguard_server::router(
        AppState::new(store.clone(), config).with_signing_key(Arc::new(key)),
    );
    World {
        _dir: dir,
        store,
        app,
        reports,
        nl_report: nl_report.report.id,
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

fn package_id(location: &str) -> i64 {
    location
        .trim_start_matches("/packages/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_package_goes_from_draft_to_outcome_within_each_organisation() {
    let w = world().await;
    let de = w.store.org_by_name("Agency DE").await.unwrap().id;
    let mut analyst = signed_in(&w, "analyst").await;
    let list = analyst.get("/packages").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("Agency DE"), "{}", list.text());
    let csrf = analyst.session_csrf().await;

    // Without the CSRF token nothing is built.
    let refused = analyst
        .post("/packages/build", &[("to", &de.0.to_string())])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let built = analyst
        .post(
            "/packages/build",
            &[("csrf", &csrf), ("to", &de.0.to_string())],
        )
        .await;
    assert_eq!(built.status, StatusCode::SEE_OTHER, "{}", built.text());
    let id = package_id(built.location.as_deref().unwrap());
    let draft = analyst.get(&format!("/packages/{id}")).await;
    assert_eq!(draft.status, StatusCode::OK);
    let text = draft.text();
    assert!(text.contains("You built this package"), "{text}");
    for r in &w.reports[..3] {
        assert!(text.contains(&format!("data-report=\"{}\"", r.0)));
    }
    assert!(
        !text.contains(&format!("data-report=\"{}\"", w.reports[3].0)),
        "NL's referral stays out"
    );
    // Nothing more waits for DE: a second build is refused.
    let again = analyst
        .post(
            "/packages/build",
            &[("csrf", &csrf), ("to", &de.0.to_string())],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // Four eyes: the builder cannot approve; the recipient cannot see a draft.
    let own = analyst
        .post(&format!("/packages/{id}/approve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    let mut agent = signed_in(&w, "agent.de").await;
    assert_eq!(
        agent.get(&format!("/packages/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!agent
        .get("/inbox")
        .await
        .text()
        .contains(&format!("Package #{id}")));

    let mut colleague = signed_in(&w, "colleague").await;
    let c = colleague.session_csrf().await;
    // Sending before approval is refused.
    let early = colleague
        .post(&format!("/packages/{id}/send"), &[("csrf", &c)])
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    for step in ["approve", "send"] {
        let p = colleague
            .post(&format!("/packages/{id}/{step}"), &[("csrf", &c)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{step}: {}", p.text());
    }

    // Another agency never sees it; a sender's role cannot acknowledge.
    let mut other = signed_in(&w, "agent.nl").await;
    assert_eq!(
        other.get(&format!("/packages/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .get(&format!("/packages/{id}/report.html"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let oc = other.session_csrf().await;
    let foreign = other
        .post(&format!("/packages/{id}/acknowledge"), &[("csrf", &oc)])
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let sender_ack = colleague
        .post(&format!("/packages/{id}/acknowledge"), &[("csrf", &c)])
        .await;
    assert_eq!(sender_ack.status, StatusCode::FORBIDDEN);

    // The recipient: inbox, readable report under its own strict policy, acknowledge, outcomes.
    let inbox = agent.get("/inbox").await;
    assert!(inbox.text().contains(&format!("Package #{id}")));
    let readable = agent.get(&format!("/packages/{id}/report.html")).await;
    assert_eq!(readable.status, StatusCode::OK);
    assert!(readable.text().contains("Intelligence package"));
    let a = agent.session_csrf().await;
    let no_token = agent
        .post(&format!("/packages/{id}/acknowledge"), &[])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let ack = agent
        .post(&format!("/packages/{id}/acknowledge"), &[("csrf", &a)])
        .await;
    assert_eq!(ack.status, StatusCode::SEE_OTHER);
    let r0 = w.reports[0].0;
    let bad = agent
        .post(
            &format!("/packages/{id}/outcomes"),
            &[("csrf", &a), ("outcome", &format!("{r0}:made_up"))],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let outside = agent
        .post(
            &format!("/packages/{id}/outcomes"),
            &[
                ("csrf", &a),
                ("outcome", &format!("{}:arrest", w.reports[3].0)),
            ],
        )
        .await;
    assert_eq!(
        outside.status,
        StatusCode::NOT_FOUND,
        "a report the package does not carry"
    );
    let ok = agent
        .post(
            &format!("/packages/{id}/outcomes"),
            &[
                ("csrf", &a),
                ("outcome", &format!("{r0}:victim_identified")),
                ("outcome", &format!("{r0}:arrest")),
                (&format!("note-{r0}"), "fictional"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let history: Vec<String> = w
        .store
        .package_history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, actor, _)| format!("{}:{actor}", s.code()))
        .collect();
    assert_eq!(
        history,
        [
            "draft:analyst",
            "approved:colleague",
            "sent:colleague",
            "acknowledged:agent.de",
            "outcome_reported:agent.de"
        ]
    );
    // Both ends' dashboards count the outcomes; the other agency's does not.
    for (browser, expect) in [(&mut agent, "1"), (&mut analyst, "1"), (&mut other, "0")] {
        let d = browser.get("/dashboard").await.text();
        let marker = "id=\"victims-identified\">";
        let at = d.find(marker).unwrap() + marker.len();
        assert_eq!(&d[at..at + 1], expect, "{d}");
    }
}

#[tokio::test]
async fn the_readable_report_is_served_alone_under_a_strict_policy() {
    let w = world().await;
    let de = w.store.org_by_name("Agency DE").await.unwrap().id;
    let mut analyst = signed_in(&w, "analyst").await;
    let csrf = analyst.session_csrf().await;
    let built = analyst
        .post(
            "/packages/build",
            &[("csrf", &csrf), ("to", &de.0.to_string())],
        )
        .await;
    let id = package_id(built.location.as_deref().unwrap());
    let req = analyst
        .request("GET", &format!("/packages/{id}/report.html"))
        .body(Body::empty())
        .unwrap();
    let response = analyst.app.clone().oneshot(req).await.unwrap();
    let csp = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(response.headers().get("server-timing").is_some());
}

#[tokio::test]
async fn the_cluster_view_draws_shared_identifiers_within_visibility() {
    let w = world().await;
    let mut analyst = signed_in(&w, "analyst").await;
    let page = analyst
        .get(&format!("/reports/{}/cluster", w.reports[0].0))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("<svg class=\"graph\""), "{text}");
    for r in &w.reports[1..3] {
        assert!(
            text.contains(&format!("href=\"/reports/{}\"", r.0)),
            "report {} is linked",
            r.0
        );
    }
    assert!(text.contains("e-mail"));
    // The report view links to it.
    assert!(analyst
        .get(&format!("/reports/{}", w.reports[0].0))
        .await
        .text()
        .contains(&format!("/reports/{}/cluster", w.reports[0].0)));
    // Another organisation's report: 404, like a missing one.
    assert_eq!(
        analyst
            .get(&format!("/reports/{}/cluster", w.nl_report.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        analyst.get("/reports/999999/cluster").await.status,
        StatusCode::NOT_FOUND
    );
    // The German agency sees its referred reports, linked among themselves.
    let mut agent = signed_in(&w, "agent.de").await;
    let seen = agent
        .get(&format!("/reports/{}/cluster", w.reports[0].0))
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(
        agent
            .get(&format!("/reports/{}/cluster", w.reports[4].0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn known_material_pages_create_series_add_a_report_file_and_set_status() {
    let w = world().await;
    let mut specialist = signed_in(&w, "specialist").await;
    let known = specialist.get("/known").await;
    assert_eq!(known.status, StatusCode::OK);
    let csrf = specialist.session_csrf().await;
    let created = specialist
        .post(
            "/known/series",
            &[
                ("csrf", &csrf),
                ("name", "Demo series A"),
                ("status", "new"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let series_url = created.location.unwrap();
    let series_id: i64 = series_url
        .trim_start_matches("/known/series/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The report view offers the series for the file.
    let report = specialist
        .get(&format!("/reports/{}", w.reports[0].0))
        .await
        .text();
    assert!(report.contains("Demo series A") && report.contains("Add file to series"));
    let add = format!("/reports/{}/files/{}/series", w.reports[0].0, w.file_id);
    let added = specialist
        .post(&add, &[("csrf", &csrf), ("series", &series_id.to_string())])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let page = specialist
        .get(&format!("/known/series/{series_id}"))
        .await
        .text();
    let sha = Digester::digest(b"synthetic test file for series")
        .sha256
        .to_hex();
    assert!(page.contains(&sha), "the file's entry is listed: {page}");
    assert!(page.contains("add media"), "the history says so: {page}");
    let set = specialist
        .post(
            &format!("/known/series/{series_id}/status"),
            &[("csrf", &csrf), ("status", "victim_identified")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let page = specialist
        .get(&format!("/known/series/{series_id}"))
        .await
        .text();
    assert!(
        page.contains("id=\"series-status\">victim identified<"),
        "{page}"
    );
    let bad = specialist
        .post(
            &format!("/known/series/{series_id}/status"),
            &[("csrf", &csrf), ("status", "solved")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The hash set of additions is listed with its owner.
    let known = specialist.get("/known").await.text();
    assert!(known.contains("Hotline: files added to series"), "{known}");
    // A file of a report the organisation cannot see: 404; without the permission: 403.
    let foreign = format!("/reports/{}/files/{}/series", w.nl_report.0, w.file_id);
    assert_eq!(
        specialist
            .post(
                &foreign,
                &[("csrf", &csrf), ("series", &series_id.to_string())]
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut analyst = signed_in(&w, "analyst").await;
    let ac = analyst.session_csrf().await;
    assert_eq!(
        analyst
            .post(
                &format!("/known/series/{series_id}/status"),
                &[("csrf", &ac), ("status", "new")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        analyst
            .post(&add, &[("csrf", &ac), ("series", &series_id.to_string())])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Without the CSRF token: refused.
    assert_eq!(
        specialist
            .post(
                &format!("/known/series/{series_id}/status"),
                &[("status", "new")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
