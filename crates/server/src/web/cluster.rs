//! `/reports/{id}/cluster`: a report's linked reports and shared identifiers as a graph, drawn
//! on the server as SVG with a fixed layout (the report in the middle, its identifiers on an
//! inner ring, the reports sharing them on an outer ring, each ordered by identifier), so the
//! same data always gives the same picture and no script is needed. A table beside it gives the
//! reason of every link.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use safeguard_domain::account::perm;
use safeguard_domain::linking::KeyKind;
use safeguard_domain::report::ReportId;
use safeguard_engine::cluster_view::{report_graph, ReportGraph};

use super::charts::escape;
use super::error::{render, WebError};
use super::pages::TopBar;
use super::session::WebCaller;
use crate::state::AppState;

/// Most reports drawn on the outer ring; the table lists them all.
const MAX_DRAWN_REPORTS: usize = 40;
/// Most identifiers drawn on the inner ring.
const MAX_DRAWN_IDENTIFIERS: usize = 16;

/// How a kind of identifier reads on the page.
pub(crate) fn kind_label(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Email => "e-mail",
        KeyKind::Username => "screen name",
        KeyKind::EspUser => "account id",
        KeyKind::Phone => "phone",
        KeyKind::Ip => "IP address",
        KeyKind::Device => "device",
        KeyKind::Url => "URL",
        KeyKind::Domain => "domain",
        KeyKind::Sha256 => "file SHA-256",
        KeyKind::Md5 => "file MD5",
        KeyKind::Pdq => "similar picture",
        _ => "identifier",
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn polar(cx: f64, cy: f64, rx: f64, ry: f64, i: usize, n: usize) -> (f64, f64) {
    let a = -PI / 2.0 + 2.0 * PI * i as f64 / n.max(1) as f64;
    (cx + rx * a.cos(), cy + ry * a.sin())
}

/// The graph as SVG markup (every label escaped). Deterministic for the same graph.
pub fn graph_svg(g: &ReportGraph) -> String {
    const W: f64 = 960.0;
    const H: f64 = 620.0;
    let (cx, cy) = (W / 2.0, H / 2.0);
    let linking: Vec<_> = g
        .identifiers
        .iter()
        .filter(|i| !i.too_common && !i.visible.is_empty())
        .take(MAX_DRAWN_IDENTIFIERS)
        .collect();
    // Reports in the order of their first identifier, then by id: neighbours of one identifier
    // sit together on the ring.
    let mut order: BTreeMap<ReportId, (usize, usize)> = BTreeMap::new();
    for (k, ident) in linking.iter().enumerate() {
        for r in &ident.visible {
            let e = order.entry(*r).or_insert((k, 0));
            e.1 += 1;
        }
    }
    let mut reports: Vec<(ReportId, usize, usize)> =
        order.into_iter().map(|(r, (k, n))| (r, k, n)).collect();
    reports.sort_by_key(|(r, k, _)| (*k, r.0));
    let hidden_reports = reports.len().saturating_sub(MAX_DRAWN_REPORTS);
    reports.truncate(MAX_DRAWN_REPORTS);
    let ident_pos: Vec<(f64, f64)> = (0..linking.len())
        .map(|k| polar(cx, cy, 200.0, 135.0, k, linking.len()))
        .collect();
    let report_pos: BTreeMap<ReportId, (f64, f64)> = reports
        .iter()
        .enumerate()
        .map(|(j, (r, _, _))| (*r, polar(cx, cy, 420.0, 260.0, j, reports.len())))
        .collect();
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"graph\" id=\"cluster-graph\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-labelledby=\"graph-title graph-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"graph-title\">Report #{} and the reports it shares identifiers with</title>\
         <desc id=\"graph-desc\">{} shared identifier(s) link it to {} report(s) you may see.</desc>",
        g.report.0,
        linking.len(),
        report_pos.len()
    );
    // Edges first, so nodes are drawn over them.
    for (k, ident) in linking.iter().enumerate() {
        let (x, y) = ident_pos[k];
        let _ = write!(
            s,
            "<line class=\"edge own\" x1=\"{cx:.1}\" y1=\"{cy:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\"/>"
        );
        for r in &ident.visible {
            if let Some((rx, ry)) = report_pos.get(r) {
                let _ = write!(
                    s,
                    "<line class=\"edge\" x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{rx:.1}\" y2=\"{ry:.1}\">\
                     <title>#{} shares {} {}</title></line>",
                    r.0,
                    kind_label(ident.kind),
                    escape(&ident.value)
                );
            }
        }
    }
    for (r, _, shared) in &reports {
        let (x, y) = report_pos[r];
        let class = if *shared > 1 {
            "node report strong"
        } else {
            "node report"
        };
        let _ = write!(
            s,
            "<a href=\"/reports/{id}\" class=\"{class}\"><title>Report #{id}: shares {shared} identifier(s)</title>\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"16\"/>\
             <text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">#{id}</text></a>",
            id = r.0,
            ty = y + 30.0
        );
    }
    for (k, ident) in linking.iter().enumerate() {
        let (x, y) = ident_pos[k];
        let _ = write!(
            s,
            "<g class=\"node identifier kind-{code}\"><title>{label} {value}: {n} report(s) in all</title>\
             <rect x=\"{rx:.1}\" y=\"{ry:.1}\" width=\"170\" height=\"38\" rx=\"6\"/>\
             <text x=\"{x:.1}\" y=\"{t1:.1}\" text-anchor=\"middle\" class=\"kind\">{label}</text>\
             <text x=\"{x:.1}\" y=\"{t2:.1}\" text-anchor=\"middle\">{short}</text></g>",
            code = ident.kind.code(),
            label = kind_label(ident.kind),
            value = escape(&ident.value),
            n = ident.report_count,
            short = escape(&shorten(&ident.value, 24)),
            rx = x - 85.0,
            ry = y - 19.0,
            t1 = y - 4.0,
            t2 = y + 12.0
        );
    }
    let _ = write!(
        s,
        "<g class=\"node self\"><circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"26\"/>\
         <text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">#{}</text></g>",
        g.report.0,
        ty = cy + 5.0
    );
    if hidden_reports > 0 {
        let _ = write!(
            s,
            "<text x=\"10\" y=\"{y:.1}\" class=\"note\">{hidden_reports} more report(s) in the table below</text>",
            y = H - 10.0
        );
    }
    s.push_str("</svg>");
    s
}

struct IdentRow {
    kind: &'static str,
    value: String,
    too_common: bool,
    report_count: i64,
    visible: Vec<i64>,
    not_shown: i64,
}

#[derive(Template)]
#[template(path = "cluster.html")]
struct ClusterPage {
    top: TopBar,
    id: i64,
    cluster_id: Option<i64>,
    svg: String,
    linked: usize,
    rows: Vec<IdentRow>,
}

/// `GET /reports/{id}/cluster`. A report the caller may not see is a 404.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadReports>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = ReportId(id.parse().map_err(|_| WebError::NotFound)?);
    let graph = report_graph(&state.store, &caller.granted, id).await?;
    let mut linked: Vec<ReportId> = graph
        .identifiers
        .iter()
        .filter(|i| !i.too_common)
        .flat_map(|i| i.visible.iter().copied())
        .collect();
    linked.sort_unstable();
    linked.dedup();
    let page = ClusterPage {
        top: TopBar::new(&caller.user, "queue"),
        id: id.0,
        cluster_id: graph.cluster_id,
        svg: graph_svg(&graph),
        linked: linked.len(),
        rows: graph
            .identifiers
            .iter()
            .map(|i| IdentRow {
                kind: kind_label(i.kind),
                value: i.value.clone(),
                too_common: i.too_common,
                report_count: i.report_count,
                visible: i.visible.iter().map(|r| r.0).collect(),
                not_shown: i.not_shown,
            })
            .collect(),
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeguard_engine::cluster_view::GraphIdentifier;

    fn graph() -> ReportGraph {
        ReportGraph {
            report: ReportId(7),
            cluster_id: Some(3),
            identifiers: vec![
                GraphIdentifier {
                    kind: KeyKind::Email,
                    value: "<b>x***@example.net".into(),
                    too_common: false,
                    report_count: 3,
                    visible: vec![ReportId(2), ReportId(9)],
                    not_shown: 0,
                },
                GraphIdentifier {
                    kind: KeyKind::Phone,
                    value: "+1555***".into(),
                    too_common: false,
                    report_count: 2,
                    visible: vec![ReportId(9)],
                    not_shown: 0,
                },
                GraphIdentifier {
                    kind: KeyKind::Domain,
                    value: "example.com".into(),
                    too_common: true,
                    report_count: 900,
                    visible: vec![],
                    not_shown: 0,
                },
            ],
        }
    }

    #[test]
    fn the_graph_is_deterministic_escaped_and_complete() {
        let a = graph_svg(&graph());
        assert_eq!(a, graph_svg(&graph()), "same data, same picture");
        assert!(!a.contains("<b>"), "labels are escaped");
        assert!(a.contains("&lt;b&gt;x***@example.net"));
        // Two identifiers that link are drawn; the too-common one is not.
        assert_eq!(a.matches("class=\"node identifier").count(), 2);
        assert!(!a.contains("example.com"));
        // Reports 2 and 9 each once, 9 marked as sharing two identifiers.
        assert_eq!(a.matches("href=\"/reports/9\"").count(), 1);
        assert_eq!(a.matches("href=\"/reports/2\"").count(), 1);
        assert!(a.contains("Report #9: shares 2 identifier(s)"));
        // One edge from the report to each identifier, one per identifier-report pair.
        assert_eq!(a.matches("class=\"edge own\"").count(), 2);
        assert_eq!(a.matches("class=\"edge\"").count(), 3);
        assert!(!a.contains("style="), "no inline style (CSP)");
    }

    #[test]
    fn a_report_without_links_draws_only_itself() {
        let g = ReportGraph {
            report: ReportId(1),
            cluster_id: None,
            identifiers: vec![],
        };
        let svg = graph_svg(&g);
        assert!(svg.contains("#1"));
        assert_eq!(svg.matches("<line").count(), 0);
    }
}
