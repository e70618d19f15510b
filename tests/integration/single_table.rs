//! The original script's single-table flags, with the caller's own credentials.

use crate::support::*;

const ACCOUNT: &str = "123456789012"; // moto's default account: the caller's own

#[test]
fn seed_flags_apply_and_converge() {
    let moto = Moto::start();
    let rt = runtime();
    let aws = rt.block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "eu-west-1").await;
        aws.create_table("legacy", None, &["by-date"]).await;
        aws
    });
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--tableName",
        "legacy",
        "--region",
        "eu-west-1",
        "--readMode",
        "provisioned",
        "--writeMode",
        "provisioned",
        "--minRead",
        "2",
        "--maxRead",
        "20",
        "--targetRead",
        "65",
        "--minWrite",
        "1",
        "--maxWrite",
        "10",
        "--targetWrite",
        "75",
    ];
    let mut args = vec!["apply", "--yes"];
    args.extend_from_slice(&flags);
    let run = ddb_fleet(&moto.endpoint, dir.path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert_eq!(report["inventory"]["path"], "(command line)");
    let t = entry(&report, ACCOUNT, "eu-west-1", "legacy");
    assert_eq!(t["status"], "changed");
    assert!(t["desired"]["role_arn"].is_null());

    rt.block_on(async {
        assert_eq!(aws.billing_mode("legacy").await, "PROVISIONED");
        let s = |x: &str| x.to_string();
        assert_eq!(
            aws.targets().await,
            vec![
                (
                    s("table/legacy"),
                    s("dynamodb:table:ReadCapacityUnits"),
                    2,
                    20
                ),
                (
                    s("table/legacy"),
                    s("dynamodb:table:WriteCapacityUnits"),
                    1,
                    10
                ),
                (
                    s("table/legacy/index/by-date"),
                    s("dynamodb:index:ReadCapacityUnits"),
                    2,
                    20
                ),
                (
                    s("table/legacy/index/by-date"),
                    s("dynamodb:index:WriteCapacityUnits"),
                    1,
                    10
                ),
            ]
        );
        let values: Vec<f64> = aws.policies().await.into_iter().map(|p| p.3).collect();
        assert_eq!(values, vec![65.0, 75.0, 65.0, 75.0]);
    });

    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend_from_slice(&flags);
    let again = ddb_fleet(&moto.endpoint, dir.path(), &args);
    assert_eq!(again.code, 0, "converged: {again:?}");

    // Back to on-demand with the same flags: auto scaling removed.
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "apply",
            "--yes",
            "--tableName",
            "legacy",
            "--region",
            "eu-west-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "ondemand",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    rt.block_on(async {
        assert_eq!(aws.billing_mode("legacy").await, "PAY_PER_REQUEST");
        assert_eq!(aws.targets().await, vec![]);
        assert_eq!(aws.policies().await, vec![]);
    });
}
