//! The access registry: every route is registered together with its [`Rule`] (who may call it and
//! whose objects its path names), through [`Routes`], which has no way to add a route without
//! one. The application router is built from it, and a guard layer refuses (500, logged) any
//! matched route that reached the router without passing through the registry, so a route
//! without a rule cannot serve anything.
//!
//! The rules are not trusted either: `crates/server/tests/access_matrix.rs` walks
//! [`Routes::rules`] and sends a real request for every route × role × own/other
//! organisation × signed-out, and fails when what a handler does differs from what its rule says
//! (a handler that forgot its `Authorized<P>`, a rule naming the wrong permission, an object of
//! another organisation that answers anything but 404). See `docs/security.md`.
//!
//! Adding a route is one line: `.get(path, Rule::api(Permission::ReadReports).object("report"),
//! handler)`. A new kind of object in the path also needs one fixture line in the matrix test.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use safeguard_domain::account::Permission;

use crate::error::ApiError;
use crate::state::AppState;

/// How a caller proves who they are, and what they must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone, signed in or not; the text says why it is safe to be public.
    Public(&'static str),
    /// An API token (`Authorization: Bearer`) whose role grants the permission
    /// (`crate::auth::Authorized<P>`). Signed out: 401; without the permission: 403.
    Api(Permission),
    /// A web session whose role grants the permission (`web::session::WebCaller<P>`).
    /// Signed out: redirect to `/login`; without the permission: 403.
    Web(Permission),
    /// A web session whose role grants at least one of the permissions (pages that serve two
    /// sides, such as packages for their sender and their recipient).
    WebAny(&'static [Permission]),
    /// Any live web session, whatever the role (own settings, sign-out, the home redirect).
    WebSignedIn,
    /// HTTP Basic credentials of a reporter account (CyberTipline `/ispws`). Signed out: 401;
    /// another role: refused with the documented `reportResponse` code.
    Ispws,
}

/// Whose object the path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No object in the path; what a list shows is filtered by the caller's organisation.
    None,
    /// An object of the named kind, visible only to the organisations it belongs to, was
    /// referred to or shared with: every other organisation gets 404, as for a missing one.
    Org(&'static str),
    /// An object of the named kind that belongs to one user (saved views): anyone else gets 404.
    User(&'static str),
    /// An object of the named kind shared with every holder of the permission (series).
    Shared(&'static str),
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub gate: Gate,
    pub scope: Scope,
}

impl Rule {
    /// A public route; `why` is kept with the rule and shown in the matrix test's output.
    pub const fn public(why: &'static str) -> Self {
        Self {
            gate: Gate::Public(why),
            scope: Scope::None,
        }
    }
    pub const fn api(permission: Permission) -> Self {
        Self {
            gate: Gate::Api(permission),
            scope: Scope::None,
        }
    }
    pub const fn web(permission: Permission) -> Self {
        Self {
            gate: Gate::Web(permission),
            scope: Scope::None,
        }
    }
    pub const fn web_any(permissions: &'static [Permission]) -> Self {
        Self {
            gate: Gate::WebAny(permissions),
            scope: Scope::None,
        }
    }
    pub const fn signed_in() -> Self {
        Self {
            gate: Gate::WebSignedIn,
            scope: Scope::None,
        }
    }
    pub const fn ispws() -> Self {
        Self {
            gate: Gate::Ispws,
            scope: Scope::None,
        }
    }
    /// The path names an object of `kind` held by organisations ([`Scope::Org`]).
    pub const fn object(mut self, kind: &'static str) -> Self {
        self.scope = Scope::Org(kind);
        self
    }
    /// The path names an object of `kind` owned by one user ([`Scope::User`]).
    pub const fn own(mut self, kind: &'static str) -> Self {
        self.scope = Scope::User(kind);
        self
    }
    /// The path names an object of `kind` shared with every holder of the permission.
    pub const fn shared(mut self, kind: &'static str) -> Self {
        self.scope = Scope::Shared(kind);
        self
    }
}

/// One registered route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
}

/// A router that records the rule of every route it is given.
pub struct Routes {
    router: Router<AppState>,
    rules: Vec<RouteRule>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! method {
    ($name:ident, $method:ident, $make:path) => {
        #[doc = concat!("Registers `", stringify!($method), " path` with its rule.")]
        pub fn $name<H, T>(self, path: &'static str, rule: Rule, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(Method::$method, path, rule, $make(handler))
        }
    };
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            rules: Vec::new(),
        }
    }

    method!(get, GET, axum::routing::get);
    method!(post, POST, axum::routing::post);
    method!(put, PUT, axum::routing::put);
    method!(delete, DELETE, axum::routing::delete);

    /// Registers `method path` with its rule and a method router of its own (for a route that
    /// needs its own layers, such as a larger body limit).
    pub fn route(
        self,
        method: Method,
        path: &'static str,
        rule: Rule,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.add(method, path, rule, route)
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        rule: Rule,
        route: MethodRouter<AppState>,
    ) -> Self {
        assert!(
            !self
                .rules
                .iter()
                .any(|r| r.method == method && r.path == path),
            "{method} {path} is registered twice"
        );
        self.rules.push(RouteRule { method, path, rule });
        // axum merges method routers registered on the same path.
        self.router = self.router.route(path, route);
        self
    }

    /// Adds the routes (and rules) of `other`.
    pub fn merge(mut self, other: Routes) -> Self {
        for r in &other.rules {
            assert!(
                !self
                    .rules
                    .iter()
                    .any(|s| s.method == r.method && s.path == r.path),
                "{} {} is registered twice",
                r.method,
                r.path
            );
        }
        self.rules.extend(other.rules);
        self.router = self.router.merge(other.router);
        self
    }

    /// Applies a layer to the routes registered so far (body limits, request ids).
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as tower::Service<Request>>::Error: Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// Every registered route with its rule, in registration order.
    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The router (not yet guarded: see [`guarded`]) and the rules.
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteRule>) {
        (self.router, self.rules)
    }
}

/// Whether `(method, path)` of a matched route is registered (HEAD is served by GET routes).
pub fn registered(known: &HashSet<(Method, &'static str)>, method: &Method, path: &str) -> bool {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    known.iter().any(|(m, p)| m == method && *p == path)
}

async fn guard(known: Arc<HashSet<(Method, &'static str)>>, req: Request, next: Next) -> Response {
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        if !registered(&known, req.method(), matched.as_str()) {
            tracing::error!(
                method = %req.method(),
                path = matched.as_str(),
                "refused: this route was added without an access rule (see docs/security.md)"
            );
            return ApiError::internal().into_response();
        }
    }
    next.run(req).await
}

/// Applies the guard to a router whose routes are known by `rules` (used by the application
/// router, and by the test that shows a rogue route is refused).
pub fn guarded(router: Router<AppState>, rules: &[RouteRule]) -> Router<AppState> {
    let known: Arc<HashSet<(Method, &'static str)>> =
        Arc::new(rules.iter().map(|r| (r.method.clone(), r.path)).collect());
    router.layer(axum::middleware::from_fn(move |req, next| {
        guard(known.clone(), req, next)
    }))
}
