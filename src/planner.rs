//! The planner: a pure function from (desired row, observed state) to an ordered [`TablePlan`].
//!
//! No SDK types, no async, no I/O: `plan` and `apply` both call [`plan_table`], `plan` prints
//! the result and `apply` realises it. The order of actions is a safety property:
//! - to on-demand, the UpdateTable switch comes first, so a refused switch (AWS's limit of four
//!   switches to on-demand per 24 h) leaves the table exactly as it was; auto scaling is removed
//!   after, because AWS keeps it registered across an SDK switch.
//! - to provisioned, the switch carries throughput for the table and every GSI (AWS rejects it
//!   otherwise), starts at `min`, waits for ACTIVE, then registers targets and policies.

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

/// One step of a plan. Each mutating variant is exactly one AWS call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation")]
pub enum Action {
    /// Poll DescribeTable until the table and every GSI are ACTIVE.
    WaitForActive,
    /// DynamoDB UpdateTable changing the billing mode.
    UpdateTable {
        billing_mode: BillingMode,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        provisioned_throughput: Option<Throughput>,
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        index_updates: Vec<IndexThroughput>,
    },
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
    /// The AWS operation this action performs.
    pub fn operation(&self) -> &'static str {
        match self {
            Action::WaitForActive => "WaitForActive",
            Action::UpdateTable { .. } => "UpdateTable",
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
            Action::WaitForActive | Action::UpdateTable { .. } => table.to_string(),
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
            Action::UpdateTable {
                billing_mode: BillingMode::OnDemand,
                ..
            } => "switch to on-demand (PAY_PER_REQUEST)".into(),
            Action::UpdateTable {
                billing_mode: BillingMode::Provisioned,
                provisioned_throughput,
                index_updates,
            } => {
                let t = provisioned_throughput.unwrap_or(Throughput { read: 0, write: 0 });
                let mut s = format!("switch to PROVISIONED at {}r/{}w", t.read, t.write);
                for u in index_updates {
                    s.push_str(&format!(
                        ", index {} {}r/{}w",
                        u.index, u.throughput.read, u.throughput.write
                    ));
                }
                s
            }
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

/// Why a table is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A global table (has replicas): a mode change applies to every replica and AWS requires
    /// write auto scaling on provisioned replicas; not managed yet, never half-configured.
    GlobalTable,
    /// AWS refused the switch to on-demand (at most four per table per rolling 24 hours).
    SwitchLimit,
    /// The table did not become ACTIVE within `--wait-timeout`.
    NotActive,
    /// Not started: `--max-failures` tables had already failed.
    MaxFailures,
}

/// The plan for one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TablePlan {
    pub actions: Vec<Action>,
    /// Set when the table must be left alone; `actions` is then empty.
    pub skip: Option<(SkipReason, String)>,
}

impl TablePlan {
    pub fn changes_anything(&self) -> bool {
        self.actions.iter().any(Action::is_mutating)
    }
}

/// The policy name used when a dimension has no target-tracking policy yet. It follows the
/// AWS console's convention, so tables set up by hand and by ddb-fleet look alike.
pub fn default_policy_name(table: &str, key: &ScalingKey) -> String {
    format!("{}:{}", key.predefined_metric(), key.resource_id(table))
}

/// Dimensions ddb-fleet manages for this row, in a stable order: table read, table write,
/// then each GSI (by name) read and write when `indexes = all`.
pub fn managed_keys(desired: &DesiredTable, observed: &ObservedTable) -> Vec<ScalingKey> {
    let mut keys: Vec<ScalingKey> = Side::BOTH.iter().map(|s| ScalingKey::table(*s)).collect();
    let mut names: Vec<&str> = observed
        .indexes
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| desired.indexes == IndexScope::All || desired.index_overrides.contains_key(*n))
        .collect();
    names.sort_unstable();
    for name in names {
        keys.extend(Side::BOTH.iter().map(|s| ScalingKey::index(name, *s)));
    }
    keys
}

/// The thresholds for one dimension: the GSI's own (from an `index` row) or the table's.
fn thresholds_for(desired: &DesiredTable, scaling: &AutoScaling, key: &ScalingKey) -> Thresholds {
    *key.index
        .as_ref()
        .and_then(|i| desired.index_overrides.get(i))
        .unwrap_or(scaling)
        .side(key.side)
}

fn same_target_value(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Plans one table. Pure: the same inputs always give the same plan.
pub fn plan_table(desired: &DesiredTable, observed: &ObservedTable) -> TablePlan {
    if let Some(target) = &desired.restore {
        return plan_restore(target, observed);
    }
    let mut plan = TablePlan::default();
    let mode_change = observed.billing_mode != desired.mode.billing_mode();

    if !observed.replicas.is_empty() {
        let scaling = scaling_actions(desired, observed);
        if mode_change || !scaling.is_empty() {
            plan.skip = Some(global_table_skip(observed));
        }
        return plan;
    }

    if mode_change && desired.mode == DesiredMode::OnDemand {
        let recent = &observed.recent_switches_to_on_demand;
        if recent.len() >= SWITCHES_TO_ON_DEMAND_PER_DAY {
            let next = recent.first().and_then(|t| add_day(t));
            plan.skip = Some((
                SkipReason::SwitchLimit,
                format!(
                    "{} switches to on-demand in the last 24 hours (AWS allows {SWITCHES_TO_ON_DEMAND_PER_DAY}); next allowed at {}",
                    recent.len(),
                    next.as_deref().unwrap_or("an unknown time")
                ),
            ));
            return plan;
        }
    }

    if mode_change {
        if !observed.is_active() {
            plan.actions.push(Action::WaitForActive);
        }
        plan.actions.push(switch_action(desired, observed));
        plan.actions.push(Action::WaitForActive);
    }
    plan.actions.extend(scaling_actions(desired, observed));
    plan
}

/// AWS's limit on switches from provisioned to on-demand per table per rolling 24 hours.
pub const SWITCHES_TO_ON_DEMAND_PER_DAY: usize = 4;

/// `t` (RFC 3339) plus 24 hours, RFC 3339.
pub fn add_day(t: &str) -> Option<String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let d = DateTime::from_str(t, Format::DateTime).ok()?;
    DateTime::from_secs(d.secs() + 86_400)
        .fmt(Format::DateTime)
        .ok()
}

fn switch_action(desired: &DesiredTable, observed: &ObservedTable) -> Action {
    match &desired.mode {
        DesiredMode::OnDemand => Action::UpdateTable {
            billing_mode: BillingMode::OnDemand,
            provisioned_throughput: None,
            index_updates: vec![],
        },
        DesiredMode::Provisioned(scaling) => {
            // Start at `min`: auto scaling raises capacity from there, and starting low avoids
            // a later decrease, which AWS limits per day.
            let start = Throughput {
                read: scaling.read.min,
                write: scaling.write.min,
            };
            let mut index_updates: Vec<IndexThroughput> = observed
                .indexes
                .iter()
                .map(|i| IndexThroughput {
                    index: i.name.clone(),
                    throughput: match desired.index_overrides.get(&i.name) {
                        Some(o) => Throughput {
                            read: o.read.min,
                            write: o.write.min,
                        },
                        None => start,
                    },
                })
                .collect();
            index_updates.sort_by(|a, b| a.index.cmp(&b.index));
            Action::UpdateTable {
                billing_mode: BillingMode::Provisioned,
                provisioned_throughput: Some(start),
                index_updates,
            }
        }
    }
}

fn scaling_actions(desired: &DesiredTable, observed: &ObservedTable) -> Vec<Action> {
    let mut actions = Vec::new();
    for key in managed_keys(desired, observed) {
        let mut policies: Vec<&ScalingPolicy> = observed
            .scaling_policies
            .iter()
            .filter(|p| p.key == key)
            .collect();
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        match &desired.mode {
            DesiredMode::OnDemand => {
                // Delete policies explicitly rather than relying on deregistration to do it:
                // the record is then exact, and policies left without a target are removed too.
                for p in &policies {
                    actions.push(Action::DeleteScalingPolicy {
                        key: key.clone(),
                        policy_name: p.name.clone(),
                    });
                }
                if observed.target(&key).is_some() {
                    actions.push(Action::DeregisterScalableTarget { key: key.clone() });
                }
            }
            DesiredMode::Provisioned(scaling) => {
                let want = &thresholds_for(desired, scaling, &key);
                match observed.target(&key) {
                    Some(t) if t.min == want.min && t.max == want.max => {}
                    _ => actions.push(Action::RegisterScalableTarget {
                        key: key.clone(),
                        min: want.min,
                        max: want.max,
                    }),
                }
                let mut managed = policies.iter().filter(|p| p.is_managed_kind(&key));
                match managed.next() {
                    None => actions.push(Action::PutScalingPolicy {
                        key: key.clone(),
                        policy_name: default_policy_name(&desired.table, &key),
                        target_value: want.target,
                        scale_in_cooldown: None,
                        scale_out_cooldown: None,
                        disable_scale_in: None,
                    }),
                    Some(p) => {
                        if !p
                            .target_value
                            .is_some_and(|v| same_target_value(v, want.target))
                        {
                            // Update in place, keeping the cooldowns someone may have tuned.
                            actions.push(Action::PutScalingPolicy {
                                key: key.clone(),
                                policy_name: p.name.clone(),
                                target_value: want.target,
                                scale_in_cooldown: p.scale_in_cooldown,
                                scale_out_cooldown: p.scale_out_cooldown,
                                disable_scale_in: p.disable_scale_in,
                            });
                        }
                    }
                }
                // A second target-tracking policy on the same metric would fight the first
                // (AWS follows whichever asks for more capacity): the inventory's is the one.
                for extra in managed {
                    actions.push(Action::DeleteScalingPolicy {
                        key: key.clone(),
                        policy_name: extra.name.clone(),
                    });
                }
            }
        }
    }
    actions
}

/// Why a global table's capacity is left alone, naming its other replicas.
fn global_table_skip(observed: &ObservedTable) -> (SkipReason, String) {
    (
        SkipReason::GlobalTable,
        format!(
            "global table (replicas in {}): a capacity change applies to every replica and is not managed by ddb-fleet yet",
            observed.replicas.join(", ")
        ),
    )
}

/// Plans the way back to a recorded state (`rollback`): the billing mode (a switch to
/// provisioned restores the recorded capacities of the table and its GSIs), then exactly the
/// recorded scalable targets and target-tracking policies: missing or different ones are put
/// back under their recorded names, ones that were not there are removed. Policies of other
/// kinds cannot be recreated by ddb-fleet and are left as they are.
pub fn plan_restore(target: &ObservedTable, current: &ObservedTable) -> TablePlan {
    let mut plan = TablePlan::default();
    if !current.replicas.is_empty() {
        if target.billing_mode != current.billing_mode {
            plan.skip = Some(global_table_skip(current));
        }
        return plan;
    }
    if target.billing_mode != current.billing_mode {
        if !current.is_active() {
            plan.actions.push(Action::WaitForActive);
        }
        plan.actions.push(match target.billing_mode {
            BillingMode::OnDemand => Action::UpdateTable {
                billing_mode: BillingMode::OnDemand,
                provisioned_throughput: None,
                index_updates: vec![],
            },
            BillingMode::Provisioned => {
                let table = Throughput {
                    read: target.read_capacity.max(1),
                    write: target.write_capacity.max(1),
                };
                let mut index_updates: Vec<IndexThroughput> = current
                    .indexes
                    .iter()
                    .map(|i| {
                        let recorded = target.indexes.iter().find(|t| t.name == i.name);
                        IndexThroughput {
                            index: i.name.clone(),
                            throughput: match recorded {
                                Some(r) => Throughput {
                                    read: r.read_capacity.max(1),
                                    write: r.write_capacity.max(1),
                                },
                                None => table,
                            },
                        }
                    })
                    .collect();
                index_updates.sort_by(|a, b| a.index.cmp(&b.index));
                Action::UpdateTable {
                    billing_mode: BillingMode::Provisioned,
                    provisioned_throughput: Some(table),
                    index_updates,
                }
            }
        });
        plan.actions.push(Action::WaitForActive);
    }
    let mut keys: Vec<&ScalingKey> = target
        .scalable_targets
        .iter()
        .map(|t| &t.key)
        .chain(current.scalable_targets.iter().map(|t| &t.key))
        .chain(target.scaling_policies.iter().map(|p| &p.key))
        .chain(current.scaling_policies.iter().map(|p| &p.key))
        .collect();
    keys.sort();
    keys.dedup();
    let restorable = |p: &ScalingPolicy| p.policy_type == TARGET_TRACKING && p.metric.is_some();
    for key in keys {
        let want = target.target(key);
        let have = current.target(key);
        // A policy cannot exist without its target: without a recorded target, none is wanted.
        let want_policies: Vec<&ScalingPolicy> = target
            .scaling_policies
            .iter()
            .filter(|p| p.key == *key && restorable(p) && want.is_some())
            .collect();
        let have_policies: Vec<&ScalingPolicy> = current
            .scaling_policies
            .iter()
            .filter(|p| p.key == *key && restorable(p))
            .collect();
        // Policies that should not be there go first (and before their target).
        for p in &have_policies {
            if !want_policies.iter().any(|w| w.name == p.name) {
                plan.actions.push(Action::DeleteScalingPolicy {
                    key: key.clone(),
                    policy_name: p.name.clone(),
                });
            }
        }
        match (want, have) {
            (None, Some(_)) => {
                plan.actions
                    .push(Action::DeregisterScalableTarget { key: key.clone() });
                continue;
            }
            (Some(w), h) if h.is_none_or(|h| h.min != w.min || h.max != w.max) => {
                plan.actions.push(Action::RegisterScalableTarget {
                    key: key.clone(),
                    min: w.min,
                    max: w.max,
                });
            }
            _ => {}
        }
        if want.is_none() {
            continue; // a policy cannot exist without its target
        }
        for w in want_policies {
            let same = have_policies.iter().any(|h| {
                h.name == w.name
                    && h.metric == w.metric
                    && h.target_value == w.target_value
                    && h.scale_in_cooldown == w.scale_in_cooldown
                    && h.scale_out_cooldown == w.scale_out_cooldown
                    && h.disable_scale_in == w.disable_scale_in
            });
            if !same {
                plan.actions.push(Action::PutScalingPolicy {
                    key: key.clone(),
                    policy_name: w.name.clone(),
                    target_value: w.target_value.unwrap_or(70.0),
                    scale_in_cooldown: w.scale_in_cooldown,
                    scale_out_cooldown: w.scale_out_cooldown,
                    disable_scale_in: w.disable_scale_in,
                });
            }
        }
    }
    plan
}

/// Applies a plan's actions to an observed state the way AWS does (including AWS's rule that
/// deregistering a target deletes its policies). Used to check convergence: planning again
/// from the result must give no actions.
pub fn simulate(observed: &ObservedTable, actions: &[Action]) -> ObservedTable {
    let mut s = observed.clone();
    for action in actions {
        match action {
            Action::WaitForActive => {
                s.status = "ACTIVE".into();
                for i in &mut s.indexes {
                    i.status = "ACTIVE".into();
                }
            }
            Action::UpdateTable {
                billing_mode,
                provisioned_throughput,
                index_updates,
            } => {
                s.billing_mode = *billing_mode;
                let t = provisioned_throughput.unwrap_or(Throughput { read: 0, write: 0 });
                s.read_capacity = t.read;
                s.write_capacity = t.write;
                for i in &mut s.indexes {
                    let t = index_updates
                        .iter()
                        .find(|u| u.index == i.name)
                        .map(|u| u.throughput)
                        .unwrap_or(Throughput { read: 0, write: 0 });
                    i.read_capacity = t.read;
                    i.write_capacity = t.write;
                }
                s.status = "UPDATING".into();
            }
            Action::RegisterScalableTarget { key, min, max } => {
                s.scalable_targets.retain(|t| t.key != *key);
                s.scalable_targets.push(ScalableTarget {
                    key: key.clone(),
                    min: *min,
                    max: *max,
                });
            }
            Action::PutScalingPolicy {
                key,
                policy_name,
                target_value,
                scale_in_cooldown,
                scale_out_cooldown,
                disable_scale_in,
            } => {
                s.scaling_policies
                    .retain(|p| !(p.key == *key && p.name == *policy_name));
                s.scaling_policies.push(ScalingPolicy {
                    scale_in_cooldown: *scale_in_cooldown,
                    scale_out_cooldown: *scale_out_cooldown,
                    disable_scale_in: *disable_scale_in,
                    ..ScalingPolicy::target_tracking(key, policy_name, *target_value)
                });
            }
            Action::DeleteScalingPolicy { key, policy_name } => {
                s.scaling_policies
                    .retain(|p| !(p.key == *key && p.name == *policy_name));
            }
            Action::DeregisterScalableTarget { key } => {
                s.scalable_targets.retain(|t| t.key != *key);
                s.scaling_policies.retain(|p| p.key != *key);
            }
        }
    }
    s.normalize();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn th(min: i64, max: i64, target: f64) -> Thresholds {
        Thresholds { min, max, target }
    }

    fn desired(mode: DesiredMode, indexes: IndexScope) -> DesiredTable {
        DesiredTable {
            mode,
            indexes,
            ..DesiredTable::on_demand("orders")
        }
    }

    fn provisioned(r: Thresholds, w: Thresholds) -> DesiredMode {
        DesiredMode::Provisioned(AutoScaling { read: r, write: w })
    }

    fn observed(mode: BillingMode, gsis: &[&str]) -> ObservedTable {
        let cap = if mode == BillingMode::Provisioned {
            5
        } else {
            0
        };
        ObservedTable::active(mode, cap, gsis)
    }

    fn ops(plan: &TablePlan) -> Vec<&'static str> {
        plan.actions.iter().map(Action::operation).collect()
    }

    #[test]
    fn on_demand_to_provisioned_switches_with_gsi_throughput_then_scales_everything() {
        let d = desired(
            provisioned(th(5, 100, 70.0), th(2, 50, 60.0)),
            IndexScope::All,
        );
        let o = observed(BillingMode::OnDemand, &["gsi-b", "gsi-a"]);
        let plan = plan_table(&d, &o);
        assert_eq!(
            plan.actions[0],
            Action::UpdateTable {
                billing_mode: BillingMode::Provisioned,
                provisioned_throughput: Some(Throughput { read: 5, write: 2 }),
                index_updates: vec![
                    IndexThroughput {
                        index: "gsi-a".into(),
                        throughput: Throughput { read: 5, write: 2 }
                    },
                    IndexThroughput {
                        index: "gsi-b".into(),
                        throughput: Throughput { read: 5, write: 2 }
                    },
                ],
            }
        );
        assert_eq!(plan.actions[1], Action::WaitForActive);
        // 6 dimensions (table + 2 GSIs, read + write), each a target and a policy.
        assert_eq!(plan.actions.len(), 2 + 6 * 2);
        assert_eq!(
            plan.actions[2],
            Action::RegisterScalableTarget {
                key: ScalingKey::table(Side::Read),
                min: 5,
                max: 100
            }
        );
        match &plan.actions[3] {
            Action::PutScalingPolicy {
                policy_name,
                target_value,
                ..
            } => {
                assert_eq!(policy_name, "DynamoDBReadCapacityUtilization:table/orders");
                assert_eq!(*target_value, 70.0);
            }
            other => panic!("expected PutScalingPolicy, got {other:?}"),
        }
        let last = plan.actions.last().unwrap();
        assert_eq!(last.target("orders"), "table/orders/index/gsi-b");
    }

    #[test]
    fn provisioned_to_on_demand_switches_first_then_removes_policies_then_targets() {
        let d = desired(DesiredMode::OnDemand, IndexScope::All);
        let mut o = observed(BillingMode::Provisioned, &["gsi1"]);
        for key in [
            ScalingKey::table(Side::Read),
            ScalingKey::index("gsi1", Side::Write),
        ] {
            o.scalable_targets.push(ScalableTarget {
                key: key.clone(),
                min: 1,
                max: 10,
            });
            o.scaling_policies
                .push(ScalingPolicy::target_tracking(&key, "p", 70.0));
        }
        let plan = plan_table(&d, &o);
        assert_eq!(
            ops(&plan),
            vec![
                "UpdateTable",
                "WaitForActive",
                "DeleteScalingPolicy",
                "DeregisterScalableTarget",
                "DeleteScalingPolicy",
                "DeregisterScalableTarget",
            ]
        );
        assert_eq!(
            plan.actions[0],
            Action::UpdateTable {
                billing_mode: BillingMode::OnDemand,
                provisioned_throughput: None,
                index_updates: vec![],
            },
            "a switch to on-demand must not carry GSI throughput"
        );
    }

    #[test]
    fn converged_tables_plan_nothing() {
        let d = desired(DesiredMode::OnDemand, IndexScope::All);
        assert!(plan_table(&d, &observed(BillingMode::OnDemand, &["g"]))
            .actions
            .is_empty());

        let d = desired(
            provisioned(th(1, 10, 70.0), th(1, 10, 70.0)),
            IndexScope::None,
        );
        let mut o = observed(BillingMode::Provisioned, &["g"]);
        for side in Side::BOTH {
            let key = ScalingKey::table(side);
            o.scalable_targets.push(ScalableTarget {
                key: key.clone(),
                min: 1,
                max: 10,
            });
            o.scaling_policies
                .push(ScalingPolicy::target_tracking(&key, "mine", 70.0));
        }
        assert_eq!(plan_table(&d, &o), TablePlan::default());
    }

    #[test]
    fn different_policy_is_updated_in_place_keeping_name_and_cooldowns() {
        let d = desired(
            provisioned(th(1, 10, 50.0), th(1, 10, 70.0)),
            IndexScope::None,
        );
        let mut o = observed(BillingMode::Provisioned, &[]);
        for side in Side::BOTH {
            let key = ScalingKey::table(side);
            o.scalable_targets.push(ScalableTarget {
                key: key.clone(),
                min: 1,
                max: 10,
            });
            let mut p = ScalingPolicy::target_tracking(&key, "custom-name", 70.0);
            p.scale_in_cooldown = Some(60);
            o.scaling_policies.push(p);
        }
        let plan = plan_table(&d, &o);
        assert_eq!(
            plan.actions,
            vec![Action::PutScalingPolicy {
                key: ScalingKey::table(Side::Read),
                policy_name: "custom-name".into(),
                target_value: 50.0,
                scale_in_cooldown: Some(60),
                scale_out_cooldown: None,
                disable_scale_in: None,
            }]
        );
    }

    #[test]
    fn different_target_bounds_are_reregistered_and_duplicate_policies_removed() {
        let d = desired(
            provisioned(th(1, 10, 70.0), th(1, 10, 70.0)),
            IndexScope::None,
        );
        let mut o = observed(BillingMode::Provisioned, &[]);
        let read = ScalingKey::table(Side::Read);
        let write = ScalingKey::table(Side::Write);
        o.scalable_targets.push(ScalableTarget {
            key: read.clone(),
            min: 1,
            max: 20,
        });
        o.scalable_targets.push(ScalableTarget {
            key: write.clone(),
            min: 1,
            max: 10,
        });
        o.scaling_policies
            .push(ScalingPolicy::target_tracking(&read, "a", 70.0));
        o.scaling_policies
            .push(ScalingPolicy::target_tracking(&read, "b", 40.0));
        o.scaling_policies
            .push(ScalingPolicy::target_tracking(&write, "w", 70.0));
        let plan = plan_table(&d, &o);
        assert_eq!(
            plan.actions,
            vec![
                Action::RegisterScalableTarget {
                    key: read.clone(),
                    min: 1,
                    max: 10
                },
                Action::DeleteScalingPolicy {
                    key: read,
                    policy_name: "b".into()
                },
            ]
        );
    }

    #[test]
    fn indexes_none_leaves_gsi_auto_scaling_alone_but_still_gives_gsis_throughput() {
        let d = desired(
            provisioned(th(3, 10, 70.0), th(4, 10, 70.0)),
            IndexScope::None,
        );
        let o = observed(BillingMode::OnDemand, &["g"]);
        let plan = plan_table(&d, &o);
        match &plan.actions[0] {
            Action::UpdateTable { index_updates, .. } => {
                assert_eq!(
                    index_updates.len(),
                    1,
                    "AWS rejects a switch without GSI throughput"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(plan
            .actions
            .iter()
            .all(|a| !a.target("orders").contains("/index/")));

        let d = desired(DesiredMode::OnDemand, IndexScope::None);
        let mut o = observed(BillingMode::OnDemand, &["g"]);
        let gk = ScalingKey::index("g", Side::Read);
        o.scalable_targets.push(ScalableTarget {
            key: gk,
            min: 1,
            max: 2,
        });
        assert!(plan_table(&d, &o).actions.is_empty());
    }

    #[test]
    fn table_not_active_is_waited_for_before_the_switch() {
        let d = desired(DesiredMode::OnDemand, IndexScope::All);
        let mut o = observed(BillingMode::Provisioned, &["g"]);
        o.indexes[0].status = "CREATING".into();
        assert_eq!(
            ops(&plan_table(&d, &o)),
            vec!["WaitForActive", "UpdateTable", "WaitForActive"]
        );
    }

    #[test]
    fn global_tables_needing_change_are_skipped_not_half_configured() {
        let d = desired(DesiredMode::OnDemand, IndexScope::All);
        let mut o = observed(BillingMode::Provisioned, &[]);
        o.replicas = vec!["eu-west-1".into()];
        let plan = plan_table(&d, &o);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.skip.unwrap().0, SkipReason::GlobalTable);

        o.billing_mode = BillingMode::OnDemand;
        assert_eq!(plan_table(&d, &o), TablePlan::default());
    }

    #[test]
    fn four_known_recent_switches_skip_the_table_up_front() {
        let d = desired(DesiredMode::OnDemand, IndexScope::All);
        let mut o = observed(BillingMode::Provisioned, &[]);
        o.recent_switches_to_on_demand = vec![
            "2026-11-24T01:00:00Z".into(),
            "2026-11-24T02:00:00Z".into(),
            "2026-11-24T03:00:00Z".into(),
        ];
        assert_eq!(plan_table(&d, &o).actions[0].operation(), "UpdateTable");
        o.recent_switches_to_on_demand
            .push("2026-11-24T04:00:00Z".into());
        let plan = plan_table(&d, &o);
        assert!(plan.actions.is_empty());
        let (reason, message) = plan.skip.unwrap();
        assert_eq!(reason, SkipReason::SwitchLimit);
        assert!(
            message.contains("next allowed at 2026-11-25T01:00:00Z"),
            "{message}"
        );
        // Switching to provisioned is never limited.
        let d = desired(provisioned(th(1, 2, 70.0), th(1, 2, 70.0)), IndexScope::All);
        let mut o2 = observed(BillingMode::OnDemand, &[]);
        o2.recent_switches_to_on_demand = o.recent_switches_to_on_demand.clone();
        assert!(plan_table(&d, &o2).skip.is_none());
    }

    #[test]
    fn foreign_policies_on_a_managed_dimension_are_left_in_provisioned_mode() {
        let d = desired(
            provisioned(th(1, 10, 70.0), th(1, 10, 70.0)),
            IndexScope::None,
        );
        let mut o = observed(BillingMode::Provisioned, &[]);
        for side in Side::BOTH {
            let key = ScalingKey::table(side);
            o.scalable_targets.push(ScalableTarget {
                key: key.clone(),
                min: 1,
                max: 10,
            });
            o.scaling_policies
                .push(ScalingPolicy::target_tracking(&key, "tt", 70.0));
            let mut step = ScalingPolicy::target_tracking(&key, "step", 0.0);
            step.policy_type = "StepScaling".into();
            step.metric = None;
            step.target_value = None;
            o.scaling_policies.push(step);
        }
        assert!(plan_table(&d, &o).actions.is_empty());
    }

    // ---- the whole state space, generated ----

    fn arb_thresholds() -> impl Strategy<Value = Thresholds> {
        (
            1i64..20,
            0i64..20,
            prop::sample::select(vec![20.0, 50.0, 70.0, 90.0]),
        )
            .prop_map(|(min, extra, target)| th(min, min + extra, target))
    }

    fn arb_desired() -> impl Strategy<Value = DesiredTable> {
        let mode = prop_oneof![
            Just(DesiredMode::OnDemand),
            (arb_thresholds(), arb_thresholds()).prop_map(|(r, w)| provisioned(r, w)),
        ];
        let scope = prop_oneof![Just(IndexScope::All), Just(IndexScope::None)];
        let own = prop::option::of((arb_thresholds(), arb_thresholds()));
        (mode, scope, own).prop_map(|(m, s, own)| {
            let mut d = desired(m, s);
            // `index` rows attach to provisioned tables only.
            if let (DesiredMode::Provisioned(_), Some((r, w))) = (m, own) {
                d.index_overrides
                    .insert("gsi1".into(), AutoScaling { read: r, write: w });
            }
            d
        })
    }

    fn arb_observed() -> impl Strategy<Value = ObservedTable> {
        let mode = prop_oneof![Just(BillingMode::Provisioned), Just(BillingMode::OnDemand)];
        let gsis = prop::sample::subsequence(vec!["gsi1", "gsi2"], 0..=2);
        let status = prop_oneof![Just("ACTIVE"), Just("UPDATING")];
        (mode, gsis, status)
            .prop_flat_map(|(mode, gsis, status)| {
                let mut keys: Vec<ScalingKey> =
                    Side::BOTH.iter().map(|s| ScalingKey::table(*s)).collect();
                for g in &gsis {
                    keys.extend(Side::BOTH.iter().map(|s| ScalingKey::index(g, *s)));
                }
                let n = keys.len();
                let per_key = (
                    prop::option::of((1i64..20, 0i64..20)),
                    prop::collection::vec(
                        (
                            prop::sample::select(vec!["a", "b", "c"]),
                            prop::sample::select(vec![20.0, 50.0, 70.0]),
                            any::<bool>(),
                        ),
                        0..3,
                    ),
                );
                (
                    Just((mode, gsis, status, keys)),
                    prop::collection::vec(per_key, n),
                )
            })
            .prop_map(|((mode, gsis, status, keys), per_key)| {
                let mut o = observed(mode, &gsis);
                o.status = status.into();
                for (key, (target, policies)) in keys.iter().zip(per_key) {
                    if let Some((min, extra)) = target {
                        o.scalable_targets.push(ScalableTarget {
                            key: key.clone(),
                            min,
                            max: min + extra,
                        });
                    }
                    for (name, value, tracking) in policies {
                        if o.scaling_policies
                            .iter()
                            .any(|p| p.key == *key && p.name == name)
                        {
                            continue;
                        }
                        let mut p = ScalingPolicy::target_tracking(key, name, value);
                        if !tracking {
                            p.policy_type = "StepScaling".into();
                            p.metric = None;
                        }
                        o.scaling_policies.push(p);
                    }
                }
                o.normalize();
                o
            })
    }

    /// The parts of a state a rollback restores.
    fn restorable_part(
        o: &ObservedTable,
    ) -> (BillingMode, Vec<ScalableTarget>, Vec<ScalingPolicy>) {
        let mut o = o.clone();
        o.normalize();
        let policies = o
            .scaling_policies
            .into_iter()
            .filter(|p| p.policy_type == TARGET_TRACKING)
            .collect();
        (o.billing_mode, o.scalable_targets, policies)
    }

    #[test]
    fn restore_puts_back_targets_policies_names_and_mode() {
        let read = ScalingKey::table(Side::Read);
        let mut before = observed(BillingMode::Provisioned, &["g"]);
        before.read_capacity = 7;
        before.scalable_targets.push(ScalableTarget {
            key: read.clone(),
            min: 3,
            max: 30,
        });
        let mut p = ScalingPolicy::target_tracking(&read, "hand-made", 55.0);
        p.scale_in_cooldown = Some(120);
        before.scaling_policies.push(p);
        let current = observed(BillingMode::OnDemand, &["g"]);
        let plan = plan_restore(&before, &current);
        assert_eq!(
            plan.actions[0],
            Action::UpdateTable {
                billing_mode: BillingMode::Provisioned,
                provisioned_throughput: Some(Throughput { read: 7, write: 5 }),
                index_updates: vec![IndexThroughput {
                    index: "g".into(),
                    throughput: Throughput { read: 5, write: 5 }
                }],
            }
        );
        let after = simulate(&current, &plan.actions);
        assert_eq!(restorable_part(&after), restorable_part(&before));
        assert!(plan_restore(&before, &after).actions.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A rollback converges to the recorded state's mode, targets and policies.
        #[test]
        fn restoring_converges_to_the_recorded_state(before in arb_observed(), current in arb_observed()) {
            let mut current = current;
            current.indexes = before.indexes.clone(); // GSIs are not created or deleted
            let plan = plan_restore(&before, &current);
            let after = simulate(&current, &plan.actions);
            prop_assert!(plan_restore(&before, &after).actions.is_empty());
            let (mode, targets, policies) = restorable_part(&after);
            let (want_mode, want_targets, want_policies) = restorable_part(&before);
            prop_assert_eq!(mode, want_mode);
            prop_assert_eq!(targets, want_targets);
            // Recorded policies whose target was not recorded cannot exist in AWS.
            let want_policies: Vec<_> = want_policies.into_iter().filter(|p| before.target(&p.key).is_some()).collect();
            prop_assert_eq!(policies, want_policies);
        }

        /// The property that matters most: after applying a plan, planning again is empty.
        #[test]
        fn applying_the_plan_converges(d in arb_desired(), o in arb_observed()) {
            let plan = plan_table(&d, &o);
            let after = simulate(&o, &plan.actions);
            let again = plan_table(&d, &after);
            prop_assert!(again.actions.is_empty(), "second plan not empty: {:?}", again.actions);
            prop_assert_eq!(after.billing_mode, d.mode.billing_mode());
        }

        /// Planning is idempotent on a converged state and deterministic.
        #[test]
        fn planning_is_deterministic(d in arb_desired(), o in arb_observed()) {
            prop_assert_eq!(plan_table(&d, &o), plan_table(&d, &o));
        }

        /// Safety ordering: a mode change's UpdateTable precedes every auto scaling change, so a
        /// refused switch leaves the table untouched; on-demand plans never register anything;
        /// only a real mode change produces an UpdateTable.
        #[test]
        fn switch_comes_first_and_on_demand_never_registers(d in arb_desired(), o in arb_observed()) {
            let plan = plan_table(&d, &o);
            let first_mutation = plan.actions.iter().position(Action::is_mutating);
            let update = plan.actions.iter().position(|a| a.operation() == "UpdateTable");
            if o.billing_mode != d.mode.billing_mode() {
                prop_assert_eq!(first_mutation, update);
                prop_assert!(update.is_some());
            } else {
                prop_assert!(update.is_none());
            }
            if d.mode == DesiredMode::OnDemand {
                let registers = plan.actions.iter().any(|a| matches!(a,
                    Action::RegisterScalableTarget { .. } | Action::PutScalingPolicy { .. }));
                prop_assert!(!registers);
            }
            // Every policy is put only after its target is registered (or already exists).
            for (i, a) in plan.actions.iter().enumerate() {
                if let Action::PutScalingPolicy { key, .. } = a {
                    let registered_before = plan.actions[..i].iter().any(|b|
                        matches!(b, Action::RegisterScalableTarget { key: k, .. } if k == key));
                    prop_assert!(registered_before || o.target(key).is_some());
                }
            }
        }
    }
}
