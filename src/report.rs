//! The JSON report: a documented contract that users parse in pipelines ([`Report`]).
//!
//! Bump [`SCHEMA_VERSION`] on any change that removes or renames a field or changes a field's
//! meaning; adding a field is compatible. The README documents every field. The report never
//! holds credentials: only account ids, role ARNs, table state and AWS error codes/messages.

use crate::aws::AwsError;
use crate::model::*;
use crate::planner::{Action, SkipReason};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

pub const SCHEMA_VERSION: u32 = 1;

/// The whole report of one `plan` or `apply` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: String,
    /// `plan` or `apply`.
    pub command: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    /// True when the run was stopped by a signal before every table was processed.
    pub interrupted: bool,
    pub inventory: InventoryRef,
    pub summary: Summary,
    /// One entry per inventory row, in inventory order.
    pub tables: Vec<TableReport>,
    /// A journal an earlier run with the same report path left (it was killed before its
    /// report was written), kept under this name instead of being overwritten: `ddb-fleet
    /// report recover` rebuilds that run's report from it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub earlier_journal: Option<String>,
    /// `K/N` when the run was shard K of N (`--shard`): `report merge` checks that it has every
    /// shard of one run, once.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<String>,
    /// The accounts of the organisation the run reached for, when rows or flags named many
    /// (`*`, an OU, a root, `--organization`, `--ou`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub organization: Option<OrgReport>,
}

/// The accounts a run found in the organisation and what became of each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgReport {
    pub summary: AccountCounts,
    /// By account id.
    pub accounts: Vec<AccountReport>,
}

/// Accounts found (every one the scopes named, any state), worked on (reached through at
/// least one of their roles), skipped (not ACTIVE, or excluded) and failed (no role could be
/// assumed, or none of the account's tables could be listed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCounts {
    pub found: usize,
    pub worked_on: usize,
    pub skipped: usize,
    pub failed: usize,
}

/// One account of the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountReport {
    pub account_id: String,
    /// The account's name in Organizations.
    pub name: String,
    /// The OUs above it, by name, from the root: `Root/payments/prod`.
    pub ou_path: String,
    /// Its `State` in Organizations (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ...).
    pub state: String,
    pub status: AccountStatus,
    /// Why it failed (`failed`: no role could be assumed in it), why it was skipped
    /// (`skipped`: its state, or `excluded` by `--exclude-account`), or, worked on, what part
    /// of it could not be (a role or its regions).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// The organisation's management account (which usually lacks the role the members
    /// have: exclude it with `--exclude-account`, or give it the role).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub management: bool,
    /// The regions its tables were looked for in.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub regions: Vec<String>,
    /// Regions passed over: not enabled (AuthFailure, UnrecognizedClientException), or
    /// enabled but unknown to this release.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skipped_regions: Vec<RegionNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    WorkedOn,
    Skipped,
    Failed,
}

/// A region of an account that was not worked on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionNote {
    pub region: String,
    pub note: String,
}

impl OrgReport {
    /// The report of these accounts, counted.
    pub fn of(accounts: Vec<AccountReport>) -> OrgReport {
        let mut summary = AccountCounts {
            found: accounts.len(),
            ..AccountCounts::default()
        };
        for a in &accounts {
            *match a.status {
                AccountStatus::WorkedOn => &mut summary.worked_on,
                AccountStatus::Skipped => &mut summary.skipped,
                AccountStatus::Failed => &mut summary.failed,
            } += 1;
        }
        OrgReport { summary, accounts }
    }

    /// The account's name, where the organisation has it.
    pub fn name_of(&self, account_id: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.account_id == account_id)
            .map(|a| a.name.as_str())
            .filter(|n| !n.is_empty())
    }

    /// One line: `12 accounts found: 10 worked on, 1 skipped, 1 failed`.
    pub fn line(&self) -> String {
        let c = self.summary;
        format!(
            "{} found: {} worked on, {} skipped, {} failed",
            crate::render::plural(c.found, "account"),
            c.worked_on,
            c.skipped,
            c.failed
        )
    }
}

/// Which inventory the run used: the path as given and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryRef {
    pub path: String,
    pub sha256: String,
}

/// Counts of tables by status; `total` is their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub would_change: usize,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: usize,
}

impl Summary {
    pub fn of(tables: &[TableReport]) -> Summary {
        let mut s = Summary {
            total: tables.len(),
            ..Summary::default()
        };
        for t in tables {
            *match t.status {
                TableStatus::Changed => &mut s.changed,
                TableStatus::Unchanged => &mut s.unchanged,
                TableStatus::WouldChange => &mut s.would_change,
                TableStatus::Failed => &mut s.failed,
                TableStatus::Skipped => &mut s.skipped,
                TableStatus::Interrupted => &mut s.interrupted,
            } += 1;
        }
        s
    }
}

/// What happened to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// `apply` changed it and verified the result.
    Changed,
    /// Already as desired.
    Unchanged,
    /// `plan` found differences.
    WouldChange,
    /// Reading, changing or verifying it failed: see `error`.
    Failed,
    /// Deliberately left alone: see `skip_reason`.
    Skipped,
    /// The run stopped before this table was finished: `actions` says what was done.
    Interrupted,
}

/// The report entry of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableReport {
    pub account_id: String,
    pub region: String,
    pub table: String,
    /// The inventory file and line of the row.
    pub source: Source,
    pub desired: DesiredReport,
    pub status: TableStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skip_reason: Option<SkipReason>,
    /// For `switch_limit`: when AWS said the next switch to on-demand is allowed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_switch_allowed_at: Option<String>,
    /// For `table_class_limit`: when the next table-class change is allowed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_table_class_change_allowed_at: Option<String>,
    /// With `skip_reason: decrease_limit`: when AWS said the next capacity decrease is allowed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_decrease_allowed_at: Option<String>,
    /// Why the table was planned again before an UpdateTable (it had changed since it was
    /// planned: a GSI created or deleted, a switch made by someone else); `actions` are then
    /// those of the new plan, after the ones already done.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub replanned: Option<String>,
    /// The planned actions in order, each with its outcome.
    pub actions: Vec<ActionRecord>,
    /// State read before any change; absent when it could not be read or the table is missing.
    pub before: Option<ObservedTable>,
    /// State read back after `apply` changed it (equal to `before` for unchanged tables; absent
    /// for `plan`).
    pub after: Option<ObservedTable>,
    pub error: Option<ErrorReport>,
    pub duration_ms: u64,
}

impl TableReport {
    /// A table as a run starts with it: its desired state, nothing read or done yet.
    pub fn unstarted(d: &DesiredTable, status: TableStatus) -> Self {
        TableReport {
            account_id: d.account_id.clone(),
            region: d.region.clone(),
            table: d.table.clone(),
            source: d.source.clone(),
            desired: d.into(),
            status,
            skip_reason: None,
            next_switch_allowed_at: None,
            next_table_class_change_allowed_at: None,
            next_decrease_allowed_at: None,
            replanned: None,
            actions: vec![],
            before: None,
            after: None,
            error: None,
            duration_ms: 0,
        }
    }

    /// A planned table that was not applied (declined, refused by a guardrail, outside a
    /// canary, or shown for confirmation): `would_change`, its actions `planned`.
    pub fn mark_not_applied(&mut self) {
        if self.status == TableStatus::Interrupted {
            self.status = TableStatus::WouldChange;
            for a in &mut self.actions {
                if a.outcome == Outcome::NotAttempted {
                    a.outcome = Outcome::Planned;
                }
            }
        }
    }
}

/// The row's desired state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredReport {
    #[serde(flatten)]
    pub mode: DesiredMode,
    pub indexes: IndexScope,
    /// Per-GSI thresholds (from `index` rows).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub index_overrides: std::collections::BTreeMap<String, AutoScaling>,
    /// Maximum on-demand throughput (`max_read_request_units`, `max_write_request_units`).
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    /// Per-GSI maximum on-demand throughput (from `index` rows).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub index_caps: std::collections::BTreeMap<String, OnDemandCaps>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table_class: Option<TableClass>,
    /// The role assumed, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_arn: Option<String>,
    /// Its external id (AWS does not treat it as a secret; rollback and resume need it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub external_id: Option<String>,
    /// True for `rollback`: the goal is the rolled-back report's `before` state; `mode` and
    /// thresholds only summarise it.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub restore: bool,
}

impl From<&DesiredTable> for DesiredReport {
    fn from(d: &DesiredTable) -> Self {
        DesiredReport {
            mode: d.mode,
            indexes: d.indexes,
            index_overrides: d.index_overrides.clone(),
            caps: d.caps,
            index_caps: d.index_caps.clone(),
            table_class: d.table_class,
            role_arn: d.role.as_ref().map(|r| r.role_arn.clone()),
            external_id: d.role.as_ref().and_then(|r| r.external_id.clone()),
            restore: d.restore.is_some(),
        }
    }
}

/// The outcome of one planned action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `plan` only: would be done by `apply`.
    Planned,
    /// Started but not known to have finished (only in a journal read after a crash).
    Started,
    Succeeded,
    /// A deletion found the resource already gone: the goal is met.
    AlreadyAbsent,
    Failed,
    /// Not started, because an earlier action failed or the run was interrupted.
    NotAttempted,
}

/// One action: the AWS operation and its parameters (flattened: `operation`, then the
/// operation's fields), the resource it targets, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    #[serde(flatten)]
    pub action: Action,
    /// The table name, or the auto scaling ResourceId (`table/T`, `table/T/index/I`).
    pub target: String,
    pub outcome: Outcome,
    /// Requests sent, retries included (0 when not attempted).
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started_at: Option<Stamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    /// Boxed: most actions never fail, and a fleet's report holds a record per action.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<Box<ErrorReport>>,
    /// The write's answer was lost (a retry was refused) and reading the table showed the
    /// change had landed: it succeeded without being sent again.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub confirmed_by_reading: bool,
}

impl ActionRecord {
    /// `action` on table `table` as planned, before any request: `outcome` is `Planned`
    /// (plan) or `NotAttempted` (apply, until it is sent).
    pub fn unsent(action: &Action, table: &str, outcome: Outcome) -> Self {
        ActionRecord {
            action: action.clone(),
            target: action.target(table),
            outcome,
            attempts: 0,
            started_at: None,
            duration_ms: None,
            error: None,
            confirmed_by_reading: false,
        }
    }
}

/// An error: AWS's code and message, and whether a later run may succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub code: String,
    /// One line saying what went wrong.
    pub message: String,
    pub retryable: bool,
    /// The whole chain of causes, when `message` summarises a longer one (a connection or
    /// credentials failure).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

impl From<&AwsError> for ErrorReport {
    fn from(e: &AwsError) -> Self {
        ErrorReport {
            code: e.code.clone(),
            message: e.message.clone(),
            retryable: e.retryable,
            detail: e.detail.clone(),
        }
    }
}

/// Current UTC time, RFC 3339 to the microsecond (see [`Stamp`]).
pub fn now_rfc3339() -> String {
    Stamp::now().to_string()
}

/// A moment, kept as UTC microseconds since the epoch and written as RFC 3339
/// (`2026-12-03T13:00:39.956985Z`, as `now_rfc3339`): 16 bytes beside each action of a fleet's
/// report instead of a string of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(i64);

impl Stamp {
    pub fn now() -> Self {
        Stamp::from(aws_smithy_types::DateTime::from(
            std::time::SystemTime::now(),
        ))
    }

    /// An RFC 3339 date-time, as the report and journal write it.
    pub fn parse(text: &str) -> Option<Self> {
        use aws_smithy_types::date_time::Format;
        aws_smithy_types::DateTime::from_str(text, Format::DateTime)
            .ok()
            .map(Stamp::from)
    }
}

impl From<aws_smithy_types::DateTime> for Stamp {
    fn from(t: aws_smithy_types::DateTime) -> Self {
        Stamp(t.secs() * 1_000_000 + i64::from(t.subsec_nanos() / 1_000))
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = aws_smithy_types::DateTime::from_secs_and_nanos(
            self.0.div_euclid(1_000_000),
            (self.0.rem_euclid(1_000_000) * 1_000) as u32,
        );
        let text = t
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Stamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an RFC 3339 date-time"))
        })
    }
}

/// Writes the report atomically: a temporary file in the same directory, synced, then renamed
/// over the destination, so readers never see a half-written report. The JSON is streamed to
/// the file (a 10,000-table report is tens of megabytes).
pub fn write_atomic(path: &Path, report: &Report) -> std::io::Result<()> {
    write_json_atomic(path, report)
}

/// Any JSON document, written as [`write_atomic`] writes a report.
pub fn write_json_atomic<T: Serialize>(path: &Path, report: &T) -> std::io::Result<()> {
    write_with(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        serde_json::to_writer_pretty(&mut w, report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
        w.flush()
    })
}

pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |f| {
        f.write_all(bytes)?;
        f.write_all(b"\n")
    })
}

fn write_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.json".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Combines the reports of a sharded run into one: tables concatenated (a table in two reports
/// is an error), summary recomputed, earliest start and latest finish. All must come from the
/// same command and inventory.
/// Whether two reports ran on the same inventory: the same content (SHA-256), whatever path
/// named it; without a hash (the single-table flags), the same path.
fn same_inventory(a: &InventoryRef, b: &InventoryRef) -> bool {
    match (a.sha256.is_empty(), b.sha256.is_empty()) {
        (false, false) => a.sha256 == b.sha256,
        _ => a.path == b.path,
    }
}

/// Merges the reports of a sharded run (each named, for messages): same command and
/// inventory (by content), no table twice; the summary recomputed. (That every shard is there
/// once is the `report merge` command's check.)
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, String> {
    let mut iter = reports.into_iter();
    let (first, mut merged) = iter.next().ok_or("no report to merge")?;
    merged.shard = None;
    let mut seen: std::collections::HashSet<(String, String, String)> = merged
        .tables
        .iter()
        .map(|t| (t.account_id.clone(), t.region.clone(), t.table.clone()))
        .collect();
    for (name, r) in iter {
        if r.schema_version != merged.schema_version {
            return Err(format!(
                "schema versions differ ({} and {})",
                merged.schema_version, r.schema_version
            ));
        }
        if r.command != merged.command {
            return Err(format!(
                "the reports are of different commands ({} and {})",
                merged.command, r.command
            ));
        }
        if !same_inventory(&r.inventory, &merged.inventory) {
            return Err(format!(
                "{name} is of another inventory ({}, not the {} of {first})",
                r.inventory.path, merged.inventory.path
            ));
        }
        for t in r.tables {
            let key = (t.account_id.clone(), t.region.clone(), t.table.clone());
            if !seen.insert(key) {
                return Err(format!(
                    "table {} in {} {} is in more than one report: were the shards overlapping?",
                    t.table, t.account_id, t.region
                ));
            }
            merged.tables.push(t);
        }
        merged.started_at = merged.started_at.min(r.started_at);
        merged.finished_at = merged.finished_at.max(r.finished_at);
        merged.interrupted |= r.interrupted;
    }
    merged.summary = Summary::of(&merged.tables);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_and_writes_the_reports_date_times_unchanged() {
        for text in [
            "2026-12-03T13:00:39.956985Z",
            "2026-12-03T13:00:39Z",
            "1969-12-31T23:59:59.5Z",
            now_rfc3339().as_str(),
        ] {
            let stamp = Stamp::parse(text).expect(text);
            assert_eq!(stamp.to_string(), text);
            let json = serde_json::to_string(&stamp).unwrap();
            assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), stamp);
        }
        assert!(Stamp::parse("2026-12-03 13:00").is_none());
        assert!(serde_json::from_str::<Stamp>("\"yesterday\"").is_err());
        assert!(Stamp::parse("2026-12-03T13:00:39Z") < Stamp::parse("2026-12-03T13:00:39.1Z"));
    }

    #[test]
    fn summary_counts_each_status() {
        let t = |status| TableReport::unstarted(&DesiredTable::on_demand("t"), status);
        let tables = vec![
            t(TableStatus::Changed),
            t(TableStatus::Changed),
            t(TableStatus::Failed),
            t(TableStatus::Interrupted),
        ];
        let s = Summary::of(&tables);
        assert_eq!(
            s,
            Summary {
                total: 4,
                changed: 2,
                failed: 1,
                interrupted: 1,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_bytes_atomic(&path, b"{\"a\":1}").unwrap();
        write_bytes_atomic(&path, b"{\"a\":2}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":2}\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("r.json")]);
    }

    #[test]
    fn action_records_flatten_the_operation() {
        let r = ActionRecord {
            action: Action::RegisterScalableTarget {
                key: ScalingKey::index("g1", Side::Write),
                min: 1,
                max: 9,
            },
            target: "table/t/index/g1".into(),
            outcome: Outcome::Succeeded,
            attempts: 2,
            started_at: None,
            duration_ms: Some(5),
            error: None,
            confirmed_by_reading: false,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "operation": "RegisterScalableTarget", "index": "g1", "side": "write",
                "min": 1, "max": 9, "target": "table/t/index/g1", "outcome": "succeeded",
                "attempts": 2, "duration_ms": 5
            })
        );
        let back: ActionRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn update_table_records_name_only_what_they_change_and_read_old_reports() {
        use crate::planner::IndexCaps;
        let caps = OnDemandCaps {
            read: Some(Cap::Max(100)),
            write: Some(Cap::Unlimited),
        };
        let action = Action::to_on_demand(
            caps,
            vec![IndexCaps {
                index: "g1".into(),
                caps: OnDemandCaps {
                    read: None,
                    write: Some(Cap::Max(5)),
                },
            }],
        );
        let r = ActionRecord::unsent(&action, "t", Outcome::Planned);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "operation": "UpdateTable", "billing_mode": "PAY_PER_REQUEST",
                "max_read_request_units": 100, "max_write_request_units": "none",
                "index_caps": [{"index": "g1", "max_write_request_units": 5}],
                "target": "t", "outcome": "planned", "attempts": 0
            })
        );
        assert_eq!(serde_json::from_value::<ActionRecord>(v).unwrap(), r);
        let class = ActionRecord::unsent(
            &Action::set_class(TableClass::StandardInfrequentAccess),
            "t",
            Outcome::Planned,
        );
        assert_eq!(
            serde_json::to_value(&class).unwrap()["table_class"],
            "STANDARD_INFREQUENT_ACCESS"
        );
        // An UpdateTable recorded before caps and classes existed still reads.
        let old = serde_json::json!({
            "operation": "UpdateTable", "billing_mode": "PROVISIONED",
            "provisioned_throughput": {"read": 5, "write": 5},
            "target": "t", "outcome": "succeeded", "attempts": 1
        });
        let old: ActionRecord = serde_json::from_value(old).unwrap();
        assert_eq!(old.action.switches_to(), Some(BillingMode::Provisioned));
    }
}
