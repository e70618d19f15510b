//! The way back to a recorded state, for `rollback` ([`plan_restore`]).

use super::{caps_changes, global_table_skip, skip_reason, with_waits};
use super::{Action, IndexThroughput, TablePlan, Throughput};
use crate::model::*;

/// Plans the way back to a recorded state (`rollback`): the table class (if recorded), the
/// billing mode (a switch to provisioned restores the recorded capacities of the table and its
/// GSIs; a switch to on-demand, or an on-demand table, gets the recorded maximum on-demand
/// throughput back), then exactly the recorded scalable targets and target-tracking policies:
/// missing or different ones are put back under their recorded names, ones that were not there
/// are removed. Policies of other kinds cannot be recreated by ddb-fleet and are left as they
/// are. The class limit and the switch limit are respected as `plan_table` respects them. GSIs
/// are today's: one created since the record starts at the table's recorded capacity, one
/// deleted since is not named.
pub fn plan_restore(target: &ObservedTable, current: &ObservedTable) -> TablePlan {
    let mut updates = Vec::new();
    if let Some(class) = target.table_class {
        if current.table_class.is_some_and(|c| c != class) {
            updates.push(Action::set_class(class));
        }
    }
    let recorded_index_caps = |name: &str| {
        target
            .indexes
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.caps)
            .unwrap_or_default()
    };
    if target.billing_mode != current.billing_mode {
        updates.push(match target.billing_mode {
            BillingMode::OnDemand => {
                let (caps, index_caps) = caps_changes(&target.caps, recorded_index_caps, current);
                Action::to_on_demand(caps, index_caps)
            }
            BillingMode::Provisioned => restore_provisioned(target, current),
        });
    } else if target.billing_mode == BillingMode::OnDemand {
        let (caps, index_caps) = caps_changes(&target.caps, recorded_index_caps, current);
        if !caps.is_unset() || !index_caps.is_empty() {
            updates.push(Action::set_caps(caps, index_caps));
        }
    }
    if !current.replicas.is_empty() {
        // ddb-fleet never changed a global table: only a recorded mode change is reported.
        if target.billing_mode != current.billing_mode {
            return TablePlan::skipped(global_table_skip(current));
        }
        return TablePlan::default();
    }
    if let Some(skip) = skip_reason(current, &updates, false) {
        return TablePlan::skipped(skip);
    }
    let mut scaling = Vec::new();
    restore_scaling(target, current, &mut scaling);
    let mut actions = with_waits(current, updates, !scaling.is_empty());
    actions.extend(scaling);
    TablePlan {
        actions,
        skip: None,
    }
}

/// The switch back to provisioned, at the recorded capacities (at least 1: AWS's minimum).
fn restore_provisioned(target: &ObservedTable, current: &ObservedTable) -> Action {
    let table = Throughput {
        read: target.read_capacity.max(1),
        write: target.write_capacity.max(1),
    };
    let mut index_updates: Vec<IndexThroughput> = current
        .live_indexes()
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
    Action::to_provisioned(table, index_updates)
}

/// The recorded scalable targets and target-tracking policies, put back.
fn restore_scaling(target: &ObservedTable, current: &ObservedTable, actions: &mut Vec<Action>) {
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
        // A GSI deleted since the record (or being deleted) gets no auto scaling back; what
        // is left registered on it is removed.
        let live = key
            .index
            .as_ref()
            .is_none_or(|name| current.live_indexes().any(|i| &i.name == name));
        let want = target.target(key).filter(|_| live);
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
                actions.push(Action::DeleteScalingPolicy {
                    key: key.clone(),
                    policy_name: p.name.clone(),
                });
            }
        }
        match (want, have) {
            (None, Some(_)) => {
                actions.push(Action::DeregisterScalableTarget { key: key.clone() });
                continue;
            }
            (Some(w), h) if h.is_none_or(|h| h.min != w.min || h.max != w.max) => {
                actions.push(Action::RegisterScalableTarget {
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
            // A target-tracking policy always has a target value; a record without one is
            // refused when the report is read (never restored at a guessed value).
            let Some(target_value) = w.target_value else {
                continue;
            };
            if !same {
                actions.push(Action::PutScalingPolicy {
                    key: key.clone(),
                    policy_name: w.name.clone(),
                    target_value,
                    scale_in_cooldown: w.scale_in_cooldown,
                    scale_out_cooldown: w.scale_out_cooldown,
                    disable_scale_in: w.disable_scale_in,
                });
            }
        }
    }
}
