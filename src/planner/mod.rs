//! The planner: a pure function from (desired row, observed state) to an ordered [`TablePlan`].
//!
//! No SDK types, no async, no I/O: `plan` and `apply` both call [`plan_table`], `plan` prints
//! the result and `apply` realises it. The order of actions is a safety property:
//! - a table-class change comes first, in an UpdateTable of its own (AWS takes the class on
//!   its own only): of the table's changes it is the most likely to be refused (two per 30
//!   days, of which DescribeTable shows only the last), and refused first, it leaves the table
//!   exactly as it was;
//! - to on-demand, the UpdateTable switch (carrying the maximum on-demand throughput) comes
//!   next, so a refused switch (AWS's limit of four switches to on-demand per 24 h) leaves the
//!   table's capacity exactly as it was; auto scaling is removed after, because AWS keeps it
//!   registered across an SDK switch;
//! - to provisioned, the switch carries throughput for the table and every GSI (AWS rejects it
//!   otherwise), starts at `min`, waits for ACTIVE, then registers targets and policies;
//! - an on-demand table whose maximum on-demand throughput differs gets one UpdateTable with
//!   the table's and its GSIs' caps;
//! - every UpdateTable is waited for (ACTIVE) before the next step, and a table that is not
//!   ACTIVE (or a GSI being created, backfilling or deleted) before the first change; a GSI
//!   being deleted is never named (it is gone by the time the change is sent).
//!
//! Modules: [`action`] (the steps), [`limits`] (AWS's switch and class limits), [`restore`]
//! (the way back to a recorded state, for rollback), [`simulate`] (AWS's effect of a plan,
//! for convergence tests).

mod action;
mod limits;
mod restore;
mod simulate;
#[cfg(test)]
mod tests;

pub use action::{Action, IndexCaps, IndexThroughput, TableUpdate, Throughput};
pub use limits::{
    add_day, next_class_change_allowed, next_switch_allowed, SWITCHES_TO_ON_DEMAND_PER_DAY,
    SWITCH_WINDOW_SECS, TABLE_CLASS_CHANGES_PER_30_DAYS, TABLE_CLASS_WINDOW_SECS,
};
pub use restore::plan_restore;
pub use simulate::{simulate, update_holds};

use crate::model::*;
use serde::{Deserialize, Serialize};

/// Why a table is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A global table (has replicas): a mode change applies to every replica and AWS requires
    /// write auto scaling on provisioned replicas; not managed yet, never half-configured.
    GlobalTable,
    /// AWS refused the switch to on-demand (at most four per table per rolling 24 hours).
    SwitchLimit,
    /// AWS allows two table-class changes per table per trailing 30 days; they are used.
    TableClassLimit,
    /// The table did not become ACTIVE within `--wait-timeout`.
    NotActive,
    /// Not started: `--max-failures` tables had already failed.
    MaxFailures,
    /// AWS refused a capacity decrease (per table: four at any time in a UTC day, then one
    /// an hour); `--resume` takes it up once the time the report names has come.
    DecreaseLimit,
    /// A CloudFormation stack or a tag named with `--managed-tag` manages the table: its next
    /// update would revert the change. `--include-managed` changes it all the same.
    Managed,
}

impl SkipReason {
    /// Whether a later run may get past it.
    pub fn is_retryable(self) -> bool {
        !matches!(self, SkipReason::GlobalTable)
    }
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

    fn skipped(reason: (SkipReason, String)) -> TablePlan {
        TablePlan {
            actions: vec![],
            skip: Some(reason),
        }
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
        .live_indexes()
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
    let mut updates = Vec::new();
    if let Some(class) = desired.table_class {
        if observed.table_class != Some(class) {
            updates.push(Action::set_class(class));
        }
    }
    if observed.billing_mode != desired.mode.billing_mode() {
        updates.push(switch_action(desired, observed));
    } else if desired.mode == DesiredMode::OnDemand {
        let (caps, index_caps) =
            caps_changes(&desired.caps, |i| wanted_index_caps(desired, i), observed);
        if !caps.is_unset() || !index_caps.is_empty() {
            updates.push(Action::set_caps(caps, index_caps));
        }
    }
    let scaling = scaling_actions(desired, observed);
    if let Some(skip) = skip_reason(observed, &updates, !scaling.is_empty()) {
        return TablePlan::skipped(skip);
    }
    let mut actions = with_waits(observed, updates, !scaling.is_empty());
    actions.extend(scaling);
    TablePlan {
        actions,
        skip: None,
    }
}

/// `plan` for a table that a stack or a named tag manages (its `owner`), unless
/// `include_managed`: skipped with reason `managed` if it would change anything (the owner's
/// next update would revert the change). A rollback's plan is kept: it puts back the state
/// the owner had. An owner that could not be read does not skip the table.
pub fn leave_managed(
    plan: TablePlan,
    desired: &DesiredTable,
    observed: &ObservedTable,
    include_managed: bool,
) -> TablePlan {
    match &observed.owner {
        Some(owner)
            if owner.is_managed()
                && plan.changes_anything()
                && !include_managed
                && desired.restore.is_none() =>
        {
            TablePlan::skipped((
                SkipReason::Managed,
                format!(
                    "managed by {owner}: its next update would revert the change; change it there, or pass --include-managed"
                ),
            ))
        }
        _ => plan,
    }
}

/// Why a table whose plan would send `updates` (and auto scaling changes, if `scaling`) must be
/// left alone, if it must: a global table, or one of AWS's limits already used up.
fn skip_reason(
    observed: &ObservedTable,
    updates: &[Action],
    scaling: bool,
) -> Option<(SkipReason, String)> {
    if !observed.replicas.is_empty() {
        return (!updates.is_empty() || scaling).then(|| global_table_skip(observed));
    }
    let to_on_demand = updates
        .iter()
        .any(|a| a.switches_to() == Some(BillingMode::OnDemand));
    let class = updates.iter().any(|a| a.sets_class().is_some());
    to_on_demand
        .then(|| limits::switch_limit(&observed.recent_switches_to_on_demand))
        .flatten()
        .or_else(|| {
            class
                .then(|| limits::table_class_limit(&observed.recent_table_class_changes))
                .flatten()
        })
}

/// The UpdateTables in order, each followed by a wait for ACTIVE. A table not ACTIVE yet (or
/// with a GSI being created, backfilling or deleted) is waited for before anything is changed:
/// AWS refuses an UpdateTable meanwhile, and auto scaling is not put on a GSI not ready.
fn with_waits(observed: &ObservedTable, updates: Vec<Action>, scaling: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    if (!updates.is_empty() || scaling) && !observed.is_active() {
        actions.push(Action::WaitForActive);
    }
    for u in updates {
        actions.push(u);
        actions.push(Action::WaitForActive);
    }
    actions
}

/// The maximum on-demand throughput an inventory row wants for one GSI: its `index` row's,
/// over the table's own with `indexes = all`.
fn wanted_index_caps(desired: &DesiredTable, index: &str) -> OnDemandCaps {
    let base = match desired.indexes {
        IndexScope::All => desired.caps,
        IndexScope::None => OnDemandCaps::default(),
    };
    match desired.index_caps.get(index) {
        Some(own) => base.overlaid(own),
        None => base,
    }
}

/// The sides of the table's and each GSI's maximum on-demand throughput that differ from
/// what is wanted (`table`, and `index(name)` per GSI), GSIs in name order.
fn caps_changes(
    table: &OnDemandCaps,
    index: impl Fn(&str) -> OnDemandCaps,
    observed: &ObservedTable,
) -> (OnDemandCaps, Vec<IndexCaps>) {
    let mut index_caps: Vec<IndexCaps> = observed
        .live_indexes()
        .map(|i| IndexCaps {
            index: i.name.clone(),
            caps: index(&i.name).differing(&i.caps),
        })
        .filter(|i| !i.caps.is_unset())
        .collect();
    index_caps.sort_by(|a, b| a.index.cmp(&b.index));
    (table.differing(&observed.caps), index_caps)
}

fn switch_action(desired: &DesiredTable, observed: &ObservedTable) -> Action {
    match &desired.mode {
        DesiredMode::OnDemand => {
            let (caps, index_caps) =
                caps_changes(&desired.caps, |i| wanted_index_caps(desired, i), observed);
            Action::to_on_demand(caps, index_caps)
        }
        DesiredMode::Provisioned(scaling) => {
            let start = |index: Option<&str>, own: &AutoScaling| Throughput {
                read: starting_capacity(observed, index, Side::Read, own),
                write: starting_capacity(observed, index, Side::Write, own),
            };
            let mut index_updates: Vec<IndexThroughput> = observed
                .live_indexes()
                .map(|i| IndexThroughput {
                    index: i.name.clone(),
                    throughput: start(
                        Some(&i.name),
                        desired.index_overrides.get(&i.name).unwrap_or(scaling),
                    ),
                })
                .collect();
            index_updates.sort_by(|a, b| a.index.cmp(&b.index));
            Action::to_provisioned(start(None, scaling), index_updates)
        }
    }
}

/// The capacity a dimension starts at when the table switches to provisioned: its peak of the
/// last 30 minutes / target, within [min, max], as AWS's console estimates it ("based on the
/// consumed read and write capacity of your table and global secondary indexes over the past
/// 30 minutes"): a busy table does not throttle for the minutes auto scaling needs to catch
/// up from `min`. Without the peak (CloudWatch not readable): `min`.
pub fn starting_capacity(
    observed: &ObservedTable,
    index: Option<&str>,
    side: Side,
    scaling: &AutoScaling,
) -> i64 {
    let t = scaling.side(side);
    let key = ScalingKey {
        index: index.map(str::to_string),
        side,
    };
    match observed.recent_peak(&key) {
        Some(peak) => ((peak * 100.0 / t.target).ceil() as i64).clamp(t.min, t.max.max(t.min)),
        None => t.min,
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
