//! `advise --html FILE`: one self-contained page (inline CSS, SVG and one small script; no
//! font, image or request to anything) for a FinOps reader: the fleet's totals over the
//! analysis window, savings by account as a bar chart, a chart per table (of those that save
//! most) of hourly consumed units against the current and the recommended capacity, and every
//! table in a list.
//!
//! - [`page`] puts the parts together; `charts` draws each table's dimensions on a UTC date
//!   axis under one `legend` whose swatches use the charts' own colours;
//! - the list (`table_list`) is plain HTML, so the page reads fully without JavaScript;
//!   `SCRIPT` only adds sorting (click or Enter on a column header) and filtering (a text box
//!   it unhides), reads `#filter=WORDS` and `#sort=COLUMN` (`-COLUMN` descending) from the
//!   link, and marks `<body>` with `data-table-script="ready"` once set up, which a headless
//!   browser's DOM dump shows (`scripts/pictures.sh` checks it).
//!
//! Dates: the report keeps no window end, but `advise` ends its window at the moment the run
//! starts rounded down to the CloudWatch period, so `window_end` recovers it from
//! `started_at` (at worst one period late) and a table's chart starts `days_of_data` before it.
//!
//! Throttling: each chart's title gives what CloudWatch counted of the dimension's throttled
//! requests (how many, first and last period), the list's "Why" says it, and a card counts the
//! tables that throttled. The charts shade the hours whose peak went over the current capacity
//! (its hourly average), about when the current setting throttles: `over_capacity_hours` is the
//! one place that decides the shaded hours.
//!
//! Accounts are shown by name and id where the run read the organisation (`account`), else
//! by id; the savings chart names them, with the id and OU path on hover.
//!
//! The page is well-formed XHTML-style markup (every element closed, text escaped, and the
//! script free of `<`, `>` and `&`, so it needs no CDATA section), so tests parse it.

use super::outputs::{status_word, why};
use super::report::{AccountTotals, AdviceReport, AdviceStatus, TableAdvice};
use crate::cost::recommend::{Advice, DimAdvice};
use aws_smithy_types::date_time::{DateTime, Format};
use std::fmt::Write;
use std::ops::Range;

#[cfg(test)]
mod tests;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2933;background:#fafbfc}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;font-size:1.2rem}\
.sub{color:#616e7c}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}\
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:.8rem 1.1rem;min-width:10rem}\
.card b{display:block;font-size:1.5rem}.save b{color:#0e7c3a}\
table{border-collapse:collapse;background:#fff;font-size:.85rem}td,th{border-bottom:1px solid #e4e7eb;padding:.3rem .6rem;text-align:left}\
td.n,th.n{text-align:right}.charts{display:flex;flex-wrap:wrap;gap:1rem}\
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:.6rem}\
.chart h3{font-size:.9rem;margin:.1rem 0 .5rem}.chart svg{display:block;margin-bottom:.4rem}.legend{font-size:.75rem;color:#616e7c}\
.keys{position:sticky;top:0;z-index:1;background:#fafbfc;padding:.5rem 0;font-size:.8rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}\
.key{display:inline-flex;align-items:center;gap:.35rem}\
.filter input{font:inherit;padding:.25rem .5rem;min-width:22rem}#shown{color:#616e7c;margin-left:.6rem}\
th[aria-sort]{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}\
.recommended{color:#0e7c3a}.failed{color:#b42318}";

/// How each series is drawn (SVG attributes): the charts and the legend both use these, so a
/// swatch is always its line's colour.
const AVERAGE_STYLE: &str = "fill=\"#9fb3c8\" fill-opacity=\"0.7\"";
const PEAK_STYLE: &str = "fill=\"none\" stroke=\"#2680c2\" stroke-width=\"0.8\"";
const CURRENT_STYLE: &str = "fill=\"none\" stroke=\"#52606d\" stroke-width=\"1.6\"";
const RECOMMENDED_STYLE: &str =
    "fill=\"none\" stroke=\"#0e7c3a\" stroke-width=\"1.6\" stroke-dasharray=\"5 3\"";
const OVER_STYLE: &str = "fill=\"#e12d39\" fill-opacity=\"0.18\"";

/// Dates labelled on a chart's time axis, at most.
const MAX_TICKS: i64 = 5;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Sorting and filtering for the list of every table (`id="tables"`). It holds no `<`, `>` or
/// `&` (a test checks), so the page stays well-formed markup without a CDATA section.
const SCRIPT: &str = r#"(function () {
  var list = document.getElementById('tables');
  if (!list) { return; }
  var body = list.tBodies[0];
  var heads = Array.prototype.slice.call(list.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(body.rows);
  var box = document.getElementById('filter');
  var shown = document.getElementById('shown');
  rows.forEach(function (r) {
    var cells = Array.prototype.map.call(r.cells, function (c) { return c.textContent; });
    r.searchText = cells.join(' ').toLowerCase();
  });
  function key(row, col) {
    var cell = row.cells[col];
    var v = cell.getAttribute('data-v');
    return v === null ? cell.textContent.toLowerCase() : parseFloat(v);
  }
  function sortBy(col, descending) {
    heads.forEach(function (th, k) {
      th.setAttribute('aria-sort', k === col ? (descending ? 'descending' : 'ascending') : 'none');
    });
    rows.sort(function (a, b) {
      var x = key(a, col), y = key(b, col);
      var c = typeof x === 'number' ? x - y : x.localeCompare(y);
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function filter() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (r) {
      r.hidden = !words.every(function (w) { return r.searchText.indexOf(w) !== -1; });
      n += r.hidden ? 0 : 1;
    });
    shown.textContent = n + ' of ' + rows.length + ' tables shown';
  }
  heads.forEach(function (th, col) {
    th.tabIndex = 0;
    th.title = 'Sort by ' + th.textContent.toLowerCase();
    th.setAttribute('aria-sort', 'none');
    function toggle() {
      var now = th.getAttribute('aria-sort');
      sortBy(col, now === 'none' ? th.classList.contains('n') : now === 'ascending');
    }
    th.addEventListener('click', toggle);
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); }
    });
  });
  box.addEventListener('input', filter);
  var asked = new URLSearchParams(location.hash.slice(1));
  box.value = asked.get('filter') || '';
  var by = (asked.get('sort') || '').toLowerCase();
  var names = heads.map(function (th) { return th.textContent.toLowerCase(); });
  var col = names.indexOf(by.replace(/^-/, ''));
  if (col !== -1) { sortBy(col, by.charAt(0) === '-'); }
  filter();
  document.getElementById('filter-row').hidden = false;
  document.body.setAttribute('data-table-script', 'ready');
})();"#;

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

/// An account as the page names it: `name (id)` where the organisation was read, else its
/// id; escaped.
fn account(report: &AdviceReport, id: &str) -> String {
    match report.organization.as_ref().and_then(|o| o.name_of(id)) {
        Some(name) => format!("{} ({})", esc(name), esc(id)),
        None => esc(id),
    }
}

/// An account's label in the savings chart: its name (else its id), with its id and OU path
/// as the label's title.
fn chart_label(a: &AccountTotals) -> String {
    match &a.name {
        Some(name) => format!(
            "<title>{} {}</title>{}",
            esc(&a.account_id),
            esc(a.ou_path.as_deref().unwrap_or_default()),
            esc(name)
        ),
        None => esc(&a.account_id),
    }
}

/// The page.
pub fn page(report: &AdviceReport) -> String {
    let mut out = String::with_capacity(64 * 1024 + report.tables.len() * 500);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>ddb-fleet advice</title><style>{STYLE}</style></head><body>"
    );
    heading(&mut out, report);
    out.push_str("<h2>Savings by account</h2>");
    out.push_str(&accounts_chart(report));
    charts(&mut out, report);
    table_list(&mut out, report);
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

/// The title, what the advice is based on, and the fleet's totals as cards.
fn heading(out: &mut String, report: &AdviceReport) {
    let s = &report.summary;
    let cur = &report.settings.currency;
    let window = window_end(report).map_or(String::new(), |end| {
        let start = end - i64::from(report.settings.days) * DAY;
        format!(
            " ({} to {} UTC)",
            utc_date(start, true),
            utc_date(end, true)
        )
    });
    let _ = write!(
        out,
        "<h1>DynamoDB capacity advice</h1><p class=\"sub\">{} tables, {} days of {}-second CloudWatch data{window}, {}; prices: {} ({}; {}). Generated {} by ddb-fleet {}.</p>",
        s.tables,
        report.settings.days,
        report.settings.period,
        esc(&report.inventory.path),
        esc(cur),
        esc(&report.settings.prices_date),
        esc(&report.settings.commitments),
        esc(&report.finished_at),
        esc(&report.tool_version)
    );
    let pct = s.saving_percent();
    let _ = write!(
        out,
        "<div class=\"cards\"><div class=\"card\">Monthly cost now<b>{}</b></div><div class=\"card\">Recommended<b>{}</b></div><div class=\"card save\">Saving<b>{}</b>{pct:.1}\u{a0}%</div><div class=\"card\">Tables to change<b>{}</b>of {}</div><div class=\"card\">Throttled in the window<b>{}</b>tables</div></div>",
        money(s.monthly_now, cur),
        money(s.monthly_recommended, cur),
        money(s.monthly_saving, cur),
        s.recommended,
        s.tables,
        s.throttled
    );
}

/// The end of the analysis window, epoch seconds: `advise` ends it at the run's start rounded
/// down to the period (read just before `started_at` is: if a period began in between, this
/// is one period late). `None` if `started_at` is not an RFC 3339 time.
fn window_end(report: &AdviceReport) -> Option<i64> {
    let started = DateTime::from_str(&report.started_at, Format::DateTime).ok()?;
    let period = i64::from(report.settings.period.max(1));
    Some(started.secs().div_euclid(period) * period)
}

/// A UTC date as `Dec 01`, or `Dec 01 10:20` with its time; empty if it cannot be written.
fn utc_date(t: i64, with_time: bool) -> String {
    // `2026-12-01T10:20:00Z`
    let text = DateTime::from_secs(t)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    let month = text
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (month, text.get(8..10), text.get(11..16)) {
        (Some(m), Some(d), Some(hm)) if with_time => format!("{m} {d} {hm}"),
        (Some(m), Some(d), _) => format!("{m} {d}"),
        _ => String::new(),
    }
}

/// The UTC midnights to label on an axis `hours` long from `start` (epoch seconds): a whole
/// number of days apart, at most `MAX_TICKS`, each as (hours from `start`, `Dec 01`).
fn date_ticks(start: i64, hours: usize) -> Vec<(f64, String)> {
    let end = start + hours as i64 * HOUR;
    let first = (start + DAY - 1).div_euclid(DAY) * DAY;
    if end < first {
        return Vec::new();
    }
    let midnights = (end - first) / DAY + 1;
    let step = (midnights + MAX_TICKS - 1) / MAX_TICKS;
    (0..midnights)
        .step_by(step as usize)
        .map(|k| {
            let t = first + k * DAY;
            ((t - start) as f64 / HOUR as f64, utc_date(t, false))
        })
        .collect()
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
            chart_label(a),
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

/// A chart per table that kept its hourly profile (those that save most), largest first,
/// under one legend that stays in view while they scroll by.
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
    out.push_str("<section><h2>Tables that save most</h2><p class=\"legend\">Per hour, over the window (dates are UTC): consumed units per second, against the capacity the table has now (none when on-demand) and the recommended auto scaling's capacity as simulated (none when the recommendation is on-demand). Shaded: hours whose peak went over the current capacity (its hourly average), about when the table as it is throttles.</p>");
    out.push_str(&legend());
    out.push_str("<div class=\"charts\">");
    let cur = &report.settings.currency;
    let end = window_end(report);
    for (t, a) in charted {
        let _ = write!(
            out,
            "<div class=\"chart\"><h3>{} {} {}: saves {} a month</h3>",
            account(report, &t.account_id),
            esc(&t.region),
            esc(&t.table),
            money(a.monthly_saving, cur)
        );
        let start = end.map(|e| e - (a.days_of_data * DAY as f64).round() as i64);
        for d in a.dimensions.iter().filter(|d| d.key.index.is_none()) {
            out.push_str(&dimension_chart(d, a, start));
        }
        let why = match t.owner_note() {
            Some(note) => format!("{}; {note}", a.reason),
            None => a.reason.clone(),
        };
        let _ = write!(out, "<p class=\"legend\">{}</p></div>", esc(&why));
    }
    out.push_str("</div></section>");
}

/// The key to every chart: each series' swatch drawn with the chart's own style.
fn legend() -> String {
    let line = |style: &str| format!("<line x1=\"0\" y1=\"6\" x2=\"24\" y2=\"6\" {style}/>");
    let block = |style: &str| format!("<rect x=\"0\" y=\"0\" width=\"24\" height=\"12\" {style}/>");
    let keys = [
        (block(AVERAGE_STYLE), "consumed, hourly average"),
        (line(PEAK_STYLE), "consumed, hourly peak"),
        (line(CURRENT_STYLE), "current capacity"),
        (line(RECOMMENDED_STYLE), "recommended capacity"),
        (block(OVER_STYLE), "peak over the current capacity"),
    ];
    let mut out = String::from("<div class=\"keys\" role=\"list\" aria-label=\"legend\">");
    for (swatch, label) in keys {
        let _ = write!(
            out,
            "<span class=\"key\" role=\"listitem\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"24\" height=\"12\" aria-hidden=\"true\">{swatch}</svg>{label}</span>"
        );
    }
    out.push_str("</div>");
    out
}

/// A chart's drawing area: `n` hourly points across `left..w`, 0 to `top` units up `h`.
struct Plot {
    w: f64,
    h: f64,
    left: f64,
    n: usize,
    top: f32,
}

impl Plot {
    /// Scaled to hold every series, from 0.
    fn of(series: &[&[f32]]) -> Plot {
        Plot {
            w: 380.0,
            h: 110.0,
            left: 44.0,
            n: series.iter().map(|s| s.len()).max().unwrap_or(0).max(2),
            top: series
                .iter()
                .flat_map(|s| s.iter())
                .fold(0.0f32, |m, v| m.max(*v))
                .max(1e-6),
        }
    }

    /// Where `hour` (from the first point, fractions allowed) falls across.
    fn x(&self, hour: f64) -> f64 {
        self.left + hour / (self.n - 1) as f64 * (self.w - self.left)
    }

    fn y(&self, v: f32) -> f64 {
        self.h - f64::from(v / self.top) * self.h
    }

    /// An SVG path through the points.
    fn line(&self, s: &[f32]) -> String {
        s.iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = (self.x(i as f64), self.y(*v));
                format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" })
            })
            .collect()
    }

    /// The points' line closed down to 0: the area under it.
    fn area(&self, s: &[f32]) -> String {
        let mut area = self.line(s);
        if !s.is_empty() {
            let _ = write!(
                area,
                " L{:.1},{} L{},{} Z",
                self.x((s.len() - 1) as f64),
                self.h,
                self.left,
                self.h
            );
        }
        area
    }
}

/// The hours to shade on a dimension's chart, as runs of hour indexes: those whose peak went
/// over the capacity the table had (hourly average, as simulated), about when its current
/// setting throttles. None when it is on-demand (no capacity). The report does not say when
/// CloudWatch counted throttle events; hourly counts, once it carries them, belong here.
fn over_capacity_hours(peak: &[f32], capacity: &[f32]) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    let over = peak
        .iter()
        .zip(capacity)
        .enumerate()
        .filter(|(_, (p, c))| p > c);
    for (i, _) in over {
        match runs.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// A shaded band over each run of hours, the full height of the plot.
fn shading(plot: &Plot, runs: &[Range<usize>]) -> String {
    let clamp = |x: f64| x.clamp(plot.left, plot.w);
    runs.iter()
        .map(|r| {
            let x0 = clamp(plot.x(r.start as f64 - 0.5));
            let x1 = clamp(plot.x(r.end as f64 - 0.5));
            format!(
                "<rect class=\"over\" x=\"{x0:.1}\" y=\"0\" width=\"{:.1}\" height=\"{}\" {OVER_STYLE}/>",
                (x1 - x0).max(0.8),
                plot.h
            )
        })
        .collect()
}

/// Midnights (UTC) along the bottom, with a faint line up through the plot, for a chart whose
/// first hour starts at `start` (epoch seconds).
fn time_axis(plot: &Plot, start: i64) -> String {
    date_ticks(start, plot.n - 1)
        .into_iter()
        .map(|(hour, label)| {
            let x = plot.x(hour);
            format!(
                "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#e4e7eb\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#616e7c\">{label}</text>",
                plot.h + 4.0,
                plot.h + 14.0
            )
        })
        .collect()
}

/// One dimension: consumed units (hourly average as an area, hourly peak as a line) against
/// the current and the recommended capacity, hour by hour, on one scale from 0; the hours over
/// the current capacity shaded; dated below when the window's `start` is known.
fn dimension_chart(d: &DimAdvice, a: &Advice, start: Option<i64>) -> String {
    let recommended = if a.recommended.mode == crate::model::BillingMode::Provisioned {
        d.provisioned_hourly.as_slice()
    } else {
        &[]
    };
    let plot = Plot::of(&[
        &d.usage.hourly,
        &d.usage.hourly_peak,
        &d.current_hourly,
        recommended,
    ]);
    let over = over_capacity_hours(&d.usage.hourly_peak, &d.current_hourly);
    let mut throttled = match d.current_throttled_minutes {
        0 => String::new(),
        m => format!("; throttles {m} min as it is"),
    };
    if let Some(t) = &d.throttling {
        let _ = write!(throttled, "; CloudWatch: {}", t.describe());
    }
    let (w, h, left) = (plot.w, plot.h, plot.left);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"{label} by the hour\"><text x=\"0\" y=\"11\" font-size=\"11\" fill=\"#323f4b\">{label}: peak {:.1}/s{throttled}</text><g transform=\"translate(0,18)\"><rect x=\"{left}\" y=\"0\" width=\"{}\" height=\"{h}\" fill=\"#f5f7fa\"/>{}{}<text x=\"{}\" y=\"9\" font-size=\"9\" text-anchor=\"end\" fill=\"#616e7c\">{:.0}</text><text x=\"{}\" y=\"{h}\" font-size=\"9\" text-anchor=\"end\" fill=\"#616e7c\">0</text><path d=\"{}\" {AVERAGE_STYLE}/><path d=\"{}\" {PEAK_STYLE}/><path d=\"{}\" {CURRENT_STYLE}/><path d=\"{}\" {RECOMMENDED_STYLE}/></g></svg>",
        h + 36.0,
        d.usage.peak_per_second,
        w - left,
        start.map_or(String::new(), |s| time_axis(&plot, s)),
        shading(&plot, &over),
        left - 4.0,
        plot.top,
        left - 4.0,
        plot.area(&d.usage.hourly),
        plot.line(&d.usage.hourly_peak),
        plot.line(&d.current_hourly),
        plot.line(recommended),
        throttled = esc(&throttled),
        label = esc(&d.key.label()),
    )
}

/// Every table, in report order, as a plain table; the script sorts and filters it and
/// unhides the filter box (hidden without JavaScript, where it would do nothing).
fn table_list(out: &mut String, report: &AdviceReport) {
    out.push_str("<h2>Every table</h2><p class=\"filter\" id=\"filter-row\" hidden=\"hidden\"><label for=\"filter\">Filter </label><input type=\"search\" id=\"filter\" placeholder=\"words in any column: account, region, table, status, why\"/><span id=\"shown\"></span></p>");
    out.push_str("<table id=\"tables\"><thead><tr><th>Account</th><th>Region</th><th>Table</th><th>Status</th><th class=\"n\">Now</th><th class=\"n\">Recommended</th><th class=\"n\">Saving</th><th>Why</th></tr></thead><tbody>");
    for t in &report.tables {
        table_row(
            out,
            t,
            &account(report, &t.account_id),
            &report.settings.currency,
        );
    }
    out.push_str("</tbody></table>");
}

/// One table's row; money cells carry their number (`data-v`) to sort by.
fn table_row(out: &mut String, t: &TableAdvice, account: &str, cur: &str) {
    let (now, rec) = t.monthly();
    let mut text = match (&t.advice, &t.error) {
        (Some(a), _) => why(a, cur),
        (None, Some(e)) => format!("{}: {}", e.code, e.message),
        (None, None) => t.reason.clone(),
    };
    if let Some(note) = t.owner_note() {
        text = format!("{text}; {note}");
    }
    let class = match t.status {
        AdviceStatus::Recommended => " class=\"recommended\"",
        AdviceStatus::Failed => " class=\"failed\"",
        _ => "",
    };
    let _ = write!(
        out,
        "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        account,
        esc(&t.region),
        esc(&t.table),
        status_word(t.status)
    );
    for v in [now, rec, now - rec] {
        let _ = write!(
            out,
            "<td class=\"n\" data-v=\"{v:.2}\">{}</td>",
            money(v, cur)
        );
    }
    let _ = write!(out, "<td>{}</td></tr>", esc(&text));
}
