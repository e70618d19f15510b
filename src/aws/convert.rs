//! SDK values into domain values. The only module that reads SDK response types.

use crate::model::*;
use aws_sdk_applicationautoscaling::types as aas;
use aws_sdk_dynamodb::types as ddb;
use aws_smithy_types::date_time::Format;

/// A table's description, without its auto scaling (read separately, in batches).
pub fn table(t: &ddb::TableDescription) -> ObservedTable {
    // A table that never switched has no BillingModeSummary: it is provisioned.
    let billing_mode = match t.billing_mode_summary().and_then(|s| s.billing_mode()) {
        Some(ddb::BillingMode::PayPerRequest) => BillingMode::OnDemand,
        _ => BillingMode::Provisioned,
    };
    let capacity = |p: Option<&ddb::ProvisionedThroughputDescription>| {
        (
            p.and_then(|p| p.read_capacity_units()).unwrap_or(0),
            p.and_then(|p| p.write_capacity_units()).unwrap_or(0),
        )
    };
    let (read_capacity, write_capacity) = capacity(t.provisioned_throughput());
    let indexes = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let (r, w) = capacity(g.provisioned_throughput());
            ObservedIndex {
                name: g.index_name().unwrap_or_default().to_string(),
                // AWS always gives IndexStatus; without it, the GSI is not known to be ready.
                status: g
                    .index_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "UNKNOWN".into()),
                backfilling: g.backfilling().unwrap_or(false),
                read_capacity: r,
                write_capacity: w,
                caps: caps(g.on_demand_throughput()),
                size_bytes: g.index_size_bytes(),
            }
        })
        .collect();
    let class = t.table_class_summary();
    let mut o = ObservedTable {
        status: t
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into()),
        billing_mode,
        read_capacity,
        write_capacity,
        indexes,
        replicas: t
            .replicas()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect(),
        last_switch_to_on_demand: t
            .billing_mode_summary()
            .and_then(|s| s.last_update_to_pay_per_request_date_time())
            .and_then(|d| d.fmt(Format::DateTime).ok()),
        recent_switches_to_on_demand: vec![],
        caps: caps(t.on_demand_throughput()),
        size_bytes: t.table_size_bytes(),
        created_at: t
            .creation_date_time()
            .and_then(|d| d.fmt(Format::DateTime).ok()),
        // A table whose class never changed has no summary: it is STANDARD.
        table_class: Some(match class.and_then(|c| c.table_class()) {
            Some(ddb::TableClass::StandardInfrequentAccess) => TableClass::StandardInfrequentAccess,
            _ => TableClass::Standard,
        }),
        last_table_class_change: class
            .and_then(|c| c.last_update_date_time())
            .and_then(|d| d.fmt(Format::DateTime).ok()),
        recent_table_class_changes: vec![],
        scalable_targets: vec![],
        scaling_policies: vec![],
        recent_peaks: vec![],
        recent_peaks_error: None,
        owner: None,
        arn: t.table_arn().map(str::to_string),
    };
    o.normalize();
    o
}

/// `OnDemandThroughput` (absent or -1: no cap).
fn caps(t: Option<&ddb::OnDemandThroughput>) -> OnDemandCaps {
    OnDemandCaps {
        read: Some(Cap::from_aws(t.and_then(|t| t.max_read_request_units()))),
        write: Some(Cap::from_aws(t.and_then(|t| t.max_write_request_units()))),
    }
}

/// A scalable target, with the table it belongs to; `None` if it is not a DynamoDB one.
pub fn scalable_target(t: &aas::ScalableTarget) -> Option<(String, ScalableTarget)> {
    let (table, key) = ScalingKey::parse(t.resource_id(), t.scalable_dimension().as_str())?;
    Some((
        table,
        ScalableTarget {
            key,
            min: i64::from(t.min_capacity()),
            max: i64::from(t.max_capacity()),
        },
    ))
}

/// A scaling policy, with the table it belongs to; `None` if it is not a DynamoDB one.
pub fn scaling_policy(p: &aas::ScalingPolicy) -> Option<(String, ScalingPolicy)> {
    let (table, key) = ScalingKey::parse(p.resource_id(), p.scalable_dimension().as_str())?;
    let tt = p.target_tracking_scaling_policy_configuration();
    Some((
        table,
        ScalingPolicy {
            key,
            name: p.policy_name().to_string(),
            policy_type: ScalingPolicy::known(p.policy_type().as_str()),
            metric: tt
                .and_then(|c| c.predefined_metric_specification())
                .map(|m| ScalingPolicy::known(m.predefined_metric_type().as_str())),
            target_value: tt.map(|c| c.target_value()),
            scale_in_cooldown: tt.and_then(|c| c.scale_in_cooldown()),
            scale_out_cooldown: tt.and_then(|c| c.scale_out_cooldown()),
            disable_scale_in: tt.and_then(|c| c.disable_scale_in()),
        },
    ))
}
