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
    o.scale(None, 1, 10, 70.0, "mine");
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
        Action::UpdateTable(TableUpdate { index_updates, .. }) => {
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

fn caps(read: Option<Cap>, write: Option<Cap>) -> OnDemandCaps {
    OnDemandCaps { read, write }
}

/// What AWS reports for a table or GSI without caps.
fn uncapped() -> OnDemandCaps {
    caps(Some(Cap::Unlimited), Some(Cap::Unlimited))
}

fn observed_with_aws_caps(mode: BillingMode, gsis: &[&str]) -> ObservedTable {
    let mut o = observed(mode, gsis);
    o.caps = uncapped();
    for i in &mut o.indexes {
        i.caps = uncapped();
    }
    o
}

#[test]
fn caps_travel_in_the_switch_to_on_demand_for_the_table_and_its_gsis() {
    let mut d = desired(DesiredMode::OnDemand, IndexScope::All);
    d.caps = caps(Some(Cap::Max(100)), Some(Cap::Unlimited));
    d.index_caps
        .insert("g1".into(), caps(None, Some(Cap::Max(5))));
    let o = observed_with_aws_caps(BillingMode::Provisioned, &["g2", "g1"]);
    let plan = plan_table(&d, &o);
    assert_eq!(
        plan.actions[0],
        Action::to_on_demand(
            // `none` on writes is what AWS has already: not sent.
            caps(Some(Cap::Max(100)), None),
            vec![
                IndexCaps {
                    index: "g1".into(),
                    caps: caps(Some(Cap::Max(100)), Some(Cap::Max(5))),
                },
                IndexCaps {
                    index: "g2".into(),
                    caps: caps(Some(Cap::Max(100)), None),
                },
            ]
        )
    );
    assert_eq!(ops(&plan)[..2], ["UpdateTable", "WaitForActive"]);
    let after = simulate(&o, &plan.actions);
    assert_eq!(after.caps, caps(Some(Cap::Max(100)), Some(Cap::Unlimited)));
    assert!(plan_table(&d, &after).actions.is_empty());

    // With `indexes = none`, only GSIs with their own index row get caps.
    d.indexes = IndexScope::None;
    match &plan_table(&d, &o).actions[0] {
        Action::UpdateTable(TableUpdate { index_caps, .. }) => {
            assert_eq!(index_caps.len(), 1);
            assert_eq!(index_caps[0].caps, caps(None, Some(Cap::Max(5))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn caps_of_an_on_demand_table_change_in_their_own_update_and_absent_ones_are_left_alone() {
    let mut d = desired(DesiredMode::OnDemand, IndexScope::All);
    let mut o = observed_with_aws_caps(BillingMode::OnDemand, &["g"]);
    o.caps = caps(Some(Cap::Max(7)), Some(Cap::Max(9)));
    o.table_class = Some(TableClass::StandardInfrequentAccess);
    // The inventory states neither caps nor class: nothing to do, whatever AWS has.
    assert!(plan_table(&d, &o).actions.is_empty());

    d.caps = caps(Some(Cap::Unlimited), None);
    let plan = plan_table(&d, &o);
    assert_eq!(
        plan.actions,
        vec![
            Action::set_caps(caps(Some(Cap::Unlimited), None), vec![]),
            Action::WaitForActive
        ]
    );
    assert!(plan.actions[0].switches_to().is_none());
    assert!(plan.actions[0]
        .describe()
        .contains("maximum on-demand throughput table reads uncapped"));
}

#[test]
fn switching_to_provisioned_ignores_caps_so_a_replan_is_empty() {
    // Whatever AWS keeps of the caps across a switch to provisioned (it does not say), a
    // provisioned table's caps are not planned.
    let d = desired(
        provisioned(th(1, 10, 70.0), th(1, 10, 70.0)),
        IndexScope::All,
    );
    let mut o = observed_with_aws_caps(BillingMode::OnDemand, &["g"]);
    o.caps = caps(Some(Cap::Max(3)), Some(Cap::Max(3)));
    let plan = plan_table(&d, &o);
    let after = simulate(&o, &plan.actions);
    assert_eq!(after.caps, o.caps, "kept, as far as the model goes");
    assert!(plan_table(&d, &after).actions.is_empty());
}

#[test]
fn a_class_change_goes_first_alone_and_the_third_in_30_days_is_skipped() {
    let mut d = desired(DesiredMode::OnDemand, IndexScope::All);
    d.table_class = Some(TableClass::StandardInfrequentAccess);
    let mut o = observed_with_aws_caps(BillingMode::Provisioned, &[]);
    let plan = plan_table(&d, &o);
    assert_eq!(
        ops(&plan),
        [
            "UpdateTable",
            "WaitForActive",
            "UpdateTable",
            "WaitForActive"
        ]
    );
    assert_eq!(
        plan.actions[0],
        Action::set_class(TableClass::StandardInfrequentAccess)
    );
    assert_eq!(plan.actions[2].switches_to(), Some(BillingMode::OnDemand));

    o.recent_table_class_changes = vec!["2026-11-20T10:00:00Z".into()];
    assert!(plan_table(&d, &o).skip.is_none(), "one change left");
    o.recent_table_class_changes
        .push("2026-11-25T10:00:00Z".into());
    let plan = plan_table(&d, &o);
    assert!(plan.actions.is_empty(), "the switch waits with the class");
    let (reason, message) = plan.skip.unwrap();
    assert_eq!(reason, SkipReason::TableClassLimit);
    assert!(reason.is_retryable());
    assert!(
        message.contains("next allowed at 2026-12-20T10:00:00Z"),
        "{message}"
    );
    // The same class is no change: no limit applies.
    o.table_class = Some(TableClass::StandardInfrequentAccess);
    assert!(plan_table(&d, &o).skip.is_none());
}

#[test]
fn restore_puts_back_recorded_caps_and_class_and_respects_the_class_limit() {
    let mut before = observed_with_aws_caps(BillingMode::OnDemand, &["g"]);
    before.caps = caps(Some(Cap::Max(40)), Some(Cap::Unlimited));
    before.indexes[0].caps = caps(Some(Cap::Max(4)), Some(Cap::Unlimited));
    before.table_class = Some(TableClass::Standard);
    let mut current = observed_with_aws_caps(BillingMode::OnDemand, &["g"]);
    current.table_class = Some(TableClass::StandardInfrequentAccess);
    let plan = plan_restore(&before, &current);
    assert_eq!(plan.actions[0], Action::set_class(TableClass::Standard));
    let after = simulate(&current, &plan.actions);
    assert_eq!(after.caps, before.caps);
    assert_eq!(after.indexes[0].caps, before.indexes[0].caps);
    assert_eq!(after.table_class, before.table_class);
    assert!(plan_restore(&before, &after).actions.is_empty());

    current.recent_table_class_changes = vec!["a".into(), "b".into()];
    assert_eq!(
        plan_restore(&before, &current).skip.map(|s| s.0),
        Some(SkipReason::TableClassLimit)
    );
    // A report written before caps and class were recorded restores neither.
    let mut old = before.clone();
    old.caps = OnDemandCaps::default();
    old.indexes[0].caps = OnDemandCaps::default();
    old.table_class = None;
    assert!(plan_restore(&old, &current).actions.is_empty());
}

#[test]
fn a_switch_to_provisioned_starts_at_the_recent_peak_over_the_target() {
    let d = desired(
        provisioned(th(5, 10_000, 70.0), th(5, 10_000, 70.0)),
        IndexScope::All,
    );
    let mut o = observed(BillingMode::OnDemand, &["g"]);
    o.recent_peaks = vec![
        RecentPeak {
            key: ScalingKey::table(Side::Write),
            per_second: 3000.0,
        },
        RecentPeak {
            key: ScalingKey::table(Side::Read),
            per_second: 1.0,
        },
        RecentPeak {
            key: ScalingKey::index("g", Side::Write),
            per_second: 70_000.0,
        },
    ];
    let plan = plan_table(&d, &o);
    let Action::UpdateTable(u) = &plan.actions[0] else {
        panic!()
    };
    // 3,000 writes/s at a 70 % target: 4,286; 1 read/s: min 5; the GSI: capped at max.
    assert_eq!(
        u.provisioned_throughput,
        Some(Throughput {
            read: 5,
            write: 4286
        })
    );
    assert_eq!(
        u.index_updates[0].throughput,
        Throughput {
            read: 5,
            write: 10_000
        }
    );
    // Without them: min.
    o.recent_peaks.clear();
    let Action::UpdateTable(u) = &plan_table(&d, &o).actions[0] else {
        panic!()
    };
    assert_eq!(
        u.provisioned_throughput,
        Some(Throughput { read: 5, write: 5 })
    );
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
    let settings = (arb_caps(), arb_caps(), prop::option::of(arb_class()));
    (mode, scope, own, settings).prop_map(|(m, s, own, (caps, gsi_caps, class))| {
        let mut d = desired(m, s);
        d.table_class = class;
        match (m, own) {
            (DesiredMode::Provisioned(_), Some((r, w))) => {
                d.index_overrides
                    .insert("gsi1".into(), AutoScaling { read: r, write: w });
            }
            // Caps are on-demand settings, for the table and (index rows) its GSIs.
            (DesiredMode::OnDemand, _) => {
                d.caps = caps;
                if !gsi_caps.is_unset() {
                    d.index_caps.insert("gsi1".into(), gsi_caps);
                }
            }
            _ => {}
        }
        d
    })
}

/// Caps as an inventory states them: each side absent, `none` or a number.
fn arb_caps() -> impl Strategy<Value = OnDemandCaps> {
    let side = prop::option::of(prop_oneof![
        Just(Cap::Unlimited),
        Just(Cap::Max(10)),
        Just(Cap::Max(50)),
    ]);
    (side.clone(), side).prop_map(|(read, write)| OnDemandCaps { read, write })
}

/// Caps as AWS reports them: both sides known.
fn arb_observed_caps() -> impl Strategy<Value = OnDemandCaps> {
    let side = prop_oneof![Just(Cap::Unlimited), Just(Cap::Max(10)), Just(Cap::Max(50))];
    (side.clone(), side).prop_map(|(r, w)| OnDemandCaps {
        read: Some(r),
        write: Some(w),
    })
}

fn arb_class() -> impl Strategy<Value = TableClass> {
    prop_oneof![
        Just(TableClass::Standard),
        Just(TableClass::StandardInfrequentAccess)
    ]
}

/// The table's settings and history: caps (table and each GSI), class, and the limited
/// changes already made (up to the limits).
fn with_settings(
    base: impl Strategy<Value = ObservedTable>,
) -> impl Strategy<Value = ObservedTable> {
    let history = |n: usize| prop::collection::vec(Just("2026-11-24T01:00:00Z".to_string()), 0..=n);
    (
        base,
        arb_observed_caps(),
        prop::collection::vec(arb_observed_caps(), 2),
        arb_class(),
        history(TABLE_CLASS_CHANGES_PER_30_DAYS),
        history(SWITCHES_TO_ON_DEMAND_PER_DAY),
    )
        .prop_map(|(mut o, caps, gsi_caps, class, classes, switches)| {
            // A busy table's recent peaks (they only set where a switch starts).
            if o.billing_mode == BillingMode::OnDemand && classes.len() == 1 {
                o.recent_peaks = vec![RecentPeak {
                    key: ScalingKey::table(Side::Write),
                    per_second: 30.0,
                }];
            }
            o.caps = caps;
            for (i, c) in o.indexes.iter_mut().zip(gsi_caps) {
                i.caps = c;
            }
            o.table_class = Some(class);
            o.recent_table_class_changes = classes;
            o.recent_switches_to_on_demand = switches;
            o
        })
}

fn arb_observed() -> impl Strategy<Value = ObservedTable> {
    with_lifecycle(with_settings(arb_observed_scaling()))
}

/// What other teams do to a table meanwhile: GSIs being created (and backfilling), updated or
/// deleted, and (rarely) replicas that make it a global table.
fn with_lifecycle(
    base: impl Strategy<Value = ObservedTable>,
) -> impl Strategy<Value = ObservedTable> {
    let index_state = prop_oneof![
        6 => Just(("ACTIVE", false)),
        1 => Just(("CREATING", true)),
        1 => Just(("CREATING", false)),
        1 => Just(("UPDATING", false)),
        1 => Just(("DELETING", false)),
    ];
    let replicas = prop::option::weighted(0.1, Just(vec!["eu-west-1".to_string()]));
    (base, prop::collection::vec(index_state, 2), replicas).prop_map(|(mut o, states, replicas)| {
        for (i, (status, backfilling)) in o.indexes.iter_mut().zip(states) {
            i.status = status.into();
            i.backfilling = backfilling;
        }
        o.replicas = replicas.unwrap_or_default();
        o
    })
}

fn arb_observed_scaling() -> impl Strategy<Value = ObservedTable> {
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
        if plan.skip.is_some() || !current.replicas.is_empty() {
            // Left alone (a limit reached, or a global table): exactly as it was.
            prop_assert!(plan.actions.is_empty());
            return Ok(());
        }
        prop_assert_eq!(after.table_class, before.table_class);
        if before.billing_mode == BillingMode::OnDemand {
            prop_assert_eq!(after.caps, before.caps);
            for a in &after.indexes {
                let b = before.indexes.iter().find(|b| b.name == a.name).unwrap();
                prop_assert_eq!(a.caps, b.caps);
            }
        }
        // A GSI deleted meanwhile gets nothing back (it is gone once the table is ready).
        let exists = |k: &ScalingKey| k.index.as_ref()
            .is_none_or(|n| after.live_indexes().any(|i| &i.name == n));
        let (mode, targets, policies) = restorable_part(&after);
        let (want_mode, want_targets, want_policies) = restorable_part(&before);
        prop_assert_eq!(mode, want_mode);
        let want_targets: Vec<_> = want_targets.into_iter().filter(|t| exists(&t.key)).collect();
        let targets: Vec<_> = targets.into_iter().filter(|t| exists(&t.key)).collect();
        prop_assert_eq!(targets, want_targets);
        // Recorded policies whose target was not recorded cannot exist in AWS.
        let want_policies: Vec<_> = want_policies.into_iter()
            .filter(|p| before.target(&p.key).is_some() && exists(&p.key)).collect();
        let policies: Vec<_> = policies.into_iter().filter(|p| exists(&p.key)).collect();
        prop_assert_eq!(policies, want_policies);
    }

    /// The property that matters most: after applying a plan, planning again is empty.
    #[test]
    fn applying_the_plan_converges(d in arb_desired(), o in arb_observed()) {
        let plan = plan_table(&d, &o);
        let after = simulate(&o, &plan.actions);
        let again = plan_table(&d, &after);
        prop_assert!(again.actions.is_empty(), "second plan not empty: {:?}", again.actions);
        if plan.skip.is_some() {
            prop_assert!(plan.actions.is_empty());
            return Ok(());
        }
        prop_assert_eq!(after.billing_mode, d.mode.billing_mode());
        if let Some(class) = d.table_class {
            prop_assert_eq!(after.table_class, Some(class));
        }
        if d.mode == DesiredMode::OnDemand {
            for side in Side::BOTH {
                if let Some(want) = d.caps.side(side) {
                    prop_assert_eq!(after.caps.side(side), Some(want));
                }
            }
        }
    }

    /// A GSI being deleted is never named, and nothing is changed on a table (or GSI) that is
    /// not ready before waiting for it: no UpdateTable AWS would refuse, no auto scaling on a
    /// GSI still being created or backfilled. A global table is never changed.
    #[test]
    fn plans_wait_for_a_ready_table_and_never_name_a_deleted_gsi(d in arb_desired(), o in arb_observed()) {
        let plan = plan_table(&d, &o);
        let deleting: Vec<&str> = o.indexes.iter()
            .filter(|i| i.status == INDEX_DELETING).map(|i| i.name.as_str()).collect();
        for a in &plan.actions {
            let text = format!("{a:?}");
            for name in &deleting {
                prop_assert!(!text.contains(&format!("\"{name}\"")), "{name} named in {a:?}");
            }
        }
        if plan.changes_anything() && !o.is_active() {
            prop_assert_eq!(plan.actions.first(), Some(&Action::WaitForActive));
        }
        if !o.replicas.is_empty() {
            prop_assert!(plan.actions.is_empty());
        }
    }

    /// Planning is deterministic: the plan does not depend on the order AWS lists a table's
    /// GSIs, scalable targets and policies in (paginated reads give no order).
    #[test]
    fn planning_does_not_depend_on_listing_order(d in arb_desired(), o in arb_observed()) {
        let mut reordered = o.clone();
        reordered.indexes.reverse();
        reordered.scalable_targets.reverse();
        reordered.scaling_policies.reverse();
        prop_assert_eq!(plan_table(&d, &o), plan_table(&d, &reordered));
    }

    /// Safety ordering: a mode change's UpdateTable precedes every auto scaling change, so a
    /// refused switch leaves the table untouched; on-demand plans never register anything;
    /// only a real mode change produces an UpdateTable.
    #[test]
    fn switch_comes_first_and_on_demand_never_registers(d in arb_desired(), o in arb_observed()) {
        let plan = plan_table(&d, &o);
        let first_mutation = plan.actions.iter().position(Action::is_mutating);
        let update = plan.actions.iter().position(|a| a.operation() == "UpdateTable");
        let switch = plan.actions.iter().position(|a| a.switches_to().is_some());
        let class = plan.actions.iter().position(|a| a.sets_class().is_some());
        let scaling = plan.actions.iter().position(|a| a.is_mutating() && a.operation() != "UpdateTable");
        // Every UpdateTable comes before any auto scaling change, a class change first of all.
        prop_assert_eq!(first_mutation, update.or(scaling));
        if let (Some(u), Some(sc)) = (update, scaling) {
            prop_assert!(plan.actions[u..sc].iter().all(|a| a.operation() != "RegisterScalableTarget"));
            prop_assert!(plan.actions[sc..].iter().all(|a| a.operation() != "UpdateTable"));
        }
        if let Some(c) = class {
            prop_assert_eq!(Some(c), update);
            prop_assert!(switch.is_none_or(|s| s > c));
        }
        if plan.skip.is_none() {
            prop_assert_eq!(switch.is_some(), o.billing_mode != d.mode.billing_mode());
        } else {
            prop_assert!(plan.actions.is_empty());
        }
        // Each UpdateTable is waited for before the next step.
        for (i, a) in plan.actions.iter().enumerate() {
            if a.operation() == "UpdateTable" {
                prop_assert_eq!(plan.actions.get(i + 1), Some(&Action::WaitForActive));
            }
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

#[test]
fn an_update_holds_only_when_the_table_already_has_all_it_sets() {
    let update = |a: Action| match a {
        Action::UpdateTable(u) => u,
        other => panic!("{other:?}"),
    };
    let five = Throughput { read: 5, write: 5 };
    let gsi = |t| {
        vec![IndexThroughput {
            index: "g1".into(),
            throughput: t,
        }]
    };
    let switched = observed(BillingMode::Provisioned, &["g1"]);
    let to_five = update(Action::to_provisioned(five, gsi(five)));
    assert!(update_holds(&switched, &to_five), "the switch landed");
    let six = Throughput { read: 6, write: 5 };
    assert!(!update_holds(
        &switched,
        &update(Action::to_provisioned(five, gsi(six)))
    ));
    assert!(!update_holds(
        &switched,
        &update(Action::to_provisioned(six, gsi(five)))
    ));
    let not_yet = observed(BillingMode::OnDemand, &["g1"]);
    assert!(!update_holds(&not_yet, &to_five), "still on-demand");
    let to_on_demand = update(Action::to_on_demand(uncapped(), vec![]));
    assert!(update_holds(&not_yet, &to_on_demand));
    assert!(!update_holds(&switched, &to_on_demand));
}

#[test]
fn a_managed_table_that_would_change_is_skipped_unless_included() {
    let want = desired(DesiredMode::OnDemand, IndexScope::All);
    let mut table = observed(BillingMode::Provisioned, &[]);
    let switch = plan_table(&want, &table);
    assert!(switch.changes_anything());
    for owner in [
        Owner::Stack("orders-prod".into()),
        Owner::Tag("managed-by=terraform".into()),
    ] {
        table.owner = Some(owner.clone());
        let left = leave_managed(switch.clone(), &want, &table, false);
        assert_eq!(left.skip.as_ref().map(|s| s.0), Some(SkipReason::Managed));
        assert!(left.actions.is_empty());
        assert!(
            left.skip.unwrap().1.contains(&owner.to_string()),
            "the reason names the owner"
        );
        assert_eq!(leave_managed(switch.clone(), &want, &table, true), switch);
    }
    // Nobody known, or not known: the plan stands (the report says the owner is unknown).
    for owner in [
        None,
        Some(Owner::None),
        Some(Owner::Unknown("denied".into())),
    ] {
        table.owner = owner;
        assert_eq!(leave_managed(switch.clone(), &want, &table, false), switch);
    }
    // A managed table with nothing to change is unchanged, not skipped.
    let mut same = observed(BillingMode::OnDemand, &[]);
    same.owner = Some(Owner::Stack("orders-prod".into()));
    let nothing = plan_table(&want, &same);
    assert_eq!(leave_managed(nothing.clone(), &want, &same, false), nothing);
    // A rollback puts back what the owner had: never skipped.
    let back = DesiredTable {
        restore: Some(Box::new(observed(BillingMode::Provisioned, &[]))),
        ..want.clone()
    };
    let mut switched = observed(BillingMode::OnDemand, &[]);
    switched.owner = Some(Owner::Stack("orders-prod".into()));
    let restore = plan_table(&back, &switched);
    assert!(restore.changes_anything());
    assert_eq!(
        leave_managed(restore.clone(), &back, &switched, false),
        restore
    );
}
