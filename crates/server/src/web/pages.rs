//! What every page shares: the top bar (user, organisation, role, navigation) and the home
//! redirect.

use axum::response::Redirect;
use safeguard_domain::account::Permission;

use super::error::WebError;
use super::session::SignedIn;

/// The top bar of every signed-in page, and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct TopBar {
    pub username: String,
    pub org: String,
    pub role: String,
    pub csrf: String,
    pub show_queue: bool,
    pub show_dashboard: bool,
    /// Referrals and packages (those who send or receive them).
    pub show_packages: bool,
    /// Known material (hash sets and series).
    pub show_known: bool,
    /// Victim identification (specialists and publication reviewers).
    pub show_victim: bool,
    pub show_audit: bool,
    /// Which navigation entry is the current page.
    pub current: &'static str,
}

impl TopBar {
    pub fn new(user: &SignedIn, current: &'static str) -> Self {
        Self {
            username: user.principal.username.to_string(),
            org: user.org_name.clone(),
            role: user.principal.role.to_string(),
            csrf: user.session.csrf_token.clone(),
            show_queue: user.principal.can(Permission::ReadReports),
            show_dashboard: user.principal.can(Permission::ReadStatistics),
            show_packages: user.principal.can(Permission::ManagePackages)
                || user.principal.can(Permission::ReceivePackages),
            show_known: user.principal.can(Permission::ReadReports),
            show_victim: user.principal.can(Permission::ManageKnownMaterial)
                || user.principal.can(Permission::ApprovePublication),
            show_audit: user.principal.can(Permission::ReadAudit),
            current,
        }
    }
}

/// `/`: the queue for those who triage, the dashboard for those who only read figures.
pub async fn home(user: Result<SignedIn, WebError>) -> Result<Redirect, WebError> {
    let user = user?;
    Ok(if user.principal.can(Permission::ReadReports) {
        Redirect::to("/queue")
    } else if user.principal.can(Permission::ReadStatistics) {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/settings")
    })
}
