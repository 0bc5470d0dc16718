//! `/dashboard`: figures over a period for the caller's organisation, charts drawn as SVG on the
//! server, and the same figures as CSV at `/dashboard.csv`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use safeguard_domain::account::perm;
use safeguard_domain::report::IncidentType;
use safeguard_store::{Outcome, PackageStatistics, Statistics};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime, Time};

use super::charts;
use super::error::{render, WebError};
use super::pages::TopBar;
use super::queue::parse_day;
use super::session::WebCaller;
use crate::state::AppState;

/// Longest period the dashboard covers at once.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// The period asked for: `[from, to]` whole UTC days, by default the last 30 days.
fn period(p: &Period) -> Result<(Date, Date), WebError> {
    let today = OffsetDateTime::now_utc().date();
    fn pick(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let to = match pick(&p.to) {
        Some(t) => parse_day(t)?.date(),
        None => today,
    };
    let from = match pick(&p.from) {
        Some(f) => parse_day(f)?.date(),
        None => to - Duration::days(29),
    };
    if from > to {
        return Err(WebError::BadRequest(
            "the period starts after it ends".into(),
        ));
    }
    if (to - from).whole_days() > MAX_DAYS {
        return Err(WebError::BadRequest(format!(
            "choose a period of at most {MAX_DAYS} days"
        )));
    }
    Ok((from, to))
}

fn bounds(from: Date, to: Date) -> (OffsetDateTime, OffsetDateTime) {
    (
        from.with_time(Time::MIDNIGHT).assume_utc(),
        (to + Duration::days(1))
            .with_time(Time::MIDNIGHT)
            .assume_utc(),
    )
}

fn type_label(code: &str) -> String {
    IncidentType::parse(code).map_or_else(|| code.to_owned(), super::queue::short_type)
}

/// Every day of the period with its count (days without reports as 0).
fn daily(stats: &Statistics, from: Date, to: Date) -> Vec<(Date, i64)> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        let unix_day = (day
            - Date::from_calendar_date(1970, time::Month::January, 1).unwrap_or(day))
        .whole_days();
        let n = stats
            .per_day
            .iter()
            .find(|(d, _)| *d == unix_day)
            .map_or(0, |(_, n)| *n);
        out.push((day, n));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

fn hours(micros: i64) -> f64 {
    micros as f64 / 3_600_000_000.0
}

/// The median of sorted values.
fn median(sorted: &[i64]) -> Option<i64> {
    (!sorted.is_empty()).then(|| sorted[sorted.len() / 2])
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    top: TopBar,
    from: String,
    to: String,
    total: i64,
    per_day_svg: String,
    types_svg: String,
    has_types: bool,
    countries_svg: String,
    has_countries: bool,
    referred: i64,
    referred_share: String,
    median_latency: Option<String>,
    csv_href: String,
    table_types: Vec<(String, i64)>,
    table_countries: Vec<(String, i64)>,
    packages_sent: i64,
    packages_acknowledged: i64,
    median_received_to_sent: Option<String>,
    median_sent_to_acknowledged: Option<String>,
    outcomes: Vec<(String, i64)>,
    outcomes_svg: String,
    victims_identified: i64,
    arrests: i64,
}

/// Reports with `outcome` in the period.
fn outcome_count(p: &PackageStatistics, outcome: Outcome) -> i64 {
    p.outcomes
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or(0, |(_, n)| *n)
}

async fn figures(
    state: &AppState,
    caller: &WebCaller<perm::ReadStatistics>,
    p: &Period,
) -> Result<(Date, Date, Statistics, PackageStatistics), WebError> {
    let (from, to) = period(p)?;
    let (start, end) = bounds(from, to);
    let stats =
        safeguard_engine::triage::statistics(&state.store, &caller.granted, start, end).await?;
    let packages = state
        .store
        .package_statistics(caller.granted.principal().org, start, end)
        .await?;
    Ok((from, to, stats, packages))
}

/// `GET /dashboard`.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadStatistics>,
    Query(p): Query<Period>,
) -> Result<Response, WebError> {
    let (from, to, stats, packages) = figures(&state, &caller, &p).await?;
    let outcomes: Vec<(String, i64)> = packages
        .outcomes
        .iter()
        .map(|(o, n)| (super::packages::outcome_label(*o).to_owned(), *n))
        .collect();
    let day_points: Vec<(String, i64)> = daily(&stats, from, to)
        .into_iter()
        .map(|(d, n)| (format!("{:02}-{:02}", u8::from(d.month()), d.day()), n))
        .collect();
    let types: Vec<(String, i64)> = stats
        .by_incident_type
        .iter()
        .map(|c| (type_label(&c.label), c.count))
        .collect();
    let countries: Vec<(String, i64)> = stats
        .by_country
        .iter()
        .take(15)
        .map(|c| (c.label.clone(), c.count))
        .collect();
    let page = DashboardPage {
        top: TopBar::new(&caller.user, "dashboard"),
        from: from.to_string(),
        to: to.to_string(),
        total: stats.total,
        per_day_svg: charts::columns("Reports received per day", &day_points),
        types_svg: charts::bars("Reports by incident type", &types),
        has_types: !types.is_empty(),
        countries_svg: charts::bars("Reports by country named in addresses", &countries),
        has_countries: !countries.is_empty(),
        referred: stats.referred,
        referred_share: if stats.total > 0 {
            format!(
                "{:.1} %",
                100.0 * stats.referred as f64 / stats.total as f64
            )
        } else {
            "—".into()
        },
        median_latency: median(&stats.referral_latencies).map(|m| format!("{:.1} h", hours(m))),
        csv_href: format!("/dashboard.csv?from={from}&to={to}"),
        table_types: types,
        table_countries: countries,
        packages_sent: packages.sent,
        packages_acknowledged: packages.acknowledged,
        median_received_to_sent: median(&packages.received_to_sent)
            .map(|m| format!("{:.1} h", hours(m))),
        median_sent_to_acknowledged: median(&packages.sent_to_acknowledged)
            .map(|m| format!("{:.1} h", hours(m))),
        outcomes_svg: charts::bars("Reports by outcome", &outcomes),
        outcomes,
        victims_identified: outcome_count(&packages, Outcome::VictimIdentified),
        arrests: outcome_count(&packages, Outcome::Arrest),
    };
    Ok(render(&page)?.into_response())
}

fn csv_field(text: &str) -> String {
    // Quoted always; a leading formula character is neutralised for spreadsheet safety.
    let mut t = text.replace('"', "\"\"");
    if t.starts_with(['=', '+', '-', '@']) {
        t.insert(0, '\'');
    }
    format!("\"{t}\"")
}

/// `GET /dashboard.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: `section,label,value` rows.
pub async fn csv(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadStatistics>,
    Query(p): Query<Period>,
) -> Result<Response, WebError> {
    let (from, to, stats, packages) = figures(&state, &caller, &p).await?;
    let mut out = String::from("section,label,value\n");
    let mut line = |section: &str, label: &str, value: String| {
        out.push_str(&format!(
            "{},{},{}\n",
            csv_field(section),
            csv_field(label),
            value
        ));
    };
    line("period", "from", from.to_string());
    line("period", "to", to.to_string());
    line("total", "reports received", stats.total.to_string());
    for (day, n) in daily(&stats, from, to) {
        line("received per day", &day.to_string(), n.to_string());
    }
    for c in &stats.by_incident_type {
        line("incident type", &type_label(&c.label), c.count.to_string());
    }
    for c in &stats.by_country {
        line("country", &c.label, c.count.to_string());
    }
    line("referrals", "reports referred", stats.referred.to_string());
    if let Some(m) = median(&stats.referral_latencies) {
        line(
            "referrals",
            "median hours received to referred",
            format!("{:.2}", hours(m)),
        );
    }
    line("packages", "sent", packages.sent.to_string());
    line(
        "packages",
        "acknowledged",
        packages.acknowledged.to_string(),
    );
    if let Some(m) = median(&packages.received_to_sent) {
        line(
            "packages",
            "median hours received to sent",
            format!("{:.2}", hours(m)),
        );
    }
    if let Some(m) = median(&packages.sent_to_acknowledged) {
        line(
            "packages",
            "median hours sent to acknowledged",
            format!("{:.2}", hours(m)),
        );
    }
    for (o, n) in &packages.outcomes {
        line("outcome", o.code(), n.to_string());
    }
    let disposition = format!("attachment; filename=\"safeguard-statistics-{from}-{to}.csv\"");
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=SUM(A1)"), "\"'=SUM(A1)\"");
    }

    #[test]
    fn periods_are_checked() {
        let ok = period(&Period {
            from: Some("2026-01-01".into()),
            to: Some("2026-01-31".into()),
        })
        .expect("period");
        assert_eq!(ok.0.to_string(), "2026-01-01");
        assert!(period(&Period {
            from: Some("2026-02-01".into()),
            to: Some("2026-01-01".into()),
        })
        .is_err());
        assert!(period(&Period {
            from: Some("1990-01-01".into()),
            to: Some("2026-01-01".into()),
        })
        .is_err());
    }
}
