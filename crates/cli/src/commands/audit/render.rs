//! The report as text (stdout) and as one self-contained HTML file (`--html`); JSON is its
//! `Serialize`. All three read the same [`Report`].
//!
//! The HTML has no external assets and no script; every value is escaped, because principal
//! ARNs, user agents and parameter names in CloudTrail records are chosen by whoever made the call.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::report::Report;

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "key reads under {} from {} to {} ({})", self.prefix, self.since, self.until, self.source)?;
        if !self.legacy_parameters.is_empty() {
            writeln!(f, "also the single parameter(s): {}", self.legacy_parameters.join(", "))?;
        }
        let g = &self.gathered;
        if g.requests > 0 {
            writeln!(
                f,
                "{} LookupEvents requests ({} pages, {} throttled and retried), {} events scanned, {:.1}s",
                g.requests, g.pages, g.throttled, g.records_scanned, g.seconds
            )?;
        } else {
            writeln!(
                f,
                "{} trail files read ({} digest/Insight skipped), {} records scanned",
                g.files_read, g.files_skipped, g.records_scanned
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if self.events.is_empty() {
            return writeln!(f, "no reads found");
        }
        writeln!(f, "\nby principal:")?;
        for p in &self.principals {
            let mark = match p.expected {
                Some(false) => "  <-- UNEXPECTED",
                _ => "",
            };
            writeln!(
                f,
                "  {} : {} reads, {} failed, {} .. {}{mark}",
                p.principal, p.events, p.failures, p.first, p.last
            )?;
        }
        writeln!(f, "\nevents:")?;
        for e in &self.events {
            writeln!(
                f,
                "  {} {:<24} {:<10} {} from {} [{}]",
                e.time,
                e.action,
                e.outcome,
                e.principal,
                e.source,
                e.parameters.join(", ")
            )?;
        }
        if !self.unexpected_principals.is_empty() {
            writeln!(f, "\nUNEXPECTED principals: {}", self.unexpected_principals.join(", "))?;
        }
        Ok(())
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// Colours for the timeline, one per principal in order (unexpected ones get the warm half).
const COLOURS: [&str; 8] = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#d62728", "#ff7f0e", "#8c564b", "#e377c2"];

/// The whole report as one HTML document.
pub(crate) fn html(r: &Report) -> String {
    let mut h = String::new();
    let e = escape;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Key access audit: {}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;color:#222;background:#fff}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}}\
         th{{background:#e8eef4}}.bad{{background:#fde2e0}}.ok{{background:#e3f4e1}}code{{word-break:break-all}}\
         </style></head><body>\n",
        e(&r.prefix)
    );
    let _ = write!(h, "<h1>Key access audit</h1>\n<h2>Scope</h2>\n<table>");
    let mut row = |k: &str, v: String| {
        let _ = write!(h, "<tr><th>{}</th><td>{v}</td></tr>", e(k));
    };
    row("Parameter prefix", format!("<code>{}</code>", e(&r.prefix)));
    if !r.legacy_parameters.is_empty() {
        row("Single parameters", e(&r.legacy_parameters.join(", ")));
    }
    row("Region", e(r.region.as_deref().unwrap_or("every Region in the files")));
    row("Period", format!("{} to {}", e(&r.since), e(&r.until)));
    row("Source", e(&r.source));
    if !r.kms_keys.is_empty() {
        row("KMS keys", e(&r.kms_keys.join(", ")));
    }
    row(
        "Expected roles",
        if r.expected_roles.is_empty() { "none given".into() } else { e(&r.expected_roles.join(", ")) },
    );
    let g = &r.gathered;
    row(
        "Gathered",
        if g.requests > 0 {
            format!(
                "{} LookupEvents requests, {} pages, {} throttled and retried, {} events scanned",
                g.requests, g.pages, g.throttled, g.records_scanned
            )
        } else {
            format!(
                "{} trail files, {} digest/Insight files skipped, {} records scanned",
                g.files_read, g.files_skipped, g.records_scanned
            )
        },
    );
    h.push_str("</table>\n");
    for w in &r.warnings {
        let _ = writeln!(h, "<p class=\"bad\">Warning: {}</p>", e(w));
    }

    h.push_str("<h2>Principals</h2>\n");
    if r.principals.is_empty() {
        h.push_str("<p>No reads of the keys were found in the period.</p>\n");
    } else {
        h.push_str("<table><tr><th>Principal</th><th>Reads</th><th>Failures</th><th>First seen</th><th>Last seen</th><th>Expected</th></tr>");
        for p in &r.principals {
            let (class, label) = match p.expected {
                Some(true) => ("ok", "yes"),
                Some(false) => ("bad", "NO"),
                None => ("", "not judged"),
            };
            let _ = write!(
                h,
                "<tr class=\"{class}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{label}</td></tr>",
                e(&p.principal),
                p.events,
                p.failures,
                e(&p.first),
                e(&p.last)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>Reads per day</h2>\n");
    h.push_str(&timeline_svg(r));

    let unexpected: Vec<_> = r.events.iter().filter(|a| a.expected == Some(false)).collect();
    let _ = writeln!(h, "<h2>Unexpected reads ({})</h2>", unexpected.len());
    if unexpected.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str("<table><tr><th>Time</th><th>Action</th><th>Outcome</th><th>Principal</th><th>Type</th><th>Source</th><th>User agent</th><th>Parameters</th><th>Region</th><th>Event ID</th></tr>");
        for a in unexpected {
            let _ = write!(
                h,
                "<tr class=\"bad\"><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                e(&a.time),
                e(&a.action),
                e(&a.outcome),
                e(&a.principal),
                e(&a.principal_type),
                e(&a.source),
                e(&a.user_agent),
                e(&a.parameters.join(", ")),
                e(&a.region),
                e(&a.event_id)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// Stacked bars of reads per day, one colour per principal, with a legend.
fn timeline_svg(r: &Report) -> String {
    if r.timeline.is_empty() {
        return "<p>No reads to chart.</p>\n".to_owned();
    }
    let principals: Vec<&str> = r.principals.iter().map(|p| p.principal.as_str()).collect();
    let mut by_day: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for d in &r.timeline {
        let i = principals.iter().position(|p| *p == d.principal).unwrap_or(0);
        by_day.entry(d.day.as_str()).or_default().push((i, d.reads));
    }
    let max = by_day.values().map(|v| v.iter().map(|(_, n)| n).sum::<usize>()).max().unwrap_or(1).max(1);
    let (width, chart_h, left, top) = (900usize, 220usize, 50usize, 10usize);
    let legend_h = 20 * principals.len();
    let height = top + chart_h + 40 + legend_h;
    let slot = ((width - left - 10) / by_day.len().max(1)).max(2);
    let bar = (slot * 4 / 5).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"reads per day by principal\">\
         <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>\
         <text x=\"4\" y=\"{}\" font-size=\"11\">{max}</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>",
        top + chart_h,
        width - 5,
        top + chart_h,
        top + chart_h,
        top + 10,
        top + chart_h
    );
    for (n, (day, counts)) in by_day.iter().enumerate() {
        let x = left + 2 + n * slot;
        let mut y = top + chart_h;
        for (i, reads) in counts {
            let hgt = (reads * chart_h / max).max(1);
            y = y.saturating_sub(hgt);
            let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("#555");
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{hgt}\" fill=\"{colour}\"><title>{} {}: {reads}</title></rect>",
                escape(day),
                escape(principals.get(*i).copied().unwrap_or(""))
            );
        }
        if n == 0 || n + 1 == by_day.len() {
            let _ = write!(s, "<text x=\"{x}\" y=\"{}\" font-size=\"11\">{}</text>", top + chart_h + 15, escape(day));
        }
    }
    for (i, p) in principals.iter().enumerate() {
        let y = top + chart_h + 30 + i * 20;
        let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("#555");
        let _ = write!(
            s,
            "<rect x=\"{left}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            left + 18,
            y + 11,
            escape(p)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("arn:aws:iam::1:role/fn"), "arn:aws:iam::1:role/fn");
    }
}
