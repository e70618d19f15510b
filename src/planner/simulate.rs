//! AWS's effect of a plan on a table's state ([`simulate`]), for the convergence tests.

use super::{Action, IndexCaps, TableUpdate, Throughput};
use crate::model::*;

/// Applies a plan's actions to an observed state the way AWS does (including AWS's rule that
/// from the result must give no actions.
pub fn simulate(observed: &ObservedTable, actions: &[Action]) -> ObservedTable {
    let mut s = observed.clone();
    for action in actions {
        match action {
            Action::WaitForActive => {
                // Creations and backfills finish; deletions too (the GSI is gone).
                s.status = "ACTIVE".into();
                s.indexes.retain(|i| i.status != INDEX_DELETING);
                for i in &mut s.indexes {
                    i.status = "ACTIVE".into();
                    i.backfilling = false;
                }
            }
            Action::UpdateTable(u) => update_table(&mut s, u),
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

/// Whether `observed` already holds what UpdateTable `u` sets (mode, capacities, caps,
/// class): sending it again would change nothing. After a write whose answer was lost, this is
/// how ddb-fleet tells whether it landed.
pub fn update_holds(observed: &ObservedTable, u: &TableUpdate) -> bool {
    let before = caps_reported(observed);
    let mut after = before.clone();
    update_table(&mut after, u);
    after.status.clone_from(&before.status);
    after == before
}

/// `observed` with caps it did not report as what that means on AWS: no cap.
fn caps_reported(observed: &ObservedTable) -> ObservedTable {
    let no_cap = |c: &mut OnDemandCaps| {
        c.read.get_or_insert(Cap::Unlimited);
        c.write.get_or_insert(Cap::Unlimited);
    };
    let mut o = observed.clone();
    no_cap(&mut o.caps);
    for i in &mut o.indexes {
        no_cap(&mut i.caps);
    }
    o
}

/// What one UpdateTable does: a switch sets the mode and capacities (an on-demand table has
/// none), caps and class are set where given; the table is UPDATING after it.
fn update_table(s: &mut ObservedTable, u: &TableUpdate) {
    let TableUpdate {
        billing_mode,
        provisioned_throughput,
        index_updates,
        caps,
        index_caps,
        table_class,
    } = u;
    if let Some(mode) = billing_mode {
        s.billing_mode = *mode;
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
    }
    s.caps = s.caps.overlaid(caps);
    for IndexCaps { index, caps } in index_caps {
        if let Some(i) = s.indexes.iter_mut().find(|i| i.name == *index) {
            i.caps = i.caps.overlaid(caps);
        }
    }
    if let Some(c) = table_class {
        s.table_class = Some(*c);
    }
    s.status = "UPDATING".into();
}
