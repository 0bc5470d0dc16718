//! Cross-checking and dissemination through the API: a cluster seen within visibility, a
//! package received, acknowledged and answered with outcomes, and nothing shown to an
//! organisation it was not meant for.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_domain::report::{
    IncidentType, IntakeState, NewReport, Party, PartyRole, ReportSource,
};
use safeguard_engine::{accounts, linking, packages};
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{PackageState, Store, StoreOptions, Submission};
use serde_json::{json, Value};
use time::macros::datetime;
use tower::ServiceExt;

async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(builder.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn report_with_email(email: &str) -> NewReport {
    let mut r = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-05-01 10:00 UTC),
    );
    let mut p = Party::new(PartyRole::Reported);
    p.emails.push(email.into());
    r.parties.push(p);
    r
}

#[tokio::test]
async fn a_package_travels_to_its_recipient_and_no_further() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let hotline = accounts::add_org(&store, "Hotline", OrgKind::Hotline, Some("US"), "t")
        .await
        .expect("org");
    let de = accounts::add_org(&store, "Agency DE", OrgKind::Agency, Some("DE"), "t")
        .await
        .expect("org");
    accounts::add_org(&store, "Agency NL", OrgKind::Agency, Some("NL"), "t")
        .await
        .expect("org");
    let mut tokens = Vec::new();
    for (org, user, role) in [
        ("Hotline", "analyst", Role::Analyst),
        ("Agency DE", "inv.de", Role::Investigator),
        ("Agency NL", "inv.nl", Role::Investigator),
    ] {
        accounts::add_user(&store, org, user, role, "a long test password", "t")
            .await
            .expect("user");
        tokens.push(
            accounts::create_token(&store, user, "t", "t")
                .await
                .expect("token")
                .token,
        );
    }
    let (analyst, inv_de, inv_nl) = (&tokens[0], &tokens[1], &tokens[2]);

    let mut ids = Vec::new();
    for email in [
        "shared@example.net",
        "shared@example.net",
        "other@example.org",
    ] {
        let report = report_with_email(email);
        let (stored, _) = store
            .insert_report(&Submission {
                source: ReportSource::Api,
                reporter_org: hotline.id,
                holder_org: hotline.id,
                submitted_by: None,
                actor: "t",
                state: IntakeState::Finished,
                report: &report,
                original: None,
                idempotency: None,
            })
            .await
            .expect("report");
        ids.push(stored.report.id);
    }
    for id in &ids[..2] {
        store
            .insert_referral(*id, hotline.id, de.id, "test referral")
            .await
            .expect("referral");
    }
    for id in &ids {
        linking::link_report(
            &store,
            *id,
            &linking::LinkConfig::default(),
            &mut linking::NoPdq,
        )
        .await
        .expect("link");
    }
    let router = safeguard_server::router(AppState::new(store.clone(), ServerConfig::default()));

    // The cluster: both reports sharing the address, with the reason; not the unrelated one.
    let (status, cluster) = call(
        &router,
        "GET",
        &format!("/api/v1/reports/{}/cluster", ids[1].0),
        analyst,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cluster}");
    assert_eq!(cluster["reports"], json!([ids[0].0, ids[1].0]));
    assert_eq!(cluster["links"][0]["kind"], "email", "{cluster}");
    let (status, _) = call(
        &router,
        "GET",
        &format!("/api/v1/reports/{}/cluster", ids[1].0),
        inv_nl,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "NL was referred nothing");

    // A package for Germany, approved and sent.
    let (key, _) =
        packages::load_or_create_signing_key(&dir.path().join("signing.key")).expect("key");
    let built =
        packages::build_package(&store, hotline.id, de.id, &packages::NoOperators, &key, "t")
            .await
            .expect("package");
    for next in [PackageState::Approved, PackageState::Sent] {
        packages::advance(&store, built.id, next, "t")
            .await
            .expect("advance");
    }

    let (status, inbox) = call(&router, "GET", "/api/v1/inbox", inv_de, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    assert_eq!(inbox[0]["id"], built.id);
    let (_, empty) = call(&router, "GET", "/api/v1/inbox", inv_nl, None).await;
    assert_eq!(empty, json!([]));
    let (status, package) = call(
        &router,
        "GET",
        &format!("/api/v1/packages/{}", built.id),
        inv_de,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let carried: Vec<i64> = package["manifest"]["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(
        carried,
        vec![ids[0].0, ids[1].0],
        "only the reports referred to Germany"
    );
    let (status, _) = call(
        &router,
        "GET",
        &format!("/api/v1/packages/{}", built.id),
        inv_nl,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only recipients acknowledge; outcomes only for reports the package carries.
    let ack = format!("/api/v1/packages/{}/acknowledge", built.id);
    assert_eq!(
        call(&router, "POST", &ack, analyst, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&router, "POST", &ack, inv_nl, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&router, "POST", &ack, inv_de, None).await.0,
        StatusCode::NO_CONTENT
    );
    let outcomes = format!("/api/v1/packages/{}/outcomes", built.id);
    let foreign = json!({"outcomes": [{"report_id": ids[2].0, "outcome": "arrest"}]});
    assert_eq!(
        call(&router, "POST", &outcomes, inv_de, Some(foreign))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let bad = json!({"outcomes": [{"report_id": ids[0].0, "outcome": "celebration"}]});
    assert_eq!(
        call(&router, "POST", &outcomes, inv_de, Some(bad)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let good = json!({"outcomes": [{"report_id": ids[0].0, "outcome": "arrest", "note": "demo"},
                                   {"report_id": ids[1].0, "outcome": "victim_safeguarded"}]});
    assert_eq!(
        call(&router, "POST", &outcomes, inv_de, Some(good)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, after) = call(
        &router,
        "GET",
        &format!("/api/v1/packages/{}", built.id),
        inv_de,
        None,
    )
    .await;
    assert_eq!(after["state"], "outcome_reported", "{after}");
}
