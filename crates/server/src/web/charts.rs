//! Charts drawn on the server as SVG, so the dashboard needs no script and no chart library.
//! Labels are escaped here: the SVG is inserted into the page as markup.

use std::fmt::Write as _;

/// Escapes text for XML/HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A column chart (one column per label, e.g. per day). `title` is read by screen readers.
pub fn columns(title: &str, points: &[(String, i64)]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 30.0;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let n = points.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    );
    let plot = H - BOTTOM - 10.0;
    for tick in [0, max / 2, max] {
        let y = H - BOTTOM - plot * tick as f64 / max as f64;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{W}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{tick}</text>",
            x = LEFT - 6.0,
            ty = y + 4.0
        );
    }
    let label_every = (points.len() / 8).max(1);
    for (i, (label, value)) in points.iter().enumerate() {
        let h = plot * *value as f64 / max as f64;
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = H - BOTTOM - h;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\"><title>{l}: {value}</title></rect>",
            l = escape(label)
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{l}</text>",
                cx = x + bar / 2.0,
                ly = H - 10.0,
                l = escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart with one labelled horizontal bar per item, largest first as given.
pub fn bars(title: &str, items: &[(String, i64)]) -> String {
    const W: f64 = 560.0;
    const ROW: f64 = 26.0;
    const LABEL: f64 = 260.0;
    const LABEL_CHARS: usize = 34;
    let h = ROW * items.len().max(1) as f64 + 8.0;
    let max = items.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    );
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = (W - LABEL - 60.0) * *value as f64 / max as f64;
        // Long labels are shortened on the chart; the bar's tooltip keeps the whole label.
        let shown = if label.chars().count() > LABEL_CHARS {
            let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
            cut.push('…');
            cut
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            "<text class=\"label\" x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{s}</text>\
             <rect class=\"bar\" x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bh:.1}\"><title>{l}: {value}</title></rect>\
             <text class=\"value\" x=\"{vx:.1}\" y=\"{ty:.1}\">{value}</text>",
            lx = LABEL - 8.0,
            ty = y + ROW * 0.6,
            bh = ROW - 8.0,
            vx = LABEL + w + 6.0,
            l = escape(label),
            s = escape(&shown)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let svg = bars("Types", &[("<script>".into(), 10), ("b & c".into(), 5)]);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("b &amp; c"));
        assert!(svg.contains("width=\"240.0\"") && svg.contains("width=\"120.0\""));
        let long = bars("T", &[("x".repeat(50), 1)]);
        assert!(long.contains(&format!("{}…<", "x".repeat(33))));
        assert!(long.contains(&format!("{}: 1", "x".repeat(50))));
        let cols = columns("Per day", &[("d1".into(), 0), ("d2".into(), 4)]);
        assert_eq!(cols.matches("<rect").count(), 2);
        assert!(columns("Empty", &[]).starts_with("<svg"));
    }
}
