//! `advise --html FILE`: one self-contained page (inline CSS and SVG; no script, font or
//! request to anything) for a FinOps reader: the fleet's totals, savings by account as a bar
//! chart, a chart per table (of those that save most) of hourly consumed units against the
//! current and the recommended capacity, and every table in a list.
//!
//! The page is well-formed XHTML-style markup (every element closed, text escaped), so a test
//! parses it.

use super::outputs::status_word;
use super::report::{AdviceReport, AdviceStatus, TableAdvice};
use crate::cost::recommend::{Advice, DimAdvice};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2933;background:#fafbfc}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;font-size:1.2rem}\
.sub{color:#616e7c}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}\
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:.8rem 1.1rem;min-width:10rem}\
.card b{display:block;font-size:1.5rem}.save b{color:#0e7c3a}\
table{border-collapse:collapse;background:#fff;font-size:.85rem}td,th{border-bottom:1px solid #e4e7eb;padding:.3rem .6rem;text-align:left}\
td.n,th.n{text-align:right}.charts{display:flex;flex-wrap:wrap;gap:1rem}\
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:.6rem}\
.chart h3{font-size:.9rem;margin:.1rem 0 .5rem}.chart svg{display:block;margin-bottom:.4rem}.legend{font-size:.75rem;color:#616e7c}\
.recommended{color:#0e7c3a}.failed{color:#b42318}";

/// HTML-escaped text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn money(v: f64, currency: &str) -> String {
    format!("{v:.2}\u{a0}{}", esc(currency))
}

/// The page.
pub fn page(report: &AdviceReport) -> String {
    let s = &report.summary;
    let cur = &report.settings.currency;
    let mut out = String::with_capacity(64 * 1024 + report.tables.len() * 400);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>ddb-fleet advice</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<h1>DynamoDB capacity advice</h1><p class=\"sub\">{} tables, {} days of {}-second CloudWatch data, {}; prices: {} ({}). Generated {} by ddb-fleet {}.</p>",
        s.tables,
        report.settings.days,
        report.settings.period,
        esc(&report.inventory.path),
        esc(cur),
        esc(&report.settings.prices_date),
        esc(&report.finished_at),
        esc(&report.tool_version)
    );
    let pct = s.saving_percent();
    let _ = write!(
        out,
        "<div class=\"cards\"><div class=\"card\">Monthly cost now<b>{}</b></div><div class=\"card\">Recommended<b>{}</b></div><div class=\"card save\">Saving<b>{}</b>{pct:.1}\u{a0}%</div><div class=\"card\">Tables to change<b>{}</b>of {}</div></div>",
        money(s.monthly_now, cur),
        money(s.monthly_recommended, cur),
        money(s.monthly_saving, cur),
        s.recommended,
        s.tables
    );
    out.push_str("<h2>Savings by account</h2>");
    out.push_str(&accounts_chart(report));
    charts(&mut out, report);
    table_list(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

/// Horizontal bars: each account's monthly cost now (grey) and recommended (green).
fn accounts_chart(report: &AdviceReport) -> String {
    let cur = &report.settings.currency;
    let accounts = &report.accounts;
    let max = accounts
        .iter()
        .fold(0.0f64, |m, a| m.max(a.monthly_now))
        .max(1e-9);
    let (w, row) = (520.0, 34.0);
    let h = row * accounts.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\" aria-label=\"monthly cost by account, now and recommended\">",
        w + 330.0
    );
    for (k, a) in accounts.iter().enumerate() {
        let y = 5.0 + k as f64 * row;
        let now = a.monthly_now / max * w;
        let rec = a.monthly_recommended / max * w;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"110\" y=\"{y}\" width=\"{now:.1}\" height=\"13\" fill=\"#cbd2d9\"/><rect x=\"110\" y=\"{}\" width=\"{rec:.1}\" height=\"13\" fill=\"#3ebd93\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#0e7c3a\">saves {}</text>",
            y + 16.0,
            esc(&a.account_id),
            y + 14.0,
            120.0 + now.max(rec),
            y + 16.0,
            money(a.monthly_saving, cur)
        );
    }
    svg.push_str(
        "</svg><p class=\"legend\">grey: monthly cost now; green: with the recommendations</p>",
    );
    svg
}

/// A chart per table that kept its hourly profile (those that save most), largest first.
fn charts(out: &mut String, report: &AdviceReport) {
    let mut charted: Vec<(&TableAdvice, &Advice)> = report
        .tables
        .iter()
        .filter_map(|t| t.advice.as_deref().map(|a| (t, a)))
        .filter(|(_, a)| a.dimensions.iter().any(|d| !d.usage.hourly.is_empty()))
        .collect();
    if charted.is_empty() {
        return;
    }
    charted.sort_by(|a, b| b.1.monthly_saving.total_cmp(&a.1.monthly_saving));
    out.push_str("<h2>Tables that save most</h2><p class=\"legend\">Per hour, over the window: consumed units per second, average (grey-blue area) and peak (thin blue line); the capacity the table has now (grey line; none when on-demand) and the recommended auto scaling's capacity as simulated (green dashes; none when the recommendation is on-demand).</p><div class=\"charts\">");
    let cur = &report.settings.currency;
    for (t, a) in charted {
        let _ = write!(
            out,
            "<div class=\"chart\"><h3>{} {} {}: saves {} a month</h3>",
            esc(&t.account_id),
            esc(&t.region),
            esc(&t.table),
            money(a.monthly_saving, cur)
        );
        for d in a.dimensions.iter().filter(|d| d.key.index.is_none()) {
            out.push_str(&dimension_chart(d, a));
        }
        let _ = write!(out, "<p class=\"legend\">{}</p></div>", esc(&a.reason));
    }
    out.push_str("</div>");
}

/// One dimension: consumed units (hourly average as an area, hourly peak as a line) against
/// the current and the recommended capacity, hour by hour, on one scale from 0.
fn dimension_chart(d: &DimAdvice, a: &Advice) -> String {
    let (w, h, left) = (380.0, 110.0, 44.0);
    let recommended = if a.recommended.mode == crate::model::BillingMode::Provisioned {
        d.provisioned_hourly.as_slice()
    } else {
        &[]
    };
    let series = [
        d.usage.hourly.as_slice(),
        d.usage.hourly_peak.as_slice(),
        d.current_hourly.as_slice(),
        recommended,
    ];
    let n = series.iter().map(|s| s.len()).max().unwrap_or(0).max(2);
    let top = series
        .iter()
        .flat_map(|s| s.iter())
        .fold(0.0f32, |m, v| m.max(*v))
        .max(1e-6);
    let point = |i: usize, v: f32| {
        (
            left + i as f64 / (n - 1) as f64 * (w - left),
            h - f64::from(v / top) * h,
        )
    };
    let path = |s: &[f32]| {
        s.iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = point(i, *v);
                format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" })
            })
            .collect::<String>()
    };
    let mut area = path(&d.usage.hourly);
    if !d.usage.hourly.is_empty() {
        let _ = write!(
            area,
            " L{:.1},{h} L{left},{h} Z",
            point(d.usage.hourly.len() - 1, 0.0).0
        );
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"{label} by the hour\"><text x=\"0\" y=\"11\" font-size=\"11\" fill=\"#323f4b\">{label}: peak {:.1}/s</text><g transform=\"translate(0,18)\"><rect x=\"{left}\" y=\"0\" width=\"{}\" height=\"{h}\" fill=\"#f5f7fa\"/><text x=\"{}\" y=\"9\" font-size=\"9\" text-anchor=\"end\" fill=\"#616e7c\">{top:.0}</text><text x=\"{}\" y=\"{h}\" font-size=\"9\" text-anchor=\"end\" fill=\"#616e7c\">0</text><path d=\"{area}\" fill=\"#9fb3c8\" fill-opacity=\"0.7\"/><path d=\"{}\" fill=\"none\" stroke=\"#2680c2\" stroke-width=\"0.8\"/><path d=\"{}\" fill=\"none\" stroke=\"#52606d\" stroke-width=\"1.6\"/><path d=\"{}\" fill=\"none\" stroke=\"#0e7c3a\" stroke-width=\"1.6\" stroke-dasharray=\"5 3\"/></g></svg>",
        h + 22.0,
        d.usage.peak_per_second,
        w - left,
        left - 4.0,
        left - 4.0,
        path(&d.usage.hourly_peak),
        path(&d.current_hourly),
        path(recommended),
        label = esc(&d.key.label()),
    )
}

/// Every table, in report order.
fn table_list(out: &mut String, report: &AdviceReport) {
    let cur = &report.settings.currency;
    out.push_str("<h2>Every table</h2><table><thead><tr><th>Account</th><th>Region</th><th>Table</th><th>Status</th><th class=\"n\">Now</th><th class=\"n\">Recommended</th><th class=\"n\">Saving</th><th>Why</th></tr></thead><tbody>");
    for t in &report.tables {
        let (now, rec) = t.monthly();
        let why = match (&t.advice, &t.error) {
            (Some(a), _) => a.reason.clone(),
            (None, Some(e)) => format!("{}: {}", e.code, e.message),
            (None, None) => t.reason.clone(),
        };
        let class = match t.status {
            AdviceStatus::Recommended => " class=\"recommended\"",
            AdviceStatus::Failed => " class=\"failed\"",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&t.account_id),
            esc(&t.region),
            esc(&t.table),
            status_word(t.status),
            money(now, cur),
            money(rec, cur),
            money(now - rec, cur),
            esc(&why)
        );
    }
    out.push_str("</tbody></table>");
}
