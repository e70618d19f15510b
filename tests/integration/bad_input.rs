//! Bad input: every case exits 2 with a message naming the file, line and field, and no request
//! reaches AWS (the endpoint is a listener of ours that must see no connection).

use crate::support::*;
use std::net::TcpListener;

/// An endpoint that records whether anything connected to it.
struct Silent {
    listener: TcpListener,
    endpoint: String,
}

impl Silent {
    fn new() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        Silent { listener, endpoint }
    }

    fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(_) => panic!("a request reached AWS"),
            Err(e) => panic!("{e}"),
        }
    }
}

const HEADER: &str = "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n";

#[test]
fn bad_inventories_exit_2_with_located_errors_and_no_aws_call() {
    let aws = Silent::new();
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        // (file content after the header, expected location, expected words)
        ("1111,r,us-east-1,t01,on_demand,,,,,,\n", "bad.csv:2: field `account_id`", "12-digit"),
        ("111111111111,r,us-east-1,t01,on_demand,,,,,,\n111111111111,r,us-east-1,t01,on_demand,,,,,,\n", "bad.csv:3: field `table`", "duplicate"),
        ("111111111111,r,us-east-1,t01,provisioned,1,10,70,1,,70\n", "bad.csv:2: field `max_write`", "missing"),
        ("111111111111,r,us-east-1,t01,provisioned,10,1,70,1,5,70\n", "bad.csv:2: field `min_read`", "greater than"),
        ("111111111111,r,us-east-1,t01,provisioned,1,10,10,1,5,70\n", "bad.csv:2: field `target_read`", "between 20 and 90"),
        ("111111111111,r,us-east-1,t01,fast,,,,,,\n", "bad.csv:2: field `mode`", "unknown mode"),
        ("111111111111,r,mars-1,t01,on_demand,,,,,,\n", "bad.csv:2: field `region`", "not an AWS region"),
    ];
    for (body, location, words) in cases {
        let inv = write(dir.path(), "bad.csv", &format!("{HEADER}{body}"));
        for command in ["validate", "plan", "apply"] {
            let mut args = vec![command, inv.to_str().unwrap()];
            if command == "apply" {
                args.push("--yes");
            }
            let run = ddb_fleet(&aws.endpoint, dir.path(), &args);
            assert_eq!(run.code, 2, "{command} {body}: {run:?}");
            assert!(run.stderr.contains(location), "{command} {body}: {run:?}");
            assert!(run.stderr.contains(words), "{command} {body}: {run:?}");
            assert!(run.stderr.contains("nothing was changed"), "{run:?}");
            let reports = std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("ddb-fleet-")
                })
                .count();
            assert_eq!(reports, 0, "no report for invalid input");
        }
    }

    // Whole files: (name, bytes, expected location, expected words).
    let files: &[(&str, &[u8], &str, &str)] = &[
        ("arn.csv", b"account_id,role_arn,region,table,mode\n111111111111,arn:aws:iam::222222222222:role/x,us-east-1,t01,on_demand\n", "arn.csv:2: field `role_arn`", "account 222222222222 but account_id is 111111111111"),
        ("badarn.csv", b"account_id,role_arn,region,table,mode\n111111111111,arn:aws:s3:::bucket,us-east-1,t01,on_demand\n", "badarn.csv:2: field `role_arn`", "not an IAM role ARN"),
        ("empty.csv", b"", "empty.csv", "lists no tables"),
        ("header.csv", HEADER.as_bytes(), "header.csv", "lists no tables"),
        ("ragged.csv", b"account_id,region,table,mode\n111111111111,us-east-1,t01\n", "ragged.csv:2", "row has 3 fields but the header has 4"),
        ("utf8.csv", b"account_id,region,table,mode\n111111111111,us-east-1,t\xff1,on_demand\n", "utf8.csv:2", "not valid UTF-8"),
        ("types.toml", b"[[tables]]\naccount_id = \"111111111111\"\nregion = \"us-east-1\"\ntable = \"t01\"\nmode = \"provisioned\"\nmin_read = \"five\"\nmax_read = 5\ntarget_read = 70\nmin_write = 1\nmax_write = 5\ntarget_write = 70\n", "types.toml:6: field `min_read`", "expected a whole number"),
        ("syntax.toml", b"[defaults\n", "syntax.toml:1", "invalid TOML"),
        ("thresholds.csv", b"account_id,region,table,mode,min_read\n111111111111,us-east-1,t01,on_demand,5\n", "thresholds.csv:2: field `min_read`", "on_demand row"),
        ("range.csv", b"account_id,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n111111111111,us-east-1,t01,provisioned,1,50000,70,1,5,70\n", "range.csv:2: field `max_read`", "between 1 and 40000"),
        ("cap0.csv", b"account_id,region,table,mode,max_read_request_units\n111111111111,us-east-1,t01,on_demand,0\n", "cap0.csv:2: field `max_read_request_units`", "or none to remove the cap"),
        ("capprov.csv", b"account_id,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write,max_write_request_units\n111111111111,us-east-1,t01,provisioned,1,5,70,1,5,70,100\n", "capprov.csv:2: field `max_write_request_units`", "set on a provisioned row"),
        ("capbig.toml", b"[[tables]]\naccount_id = \"111111111111\"\nregion = \"us-east-1\"\ntable = \"t01\"\nmode = \"on_demand\"\nmax_read_request_units = 90000\n", "capbig.toml:6: field `max_read_request_units`", "at most 40000"),
        ("class.csv", b"account_id,region,table,mode,table_class\n111111111111,us-east-1,t01,on_demand,infrequent\n", "class.csv:2: field `table_class`", "unknown table class"),
        ("classidx.csv", b"account_id,region,table,index,mode,max_read_request_units,table_class\n111111111111,us-east-1,t01,,on_demand,,\n111111111111,us-east-1,t01,gsi1,on_demand,5,standard\n", "classidx.csv:3: field `table_class`", "table-wide"),
    ];
    for (name, bytes, location, words) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for command in ["validate", "plan"] {
            let run = ddb_fleet(
                &aws.endpoint,
                dir.path(),
                &[command, path.to_str().unwrap()],
            );
            assert_eq!(run.code, 2, "{name}: {run:?}");
            assert!(run.stderr.contains(location), "{name}: {run:?}");
            assert!(run.stderr.contains(words), "{name}: {run:?}");
        }
    }
    // A UTF-8 byte order mark (spreadsheet exports) is accepted.
    let bom = dir.path().join("bom.csv");
    std::fs::write(
        &bom,
        b"\xef\xbb\xbfaccount_id,region,table,mode\n111111111111,us-east-1,t01,on_demand\n",
    )
    .unwrap();
    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &["validate", bom.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:?}");

    let inv = write(
        dir.path(),
        "typo.csv",
        "account_id,region,table,mode,targt_read\n",
    );
    let run = ddb_fleet(&aws.endpoint, dir.path(), &["plan", inv.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "typo.csv:1: field `targt_read`: unknown field (did you mean `target_read`?)"
        ),
        "{run:?}"
    );

    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &[
            "plan",
            "--tableName",
            "t01",
            "--region",
            "us-east-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "provisioned",
        ],
    );
    assert_eq!(run.code, 2);
    // Named by the flag, and not called an inventory.
    assert!(
        run.stderr.contains("  --readMode: --readMode (ondemand)"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("invalid flags") && !run.stderr.contains("invalid inventory"),
        "{run:?}"
    );
    assert!(run.stderr.contains("billing mode is table-wide"), "{run:?}");

    let good = write(
        dir.path(),
        "good.csv",
        &format!("{HEADER}111111111111,r,us-east-1,t01,on_demand,,,,,,\n"),
    );
    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &["apply", good.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "apply without a terminal needs --yes: {run:?}");
    assert!(run.stderr.contains("pass --yes"), "{run:?}");

    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &["plan", good.to_str().unwrap(), "--tableName", "x"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let run = ddb_fleet(&aws.endpoint, dir.path(), &["plan"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("missing inventory"), "{run:?}");
    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &[
            "plan",
            good.to_str().unwrap(),
            "--report",
            "no/such/dir/r.json",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("directory does not exist"), "{run:?}");
    let run = ddb_fleet(&aws.endpoint, dir.path(), &["plan", "nonexistent.csv"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("nonexistent.csv: cannot read inventory"),
        "{run:?}"
    );

    let run = ddb_fleet(
        &aws.endpoint,
        dir.path(),
        &["validate", good.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("valid, 1 table in 1 account"),
        "{run:?}"
    );

    aws.assert_untouched();
}
