//! The access matrix, generated from the router itself: for every route registered in
//! `safeguard_server::routes` (API, web pages, `/ispws`, health), a real in-process request
//! signed out, and as every role in an organisation that owns the object the path names and in
//! one that does not. Each answer is compared with what the route's `access::Rule` says:
//!
//! - signed out: 401 (API, `/ispws`) or a redirect to `/login` (web), unless the rule is public;
//! - a role without the rule's permission: 403;
//! - a role with it, on another organisation's object: 404, exactly like a missing object;
//! - a role with it, on its own organisation's object: anything but 401/403/404;
//! - never a 5xx.
//!
//! A route registered with a rule that does not match its handler (the handler forgot its
//! `Authorized<P>`, the rule names the wrong permission, an object of another organisation is
//! visible) fails this test, and a route added without the registry is refused by the guard
//! (`a_route_added_without_a_rule_is_refused`). A new kind of object in a path (`Scope::Org("x")`)
//! needs one line in `World::params` below; the test fails and says so until it has one.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt;
use safeguard_domain::account::{perm, Granted, OrgKind, Role, UserId};
use safeguard_domain::digest::Digester;
use safeguard_domain::known::{HashSetPurpose, SeriesStatus};
use safeguard_domain::report::{FileRelevance, IntakeState, ReportId, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::DemoReports;
use safeguard_engine::intake::Intake;
use safeguard_engine::reports::{submit_report, Delivery};
use safeguard_server::access::{Gate, RouteRule, Scope};
use safeguard_server::web::session::{token_digest, SESSION_COOKIE};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{KnownActor, NewFile, NewHashSet, PackageState, Store, StoreOptions};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use time::OffsetDateTime;
use tower::ServiceExt;

const PASSWORD: &str = "a long matrix password";
const HOTLINE: &str = "Hotline";
const AGENCY: &str = "Agency DE";
const COMPANY: &str = "Company";
const OTHER_AGENCY: &str = "Other Agency";
const OTHER_COMPANY: &str = "Other Company";

/// What an answer amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    SignIn,
    Forbidden,
    NotFound,
    Allowed,
    ServerError,
}

fn classify(status: StatusCode, location: Option<&str>) -> Outcome {
    match status.as_u16() {
        401 => Outcome::SignIn,
        403 => Outcome::Forbidden,
        404 => Outcome::NotFound,
        // The web pages' answer to a missing or expired session (sign-out's own redirect to
        // /login is not one).
        300..=399 if location.is_some_and(|l| l.starts_with("/login?next=")) => Outcome::SignIn,
        500..=599 => Outcome::ServerError,
        _ => Outcome::Allowed,
    }
}

#[derive(Debug, Clone)]
struct User {
    name: String,
    id: UserId,
    role: Role,
    org: &'static str,
    token: String,
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
    users: Vec<User>,
    report: ReportId,
    file_id: String,
    hash_set: i64,
    series: i64,
    package: i64,
    /// The demo victim-identification data: a series, one of its media entries, a clue, a
    /// Trace-an-Object candidate, a tip and a taskforce edition of the hotline.
    victim_series: i64,
    entry: i64,
    clue: i64,
    object: i64,
    tip: i64,
    taskforce: i64,
    /// Each user's saved view.
    views: HashMap<String, i64>,
}

/// The organisations where a user of `role` can be: (own side, other side).
fn orgs_for(role: Role) -> [&'static str; 3] {
    if role == Role::Reporter {
        [COMPANY, COMPANY, OTHER_COMPANY]
    } else {
        [HOTLINE, AGENCY, OTHER_AGENCY]
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .unwrap();
    for (name, kind, country) in [
        (HOTLINE, OrgKind::Hotline, "US"),
        (AGENCY, OrgKind::Agency, "DE"),
        (COMPANY, OrgKind::Reporter, "US"),
        (OTHER_AGENCY, OrgKind::Agency, "NL"),
        (OTHER_COMPANY, OrgKind::Reporter, "US"),
    ] {
        accounts::add_org(&store, name, kind, Some(country), "test")
            .await
            .unwrap();
    }
    let mut users = Vec::new();
    for role in Role::ALL {
        let mut orgs = orgs_for(role).to_vec();
        orgs.dedup();
        for org in orgs {
            let name = format!("{}.{}", role.as_str(), org.to_lowercase().replace(' ', "-"));
            let user = accounts::add_user(&store, org, &name, role, PASSWORD, "test")
                .await
                .unwrap();
            let token = accounts::create_token(&store, &name, "matrix", "test")
                .await
                .unwrap()
                .token;
            users.push(User {
                name,
                id: user.id,
                role,
                org,
                token,
            });
        }
    }
    let org_id = |name: &str| {
        let store = store.clone();
        let name = name.to_owned();
        async move { store.org_by_name(&name).await.unwrap().id }
    };

    // A report sent by the company, held by the hotline, referred to the German agency.
    let now = OffsetDateTime::now_utc();
    let principal = accounts::authenticate_password(&store, "reporter.company", PASSWORD)
        .await
        .unwrap();
    let submitter = Granted::<perm::SubmitReports>::check(principal).unwrap();
    let (stored, _) = submit_report(
        &store,
        &submitter,
        &DemoReports::new(11, now).next_report(),
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
    let report = stored.report.id;
    let digests = Digester::digest(b"synthetic matrix file");
    let file_id = digests.sha256.to_hex()[..32].to_owned();
    store
        .attach_file(&NewFile {
            report,
            file_id: &file_id,
            digests,
            size: 21,
            original_name: Some("pattern.png"),
            media_type: Some("image/png"),
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .unwrap();
    let (hotline, agency) = (org_id(HOTLINE).await, org_id(AGENCY).await);
    store
        .insert_referral(report, hotline, agency, "matrix referral")
        .await
        .unwrap();

    // A package from the hotline to the German agency, sent.
    let (key, _) =
        safeguard_engine::packages::load_or_create_signing_key(&dir.path().join("signing.key"))
            .unwrap();
    let built = safeguard_engine::packages::build_package(
        &store,
        hotline,
        agency,
        &safeguard_engine::packages::NoOperators,
        &key,
        "test",
    )
    .await
    .unwrap();
    for next in [PackageState::Approved, PackageState::Sent] {
        safeguard_engine::packages::advance(&store, built.id, next, "test")
            .await
            .unwrap();
    }

    // Known material: the hotline's own (unshared) hash set, and a series.
    let actor = KnownActor {
        user: None,
        name: "test",
    };
    let set = store
        .create_hash_set(
            &NewHashSet {
                name: "hotline private set",
                owner_org: hotline,
                purpose: HashSetPurpose::Known,
                source: None,
                licence: None,
                category_scheme: None,
                shared: false,
            },
            actor,
        )
        .await
        .unwrap();
    let series = store
        .create_series("matrix series", SeriesStatus::New, None, hotline, actor)
        .await
        .unwrap();

    // Victim identification: the demo seed (synthetic scenes, a clue, objects, a tip, a
    // taskforce edition) run as the demo's specialist and reviewers, who are not matrix users.
    let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
    let vault =
        Arc::new(Vault::open(&dir.path().join("vault"), keys, VaultConfig::default()).unwrap());
    for (name, org, role) in [
        ("specialist", HOTLINE, Role::Specialist),
        ("reviewer", HOTLINE, Role::Reviewer),
        ("reviewer.nl", AGENCY, Role::Reviewer),
    ] {
        accounts::add_user(&store, org, name, role, PASSWORD, "test")
            .await
            .unwrap();
    }
    safeguard_engine::victim::demo::seed(&store, &vault, hotline)
        .await
        .unwrap();
    let victim_series = store
        .list_series()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == "Demo series Sunflower")
        .unwrap()
        .id;
    let entry = store.series_media(victim_series, hotline).await.unwrap()[0]
        .entry
        .0;
    let clue = store
        .search_clues(&safeguard_store::ClueFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    let object = store.list_public_objects(&[]).await.unwrap()[0].id;
    let tip = store.list_tips(None, None, 10).await.unwrap()[0].id;
    let taskforce = store.list_taskforces(hotline).await.unwrap()[0].id;

    // Every user's own saved view.
    let mut views = HashMap::new();
    for u in &users {
        store.save_view(u.id, "mine", "status=new").await.unwrap();
        let view = store.saved_views(u.id).await.unwrap();
        views.insert(u.name.clone(), view[0].id);
    }

    let intake = Arc::new(Intake::new(store.clone(), vault));
    let config = ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    };
    // A federation without peers, so the envelope endpoint answers (and refuses) as it would on
    // a federated instance rather than "not configured".
    let federation = safeguard_federation::Federation::new(
        safeguard_federation::FederationConfig {
            instance: "matrix".into(),
            org: HOTLINE.into(),
            federation_key: None,
            auto_forward: false,
            poll_ms: 500,
            peers: Vec::new(),
        },
        key.clone(),
    )
    .unwrap();
    let app = safeguard_server::router(
        AppState::new(store.clone(), config)
            .with_intake(intake)
            .with_federation(federation),
    );
    World {
        _dir: dir,
        store,
        app,
        users,
        report,
        file_id,
        hash_set: set.id.0,
        series: series.id.0,
        package: built.id,
        victim_series: victim_series.0,
        entry,
        clue,
        object,
        tip,
        taskforce,
        views,
    }
}

/// Which side of an object a case is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Own,
    Other,
}

impl World {
    /// The organisations an object kind belongs to, and the values of its path parameters.
    /// A new kind of object in a rule needs one line here.
    fn params(
        &self,
        kind: &str,
        user: &User,
    ) -> Option<(Vec<&'static str>, HashMap<&str, String>)> {
        let report = self.report.0.to_string();
        Some(match kind {
            "report" => (vec![HOTLINE, COMPANY], HashMap::from([("id", report)])),
            "report_file" => (
                vec![HOTLINE, COMPANY],
                HashMap::from([("id", report), ("file_id", self.file_id.clone())]),
            ),
            "hash_set" => (
                vec![HOTLINE],
                HashMap::from([("id", self.hash_set.to_string())]),
            ),
            "series" => (vec![], HashMap::from([("id", self.series.to_string())])),
            "package" => (
                vec![AGENCY],
                HashMap::from([("id", self.package.to_string())]),
            ),
            // Sent by the hotline (approving or sending it again is refused as a state error).
            "sent_package" => (
                vec![HOTLINE],
                HashMap::from([("id", self.package.to_string())]),
            ),
            // Shared with every specialist, as in a shared victim-identification database.
            "series_entry" => (
                vec![],
                HashMap::from([
                    ("id", self.victim_series.to_string()),
                    ("entry", self.entry.to_string()),
                ]),
            ),
            "clue" => (vec![], HashMap::from([("id", self.clue.to_string())])),
            "public_object" => (vec![], HashMap::from([("id", self.object.to_string())])),
            "tip" => (vec![], HashMap::from([("id", self.tip.to_string())])),
            // Visible to its member organisations only.
            "taskforce" => (
                vec![HOTLINE],
                HashMap::from([("id", self.taskforce.to_string())]),
            ),
            // The user's own view; the "other" side uses another organisation's user's view.
            "saved_view" => (
                vec![],
                HashMap::from([("id", self.views[&user.name].to_string())]),
            ),
            _ => return None,
        })
    }

    /// The user of `role` on `side` of an object owned by `owners`.
    fn user(&self, role: Role, side: Side, owners: &[&str]) -> Option<&User> {
        self.users.iter().find(|u| {
            u.role == role
                && match side {
                    Side::Own => owners.is_empty() || owners.contains(&u.org),
                    Side::Other => u.org.starts_with("Other"),
                }
        })
    }
}

fn fill(path: &str, params: &HashMap<&str, String>) -> Option<String> {
    let mut out = path.to_owned();
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}')? + start;
        let name = &out[start + 1..end];
        // Parameters that name no object.
        let value = match name {
            "name" if path.starts_with("/static/") => "app.css".to_owned(),
            _ => params.get(name)?.clone(),
        };
        out.replace_range(start..=end, &value);
    }
    Some(out)
}

/// A plausible body for the route, so a refusal is not a body error (and a write on an own
/// object is one that cannot destroy the fixtures for the next case).
fn body_for(rule: &RouteRule, w: &World) -> (Option<&'static str>, String) {
    let json = Some("application/json");
    match (rule.method.as_str(), rule.path) {
        ("POST", "/api/v1/packages/{id}/outcomes") => (
            json,
            format!(
                r#"{{"outcomes":[{{"report_id":{},"outcome":"no_crime"}}]}}"#,
                w.report.0
            ),
        ),
        ("PUT", "/api/v1/series/{id}/status") => (json, r#"{"status":"new"}"#.to_owned()),
        ("POST", "/api/v1/series/{id}/merge") => (json, format!(r#"{{"from":{}}}"#, w.series)),
        ("POST", "/api/v1/series/{id}/media") => (json, r#"{"entries":[]}"#.to_owned()),
        ("POST", "/api/v1/series/{id}/split") => {
            (json, r#"{"name":"matrix split","entries":[]}"#.to_owned())
        }
        ("POST", "/api/v1/series") => (json, "{}".to_owned()),
        ("POST", "/api/v1/reports/{id}/files/{file_id}/series") => {
            (json, format!(r#"{{"series":{}}}"#, w.series))
        }
        ("POST", "/api/v1/reports") => (json, "{}".to_owned()),
        _ => (None, String::new()),
    }
}

/// One request as `user` (signed out when `None`); returns the outcome and a short description.
async fn send(w: &World, rule: &RouteRule, path: &str, user: Option<&User>) -> (Outcome, String) {
    let mut builder = Request::builder().method(rule.method.clone()).uri(path);
    let (content_type, mut body) = body_for(rule, w);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(u) = user {
        match rule.rule.gate {
            Gate::Api(_) => {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", u.token));
            }
            Gate::Ispws => {
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{PASSWORD}", u.name));
                builder = builder.header(header::AUTHORIZATION, format!("Basic {basic}"));
            }
            Gate::Web(_) | Gate::WebAny(_) | Gate::WebSignedIn | Gate::Public(_) => {
                // A fresh session per request (sign-out ends one), made without the password.
                let token = format!("matrix-{}-{}", u.name, rand_suffix());
                let csrf = "matrix-csrf-token-0123456789abcdef";
                let expires = (OffsetDateTime::now_utc().unix_timestamp() + 3600) * 1_000_000;
                w.store
                    .create_session(&token_digest(&token), u.id, csrf, false, expires)
                    .await
                    .unwrap();
                builder = builder.header(header::COOKIE, format!("{SESSION_COOKIE}={token}"));
                if rule.method == Method::POST {
                    builder =
                        builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                    body = format!("csrf={csrf}");
                }
            }
        }
    }
    let response = w
        .app
        .clone()
        .oneshot(builder.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let snippet: String = String::from_utf8_lossy(&bytes).chars().take(160).collect();
    (
        classify(status, location.as_deref()),
        format!("{status} {location:?} {snippet:?}"),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the rule says `user` (signed out when `None`) on `side` gets.
fn expected(rule: &RouteRule, user: Option<&User>, side: Side) -> Outcome {
    let permission = match rule.rule.gate {
        Gate::Public(_) => return Outcome::Allowed,
        Gate::Api(p) | Gate::Web(p) => Some(p),
        Gate::WebAny(_) | Gate::WebSignedIn | Gate::Ispws => None,
    };
    let Some(user) = user else {
        return Outcome::SignIn;
    };
    if rule.rule.gate == Gate::Ispws && user.role != Role::Reporter {
        return Outcome::Forbidden;
    }
    if let Some(p) = permission {
        if !user.role.allows(p) {
            return Outcome::Forbidden;
        }
    }
    if let Gate::WebAny(any) = rule.rule.gate {
        if !any.iter().any(|p| user.role.allows(*p)) {
            return Outcome::Forbidden;
        }
    }
    match (rule.rule.scope, side) {
        (Scope::Org(_) | Scope::User(_), Side::Other) => Outcome::NotFound,
        _ => Outcome::Allowed,
    }
}

/// Whether an answer agrees with the rule. A public route may refuse a request for its own
/// reasons (the sign-in form without its CSRF cookie answers 403), but never asks to sign in and
/// never fails.
fn agrees(rule: &RouteRule, want: Outcome, got: Outcome) -> bool {
    match rule.rule.gate {
        Gate::Public(_) => !matches!(got, Outcome::SignIn | Outcome::ServerError),
        _ => want == got,
    }
}

/// Runs the whole matrix; returns the mismatches (one line each) and the number of requests.
async fn run_matrix(w: &World, rules: &[RouteRule]) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut requests = 0;
    for rule in rules {
        let kind = match rule.rule.scope {
            Scope::None => None,
            Scope::Org(k) | Scope::User(k) | Scope::Shared(k) => Some(k),
        };
        // Signed out (parameters from any user: they must not matter).
        let anyone = &w.users[0];
        let (owners, params) = match kind {
            Some(k) => match w.params(k, anyone) {
                Some(p) => p,
                None => {
                    failures.push(format!(
                        "{} {}: no fixture for object kind {k:?}: add one line to World::params",
                        rule.method, rule.path
                    ));
                    continue;
                }
            },
            None => (vec![], HashMap::new()),
        };
        let Some(path) = fill(rule.path, &params) else {
            failures.push(format!(
                "{} {}: a path parameter has no fixture value",
                rule.method, rule.path
            ));
            continue;
        };
        let (got, what) = send(w, rule, &path, None).await;
        requests += 1;
        let want = expected(rule, None, Side::Own);
        if !agrees(rule, want, got) {
            failures.push(format!(
                "{} {} signed out: expected {want:?}, got {got:?} ({what})",
                rule.method, rule.path
            ));
        }
        for role in Role::ALL {
            for side in [Side::Own, Side::Other] {
                let Some(user) = w.user(role, side, &owners) else {
                    continue;
                };
                let path = match kind {
                    Some(k) => {
                        let (_, p) = w.params(k, user).unwrap();
                        // A user-scoped object on the other side is the own-side user's.
                        let p = if side == Side::Other && matches!(rule.rule.scope, Scope::User(_))
                        {
                            let owner = w.user(role, Side::Own, &[]).unwrap();
                            w.params(k, owner).unwrap().1
                        } else {
                            p
                        };
                        fill(rule.path, &p).unwrap()
                    }
                    None => path.clone(),
                };
                let (got, what) = send(w, rule, &path, Some(user)).await;
                requests += 1;
                let want = expected(rule, Some(user), side);
                if !agrees(rule, want, got) {
                    failures.push(format!(
                        "{} {} as {} ({side:?} side): expected {want:?}, got {got:?} ({what})",
                        rule.method, rule.path, user.name
                    ));
                }
            }
        }
    }
    (failures, requests)
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_rule_says() {
    let w = world().await;
    let routes = safeguard_server::routes(&ServerConfig::default());
    let rules = routes.rules().to_vec();
    assert!(rules.len() >= 40, "the registry lists every route");
    let (failures, requests) = run_matrix(&w, &rules).await;
    let mut report = String::new();
    for f in &failures {
        writeln!(report, "  {f}").unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests differ from their route's rule:\n{report}",
        failures.len()
    );
    // Signed out, signed in as 7 roles on 2 sides: at least 8 requests per route.
    assert!(requests >= rules.len() * 8, "{requests} requests");
    eprintln!(
        "{} routes, {requests} requests, all as their rules say",
        rules.len()
    );
}

#[tokio::test]
async fn every_route_of_the_api_description_is_registered_with_a_rule() {
    let routes = safeguard_server::routes(&ServerConfig::default());
    let doc = serde_json::to_value(<safeguard_server::api::ApiDoc as utoipa::OpenApi>::openapi())
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            assert!(
                routes
                    .rules()
                    .iter()
                    .any(|r| r.path == path && r.method.as_str() == method),
                "{method} {path} is documented but has no access rule"
            );
        }
    }
}

#[tokio::test]
async fn a_rule_that_does_not_match_its_handler_fails_the_matrix() {
    // The check is not vacuous: weaken one rule (as a careless edit would) and run the matrix
    // on that route alone.
    let w = world().await;
    let routes = safeguard_server::routes(&ServerConfig::default());
    let mut rule = routes
        .rules()
        .iter()
        .find(|r| r.path == "/api/v1/reports/{id}")
        .unwrap()
        .clone();
    // The handler demands a token: a rule claiming the route public is caught…
    rule.rule.gate = Gate::Public("wrongly public");
    let (failures, _) = run_matrix(&w, std::slice::from_ref(&rule)).await;
    assert!(
        failures.iter().any(|f| f.contains("signed out")),
        "{failures:?}"
    );
    // …and so is a rule that forgets the object belongs to an organisation.
    rule.rule =
        safeguard_server::access::Rule::api(safeguard_domain::account::Permission::ReadReports)
            .shared("report");
    let (failures, _) = run_matrix(&w, std::slice::from_ref(&rule)).await;
    assert!(
        failures
            .iter()
            .any(|f| f.contains("Other side") && f.contains("got NotFound")),
        "{failures:?}"
    );
}

#[tokio::test]
async fn a_route_added_without_a_rule_is_refused() {
    let w = world().await;
    let (routes, rules) = safeguard_server::routes(&ServerConfig::default()).into_parts();
    // A route merged beside the registry, the way a hurried change might add one.
    let rogue = Router::new().route(
        "/api/v1/rogue",
        axum::routing::get(|| async { "everything, to anyone" }),
    );
    let app = safeguard_server::access::guarded(routes.merge(rogue), &rules)
        .with_state(AppState::new(w.store.clone(), ServerConfig::default()));
    let response = app
        .oneshot(
            Request::builder()
                .uri("/api/v1/rogue")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("everything"));
}
