//! The page's pictures and list, on a small report made by the cost model: a provisioned table
//! whose reads go over its capacity three hours a day, a table with three days of data, a
//! failed and a skipped table.

use super::*;
use crate::advise::report::{self, AdviceSettings, AdviceSummary, CloudWatchUse};
use crate::cost::recommend::DimUsage;
use crate::cost::{advise_table, Policy, PriceBook, Series, TableUsage};
use crate::model::{BillingMode, ObservedTable, ScalingKey, Side, Source};
use crate::report::{ErrorReport, InventoryRef};

#[path = "../../../tests/html_check.rs"]
mod html_check;
use html_check::assert_well_formed;

/// The run started 2026-12-15 10:20:30 UTC; with hourly periods the window ends at 10:00.
const STARTED_AT: &str = "2026-12-15T10:20:30.5Z";
const WINDOW_END: i64 = 1_797_328_800;

/// Reads 150/s for the 3rd to 5th hour of each day from the window's start (12:00 to 15:00
/// UTC), 60/s otherwise; writes a steady 10/s. Hourly periods, ending at `WINDOW_END`.
fn usage(days: usize) -> TableUsage {
    let start = WINDOW_END - days as i64 * DAY;
    let hours = days * 24;
    let series = |rate: &dyn Fn(usize) -> f64| Series {
        period: 3600,
        start,
        sums: (0..hours).map(|h| rate(h) * 3600.0).collect(),
    };
    let busy = |h: usize| {
        if (2..5).contains(&(h % 24)) {
            150.0
        } else {
            60.0
        }
    };
    TableUsage {
        dims: vec![
            DimUsage::consumed(ScalingKey::table(Side::Read), series(&busy)),
            DimUsage::consumed(ScalingKey::table(Side::Write), series(&|_| 10.0)),
        ],
        days_of_data: days as f64,
        window_days: 14.0,
    }
}

fn advised(
    account: &str,
    region: &str,
    table: &str,
    o: &ObservedTable,
    days: usize,
) -> TableAdvice {
    let policy = Policy {
        cap_floor: 1,
        ..Policy::DEFAULT
    };
    let prices = PriceBook::builtin().region(region).unwrap().clone();
    let advice = advise_table(o, &usage(days), &prices, &policy);
    TableAdvice {
        status: TableAdvice::status_of(&advice),
        advice: Some(Box::new(advice)),
        ..bare(account, region, table)
    }
}

fn bare(account: &str, region: &str, table: &str) -> TableAdvice {
    TableAdvice {
        account_id: account.into(),
        region: region.into(),
        table: table.into(),
        source: Source {
            file: "fleet.csv".into(),
            line: 2,
        },
        role_arn: None,
        external_id: None,
        status: AdviceStatus::Skipped,
        reason: String::new(),
        advice: None,
        state: None,
        error: None,
    }
}

fn fixture() -> AdviceReport {
    let mut provisioned = ObservedTable::active(BillingMode::Provisioned, 100, &[]);
    provisioned.size_bytes = Some(1 << 30);
    let mut on_demand = ObservedTable::active(BillingMode::OnDemand, 0, &[]);
    on_demand.size_bytes = Some(1 << 30);
    let failed = TableAdvice {
        status: AdviceStatus::Failed,
        error: Some(ErrorReport {
            code: "AccessDenied".into(),
            message: "not allowed to call DescribeTable".into(),
            retryable: false,
            detail: None,
        }),
        ..bare("111111111111", "us-east-1", "broken")
    };
    let skipped = TableAdvice {
        reason: "a global table".into(),
        ..bare("222222222222", "eu-west-1", "global")
    };
    let tables = vec![
        advised("111111111111", "us-east-1", "orders", &provisioned, 14),
        advised("222222222222", "eu-west-1", "late<&table", &on_demand, 3),
        failed,
        skipped,
    ];
    AdviceReport {
        schema_version: report::SCHEMA_VERSION,
        tool_version: "0.1.0".into(),
        command: "advise".into(),
        started_at: STARTED_AT.into(),
        finished_at: "2026-12-15T10:21:00Z".into(),
        interrupted: false,
        inventory: InventoryRef {
            path: "fleet.csv".into(),
            sha256: String::new(),
        },
        settings: AdviceSettings {
            days: 14,
            period: 3600,
            min_days: 7.0,
            min_savings_percent: 15.0,
            min_savings: 5.0,
            cap_on_demand: None,
            days_per_month: crate::cost::DAYS_PER_MONTH,
            currency: "USD".into(),
            prices_source: "built-in".into(),
            prices_date: "2026-12-01".into(),
            commitments: "list prices".into(),
            cap_floor: 100,
            managed_tags: vec![],
            include_managed: false,
        },
        cloudwatch: CloudWatchUse::default(),
        summary: AdviceSummary::of(&tables),
        accounts: report::accounts(&tables, None),
        tables,
        organization: None,
    }
}

/// The text between the first `from` and the next `to` after it.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from}")) + from.len();
    let end = text[start..]
        .find(to)
        .unwrap_or_else(|| panic!("no {to} after {from}"));
    &text[start..start + end]
}

/// One table's chart card.
fn chart<'a>(page: &'a str, table_heading: &str) -> &'a str {
    let at = page
        .find(table_heading)
        .unwrap_or_else(|| panic!("no chart {table_heading}"));
    let rest = &page[at..];
    &rest[..rest.find("</div>").unwrap()]
}

/// One dimension's SVG within a chart card.
fn dimension<'a>(card: &'a str, label: &str) -> &'a str {
    between(
        card,
        &format!("aria-label=\"{label} by the hour\""),
        "</svg>",
    )
}

/// The labels of a chart's date ticks, in order.
fn ticks(svg: &str) -> Vec<&str> {
    svg.split("<text class=\"tick\"")
        .skip(1)
        .map(|t| between(t, ">", "</text>"))
        .collect()
}

#[test]
fn the_legend_keys_each_series_in_the_style_its_chart_draws_it() {
    let page = page(&fixture());
    let legend = between(&page, "<div class=\"keys\"", "</div>");
    let orders = dimension(chart(&page, "us-east-1 orders:"), "table read");
    for (style, label) in [
        (AVERAGE_STYLE, "consumed, hourly average"),
        (PEAK_STYLE, "consumed, hourly peak"),
        (CURRENT_STYLE, "current capacity"),
        (RECOMMENDED_STYLE, "recommended capacity"),
        (OVER_STYLE, "peak over the current capacity"),
    ] {
        let key = between(legend, "<svg", &format!("</svg>{label}</span>"));
        assert!(
            key.contains(style),
            "{label}'s swatch is not drawn {style}: {key}"
        );
        assert!(orders.contains(style), "the chart draws nothing {style}");
    }
    // The series the swatches stand for are drawn: the reads and the 100 units the table has.
    assert!(orders.contains("<path d=\"M44.0,"));
    let current = between(orders, "<path d=\"", &format!("\" {CURRENT_STYLE}"));
    let current = current.rsplit("<path d=\"").next().unwrap();
    assert_eq!(current.matches(" L").count(), 14 * 24 - 1, "{current}");
    // The legend sits once, before the first chart, and stays in view (sticky) as they scroll.
    assert_eq!(page.matches("<div class=\"keys\"").count(), 1);
    assert!(
        page.find("<div class=\"keys\"").unwrap() < page.find("<div class=\"chart\">").unwrap()
    );
    assert!(STYLE.contains(".keys{position:sticky"));
}

#[test]
fn charts_are_dated_on_utc_midnights_from_the_window_end() {
    let page = page(&fixture());
    // The window: 14 days to the run's start rounded down to the hour.
    assert!(
        page.contains("14 days of 3600-second CloudWatch data (Dec 01 10:00 to Dec 15 10:00 UTC)"),
        "{}",
        between(&page, "<p class=\"sub\">", "</p>")
    );
    // 14 days: 14 midnights from Dec 02 to Dec 15, every third labelled.
    let orders = dimension(chart(&page, "us-east-1 orders:"), "table read");
    assert_eq!(
        ticks(orders),
        ["Dec 02", "Dec 05", "Dec 08", "Dec 11", "Dec 14"]
    );
    // Three days of data: its axis starts at Dec 12 10:00, each midnight labelled.
    let late = dimension(chart(&page, "eu-west-1 late&lt;&amp;table:"), "table write");
    assert_eq!(ticks(late), ["Dec 13", "Dec 14", "Dec 15"]);
    // Dec 13 00:00 is 14 of its 71 hours across the 336 pixels from x = 44.
    let x: f64 = between(late, "<text class=\"tick\" x=\"", "\"")
        .parse()
        .unwrap();
    assert!((x - (44.0 + 14.0 / 71.0 * 336.0)).abs() < 0.1, "{x}");
    // Each tick's position grows left to right within the plot.
    let xs: Vec<f64> = orders
        .split("<text class=\"tick\" x=\"")
        .skip(1)
        .map(|t| between(t, "", "\"").parse().unwrap())
        .collect();
    assert!(
        xs.windows(2).all(|w| w[0] < w[1]) && xs[0] > 44.0 && xs[4] < 380.0,
        "{xs:?}"
    );
}

#[test]
fn ticks_fall_on_utc_midnights_whatever_the_start() {
    let dec_01 = 1_796_083_200;
    assert_eq!(utc_date(dec_01, false), "Dec 01");
    assert_eq!(utc_date(dec_01 + 10 * HOUR + 20 * 60, true), "Dec 01 10:20");
    assert_eq!(utc_date(1_709_164_800, false), "Feb 29");
    assert_eq!(utc_date(0, true), "Jan 01 00:00");
    // A start on a midnight is labelled; a year's end turns over.
    assert_eq!(
        date_ticks(dec_01, 4 * 24),
        [
            (0.0, "Dec 01".into()),
            (24.0, "Dec 02".into()),
            (48.0, "Dec 03".into()),
            (72.0, "Dec 04".into()),
            (96.0, "Dec 05".into())
        ]
    );
    let dec_30_noon = dec_01 + 29 * DAY + 12 * HOUR;
    let labels: Vec<String> = date_ticks(dec_30_noon, 3 * 24)
        .into_iter()
        .map(|t| t.1)
        .collect();
    assert_eq!(labels, ["Dec 31", "Jan 01", "Jan 02"]);
    // 90 days: at most five labels, a whole number of days apart.
    let long = date_ticks(dec_01, 90 * 24);
    assert_eq!(long.len(), 5);
    assert!(long.windows(2).all(|w| w[1].0 - w[0].0 == 19.0 * 24.0));
    // Less than a day that crosses no midnight: nothing to label.
    assert!(date_ticks(dec_01 + HOUR, 12).is_empty());
}

#[test]
fn hours_over_the_current_capacity_are_shaded() {
    assert_eq!(
        over_capacity_hours(&[1.0, 5.0, 5.0, 1.0, 5.0, 2.0], &[2.0; 6]),
        [1..3, 4..5]
    );
    // On-demand: no capacity, nothing over it.
    assert!(over_capacity_hours(&[5.0; 6], &[]).is_empty());
    let page = page(&fixture());
    let orders = chart(&page, "us-east-1 orders:");
    // Reads pass the 100 units three hours each of 14 days; writes never do.
    let reads = dimension(orders, "table read");
    assert_eq!(reads.matches("<rect class=\"over\"").count(), 14, "{reads}");
    assert!(between(orders, "", "</text>").contains("table read: peak 150.0/s; throttles "));
    assert_eq!(
        dimension(orders, "table write")
            .matches("class=\"over\"")
            .count(),
        0
    );
    let late = chart(&page, "eu-west-1 late&lt;&amp;table:");
    assert_eq!(
        late.matches("class=\"over\"").count(),
        0,
        "on-demand: no capacity to go over"
    );
}

#[test]
fn every_table_is_a_row_of_a_plain_list_the_script_sorts_and_filters() {
    let r = fixture();
    let page = page(&r);
    let list = between(&page, "<table id=\"tables\">", "</table>");
    let rows = between(list, "<tbody>", "</tbody>");
    assert_eq!(rows.matches("<tr").count(), r.tables.len());
    for (t, name) in r
        .tables
        .iter()
        .zip(["orders", "late&lt;&amp;table", "broken", "global"])
    {
        let row = format!(
            "<td>{}</td><td>{}</td><td>{name}</td><td>{}</td>",
            t.account_id,
            t.region,
            status_word(t.status)
        );
        assert!(rows.contains(&row), "no row {row}");
    }
    assert!(rows.contains("AccessDenied: not allowed to call DescribeTable"));
    assert!(rows.contains("<td>a global table</td>"));
    // Money cells carry the number they sort by.
    let (now, rec) = r.tables[0].monthly();
    assert!(rows.contains(&format!("<td class=\"n\" data-v=\"{now:.2}\">{now:.2}\u{a0}USD</td><td class=\"n\" data-v=\"{rec:.2}\">")));
    assert_eq!(
        between(list, "<thead>", "</thead>").matches("<th").count(),
        8
    );
    // The filter box is hidden until the script runs; the script comes once, last.
    assert!(page.contains(
        "<p class=\"filter\" id=\"filter-row\" hidden=\"hidden\"><label for=\"filter\">"
    ));
    assert_eq!(page.matches("<script>").count(), 1);
    assert!(page.ends_with(&format!("<script>{SCRIPT}</script></body></html>\n")));
    for hook in [
        "getElementById('tables')",
        "getElementById('filter')",
        "getElementById('filter-row')",
        "getElementById('shown')",
        "'data-table-script', 'ready'",
        "'data-v'",
    ] {
        assert!(SCRIPT.contains(hook), "{hook}");
    }
    for id in [
        "id=\"tables\"",
        "id=\"filter\"",
        "id=\"filter-row\"",
        "id=\"shown\"",
    ] {
        assert_eq!(page.matches(id).count(), 1, "{id}");
    }
}

#[test]
fn the_page_with_its_script_is_well_formed_and_self_contained() {
    for c in ['<', '>', '&'] {
        assert!(
            !SCRIPT.contains(c),
            "{c} in the script would need a CDATA section"
        );
    }
    let page = page(&fixture());
    assert_well_formed(&page);
    let svgs = page.matches("<svg").count();
    assert_eq!(
        page.matches("http://").count(),
        svgs,
        "only SVG's namespace"
    );
    for external in ["https://", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
    // The table named with markup is escaped everywhere.
    assert!(!page.contains("late<&table"));
    assert_eq!(
        page.matches("late&lt;&amp;table").count(),
        2,
        "its chart and its row"
    );
}

#[test]
fn accounts_are_named_by_their_id() {
    let page = page(&fixture());
    let bars = between(&page, "<h2>Savings by account</h2>", "</svg>");
    for id in ["111111111111", "222222222222"] {
        assert!(
            bars.contains(&format!("font-size=\"12\">{id}</text>")),
            "{id}"
        );
    }
    assert!(page.contains("<h3>111111111111 us-east-1 orders: saves "));
}

#[test]
fn without_a_start_time_the_charts_are_drawn_undated() {
    let mut r = fixture();
    r.started_at = "unknown".into();
    let page = page(&r);
    assert_well_formed(&page);
    assert!(!page.contains("class=\"tick\""));
    assert!(page.contains("14 days of 3600-second CloudWatch data, fleet.csv"));
    assert_eq!(
        chart(&page, "us-east-1 orders:")
            .matches("class=\"over\"")
            .count(),
        14
    );
}

/// The summary on stdout (`outputs::summary`), which shares this report fixture: an
/// organisation's hundreds of accounts are not all listed, the 20 that save most are.
#[test]
fn the_summary_lists_the_accounts_that_save_most() {
    let mut r = fixture();
    r.accounts = (0..25)
        .map(|k| report::AccountTotals {
            account_id: format!("{:012}", 100 + k),
            tables: 1,
            monthly_now: 100.0,
            monthly_recommended: 100.0 - f64::from(k),
            monthly_saving: f64::from(k),
            ..report::AccountTotals::default()
        })
        .collect();
    let text = crate::advise::outputs::summary(&r, 10);
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  000000000"))
        .collect();
    assert_eq!(listed.len(), 20, "{text}");
    assert!(listed[0].starts_with("  000000000124"), "{text}");
    assert!(
        !text.contains("000000000104"),
        "the five that save least are not listed"
    );
    // 0 + 1 + 2 + 3 + 4 a month from the five left out.
    assert!(
        text.contains("5 accounts not listed, saving 10.00 USD a month"),
        "{text}"
    );
}
