//! The analysts' web application: server-rendered pages (askama templates in `templates/`), a
//! stylesheet and small scripts in `static/`, all embedded in the binary.
//!
//! Every page takes a [`session::WebCaller`] of the permission it needs, so it reaches the engine
//! only with a [`safeguard_domain::account::Granted`] proof, and every POST takes a
//! [`session::CsrfForm`], so none is accepted without the session's CSRF token.

mod account;
mod charts;
mod cluster;
mod dashboard;
mod error;
pub(crate) mod form;
mod known;
mod map;
pub mod media;
mod packages;
mod pages;
mod queue;
mod report;
pub mod session;
mod signin;
mod statics;
mod victim;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The web application's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(signin::login_page).post(signin::login))
        .route("/login/totp", get(signin::totp_page).post(signin::totp))
        .route("/logout", post(signin::logout))
        .route("/queue", get(queue::page))
        .route("/queue/bulk", post(queue::bulk))
        .route("/queue/views", post(queue::save_view))
        .route("/queue/views/{id}/delete", post(queue::delete_view))
        .route("/reports/{id}", get(report::page))
        .route("/reports/{id}/cluster", get(cluster::page))
        .route(
            "/reports/{id}/files/{file_id}/thumbnail",
            get(media::thumbnail),
        )
        .route("/reports/{id}/files/{file_id}/reveal", post(media::reveal))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.csv", get(dashboard::csv))
        .route("/settings", get(account::page).post(account::save_wellness))
        .route(
            "/settings/totp",
            get(account::totp_page).post(account::totp_enable),
        )
        .route("/settings/totp/disable", post(account::totp_disable))
        .route("/packages", get(packages::list))
        .route("/packages/build", post(packages::build))
        .route("/packages/{id}", get(packages::page))
        .route("/packages/{id}/report.html", get(packages::readable))
        .route("/packages/{id}/approve", post(packages::approve))
        .route("/packages/{id}/send", post(packages::send))
        .route("/packages/{id}/acknowledge", post(packages::acknowledge))
        .route("/packages/{id}/outcomes", post(packages::outcomes))
        .route("/referrals/forward", post(packages::forward))
        .route("/inbox", get(packages::inbox))
        .route("/known", get(known::page))
        .route("/known/series", post(known::create_series))
        .route("/known/series/{id}", get(known::series_page))
        .route("/known/series/{id}/status", post(known::set_status))
        .route(
            "/reports/{id}/files/{file_id}/series",
            post(known::add_file),
        )
        .route("/static/{name}", get(statics::asset))
        .merge(victim_routes())
}

/// Victim identification (`/victim/...`), see [`victim`].
fn victim_routes() -> Router<AppState> {
    Router::new()
        .route("/victim", get(victim::home))
        .route("/victim/series/{id}", get(victim::series))
        .route("/victim/series/{id}/media/{entry}", get(victim::medium))
        .route(
            "/victim/series/{id}/media/{entry}/thumbnail",
            get(victim::thumbnail),
        )
        .route(
            "/victim/series/{id}/media/{entry}/reveal",
            post(victim::reveal),
        )
        .route(
            "/victim/series/{id}/media/{entry}/clues",
            post(victim::add_clue),
        )
        .route("/victim/clues", get(victim::clues))
        .route("/victim/clues/{id}/status", post(victim::clue_status))
        .route("/victim/clues/{id}/objects", post(victim::cut))
        .route("/victim/objects", get(victim::objects))
        .route("/victim/objects/{id}/crop", get(victim::crop))
        .route(
            "/victim/objects/{id}/crop/reveal",
            post(victim::crop_reveal),
        )
        .route("/victim/objects/{id}/approve", post(victim::approve))
        .route("/victim/objects/{id}/traced", post(victim::traced))
        .route("/victim/objects/{id}/withdraw", post(victim::withdraw))
        .route("/victim/tips", get(victim::tips))
        .route("/victim/tips/{id}", post(victim::triage_tip))
        .route(
            "/victim/taskforces",
            get(victim::taskforces).post(victim::create_taskforce),
        )
        .route("/victim/taskforces/{id}", get(victim::taskforce))
        .route("/victim/taskforces/{id}/act", post(victim::taskforce_act))
}
