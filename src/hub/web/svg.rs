//! Charts as inline SVG: drawn by the server, no script, no fonts or images
//! fetched, printable. Colours come from the page's stylesheet (classes
//! `bar`, `s0`…), sizes from the `viewBox`, so a chart scales to a phone.
//! Every label passes through `escape`; a `<title>` on each mark gives the
//! exact figure on hover.

use super::html::escape;
use std::fmt::Write;

/// One horizontal bar per item, 0..=`max`; `None` draws an empty track with
/// `missing` as its text.
pub fn hbars(caption: &str, items: &[(String, Option<f64>, String)], max: f64, missing: &str) -> String {
    let (w, label_w, row) = (560.0, 110.0, 30.0);
    let h = row * items.len() as f64 + 6.0;
    let bar_w = w - label_w - 60.0;
    let mut s = svg_open(w, h, caption);
    for (i, (label, value, shown)) in items.iter().enumerate() {
        let y = 3.0 + row * i as f64;
        let _ = write!(
            s,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect class="track" x="{label_w}" y="{:.1}" width="{bar_w:.1}" height="20"/>"#,
            label_w - 8.0,
            y + 19.0,
            escape(label),
            y + 4.0,
        );
        match value {
            Some(v) => {
                let len = (v / max).clamp(0.0, 1.0) * bar_w;
                let _ = write!(
                    s,
                    r#"<rect class="bar" x="{label_w}" y="{:.1}" width="{len:.1}" height="20"><title>{}: {}</title></rect><text class="val" x="{:.1}" y="{:.1}">{}</text>"#,
                    y + 4.0,
                    escape(label),
                    escape(shown),
                    label_w + bar_w + 8.0,
                    y + 19.0,
                    escape(shown),
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                    label_w + 8.0,
                    y + 19.0,
                    escape(missing)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// Lines over months on a 0..=100 scale; a `None` breaks its line.
/// `series` is (name, values), drawn with classes `s0`, `s1`, `s2`.
pub fn lines(caption: &str, labels: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let (w, h) = (560.0, 230.0);
    let (left, right, top, bottom) = (36.0, 30.0, 12.0, 28.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let n = labels.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - (v / 100.0).clamp(0.0, 1.0));
    let mut s = svg_open(w, h, caption);
    for tick in [0.0, 50.0, 100.0] {
        let _ = write!(
            s,
            r#"<line class="axis" x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.0}</text>"#,
            w - right,
            y(tick),
            y(tick),
            left - 4.0,
            y(tick) + 4.0,
        );
    }
    for (i, label) in labels.iter().enumerate() {
        if (n - 1 - i) % every(n, 8) == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                h - 6.0,
                escape(label)
            );
        }
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let class = format!("s{}", k % 3);
        // One polyline per unbroken run.
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, s: &mut String| {
            if run.len() > 1 {
                let _ = write!(s, r#"<polyline class="{class}" points="{}"/>"#, run.join(" "));
            }
            run.clear();
        };
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    run.push(format!("{:.1},{:.1}", x(i), y(*v)));
                    let _ = write!(
                        s,
                        r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="3"><title>{} {}: {v:.1}</title></circle>"#,
                        x(i),
                        y(*v),
                        escape(labels.get(i).map_or("", String::as_str)),
                        escape(name),
                    );
                }
                None => flush(&mut run, &mut s),
            }
        }
        flush(&mut run, &mut s);
    }
    s.push_str("</svg>");
    s
}

/// Vertical bars of counts, one per label.
pub fn columns(caption: &str, labels: &[String], values: &[u64]) -> String {
    let (w, h) = (560.0, 210.0);
    let (left, right, top, bottom) = (40.0, 8.0, 18.0, 28.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let n = values.len().max(1);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut s = svg_open(w, h, caption);
    let base = top + plot_h;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" x2="{:.1}" y1="{base:.1}" y2="{base:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{max:.0}</text><text x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        w - right,
        left - 4.0,
        top + 4.0,
        left - 4.0,
        base + 4.0,
    );
    let step = every(n, 8);
    for (i, v) in values.iter().enumerate() {
        let len = *v as f64 / max * plot_h;
        let cx = left + slot * i as f64 + slot / 2.0;
        let label = labels.get(i).map_or("", String::as_str);
        let _ = write!(
            s,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{bar:.1}" height="{len:.1}"><title>{}: {v}</title></rect>"#,
            cx - bar / 2.0,
            base - len,
            escape(label),
        );
        if n <= 14 && *v > 0 {
            let _ = write!(
                s,
                r#"<text class="val" x="{cx:.1}" y="{:.1}" text-anchor="middle">{v}</text>"#,
                base - len - 3.0
            );
        }
        if (n - 1 - i) % step == 0 {
            let _ = write!(
                s,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                h - 6.0,
                escape(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Label every k-th of `n` (counted back from the last, the period shown)
/// so that at most `fit` labels show.
fn every(n: usize, fit: usize) -> usize {
    n.div_ceil(fit).max(1)
}

fn svg_open(w: f64, h: f64, caption: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" role="img" aria-label="{}">"#,
        escape(caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_scale_to_their_box() {
        let s = hbars(
            "c",
            &[
                ("<a>".into(), Some(50.0), "50".into()),
                ("b".into(), None, String::new()),
            ],
            100.0,
            "n/a",
        );
        assert!(s.contains("&lt;a&gt;") && !s.contains("<a>"), "{s}");
        assert!(s.contains(r#"width="195.0""#), "half of the 390-wide track: {s}");
        assert!(s.contains("n/a"));
        let l = lines(
            "t",
            &["2026-01".into(), "2026-02".into(), "2026-03".into()],
            &[("score".into(), vec![Some(0.0), None, Some(100.0)])],
        );
        // The gap leaves two single points and no line.
        assert!(!l.contains("<polyline"), "{l}");
        assert_eq!(l.matches("<circle").count(), 2);
        let c = columns("w", &["a".into(), "b".into()], &[0, 4]);
        assert_eq!(c.matches(r#"<rect class="bar""#).count(), 2);
        assert!(c.contains(r#"height="164.0""#), "the largest bar fills the plot: {c}");
    }
}
