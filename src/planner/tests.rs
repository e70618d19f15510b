//! The planner's tests: examples, then the whole state space, generated (convergence).

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
        Action::to_provisioned(
            Throughput { read: 5, write: 2 },
            vec![
                IndexThroughput {
                    index: "gsi-a".into(),
                    throughput: Throughput { read: 5, write: 2 }
                },
                IndexThroughput {
                    index: "gsi-b".into(),
                    throughput: Throughput { read: 5, write: 2 }
                },
            ],
        )
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
        Action::to_on_demand(OnDemandCaps::default(), vec![]),
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
fn restorable_part(o: &ObservedTable) -> (BillingMode, Vec<ScalableTarget>, Vec<ScalingPolicy>) {
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
        Action::to_provisioned(
            Throughput { read: 7, write: 5 },
            vec![IndexThroughput {
                index: "g".into(),
                throughput: Throughput { read: 5, write: 5 }
            }],
        )
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
