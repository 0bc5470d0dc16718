//! Maps drawn on the server as SVG from bundled Natural Earth country outlines (public domain,
//! `data/admin0-110m.txt`), so GPS positions can be shown without any tile server. Equirectangular
//! projection; the view zooms to the points shown (with a margin), or the whole world.

use std::fmt::Write as _;
use std::sync::OnceLock;

const OUTLINES: &str = include_str!("../../data/admin0-110m.txt");

/// The outline of every country as one SVG path in degrees (x = longitude, y = −latitude).
fn world_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let mut d = String::new();
        for line in OUTLINES.lines().filter(|l| !l.starts_with('#')) {
            let Some(polys) = line.splitn(3, '\t').nth(2) else {
                continue;
            };
            for ring in polys.split(['|', ';']) {
                let mut last_lon: Option<f64> = None;
                for point in ring.split(' ') {
                    let Some((lon, lat)) = point.split_once(',') else {
                        continue;
                    };
                    let (Ok(lon), Ok(lat)) = (lon.parse::<f64>(), lat.parse::<f64>()) else {
                        continue;
                    };
                    // A ring crossing the antimeridian starts a new sub-path instead of
                    // drawing a line across the whole map.
                    let jump = last_lon.is_none_or(|l| (l - lon).abs() > 180.0);
                    let _ = write!(d, "{}{lon:.1} {:.1}", if jump { "M" } else { "L" }, -lat);
                    last_lon = Some(lon);
                }
                if last_lon.is_some() {
                    d.push('Z');
                }
            }
        }
        d
    })
}

/// A position to mark, with its label (escaped here).
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG map with the points, zoomed to them.
pub fn svg(points: &[MapPoint], title: &str) -> String {
    let valid: Vec<&MapPoint> = points
        .iter()
        .filter(|p| {
            p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0
        })
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (-180.0f64, -85.0f64, 180.0f64, 60.0f64);
    if !valid.is_empty() {
        let lons = valid.iter().map(|p| p.lon);
        let lats = valid.iter().map(|p| -p.lat);
        let (lo_x, hi_x) = lons.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (lo_y, hi_y) = lats.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (cx, cy) = ((lo_x + hi_x) / 2.0, (lo_y + hi_y) / 2.0);
        let half_w = ((hi_x - lo_x) / 2.0 + 6.0).max(12.0);
        let half_h = half_w / 2.0;
        x0 = cx - half_w;
        x1 = cx + half_w;
        y0 = cy - half_h;
        y1 = cy + half_h;
    }
    let r = (x1 - x0) / 120.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{x0:.2} {y0:.2} {:.2} {:.2}\" role=\"img\" aria-label=\"{}\">\
         <title>{}</title><rect x=\"-180\" y=\"-90\" width=\"360\" height=\"180\" fill=\"#dbe9f4\"/>\
         <path d=\"{}\" fill=\"#f4f1e8\" stroke=\"#8a8a8a\" stroke-width=\"{:.3}\" fill-rule=\"evenodd\"/>",
        x1 - x0,
        y1 - y0,
        escape(title),
        escape(title),
        world_path(),
        r / 4.0
    );
    for (i, p) in valid.iter().enumerate() {
        let _ = write!(
            s,
            "<circle class=\"map-point\" cx=\"{:.4}\" cy=\"{:.4}\" r=\"{r:.3}\" fill=\"#c0392b\" stroke=\"#fff\" stroke-width=\"{:.3}\"><title>{}. {}</title></circle>",
            p.lon,
            -p.lat,
            r / 3.0,
            i + 1,
            escape(&p.label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_outlines_parse_and_points_are_drawn_escaped() {
        assert!(OUTLINES.lines().filter(|l| !l.starts_with('#')).count() > 150);
        assert!(world_path().len() > 50_000);
        let map = svg(
            &[
                MapPoint {
                    lat: 52.1,
                    lon: 5.1,
                    label: "a <b>".into(),
                },
                MapPoint {
                    lat: f64::NAN,
                    lon: 0.0,
                    label: "bad".into(),
                },
            ],
            "Positions",
        );
        assert_eq!(
            map.matches("<circle").count(),
            1,
            "the NaN point is dropped"
        );
        assert!(map.contains("a &lt;b&gt;"));
        assert!(!map.contains("<b>"));
        assert!(map.contains("cx=\"5.1000\" cy=\"-52.1000\""));
        // Zoomed to the point: the view is centred on it.
        assert!(
            map.contains("viewBox=\"-6.90 -58.10 24.00 12.00\""),
            "{}",
            &map[..200]
        );
        assert!(svg(&[], "World").contains("viewBox=\"-180.00 -85.00 360.00 145.00\""));
    }
}
