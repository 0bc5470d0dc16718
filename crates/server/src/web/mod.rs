//! The analysts' web application: server-rendered pages (askama templates in `templates/`), a
//! stylesheet and small scripts in `static/`, all embedded in the binary.
//!
//! Every page takes a [`session::WebCaller`] of the permission it needs, so it reaches the engine
//! only with a [`safeguard_domain::account::Granted`] proof, and every POST takes a
//! [`session::CsrfForm`], so none is accepted without the session's CSRF token.

mod account;
mod audit;
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

use safeguard_domain::account::Permission;

use crate::access::{Routes, Rule};

/// The page answered to a rate-limited browser.
pub(crate) fn too_many_page(message: String) -> axum::response::Response {
    axum::response::IntoResponse::into_response(error::WebError::TooMany(message))
}

/// The web application's routes, each with its access rule.
pub fn router() -> Routes {
    use Permission as P;
    let public_signin = Rule::public("the sign-in form; posting it needs its own CSRF cookie");
    // Package pages serve both sides: the sender's organisation and the recipient's.
    let send_or_receive = Rule::web_any(&[P::ManagePackages, P::ReceivePackages]);
    Routes::new()
        .get("/", Rule::signed_in(), pages::home)
        .get("/login", public_signin, signin::login_page)
        .post("/login", public_signin, signin::login)
        .get("/login/totp", Rule::signed_in(), signin::totp_page)
        .post("/login/totp", Rule::signed_in(), signin::totp)
        .post("/logout", Rule::signed_in(), signin::logout)
        .get("/queue", Rule::web(P::ReadReports), queue::page)
        .post("/queue/bulk", Rule::web(P::WriteReports), queue::bulk)
        .post("/queue/views", Rule::web(P::ReadReports), queue::save_view)
        .post(
            "/queue/views/{id}/delete",
            Rule::web(P::ReadReports).own("saved_view"),
            queue::delete_view,
        )
        .get(
            "/reports/{id}",
            Rule::web(P::ReadReports).object("report"),
            report::page,
        )
        .get(
            "/reports/{id}/files/{file_id}/thumbnail",
            Rule::web(P::ViewMedia).object("report_file"),
            media::thumbnail,
        )
        .post(
            "/reports/{id}/files/{file_id}/reveal",
            Rule::web(P::ViewMedia).object("report_file"),
            media::reveal,
        )
        .get("/audit", Rule::web(P::ReadAudit), audit::page)
        .get("/dashboard", Rule::web(P::ReadStatistics), dashboard::page)
        .get(
            "/dashboard.csv",
            Rule::web(P::ReadStatistics),
            dashboard::csv,
        )
        .get("/settings", Rule::signed_in(), account::page)
        .post("/settings", Rule::signed_in(), account::save_wellness)
        .get("/settings/totp", Rule::signed_in(), account::totp_page)
        .post("/settings/totp", Rule::signed_in(), account::totp_enable)
        .post(
            "/settings/totp/disable",
            Rule::signed_in(),
            account::totp_disable,
        )
        .get(
            "/reports/{id}/cluster",
            Rule::web(P::ReadReports).object("report"),
            cluster::page,
        )
        .post(
            "/reports/{id}/files/{file_id}/series",
            Rule::web(P::ManageKnownMaterial).object("report_file"),
            known::add_file,
        )
        .get("/packages", send_or_receive, packages::list)
        .post(
            "/packages/build",
            Rule::web(P::ManagePackages),
            packages::build,
        )
        .get(
            "/packages/{id}",
            send_or_receive.object("package"),
            packages::page,
        )
        .get(
            "/packages/{id}/report.html",
            send_or_receive.object("package"),
            packages::readable,
        )
        .post(
            "/packages/{id}/approve",
            Rule::web(P::ManagePackages).object("sent_package"),
            packages::approve,
        )
        .post(
            "/packages/{id}/send",
            Rule::web(P::ManagePackages).object("sent_package"),
            packages::send,
        )
        .post(
            "/packages/{id}/acknowledge",
            Rule::web(P::ReceivePackages).object("package"),
            packages::acknowledge,
        )
        .post(
            "/packages/{id}/outcomes",
            Rule::web(P::ReceivePackages).object("package"),
            packages::outcomes,
        )
        .post(
            "/referrals/forward",
            Rule::web(P::ManagePackages),
            packages::forward,
        )
        .get("/inbox", Rule::web(P::ReceivePackages), packages::inbox)
        .get("/known", Rule::web(P::ReadReports), known::page)
        .post(
            "/known/series",
            Rule::web(P::ManageKnownMaterial),
            known::create_series,
        )
        .get(
            "/known/series/{id}",
            Rule::web(P::ReadReports).shared("series"),
            known::series_page,
        )
        .post(
            "/known/series/{id}/status",
            Rule::web(P::ManageKnownMaterial).shared("series"),
            known::set_status,
        )
        .get(
            "/static/{name}",
            Rule::public("the stylesheet and scripts embedded in the binary"),
            statics::asset,
        )
        .merge(victim_routes())
}

/// Victim identification (`/victim/...`), see [`victim`]. Series, their media, clues, objects and
/// tips are shared with every specialist (as in a shared victim-identification database);
/// taskforce editions are visible to their member organisations only.
fn victim_routes() -> Routes {
    use Permission as P;
    let specialist = Rule::web(P::ManageKnownMaterial);
    // Trace-an-Object candidates: specialists cut them, reviewers approve them.
    let objects = Rule::web_any(&[P::ManageKnownMaterial, P::ApprovePublication]);
    Routes::new()
        .get("/victim", objects, victim::home)
        .get(
            "/victim/series/{id}",
            specialist.shared("series"),
            victim::series,
        )
        .get(
            "/victim/series/{id}/media/{entry}",
            specialist.shared("series_entry"),
            victim::medium,
        )
        .get(
            "/victim/series/{id}/media/{entry}/thumbnail",
            Rule::web(P::ViewMedia).shared("series_entry"),
            victim::thumbnail,
        )
        .post(
            "/victim/series/{id}/media/{entry}/reveal",
            Rule::web(P::ViewMedia).shared("series_entry"),
            victim::reveal,
        )
        .post(
            "/victim/series/{id}/media/{entry}/clues",
            specialist.shared("series_entry"),
            victim::add_clue,
        )
        .get("/victim/clues", specialist, victim::clues)
        .post(
            "/victim/clues/{id}/status",
            specialist.shared("clue"),
            victim::clue_status,
        )
        .post(
            "/victim/clues/{id}/objects",
            specialist.shared("clue"),
            victim::cut,
        )
        .get("/victim/objects", objects, victim::objects)
        .get(
            "/victim/objects/{id}/crop",
            objects.shared("public_object"),
            victim::crop,
        )
        .post(
            "/victim/objects/{id}/crop/reveal",
            objects.shared("public_object"),
            victim::crop_reveal,
        )
        .post(
            "/victim/objects/{id}/approve",
            Rule::web(P::ApprovePublication).shared("public_object"),
            victim::approve,
        )
        .post(
            "/victim/objects/{id}/traced",
            specialist.shared("public_object"),
            victim::traced,
        )
        .post(
            "/victim/objects/{id}/withdraw",
            specialist.shared("public_object"),
            victim::withdraw,
        )
        .get("/victim/tips", specialist, victim::tips)
        .post(
            "/victim/tips/{id}",
            specialist.shared("tip"),
            victim::triage_tip,
        )
        .get("/victim/taskforces", specialist, victim::taskforces)
        .post("/victim/taskforces", specialist, victim::create_taskforce)
        .get(
            "/victim/taskforces/{id}",
            specialist.object("taskforce"),
            victim::taskforce,
        )
        .post(
            "/victim/taskforces/{id}/act",
            specialist.object("taskforce"),
            victim::taskforce_act,
        )
}
