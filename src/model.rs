//! Domain values: what the user wants ([`DesiredTable`]) and what AWS has ([`ObservedTable`]).
//!
//! These types know nothing of the AWS SDK; `aws::convert` is the one place that turns SDK
//! values into them. The observed-state types are serialized into the report's `before` and
//! `after` fields, so their serde names are part of the report contract (see `report.rs`).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// DynamoDB's capacity mode, table-wide (GSIs inherit it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BillingMode {
    #[serde(rename = "PROVISIONED")]
    Provisioned,
    #[serde(rename = "PAY_PER_REQUEST")]
    OnDemand,
}

impl BillingMode {
    /// The name AWS uses on the wire.
    pub fn as_aws_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::OnDemand => "PAY_PER_REQUEST",
        }
    }
}

impl fmt::Display for BillingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BillingMode::Provisioned => "provisioned",
            BillingMode::OnDemand => "on_demand",
        })
    }
}

/// Read or write capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Read,
    Write,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Read, Side::Write];
}

/// One auto-scalable dimension of a table: the table itself or one GSI, read or write.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScalingKey {
    /// `None` for the table, `Some(name)` for a global secondary index.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<String>,
    pub side: Side,
}

/// "reads of the table", "writes of GSI orders-by-date".
impl std::fmt::Display for ScalingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = match self.side {
            Side::Read => "reads",
            Side::Write => "writes",
        };
        match &self.index {
            None => write!(f, "{side} of the table"),
            Some(i) => write!(f, "{side} of GSI {i}"),
        }
    }
}

impl ScalingKey {
    pub fn table(side: Side) -> Self {
        ScalingKey { index: None, side }
    }

    pub fn index(name: &str, side: Side) -> Self {
        ScalingKey {
            index: Some(name.to_string()),
            side,
        }
    }

    /// Application Auto Scaling `ResourceId`: `table/T` or `table/T/index/I`.
    pub fn resource_id(&self, table: &str) -> String {
        match &self.index {
            None => format!("table/{table}"),
            Some(index) => format!("table/{table}/index/{index}"),
        }
    }

    /// Application Auto Scaling `ScalableDimension`.
    pub fn dimension(&self) -> &'static str {
        match (&self.index, self.side) {
            (None, Side::Read) => "dynamodb:table:ReadCapacityUnits",
            (None, Side::Write) => "dynamodb:table:WriteCapacityUnits",
            (Some(_), Side::Read) => "dynamodb:index:ReadCapacityUnits",
            (Some(_), Side::Write) => "dynamodb:index:WriteCapacityUnits",
        }
    }

    /// The predefined metric a target-tracking policy on this dimension follows.
    pub fn predefined_metric(&self) -> &'static str {
        match self.side {
            Side::Read => "DynamoDBReadCapacityUtilization",
            Side::Write => "DynamoDBWriteCapacityUtilization",
        }
    }

    /// Parse an Application Auto Scaling (ResourceId, ScalableDimension) pair back into the
    /// table name and key. `None` for anything that is not a DynamoDB table or GSI dimension.
    pub fn parse(resource_id: &str, dimension: &str) -> Option<(String, ScalingKey)> {
        let rest = resource_id.strip_prefix("table/")?;
        let (table, index) = match rest.split_once("/index/") {
            Some((t, i)) => (t, Some(i.to_string())),
            None => (rest, None),
        };
        if table.is_empty() || table.contains('/') || index.as_deref() == Some("") {
            return None;
        }
        let side = match (index.is_some(), dimension) {
            (false, "dynamodb:table:ReadCapacityUnits") => Side::Read,
            (false, "dynamodb:table:WriteCapacityUnits") => Side::Write,
            (true, "dynamodb:index:ReadCapacityUnits") => Side::Read,
            (true, "dynamodb:index:WriteCapacityUnits") => Side::Write,
            _ => return None,
        };
        Some((table.to_string(), ScalingKey { index, side }))
    }

    /// Short human label: `table read`, `index gsi1 write`.
    pub fn label(&self) -> String {
        let side = match self.side {
            Side::Read => "read",
            Side::Write => "write",
        };
        match &self.index {
            None => format!("table {side}"),
            Some(i) => format!("index {i} {side}"),
        }
    }
}

/// A maximum on-demand throughput, in request units per second (AWS's `OnDemandThroughput`):
/// a cap, or none. In reports and inventories a cap is its number and no cap is `"none"`; on
/// the wire no cap is `-1` (AWS answers -1, or nothing, for a table without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cap {
    Max(i64),
    Unlimited,
}

impl Cap {
    /// What AWS reports (`None` or a value below 1: no cap).
    pub fn from_aws(v: Option<i64>) -> Cap {
        match v {
            Some(n) if n >= 1 => Cap::Max(n),
            _ => Cap::Unlimited,
        }
    }

    /// What UpdateTable takes: the cap, or -1 to remove it.
    pub fn to_aws(self) -> i64 {
        match self {
            Cap::Max(n) => n,
            Cap::Unlimited => -1,
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cap::Max(n) => write!(f, "{n}"),
            Cap::Unlimited => f.write_str("none"),
        }
    }
}

impl Serialize for Cap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cap::Max(n) => s.serialize_i64(*n),
            Cap::Unlimited => s.serialize_str("none"),
        }
    }
}

impl<'de> Deserialize<'de> for Cap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Cap::from_aws(Some(n))),
            Raw::Text(t) if t == "none" => Ok(Cap::Unlimited),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "`{t}` is not a cap: a number or \"none\""
            ))),
        }
    }
}

/// Maximum on-demand throughput for reads and writes. Desired: `None` leaves that side as it
/// is (ddb-fleet manages only what the inventory states). Observed: `None` when not recorded
/// (a report written before ddb-fleet read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OnDemandCaps {
    #[serde(
        rename = "max_read_request_units",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub read: Option<Cap>,
    #[serde(
        rename = "max_write_request_units",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub write: Option<Cap>,
}

impl OnDemandCaps {
    pub fn is_unset(&self) -> bool {
        self.read.is_none() && self.write.is_none()
    }

    pub fn side(&self, side: Side) -> Option<Cap> {
        match side {
            Side::Read => self.read,
            Side::Write => self.write,
        }
    }

    /// The sides of `self` (desired) that `have` does not already match; unset where equal.
    pub fn differing(&self, have: &OnDemandCaps) -> OnDemandCaps {
        let side = |want: Option<Cap>, have: Option<Cap>| {
            want.filter(|w| Some(*w) != have.or(Some(Cap::Unlimited)))
        };
        OnDemandCaps {
            read: side(self.read, have.read),
            write: side(self.write, have.write),
        }
    }

    /// `self` with the sides `other` sets.
    pub fn overlaid(&self, other: &OnDemandCaps) -> OnDemandCaps {
        OnDemandCaps {
            read: other.read.or(self.read),
            write: other.write.or(self.write),
        }
    }
}

impl fmt::Display for OnDemandCaps {
    /// The sides set: `100 reads/s, writes uncapped`, `50 writes/s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [(self.read, "reads"), (self.write, "writes")]
            .iter()
            .filter_map(|(c, side)| {
                c.map(|c| match c {
                    Cap::Max(n) => format!("{n} {side}/s"),
                    Cap::Unlimited => format!("{side} uncapped"),
                })
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// DynamoDB's table class (`TableClass`), table-wide: it applies to the table and every index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TableClass {
    #[serde(rename = "STANDARD")]
    Standard,
    #[serde(rename = "STANDARD_INFREQUENT_ACCESS")]
    StandardInfrequentAccess,
}

impl TableClass {
    /// The name AWS uses on the wire.
    pub fn as_aws_str(self) -> &'static str {
        match self {
            TableClass::Standard => "STANDARD",
            TableClass::StandardInfrequentAccess => "STANDARD_INFREQUENT_ACCESS",
        }
    }

    /// The inventory's word for it.
    pub fn as_inventory_str(self) -> &'static str {
        match self {
            TableClass::Standard => "standard",
            TableClass::StandardInfrequentAccess => "standard_ia",
        }
    }
}

impl fmt::Display for TableClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_inventory_str())
    }
}

/// Auto scaling thresholds for one side: scalable target bounds and target utilisation (%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub min: i64,
    pub max: i64,
    pub target: f64,
}

/// Read and write thresholds for a provisioned table (and, with `indexes = all`, its GSIs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AutoScaling {
    pub read: Thresholds,
    pub write: Thresholds,
}

impl AutoScaling {
    pub fn side(&self, side: Side) -> &Thresholds {
        match side {
            Side::Read => &self.read,
            Side::Write => &self.write,
        }
    }
}

/// The capacity mode the inventory asks for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DesiredMode {
    OnDemand,
    Provisioned(AutoScaling),
}

impl DesiredMode {
    /// The mode a recorded state amounts to, for display (a rollback's goal is the state
    /// itself): thresholds from its table-level targets and policies, or its capacity.
    pub fn indicative(state: &ObservedTable) -> DesiredMode {
        match state.billing_mode {
            BillingMode::OnDemand => DesiredMode::OnDemand,
            BillingMode::Provisioned => {
                let side = |side: Side, capacity: i64| {
                    let key = ScalingKey::table(side);
                    let target = state.target(&key);
                    let policy = state
                        .scaling_policies
                        .iter()
                        .find(|p| p.is_managed_kind(&key))
                        .and_then(|p| p.target_value);
                    Thresholds {
                        min: target.map_or(capacity, |t| t.min),
                        max: target.map_or(capacity, |t| t.max),
                        target: policy.unwrap_or(0.0),
                    }
                };
                DesiredMode::Provisioned(AutoScaling {
                    read: side(Side::Read, state.read_capacity),
                    write: side(Side::Write, state.write_capacity),
                })
            }
        }
    }

    pub fn billing_mode(&self) -> BillingMode {
        match self {
            DesiredMode::OnDemand => BillingMode::OnDemand,
            DesiredMode::Provisioned(_) => BillingMode::Provisioned,
        }
    }
}

/// Whether the table's GSIs are managed with the table (`all`) or left alone (`none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IndexScope {
    #[default]
    All,
    None,
}

/// Where an inventory row came from, for error messages and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub line: u64,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// How to get credentials for an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleSpec {
    pub role_arn: String,
    #[serde(skip)]
    pub external_id: Option<String>,
}

impl RoleSpec {
    /// The ARN of the role `name` in `account` (`*` in a row for many accounts: see
    /// [`RoleSpec::in_account`]).
    pub fn arn_in(account: &str, name: &str) -> String {
        let many = crate::org::Scope::of(account).needs_directory();
        let account = if many { "*" } else { account };
        format!("arn:aws:iam::{account}:role/{name}")
    }

    /// The same role in `account` (a row for many accounts names its role by name).
    pub fn in_account(&self, account: &str) -> RoleSpec {
        let mut parts: Vec<&str> = self.role_arn.splitn(6, ':').collect();
        if parts.len() == 6 {
            parts[4] = account;
        }
        RoleSpec {
            role_arn: parts.join(":"),
            external_id: self.external_id.clone(),
        }
    }
}

/// One validated inventory row: a table and the state it should be in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredTable {
    pub source: Source,
    pub account_id: String,
    /// `None`: use the caller's own credentials.
    pub role: Option<RoleSpec>,
    pub region: String,
    pub table: String,
    #[serde(flatten)]
    pub mode: DesiredMode,
    pub indexes: IndexScope,
    /// Per-GSI thresholds from `index` rows; such a GSI is managed even with `indexes = none`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub index_overrides: std::collections::BTreeMap<String, AutoScaling>,
    /// Maximum on-demand throughput of an on-demand table (and, with `indexes = all`, of its
    /// GSIs without their own `index` row).
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    /// Per-GSI maximum on-demand throughput from `index` rows of an on-demand table.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub index_caps: std::collections::BTreeMap<String, OnDemandCaps>,
    /// The table class; `None` leaves it as it is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table_class: Option<TableClass>,
    /// For `rollback`: the exact state to restore (a report's `before`); the planner then
    /// ignores `mode` and `indexes`.
    #[serde(skip)]
    pub restore: Option<Box<ObservedTable>>,
}

impl DesiredTable {
    /// A row that asks for nothing of its own (`export` and `advise` read what tables have):
    /// on-demand, every GSI, no caps or class; its location is to be filled in.
    pub fn discovered() -> Self {
        DesiredTable {
            source: Source {
                file: String::new(),
                line: 0,
            },
            account_id: String::new(),
            role: None,
            region: String::new(),
            table: String::new(),
            mode: DesiredMode::OnDemand,
            indexes: IndexScope::All,
            index_overrides: Default::default(),
            caps: OnDemandCaps::default(),
            index_caps: Default::default(),
            table_class: None,
            restore: None,
        }
    }
}

/// The state of one GSI as DescribeTable reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedIndex {
    pub name: String,
    /// `IndexStatus`: CREATING, UPDATING, DELETING or ACTIVE (`UNKNOWN` when AWS gives none).
    pub status: String,
    /// `Backfilling`: a GSI added to an existing table is still reading the table's items.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub backfilling: bool,
    pub read_capacity: i64,
    pub write_capacity: i64,
    /// Its maximum on-demand throughput (`OnDemandThroughput`).
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    /// `IndexSizeBytes`: billed as storage, at the table class's rate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size_bytes: Option<i64>,
}

/// `IndexStatus` of a GSI being deleted.
pub const INDEX_DELETING: &str = "DELETING";

impl ObservedIndex {
    /// ACTIVE and not backfilling: it can be named in an UpdateTable and given auto scaling.
    pub fn is_ready(&self) -> bool {
        self.status == "ACTIVE" && !self.backfilling
    }
}

/// A registered Application Auto Scaling scalable target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalableTarget {
    #[serde(flatten)]
    pub key: ScalingKey,
    pub min: i64,
    pub max: i64,
}

/// A scaling policy attached to one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    #[serde(flatten)]
    pub key: ScalingKey,
    pub name: String,
    /// Borrowed when it is a name ddb-fleet knows ([`ScalingPolicy::known`]): a fleet's
    /// report holds these names for every policy.
    pub policy_type: Cow<'static, str>,
    /// The predefined metric of a target-tracking policy, if it uses one.
    pub metric: Option<Cow<'static, str>>,
    pub target_value: Option<f64>,
    pub scale_in_cooldown: Option<i32>,
    pub scale_out_cooldown: Option<i32>,
    pub disable_scale_in: Option<bool>,
}

/// Application Auto Scaling's name for a target-tracking policy.
pub const TARGET_TRACKING: &str = "TargetTrackingScaling";

impl ScalingPolicy {
    /// `name` as written by AWS, without an allocation of its own when it is the policy type
    /// or a predefined metric that ddb-fleet manages.
    pub fn known(name: &str) -> Cow<'static, str> {
        let known = [
            TARGET_TRACKING,
            ScalingKey::table(Side::Read).predefined_metric(),
            ScalingKey::table(Side::Write).predefined_metric(),
        ];
        match known.into_iter().find(|k| *k == name) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(name.to_string()),
        }
    }

    /// A target-tracking policy on `key`'s predefined metric, the kind ddb-fleet puts, with
    /// AWS's default cooldowns and scale-in.
    pub fn target_tracking(key: &ScalingKey, name: &str, target_value: f64) -> Self {
        ScalingPolicy {
            key: key.clone(),
            name: name.to_string(),
            policy_type: Cow::Borrowed(TARGET_TRACKING),
            metric: Some(Cow::Borrowed(key.predefined_metric())),
            target_value: Some(target_value),
            scale_in_cooldown: None,
            scale_out_cooldown: None,
            disable_scale_in: None,
        }
    }

    /// Is this the target-tracking policy ddb-fleet manages on `key`?
    pub fn is_managed_kind(&self, key: &ScalingKey) -> bool {
        self.key == *key
            && self.policy_type == TARGET_TRACKING
            && self.metric.as_deref() == Some(key.predefined_metric())
    }
}

/// One dimension's peak consumption over the last minutes (CloudWatch), in units per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentPeak {
    #[serde(flatten)]
    pub key: ScalingKey,
    pub per_second: f64,
}

/// Who manages a table, from its tags (ListTagsOfResource): a CloudFormation stack (and so
/// CDK, SAM, Amplify), a tag the user named (`--managed-tag`), nobody known, or not known
/// because the tags could not be read. In reports: `"none"`, `{"stack": NAME}`,
/// `{"tag": "KEY=VALUE"}`, `{"unknown": WHY}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    None,
    /// `aws:cloudformation:stack-name`: the stack's next update puts back what its template
    /// says.
    Stack(String),
    /// A tag named with `--managed-tag`, as the table carries it: `KEY=VALUE`.
    Tag(String),
    /// The tags could not be read (e.g. AccessDenied without `dynamodb:ListTagsOfResource`).
    Unknown(String),
}

impl Owner {
    /// A stack or a named tag manages the table: a change made beside it would be reverted.
    pub fn is_managed(&self) -> bool {
        matches!(self, Owner::Stack(_) | Owner::Tag(_))
    }
}

impl fmt::Display for Owner {
    /// `stack orders-prod`, `tag managed-by=terraform`, `none`, `unknown (WHY)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::None => f.write_str("none"),
            Owner::Stack(s) => write!(f, "stack {s}"),
            Owner::Tag(t) => write!(f, "tag {t}"),
            Owner::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// Everything ddb-fleet reads about one table: DescribeTable plus its auto scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedTable {
    pub status: String,
    pub billing_mode: BillingMode,
    pub read_capacity: i64,
    pub write_capacity: i64,
    pub indexes: Vec<ObservedIndex>,
    /// Regions of the other replicas of a global table; empty for a regional table.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub replicas: Vec<String>,
    /// `BillingModeSummary.LastUpdateToPayPerRequestDateTime`, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_switch_to_on_demand: Option<String>,
    /// Switches to on-demand known to have happened in the last 24 hours (RFC 3339, oldest
    /// first): the DescribeTable timestamp above plus those recorded in earlier reports and
    /// journals given with `--history`. AWS allows four per rolling 24 hours.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub recent_switches_to_on_demand: Vec<String>,
    /// The table's maximum on-demand throughput (`OnDemandThroughput`).
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    /// `TableSizeBytes` (AWS refreshes it about every six hours).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size_bytes: Option<i64>,
    /// `CreationDateTime`, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created_at: Option<String>,
    /// `TableClassSummary.TableClass` (STANDARD when DescribeTable has no summary); `None` in
    /// reports written before ddb-fleet read it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table_class: Option<TableClass>,
    /// `TableClassSummary.LastUpdateDateTime`, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_table_class_change: Option<String>,
    /// Table class changes known to have happened in the last 30 days (RFC 3339, oldest first):
    /// the DescribeTable time above and those recorded with `--history`. AWS allows two.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub recent_table_class_changes: Vec<String>,
    pub scalable_targets: Vec<ScalableTarget>,
    pub scaling_policies: Vec<ScalingPolicy>,
    /// Peak consumption of the last 30 minutes per dimension (CloudWatch), read for a table
    /// the plan switches to provisioned: its starting capacity is that peak / target.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub recent_peaks: Vec<RecentPeak>,
    /// Why the recent peaks could not be read (the switch then starts at `min`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recent_peaks_error: Option<String>,
    /// Who manages the table (its tags), read where it decides something: for a table with a
    /// change planned or recommended. `None`: not read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
    /// `TableArn`, which ListTagsOfResource names; not in reports.
    #[serde(skip)]
    pub arn: Option<String>,
}

#[cfg(test)]
impl DesiredTable {
    /// Test fixture: `table` in account 111111111111, us-east-1, on-demand with every GSI, on
    /// the caller's own credentials, from line 2 of `inv.csv`.
    pub fn on_demand(table: &str) -> Self {
        DesiredTable {
            source: Source {
                file: "inv.csv".into(),
                line: 2,
            },
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            table: table.into(),
            ..DesiredTable::discovered()
        }
    }
}

#[cfg(test)]
impl ObservedTable {
    /// Test fixture: an ACTIVE regional table and GSIs, each at `capacity` units, without
    /// auto scaling.
    pub fn active(mode: BillingMode, capacity: i64, gsis: &[&str]) -> Self {
        ObservedTable {
            status: "ACTIVE".into(),
            billing_mode: mode,
            read_capacity: capacity,
            write_capacity: capacity,
            indexes: gsis
                .iter()
                .map(|g| ObservedIndex {
                    name: g.to_string(),
                    status: "ACTIVE".into(),
                    backfilling: false,
                    read_capacity: capacity,
                    write_capacity: capacity,
                    caps: OnDemandCaps::default(),
                    size_bytes: None,
                })
                .collect(),
            replicas: vec![],
            last_switch_to_on_demand: None,
            recent_switches_to_on_demand: vec![],
            caps: OnDemandCaps::default(),
            size_bytes: None,
            created_at: None,
            table_class: Some(TableClass::Standard),
            last_table_class_change: None,
            recent_table_class_changes: vec![],
            scalable_targets: vec![],
            scaling_policies: vec![],
            recent_peaks: vec![],
            recent_peaks_error: None,
            owner: None,
            arn: None,
        }
    }
}

#[cfg(test)]
impl ObservedTable {
    /// Test fixture: a scalable target (`min`..`max`) and a target-tracking policy named
    /// `policy` at `target` %, on reads and writes of the table (`index` `None`) or of a GSI.
    pub fn scale(&mut self, index: Option<&str>, min: i64, max: i64, target: f64, policy: &str) {
        for side in Side::BOTH {
            let key = ScalingKey {
                index: index.map(str::to_string),
                side,
            };
            self.scalable_targets.push(ScalableTarget {
                key: key.clone(),
                min,
                max,
            });
            self.scaling_policies
                .push(ScalingPolicy::target_tracking(&key, policy, target));
        }
    }
}

impl ObservedTable {
    /// True when the table and all its GSIs accept an UpdateTable: the table and every GSI
    /// ACTIVE, none still backfilling.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE" && self.indexes.iter().all(ObservedIndex::is_ready)
    }

    /// What keeps the table from being ACTIVE, for messages: `table UPDATING`,
    /// `index by_day CREATING (backfilling)`...; empty when it is ACTIVE.
    pub fn not_ready(&self) -> String {
        let mut parts = Vec::new();
        if self.status != "ACTIVE" {
            parts.push(format!("table {}", self.status));
        }
        for i in self.indexes.iter().filter(|i| !i.is_ready()) {
            let backfilling = if i.backfilling { " (backfilling)" } else { "" };
            parts.push(format!("index {} {}{backfilling}", i.name, i.status));
        }
        parts.join(", ")
    }

    /// The GSIs a plan may name: those not being deleted (a GSI DELETING is gone by the time
    /// an UpdateTable could name it, and AWS refuses an update naming a GSI it no longer has).
    pub fn live_indexes(&self) -> impl Iterator<Item = &ObservedIndex> {
        self.indexes.iter().filter(|i| i.status != INDEX_DELETING)
    }

    /// The recent peak of one dimension, units per second, if it was read.
    pub fn recent_peak(&self, key: &ScalingKey) -> Option<f64> {
        self.recent_peaks
            .iter()
            .find(|p| p.key == *key)
            .map(|p| p.per_second)
    }

    pub fn target(&self, key: &ScalingKey) -> Option<&ScalableTarget> {
        self.scalable_targets.iter().find(|t| t.key == *key)
    }

    /// Sorts targets and policies so that equal states compare and serialize equal.
    pub fn normalize(&mut self) {
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.scalable_targets.sort_by(|a, b| a.key.cmp(&b.key));
        self.scaling_policies
            .sort_by(|a, b| (&a.key, &a.name).cmp(&(&b.key, &b.name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_and_dimensions_round_trip() {
        for key in [
            ScalingKey::table(Side::Read),
            ScalingKey::table(Side::Write),
            ScalingKey::index("by-customer", Side::Read),
            ScalingKey::index("by-customer", Side::Write),
        ] {
            let rid = key.resource_id("orders");
            let parsed = ScalingKey::parse(&rid, key.dimension()).unwrap();
            assert_eq!(parsed, ("orders".to_string(), key));
        }
        assert_eq!(
            ScalingKey::index("g", Side::Write).resource_id("t"),
            "table/t/index/g"
        );
    }

    #[test]
    fn parse_rejects_mismatched_dimension_and_foreign_resources() {
        assert_eq!(
            ScalingKey::parse("table/t", "dynamodb:index:ReadCapacityUnits"),
            None
        );
        assert_eq!(
            ScalingKey::parse("table/t/index/g", "dynamodb:table:ReadCapacityUnits"),
            None
        );
        assert_eq!(
            ScalingKey::parse("service/cluster/svc", "ecs:service:DesiredCount"),
            None
        );
        assert_eq!(
            ScalingKey::parse("table/", "dynamodb:table:ReadCapacityUnits"),
            None
        );
    }

    #[test]
    fn known_policy_names_are_borrowed_and_others_kept_as_given() {
        use std::borrow::Cow;
        for name in [
            "TargetTrackingScaling",
            "DynamoDBReadCapacityUtilization",
            "DynamoDBWriteCapacityUtilization",
        ] {
            let known = ScalingPolicy::known(name);
            assert!(matches!(known, Cow::Borrowed(_)), "{name} was copied");
            assert_eq!(known, name);
        }
        let other = ScalingPolicy::known("StepScaling");
        assert!(matches!(other, Cow::Owned(_)));
        assert_eq!(other, "StepScaling");
    }
}
