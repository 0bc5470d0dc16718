//! "Trace an Object": the public site, served on its own listener (`--public-listen`).
//!
//! [`router`] builds a separate axum `Router<PublicState>` that holds only the public routes:
//! the gallery of approved objects, one object with its question and tip form, the object's crop
//! (only once published), the tip submission and its stylesheet. Its state has the store and the
//! rate limiter but no media source, no vault and no session machinery, and none of the internal
//! routers (`/api`, `/ispws`, the analysts' pages) is merged into it: the public listener cannot
//! reach an internal endpoint or a medium by construction. Every handler here is public on
//! purpose: no sign-in exists on this listener.
//!
//! Tips are rate-limited per address ([`ratelimit`]: in memory, keyed hash, short window) and
//! spam-filtered locally (`safeguard_domain::victim::check_tip`: honeypot, length, links,
//! duplicates); no address is stored with a tip or anywhere else.

pub mod ratelimit;

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use safeguard_domain::victim::{ObjectState, TipForm, TipRefusal};
use safeguard_engine::victim::{submit_tip, TipError};
use safeguard_store::Store;

use crate::state::ServerConfig;
use crate::web::session::same_origin;
pub use ratelimit::{RateLimit, RateLimiter};

/// Largest tip form accepted, in bytes.
const MAX_TIP_FORM: usize = 32 * 1024;

/// What the public handlers can reach: the store and the rate limiter, nothing else.
#[derive(Clone)]
pub struct PublicState {
    store: Store,
    limiter: Arc<RateLimiter>,
}

impl std::fmt::Debug for PublicState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicState").finish_non_exhaustive()
    }
}

impl PublicState {
    pub fn new(store: Store, limit: RateLimit) -> Self {
        Self {
            store,
            limiter: Arc::new(RateLimiter::new(limit)),
        }
    }

    /// The limiter (for its periodic sweep).
    pub fn limiter(&self) -> Arc<RateLimiter> {
        self.limiter.clone()
    }
}

/// The public site's routes, and nothing else (unknown paths answer 404).
pub fn router(state: PublicState, config: &ServerConfig) -> Router {
    crate::middleware::wrap(
        Router::new()
            .route("/", get(gallery))
            .route("/objects/{id}", get(object).post(tip))
            .route("/objects/{id}/image", get(image))
            .route("/public.css", get(stylesheet))
            .fallback(not_found),
        config,
    )
    .with_state(state)
}

/// Serves the public site on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: PublicState,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limiter = state.limiter();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.sweep();
        }
    });
    let app = router(state, &config).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    result
}

struct Figures {
    tips: i64,
    published: i64,
    traced: i64,
    countries: i64,
}

struct Card {
    id: i64,
    title: String,
    question: String,
    solved: bool,
    traced_country: String,
    width: u32,
    height: u32,
}

#[derive(Template)]
#[template(path = "public_gallery.html")]
struct GalleryPage {
    figures: Figures,
    open: Vec<Card>,
    solved: Vec<Card>,
}

#[derive(Template)]
#[template(path = "public_object.html")]
struct ObjectPage {
    card: Card,
    message: Option<String>,
    error: bool,
    text: String,
    country: String,
    contact: String,
}

#[derive(Template)]
#[template(path = "public_message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "public template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong").into_response()
        }
    }
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(
        status,
        &MessagePage {
            title,
            message: text,
        },
    )
}

fn failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "public site request failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again later.",
    )
}

/// Any path the public site does not have: the same answer for every internal path.
async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here. See the objects on the home page.",
    )
}

fn card(o: &safeguard_store::PublicObject) -> Card {
    Card {
        id: o.id,
        title: o.title.clone(),
        question: o.question.clone(),
        solved: o.state == ObjectState::Traced,
        traced_country: o.traced_country.clone().unwrap_or_default(),
        width: o.crop_width,
        height: o.crop_height,
    }
}

/// `GET /`: the approved objects (open ones first, then solved) and the figures. Public.
async fn gallery(State(state): State<PublicState>) -> Response {
    let objects = match state
        .store
        .list_public_objects(&[ObjectState::Published, ObjectState::Traced])
        .await
    {
        Ok(o) => o,
        Err(e) => return failure(e),
    };
    let stats = match state.store.public_statistics().await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let (solved, open): (Vec<Card>, Vec<Card>) = objects.iter().map(card).partition(|c| c.solved);
    page(
        StatusCode::OK,
        &GalleryPage {
            figures: Figures {
                tips: stats.tips_received,
                published: stats.objects_published,
                traced: stats.objects_traced,
                countries: stats.countries_identified,
            },
            open,
            solved,
        },
    )
}

/// A published or traced object; anything else is not found.
async fn public_object(
    state: &PublicState,
    id: i64,
) -> Result<safeguard_store::PublicObject, Response> {
    match state.store.public_object(id).await {
        Ok(o) if matches!(o.state, ObjectState::Published | ObjectState::Traced) => Ok(o),
        Ok(_) | Err(safeguard_store::StoreError::NotFound { .. }) => Err(not_found().await),
        Err(e) => Err(failure(e)),
    }
}

/// `GET /objects/{id}`: the object, its question and the tip form. Public.
async fn object(State(state): State<PublicState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found().await;
    };
    let o = match public_object(&state, id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    page(
        StatusCode::OK,
        &ObjectPage {
            card: card(&o),
            message: None,
            error: false,
            text: String::new(),
            country: String::new(),
            contact: String::new(),
        },
    )
}

/// `GET /objects/{id}/image`: the crop, only once published (or traced). Public.
async fn image(State(state): State<PublicState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found().await;
    };
    match state.store.public_object_crop(id).await {
        Ok(Some((ObjectState::Published | ObjectState::Traced, png))) => (
            [
                (CONTENT_TYPE, "image/png"),
                (CACHE_CONTROL, "public, max-age=300"),
            ],
            png,
        )
            .into_response(),
        Ok(_) | Err(safeguard_store::StoreError::NotFound { .. }) => not_found().await,
        Err(e) => failure(e),
    }
}

/// `POST /objects/{id}`: an anonymous tip. Public: rate-limited per address (nothing of the
/// address is stored), then checked locally for spam; the address goes nowhere else.
async fn tip(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found().await;
    };
    if !state.limiter.allow(peer.ip()) {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            "Please wait",
            "Too many tips were sent from your connection in a short time. Please wait a few minutes and try again.",
        );
    }
    if !same_origin(&headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Not accepted",
            "Tips are accepted only from this site's own form.",
        );
    }
    if body.len() > MAX_TIP_FORM {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too long",
            "The tip is too long.",
        );
    }
    let o = match public_object(&state, id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let fields = crate::web::form::FormFields::parse(&body);
    let form = TipForm {
        text: fields.get("text").unwrap_or(""),
        country: fields.get("country").unwrap_or(""),
        contact: fields.get("contact").unwrap_or(""),
        honeypot: fields.get("website").unwrap_or(""),
    };
    let again = |status: StatusCode, text: String| {
        page(
            status,
            &ObjectPage {
                card: card(&o),
                message: Some(text),
                error: true,
                text: form.text.chars().take(4_000).collect(),
                country: form.country.chars().take(80).collect(),
                contact: form.contact.chars().take(200).collect(),
            },
        )
    };
    match submit_tip(&state.store, id, &form).await {
        Ok(_) => page(
            StatusCode::OK,
            &ObjectPage {
                card: card(&o),
                message: Some(
                    "Thank you: your tip was received. Specialists read every tip.".into(),
                ),
                error: false,
                text: String::new(),
                country: String::new(),
                contact: String::new(),
            },
        ),
        Err(TipError::Refused(TipRefusal::Duplicate)) => {
            again(StatusCode::CONFLICT, TipRefusal::Duplicate.to_string())
        }
        Err(TipError::Refused(r)) => again(StatusCode::BAD_REQUEST, r.to_string()),
        Err(TipError::NotPublic) => message(
            StatusCode::GONE,
            "Solved",
            "This object no longer takes tips: it was traced or taken off the site. Thank you.",
        ),
        Err(TipError::Engine(e)) => failure(e),
    }
}

/// `GET /public.css`. Public.
async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../static/public.css"),
    )
        .into_response()
}
