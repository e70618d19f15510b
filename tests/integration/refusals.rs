//! Refusals that are not "busy": AWS's capacity-decrease limit and Application Auto Scaling's
//! quotas end a table's work for this run at once, with their own reason; they are not waited
//! out or retried.

use crate::sim::{grid, Sim, SimConfig, SimTable};
use crate::support::*;

/// The simulator keeps AWS's decrease rule: per table (each GSI apart), reads and writes
/// together, four at any time in a UTC day, then one an hour; the refusal names the next time.
#[test]
fn the_simulator_limits_decreases_per_table_and_per_gsi() {
    let fleet = grid(1, &["us-east-1"], 1, |_| {
        SimTable::provisioned(100, &["g1"])
    });
    let (account, region, table, _) = fleet[0].clone();
    let sim = Sim::start(SimConfig::default(), fleet);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // Three decreases so far today (a minute ago), none of the GSI's.
    sim.with_table(&account, &region, &table, |t| {
        t.decreases = vec![now - 60.0; 3]
    });
    runtime().block_on(async {
        use aws_sdk_dynamodb::types as ddb;
        let aws = Aws::new(&sim.endpoint, Some(&account), &region).await;
        let pt = |r, w| {
            ddb::ProvisionedThroughput::builder()
                .read_capacity_units(r)
                .write_capacity_units(w)
                .build()
                .unwrap()
        };
        let gsi = |r, w| {
            ddb::GlobalSecondaryIndexUpdate::builder()
                .update(
                    ddb::UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("g1")
                        .provisioned_throughput(pt(r, w))
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let update = |p: ddb::ProvisionedThroughput, g: Option<ddb::GlobalSecondaryIndexUpdate>| {
            aws.ddb
                .update_table()
                .table_name(&table)
                .billing_mode(ddb::BillingMode::Provisioned)
                .provisioned_throughput(p)
                .set_global_secondary_index_updates(g.map(|g| vec![g]))
                .send()
        };
        // The fourth: allowed (a write decrease, an increase of reads: one decrease).
        update(pt(200, 90), None).await.unwrap();
        sim.with_table(&account, &region, &table, |t| t.updating_until = None);
        // The fifth within the hour: refused, with the next time.
        let e = update(pt(200, 80), None).await.unwrap_err();
        let e = aws_sdk_dynamodb::error::ProvideErrorMetadata::message(&e)
            .unwrap()
            .to_string();
        assert!(
            e.contains("decreases are limited") && e.contains("Next decrease can be made at"),
            "{e}"
        );
        // The GSI's decreases are its own: allowed while the table's are used up (the
        // table's own throughput unchanged).
        update(pt(200, 90), Some(gsi(50, 50))).await.unwrap();
    });
}

/// Regression: Application Auto Scaling's LimitExceededException (too many scalable targets)
/// was taken as "busy" and retried; it is an account quota: final for the run, one attempt.
#[test]
fn an_autoscaling_quota_refusal_is_final_and_not_retried() {
    let fleet = grid(1, &["us-east-1"], 3, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            max_scalable_targets: 4,
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--concurrency", "1"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.written_report(dir.path());
    let refused: Vec<&serde_json::Value> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["actions"].as_array().unwrap())
        .filter(|a| a["operation"] == "RegisterScalableTarget" && a["outcome"] == "failed")
        .collect();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["attempts"], 1, "retried: {}", refused[0]);
    assert_eq!(refused[0]["error"]["code"], "LimitExceededException");
    assert_eq!(sim.stats().by_operation["RegisterScalableTarget"], 5);
    assert_eq!(report["summary"]["failed"], 1, "{}", report["summary"]);
    assert_eq!(report["summary"]["changed"], 2, "{}", report["summary"]);
}
