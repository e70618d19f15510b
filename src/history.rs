//! What earlier runs recorded of the changes AWS limits ([`History`], read by [`load`] from
//! the reports and journals given to `--history`), and the changes of a limit's window
//! ([`recent_changes`]): DescribeTable shows only the last switch to on-demand and the last
//! table-class change, so the earlier ones come from here.

use crate::journal::{ActionLine, JournalLine};
use crate::model::{BillingMode, ObservedTable};
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

/// A recorded change and the time AWS gave the table's last change of that kind (read back
/// after it) are the same change when this close: our clock may be minutes off AWS's.
const SAME_CHANGE_BY_AWS_SECS: i64 = 3_600;

impl History {
    /// Records `r` if it is a limited change: at the time AWS gave it (`after`, the table as
    /// read back, when that is within an hour of our record: the same change), else when it
    /// started by our clock, else `at`. AWS's time is what DescribeTable shows later, so a
    /// local clock minutes off neither counts one switch twice nor misses one.
    fn add(
        &mut self,
        (account, region, table): (&str, &str, &str),
        r: &ActionRecord,
        at: &str,
        after: Option<&ObservedTable>,
    ) {
        let (map, aws) = if r.action.switches_to() == Some(BillingMode::OnDemand) {
            (
                &mut self.switches_to_on_demand,
                after.and_then(|a| a.last_switch_to_on_demand.as_deref()),
            )
        } else if r.action.sets_class().is_some() {
            (
                &mut self.table_class_changes,
                after.and_then(|a| a.last_table_class_change.as_deref()),
            )
        } else {
            return;
        };
        let ours = r
            .started_at
            .map_or_else(|| at.to_string(), |s| s.to_string());
        let when = match (aws.and_then(epoch), epoch(&ours)) {
            (Some(a), Some(o)) if (a - o).abs() <= SAME_CHANGE_BY_AWS_SECS => aws.unwrap_or(&ours),
            _ => &ours,
        };
        map.entry((account.into(), region.into(), table.into()))
            .or_default()
            .push(when.to_string());
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
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read history: {e}", path.display()))?;
        if let Ok(report) = serde_json::from_str::<Report>(&text) {
            for t in &report.tables {
                for a in &t.actions {
                    if matches!(a.outcome, Outcome::Succeeded | Outcome::Started) {
                        let key = (t.account_id.as_str(), t.region.as_str(), t.table.as_str());
                        history.add(key, a, "", t.after.as_ref());
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
                        history.add(l.key(), &l.record, &l.at, None);
                    }
                }
                _ => {}
            }
        }
        for l in &open {
            history.add(l.key(), &l.record, &l.at, None);
        }
    }
    Ok(history)
}

/// Seconds since the epoch of an RFC 3339 time.
fn epoch(t: &str) -> Option<i64> {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_str(t, Format::DateTime)
        .ok()
        .map(|d| d.secs())
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
    let secs = epoch;
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

/// Sets `o`'s recent limited changes from DescribeTable's last ones and `switches` and
/// `classes` recorded elsewhere, within AWS's windows at `now`: what plan, apply, recheck and
/// advise count against the limits.
pub fn fill_recent(o: &mut ObservedTable, switches: &[String], classes: &[String], now: i64) {
    use crate::planner::{SWITCH_WINDOW_SECS, TABLE_CLASS_WINDOW_SECS};
    o.recent_switches_to_on_demand = recent_changes(
        o.last_switch_to_on_demand.as_deref(),
        switches,
        now,
        SWITCH_WINDOW_SECS,
    );
    o.recent_table_class_changes = recent_changes(
        o.last_table_class_change.as_deref(),
        classes,
        now,
        TABLE_CLASS_WINDOW_SECS,
    );
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

    /// Regression: a switch recorded by a clock five minutes fast and seen by DescribeTable at
    /// AWS's time counted twice (and so a table with three switches was refused a fourth).
    #[test]
    fn a_recorded_switch_is_matched_by_awss_own_time() {
        use crate::model::{BillingMode, DesiredTable, ObservedTable};
        use crate::report::{Outcome, Report, Summary, TableReport, TableStatus};
        let at = |secs: i64| {
            aws_smithy_types::DateTime::from_secs(secs)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap()
        };
        let now = 1_795_000_000;
        let aws_time = at(now - 1_000);
        let ours = at(now - 1_000 + 300);
        let mut t = TableReport::unstarted(&DesiredTable::on_demand("t"), TableStatus::Changed);
        t.account_id = "111111111111".into();
        t.region = "us-east-1".into();
        t.actions = vec![crate::journal::tests::record(
            BillingMode::OnDemand,
            Outcome::Succeeded,
            &ours,
        )];
        t.after = Some(ObservedTable {
            last_switch_to_on_demand: Some(aws_time.clone()),
            ..ObservedTable::active(BillingMode::OnDemand, 0, &[])
        });
        let report = Report {
            schema_version: 1,
            tool_version: "x".into(),
            command: "apply".into(),
            started_at: ours.clone(),
            finished_at: ours.clone(),
            interrupted: false,
            inventory: crate::report::InventoryRef {
                path: "inv.csv".into(),
                sha256: String::new(),
            },
            summary: Summary::of(std::slice::from_ref(&t)),
            tables: vec![t],
            earlier_journal: None,
            shard: None,
            organization: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
        let h = super::load(&[path]).unwrap();
        let key = ("111111111111".into(), "us-east-1".into(), "t".into());
        let (switches, _) = h.of(&key);
        assert_eq!(switches, std::slice::from_ref(&aws_time));
        assert_eq!(
            recent_changes(Some(&aws_time), switches, now, 86_400).len(),
            1
        );
    }
}
