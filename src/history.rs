//! What earlier runs recorded of the changes AWS limits ([`History`], read by [`load`] from
//! the reports and journals given to `--history`), and the changes of a limit's window
//! ([`recent_changes`]): DescribeTable shows only the last switch to on-demand and the last
//! table-class change, so the earlier ones come from here.

use crate::journal::{ActionLine, JournalLine};
use crate::model::BillingMode;
use crate::report::{ActionRecord, Outcome, Report};
use std::collections::HashMap;
use std::path::PathBuf;

/// (account, region, table).
pub type TableKey = (String, String, String);

/// Times (RFC 3339) of the limited changes earlier runs made, per table.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub switches_to_on_demand: HashMap<TableKey, Vec<String>>,
    pub table_class_changes: HashMap<TableKey, Vec<String>>,
}

impl History {
    /// Records `r` if it is a limited change: when it started, else `at`.
    fn add(&mut self, account: &str, region: &str, table: &str, r: &ActionRecord, at: &str) {
        let map = if r.action.switches_to() == Some(BillingMode::OnDemand) {
            &mut self.switches_to_on_demand
        } else if r.action.sets_class().is_some() {
            &mut self.table_class_changes
        } else {
            return;
        };
        let when = r
            .started_at
            .map_or_else(|| at.to_string(), |s| s.to_string());
        map.entry((account.into(), region.into(), table.into()))
            .or_default()
            .push(when);
    }

    /// The recorded switches to on-demand and class changes of one table.
    pub fn of(&self, key: &TableKey) -> (&[String], &[String]) {
        fn get<'a>(m: &'a HashMap<TableKey, Vec<String>>, key: &TableKey) -> &'a [String] {
            m.get(key).map(Vec::as_slice).unwrap_or_default()
        }
        (
            get(&self.switches_to_on_demand, key),
            get(&self.table_class_changes, key),
        )
    }
}

/// Switches to on-demand and table-class changes recorded in reports (`.json`) and journals
/// (JSON lines): succeeded ones, and ones started without a recorded outcome (they may have
/// happened). Errors name the file and line.
pub fn load(paths: &[PathBuf]) -> Result<History, String> {
    let mut history = History::default();
    let mut add = |account: &str, region: &str, table: &str, r: &ActionRecord, at: &str| {
        history.add(account, region, table, r, at);
    };
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read history: {e}", path.display()))?;
        if let Ok(report) = serde_json::from_str::<Report>(&text) {
            for t in &report.tables {
                for a in &t.actions {
                    if matches!(a.outcome, Outcome::Succeeded | Outcome::Started) {
                        add(&t.account_id, &t.region, &t.table, a, "");
                    }
                }
            }
            continue;
        }
        // A journal: an action_started whose action_finished never came may have happened.
        let mut open: Vec<ActionLine> = Vec::new();
        for parsed in crate::journal::parse_lines(path, &text)? {
            match parsed {
                JournalLine::ActionStarted(line) => open.push(line),
                JournalLine::ActionFinished(l) => {
                    open.retain(|o| !o.is_of(&l));
                    if l.record.outcome == Outcome::Succeeded {
                        add(&l.account_id, &l.region, &l.table, &l.record, &l.at);
                    }
                }
                _ => {}
            }
        }
        for l in &open {
            add(&l.account_id, &l.region, &l.table, &l.record, &l.at);
        }
    }
    Ok(history)
}

/// A recorded change and DescribeTable's time within this many seconds are the same change:
/// AWS stamps the change when it takes the request, seconds after ddb-fleet records it sent.
const SAME_CHANGE_SECS: i64 = 60;

/// The changes of the `window` seconds before `now` (epoch seconds), oldest first: the
/// recorded ones (the same record read twice counts once) and the one DescribeTable shows
/// (`observed`), unless a recorded change is that same change (AWS's time follows the request
/// by at most seconds).
pub fn recent_changes(
    observed: Option<&str>,
    recorded: &[String],
    now: i64,
    window: i64,
) -> Vec<String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let secs = |t: &str| {
        DateTime::from_str(t, Format::DateTime)
            .ok()
            .map(|d| d.secs())
    };
    let mut times: Vec<i64> = recorded.iter().filter_map(|t| secs(t)).collect();
    times.sort_unstable();
    times.dedup();
    if let Some(o) = observed.and_then(secs) {
        if !times.iter().any(|r| (o - r).abs() <= SAME_CHANGE_SECS) {
            times.push(o);
        }
    }
    times.sort_unstable();
    times
        .into_iter()
        .filter(|&t| now - t < window && t <= now + 60)
        .filter_map(|t| DateTime::from_secs(t).fmt(Format::DateTime).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::recent_changes;

    #[test]
    fn recent_changes_merge_dedupe_and_window() {
        let now = 1_795_000_000; // some time in 2026
        let at = |secs: i64| {
            aws_smithy_types::DateTime::from_secs(secs)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap()
        };
        let observed = at(now - 100);
        let recorded = vec![
            at(now - 100 - 2), // the same switch: recorded when sent, seen by DescribeTable
            at(now - 3_600),
            at(now - 3_590),  // a real switch ten seconds after another
            at(now - 3_600),  // the same record read twice
            at(now - 90_000), // older than 24 hours
            "not a time".to_string(),
        ];
        let r = recent_changes(Some(&observed), &recorded, now, 86_400);
        assert_eq!(r, vec![at(now - 3_600), at(now - 3_590), at(now - 102)]);
        // A switch seen only by DescribeTable counts.
        assert_eq!(
            recent_changes(Some(&observed), &[], now, 86_400),
            vec![at(now - 100)]
        );
        assert!(recent_changes(None, &[], now, 86_400).is_empty());
    }
}
