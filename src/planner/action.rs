//! [`Action`]: one step of a plan, each mutating variant exactly one AWS call, serialized into
//! the report's `actions` (its fields are part of the report contract).

use crate::model::*;
use serde::{Deserialize, Serialize};

/// Capacity units for one UpdateTable `ProvisionedThroughput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub read: i64,
    pub write: i64,
}

/// A GSI's throughput in an UpdateTable `GlobalSecondaryIndexUpdates` `Update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexThroughput {
    pub index: String,
    #[serde(flatten)]
    pub throughput: Throughput,
}

/// A GSI's maximum on-demand throughput in an UpdateTable `GlobalSecondaryIndexUpdates`
/// `Update` (`OnDemandThroughput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexCaps {
    pub index: String,
    #[serde(flatten)]
    pub caps: OnDemandCaps,
}

/// The parameters of one UpdateTable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableUpdate {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub billing_mode: Option<BillingMode>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provisioned_throughput: Option<Throughput>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub index_updates: Vec<IndexThroughput>,
    /// The table's `OnDemandThroughput`: the sides that change.
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    /// GSIs' `OnDemandThroughput`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub index_caps: Vec<IndexCaps>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table_class: Option<TableClass>,
}

/// One step of a plan. Each mutating variant is exactly one AWS call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation")]
pub enum Action {
    /// Poll DescribeTable until the table and every GSI are ACTIVE.
    WaitForActive,
    /// DynamoDB UpdateTable: a billing-mode switch (with the throughput, or the maximum
    /// on-demand throughput, that goes with it), the maximum on-demand throughput alone, or the
    /// table class alone (AWS takes a class change only on its own).
    UpdateTable(TableUpdate),
    /// Application Auto Scaling RegisterScalableTarget (creates or updates min/max).
    RegisterScalableTarget {
        #[serde(flatten)]
        key: ScalingKey,
        min: i64,
        max: i64,
    },
    /// Application Auto Scaling PutScalingPolicy (target tracking; creates or updates by name).
    PutScalingPolicy {
        #[serde(flatten)]
        key: ScalingKey,
        policy_name: String,
        target_value: f64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        scale_in_cooldown: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        scale_out_cooldown: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        disable_scale_in: Option<bool>,
    },
    /// Application Auto Scaling DeleteScalingPolicy.
    DeleteScalingPolicy {
        #[serde(flatten)]
        key: ScalingKey,
        policy_name: String,
    },
    /// Application Auto Scaling DeregisterScalableTarget (AWS also deletes its policies).
    DeregisterScalableTarget {
        #[serde(flatten)]
        key: ScalingKey,
    },
}

impl Action {
    /// UpdateTable switching to on-demand, with the caps that change.
    pub fn to_on_demand(caps: OnDemandCaps, index_caps: Vec<IndexCaps>) -> Action {
        Action::UpdateTable(TableUpdate {
            billing_mode: Some(BillingMode::OnDemand),
            caps,
            index_caps,
            ..TableUpdate::default()
        })
    }

    /// UpdateTable switching to provisioned at these capacities (AWS needs every GSI's).
    pub fn to_provisioned(table: Throughput, index_updates: Vec<IndexThroughput>) -> Action {
        Action::UpdateTable(TableUpdate {
            billing_mode: Some(BillingMode::Provisioned),
            provisioned_throughput: Some(table),
            index_updates,
            ..TableUpdate::default()
        })
    }

    /// UpdateTable changing only the maximum on-demand throughput.
    pub fn set_caps(caps: OnDemandCaps, index_caps: Vec<IndexCaps>) -> Action {
        Action::UpdateTable(TableUpdate {
            caps,
            index_caps,
            ..TableUpdate::default()
        })
    }

    /// UpdateTable changing only the table class.
    pub fn set_class(class: TableClass) -> Action {
        Action::UpdateTable(TableUpdate {
            table_class: Some(class),
            ..TableUpdate::default()
        })
    }

    /// The billing mode this action switches to, if it is a switch.
    pub fn switches_to(&self) -> Option<BillingMode> {
        match self {
            Action::UpdateTable(u) => u.billing_mode,
            _ => None,
        }
    }

    /// The table class this action sets, if it is a class change.
    pub fn sets_class(&self) -> Option<TableClass> {
        match self {
            Action::UpdateTable(u) => u.table_class,
            _ => None,
        }
    }

    /// The AWS operation this action performs.
    pub fn operation(&self) -> &'static str {
        match self {
            Action::WaitForActive => "WaitForActive",
            Action::UpdateTable(_) => "UpdateTable",
            Action::RegisterScalableTarget { .. } => "RegisterScalableTarget",
            Action::PutScalingPolicy { .. } => "PutScalingPolicy",
            Action::DeleteScalingPolicy { .. } => "DeleteScalingPolicy",
            Action::DeregisterScalableTarget { .. } => "DeregisterScalableTarget",
        }
    }

    /// Whether the action changes anything in AWS.
    pub fn is_mutating(&self) -> bool {
        !matches!(self, Action::WaitForActive)
    }

    /// What the action acts on: the table name, or the auto scaling ResourceId.
    pub fn target(&self, table: &str) -> String {
        match self {
            Action::WaitForActive | Action::UpdateTable(_) => table.to_string(),
            Action::RegisterScalableTarget { key, .. }
            | Action::PutScalingPolicy { key, .. }
            | Action::DeleteScalingPolicy { key, .. }
            | Action::DeregisterScalableTarget { key } => key.resource_id(table),
        }
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Action::WaitForActive => "wait until table and indexes are ACTIVE".into(),
            Action::UpdateTable(u) => u.describe(),
            Action::RegisterScalableTarget { key, min, max } => {
                format!(
                    "register scalable target {} min {min} max {max}",
                    key.label()
                )
            }
            Action::PutScalingPolicy {
                key,
                policy_name,
                target_value,
                ..
            } => format!(
                "put target-tracking policy {} target {target_value}% ({policy_name})",
                key.label()
            ),
            Action::DeleteScalingPolicy { key, policy_name } => {
                format!("delete scaling policy {} ({policy_name})", key.label())
            }
            Action::DeregisterScalableTarget { key } => {
                format!("deregister scalable target {}", key.label())
            }
        }
    }
}

impl TableUpdate {
    /// One line for humans.
    fn describe(&self) -> String {
        let TableUpdate {
            billing_mode,
            provisioned_throughput,
            index_updates,
            caps,
            index_caps,
            table_class,
        } = self;
        let mut parts = Vec::new();
        match billing_mode {
            Some(BillingMode::OnDemand) => {
                parts.push("switch to on-demand (PAY_PER_REQUEST)".into())
            }
            Some(BillingMode::Provisioned) => {
                let t = provisioned_throughput.unwrap_or(Throughput { read: 0, write: 0 });
                let mut s = format!("switch to PROVISIONED at {}r/{}w", t.read, t.write);
                for u in index_updates {
                    s.push_str(&format!(
                        ", index {} {}r/{}w",
                        u.index, u.throughput.read, u.throughput.write
                    ));
                }
                parts.push(s);
            }
            None => {}
        }
        if !caps.is_unset() || !index_caps.is_empty() {
            let mut s = "maximum on-demand throughput".to_string();
            if !caps.is_unset() {
                s.push_str(&format!(" table {caps}"));
            }
            for i in index_caps {
                s.push_str(&format!(", index {} {}", i.index, i.caps));
            }
            parts.push(s);
        }
        if let Some(c) = table_class {
            parts.push(format!("change table class to {} ({})", c, c.as_aws_str()));
        }
        parts.join(", ")
    }
}
