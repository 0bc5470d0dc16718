//! The package flow of the web application, each step within the caller's organisation:
//! build a package from the organisation's waiting referrals, approve it (someone other than
//! its builder: four eyes), send it, and pass on referrals an intermediary holds. The recipient's
//! side (inbox, acknowledgement, outcomes) is in [`crate::dissemination`].

use safeguard_domain::account::{perm, Granted, OrgId};
use safeguard_store::{PackageState, Referral, Store, StoredPackage};

use crate::packages::{build_package, BuiltPackage, OperatorLookup, SigningKey};
use crate::EngineError;

fn not_found(id: i64) -> EngineError {
    EngineError::NotFound {
        what: "package",
        id: id.to_string(),
    }
}

/// Builds a draft package for `to_org` from the caller's organisation's waiting referrals.
pub async fn build(
    store: &Store,
    caller: &Granted<perm::ManagePackages>,
    to_org: OrgId,
    operators: &(dyn OperatorLookup + Sync),
    key: &SigningKey,
) -> Result<BuiltPackage, EngineError> {
    let p = caller.principal();
    build_package(store, p.org, to_org, operators, key, p.username.as_str()).await
}

/// A package the caller's organisation sent (or is preparing).
pub async fn sent_package(
    store: &Store,
    org: OrgId,
    id: i64,
) -> Result<StoredPackage, EngineError> {
    let p = store.package(id).await?;
    if p.from_org != org {
        return Err(not_found(id));
    }
    Ok(p)
}

/// Who built a package (the actor of its `draft` state).
pub async fn builder(store: &Store, id: i64) -> Result<Option<String>, EngineError> {
    Ok(store
        .package_history(id)
        .await?
        .into_iter()
        .find(|(s, _, _)| *s == PackageState::Draft)
        .map(|(_, actor, _)| actor))
}

/// Approves a draft. The approver must not be the builder (four eyes).
pub async fn approve(
    store: &Store,
    caller: &Granted<perm::ManagePackages>,
    id: i64,
) -> Result<(), EngineError> {
    let p = caller.principal();
    let package = sent_package(store, p.org, id).await?;
    if package.state != PackageState::Draft {
        return Err(EngineError::Conflict(format!(
            "the package is {}, not a draft",
            package.state.code()
        )));
    }
    if builder(store, id).await?.as_deref() == Some(p.username.as_str()) {
        return Err(EngineError::Conflict(
            "four eyes: a package is approved by someone other than the person who built it".into(),
        ));
    }
    Ok(store
        .set_package_state(id, PackageState::Approved, p.username.as_str())
        .await?)
}

/// Sends an approved package: the recipient sees it in its inbox from now on.
pub async fn send(
    store: &Store,
    caller: &Granted<perm::ManagePackages>,
    id: i64,
) -> Result<(), EngineError> {
    let p = caller.principal();
    let package = sent_package(store, p.org, id).await?;
    if package.state != PackageState::Approved {
        return Err(EngineError::Conflict(format!(
            "only an approved package is sent; this one is {}",
            package.state.code()
        )));
    }
    store
        .set_package_state(id, PackageState::Sent, p.username.as_str())
        .await?;
    store.set_package_referral_status(id, "sent").await?;
    Ok(())
}

/// The organisations a held referral goes on to (by name), from its routes. Empty when the
/// holder is the last stop.
pub fn onward(referral: &Referral, holder: &str) -> Vec<String> {
    let mut next: Vec<String> = referral
        .route
        .iter()
        .filter(|r| r.path.len() >= 2 && r.path[0] == holder)
        .map(|r| r.path[1].clone())
        .collect();
    next.sort();
    next.dedup();
    next
}

/// Passes a referral the caller's organisation holds to the next organisation(s) on its routes.
/// Returns how many onward referrals were made.
pub async fn forward(
    store: &Store,
    caller: &Granted<perm::ManagePackages>,
    referral_id: i64,
) -> Result<usize, EngineError> {
    let org = caller.principal().org;
    let referral = store.referral(referral_id).await?;
    if referral.to_org != org {
        return Err(EngineError::NotFound {
            what: "referral",
            id: referral_id.to_string(),
        });
    }
    if referral.status != "pending" {
        return Err(EngineError::Conflict(format!(
            "the referral is {}, not pending",
            referral.status
        )));
    }
    let holder = store.org(org).await?.name.to_string();
    let next = onward(&referral, &holder);
    if next.is_empty() {
        return Err(EngineError::Conflict(
            "this referral ends here: there is nobody to pass it on to".into(),
        ));
    }
    for name in &next {
        let to = store.org_by_name(name).await?;
        let routes: Vec<_> = referral
            .route
            .iter()
            .filter(|r| r.path.len() >= 2 && r.path[0] == holder && r.path[1] == *name)
            .map(|r| safeguard_domain::routing::RoutedCountry {
                path: r.path[1..].to_vec(),
                ..r.clone()
            })
            .collect();
        store
            .forward_referral(
                referral.id,
                to.id,
                &routes,
                &format!("forwarded by {holder}"),
            )
            .await?;
    }
    Ok(next.len())
}
