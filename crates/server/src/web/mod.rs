//! The analysts' web application: server-rendered pages (askama templates in `templates/`), a
//! stylesheet and small scripts in `static/`, all embedded in the binary.
//!
//! Every page takes a [`session::WebCaller`] of the permission it needs, so it reaches the engine
//! only with a [`safeguard_domain::account::Granted`] proof, and every POST takes a
//! [`session::CsrfForm`], so none is accepted without the session's CSRF token.

mod account;
mod audit;
mod charts;
mod dashboard;
mod error;
mod form;
pub mod media;
mod pages;
mod queue;
mod report;
pub mod session;
mod signin;
mod statics;

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
            "/static/{name}",
            Rule::public("the stylesheet and scripts embedded in the binary"),
            statics::asset,
        )
}
