//! Before an UpdateTable, the table as it is now against the state it was planned from.
//!
//! With a confirmation, a canary or a long queue, minutes pass between a table's plan and its
//! first UpdateTable, and other teams change tables meanwhile: a GSI deleted is still named in
//! the planned switch, a GSI created is missing from it, and AWS refuses both. `apply` reads
//! the table again (ready: ACTIVE, every GSI ACTIVE and not backfilling), and when a plan made
//! now differs from the actions left, it takes the new plan and the report says why. This
//! module holds the pure part: the state to plan from and what changed.

use crate::history::fill_recent;
use crate::model::*;

/// The state to plan from now: DescribeTable's answer `now`, with what DescribeTable does not
/// carry taken from plan time (auto scaling, which only ddb-fleet's later steps change; the
/// recent peaks a switch to provisioned starts from; the owner, from the tags; the limited changes known from
/// `--history`, plus any DescribeTable shows now).
pub fn current_state(planned: &ObservedTable, mut now: ObservedTable, at: i64) -> ObservedTable {
    fill_recent(
        &mut now,
        &planned.recent_switches_to_on_demand,
        &planned.recent_table_class_changes,
        at,
    );
    now.scalable_targets = planned.scalable_targets.clone();
    now.scaling_policies = planned.scaling_policies.clone();
    now.recent_peaks = planned.recent_peaks.clone();
    now.recent_peaks_error = planned.recent_peaks_error.clone();
    now.owner = planned.owner.clone();
    now.normalize();
    now
}

/// What changed that a plan depends on, between the state the plan expected at this step
/// (`expected`: the plan-time state with the steps done so far) and the table `now`, in words
/// for the report; empty when nothing did.
pub fn drift(expected: &ObservedTable, now: &ObservedTable) -> Vec<String> {
    let names = |o: &ObservedTable| -> Vec<String> {
        let mut v: Vec<String> = o.live_indexes().map(|i| i.name.clone()).collect();
        v.sort();
        v
    };
    let (was, is) = (names(expected), names(now));
    let mut changes: Vec<String> = is
        .iter()
        .filter(|n| !was.contains(n))
        .map(|n| format!("GSI {n} was created"))
        .collect();
    changes.extend(
        was.iter()
            .filter(|n| !is.contains(n))
            .map(|n| format!("GSI {n} was deleted")),
    );
    if expected.billing_mode != now.billing_mode {
        changes.push(format!(
            "its billing mode is now {}",
            now.billing_mode.as_aws_str()
        ));
    }
    if expected.table_class != now.table_class {
        if let Some(class) = now.table_class {
            changes.push(format!("its table class is now {}", class.as_aws_str()));
        }
    }
    if expected.caps != now.caps {
        changes.push(format!(
            "its maximum on-demand throughput is now {}",
            now.caps
        ));
    }
    if expected.replicas != now.replicas && !now.replicas.is_empty() {
        changes.push(format!(
            "it now has replicas in {}",
            now.replicas.join(", ")
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_names_gsis_created_and_deleted_and_mode_changes() {
        let planned = ObservedTable::active(BillingMode::Provisioned, 5, &["a", "b"]);
        assert!(drift(&planned, &planned).is_empty());
        let mut now = ObservedTable::active(BillingMode::OnDemand, 0, &["b", "c"]);
        now.indexes[0].status = INDEX_DELETING.into();
        assert_eq!(
            drift(&planned, &now),
            [
                "GSI c was created",
                "GSI a was deleted",
                "GSI b was deleted",
                "its billing mode is now PAY_PER_REQUEST"
            ]
        );
    }

    #[test]
    fn the_current_state_keeps_plan_time_auto_scaling_peaks_and_history() {
        let mut planned = ObservedTable::active(BillingMode::OnDemand, 0, &["a"]);
        planned.scale(None, 1, 10, 70.0, "p");
        planned.recent_peaks = vec![RecentPeak {
            key: ScalingKey::table(Side::Write),
            per_second: 40.0,
        }];
        planned.recent_switches_to_on_demand = vec!["2026-12-03T09:00:00Z".into()];
        let mut now = ObservedTable::active(BillingMode::OnDemand, 0, &["a", "b"]);
        now.last_switch_to_on_demand = Some("2026-12-03T10:00:00Z".into());
        let at = aws_smithy_types::DateTime::from_str(
            "2026-12-03T10:05:00Z",
            aws_smithy_types::date_time::Format::DateTime,
        )
        .unwrap()
        .secs();
        let s = current_state(&planned, now, at);
        assert_eq!(s.indexes.len(), 2, "GSIs are today's");
        assert_eq!(s.scalable_targets, planned.scalable_targets);
        assert_eq!(s.scaling_policies, planned.scaling_policies);
        assert_eq!(s.recent_peaks, planned.recent_peaks);
        assert_eq!(
            s.recent_switches_to_on_demand,
            ["2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"],
            "a switch seen now counts against the limit"
        );
    }
}
