//! The first day and the nightly cron: pipes, signals at the prompt, shards a Job can run,
//! interrupted runs that say how to finish.

use crate::sim::{grid, SimConfig, SimTable};
use crate::support::*;
use std::io::Read;
use std::time::Duration;

/// The reports of the command in `dir` (the default names: a new file per run).
fn reports_of(dir: &std::path::Path, command: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.starts_with(&format!("ddb-fleet-{command}-")) && name.ends_with(".json")
        })
        .collect();
    found.sort();
    found
}

/// Regression: `ddb-fleet plan inv.csv | head -1` panicked ("failed printing to stdout:
/// Broken pipe") and exited 101. A closed stdout ends the output quietly.
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let fleet = grid(1, &["us-east-1"], 5, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let mut child = spawn_ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv]);
    drop(child.stdout.take()); // the reader is gone before anything is printed
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let reports = reports_of(dir.path(), "plan");
    assert_eq!(reports.len(), 1, "the report is written");
}

/// Regression: an empty shard (6 tables over 4 shards leave two empty) exited 2, failing a
/// Kubernetes Indexed Job's pod; and `report merge` accepted a set with a shard missing.
#[test]
fn empty_shards_succeed_and_merge_wants_every_shard_once() {
    let fleet = grid(1, &["us-east-1"], 6, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let absolute = std::path::Path::new(&inv);
    let relative = absolute.file_name().unwrap().to_str().unwrap();
    let mut totals = 0;
    for k in 0..4 {
        // The same inventory named two ways: the same input.
        let path = if k == 0 { relative } else { inv.as_str() };
        let out = format!("shard-{k}.json");
        let shard = format!("{k}/4");
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &["plan", path, "--shard", &shard, "--report", &out],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let report = run.report(&dir.path().join(&out));
        assert_eq!(report["shard"], shard.as_str());
        totals += report["summary"]["total"].as_u64().unwrap();
    }
    assert_eq!(totals, 6);
    let merge = |reports: &[&str]| {
        let mut args = vec!["report", "merge"];
        args.extend_from_slice(reports);
        args.extend_from_slice(&["-o", "all.json"]);
        ddb_fleet(&sim.endpoint, dir.path(), &args)
    };
    let all = merge(&[
        "shard-0.json",
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
    ]);
    assert_eq!(all.code, 0, "{all:?}");
    assert_eq!(
        all.report(&dir.path().join("all.json"))["summary"]["total"],
        6
    );
    let missing = merge(&["shard-0.json", "shard-1.json", "shard-3.json"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("shard 2/4 is missing"),
        "{missing:?}"
    );
    let twice = merge(&[
        "shard-0.json",
        "shard-1.json",
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
    ]);
    assert_eq!(twice.code, 2, "{twice:?}");
    assert!(
        twice.stderr.contains("shard 1/4 is there twice"),
        "{twice:?}"
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--shard", "0/2", "--report", "other.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let foreign = merge(&["shard-0.json", "shard-1.json", "shard-2.json", "other.json"]);
    assert_eq!(foreign.code, 2, "{foreign:?}");
    assert!(
        foreign
            .stderr
            .contains("other.json is shard 0/2 of another run"),
        "{foreign:?}"
    );
}

/// After an interrupted apply the summary tells half-done tables from untouched ones, names
/// them, and prints the command that finishes the job; that command does.
#[test]
fn an_interrupted_apply_says_what_is_half_done_and_how_to_finish() {
    let fleet = grid(1, &["us-east-1"], 8, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            update_duration: Duration::from_secs(2),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--max-updating", "2"],
    );
    wait_until(|| sim.stats().writes.len() >= 2);
    signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code, 130, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Interrupted: "))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(
        line.contains("half done") && line.contains("not started"),
        "{line}"
    );
    assert!(run.stdout.contains("  half done: "), "{run:?}");
    let command = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("To finish the job: ddb-fleet "))
        .unwrap_or_else(|| panic!("{run:?}"));
    let report = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Report: "))
        .unwrap();
    assert!(
        command.ends_with(&format!("--resume {report}")),
        "{command}"
    );
    // As printed, less the options this test's runner adds to every run.
    let mut args: Vec<&str> = Vec::new();
    let mut skip = false;
    for w in command.split(' ') {
        if std::mem::take(&mut skip) {
            continue;
        }
        match w {
            "--no-progress" => {}
            "--retry-base-ms" | "--poll-ms" => skip = true,
            w => args.push(w),
        }
    }
    let resumed = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(resumed.code, 0, "{resumed:?}");
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }
}

/// Regression: Ctrl-C at the `Apply?` prompt exited 2 (as a refusal), or hung (the signal's
/// log line waited for the terminal the prompt held, before the stop was requested); it is an
/// interruption, 130, and nothing is changed.
#[test]
fn ctrl_c_at_the_prompt_is_an_interruption() {
    let fleet = grid(1, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let (mut script, mut out, mut seen) = on_a_terminal(&sim.endpoint, dir.path(), &inv);
    let pid = std::process::Command::new("pgrep")
        .args(["-P", &script.id().to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
    assert!(!pid.is_empty(), "ddb-fleet's pid");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = out.read_to_end(&mut seen);
    let status = script.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    assert!(sim.stats().writes.is_empty(), "nothing is changed");
    let report = read_json(&dir.path().join("run.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["summary"]["interrupted"], 2, "{}", report["summary"]);
}

/// `apply INV` run on a pseudo-terminal (by `script`), read until its `Apply?` prompt: the
/// `script` process, its output, and what was read of it.
fn on_a_terminal(
    endpoint: &str,
    dir: &std::path::Path,
    inv: &str,
) -> (std::process::Child, std::process::ChildStdout, Vec<u8>) {
    let line = format!(
        "exec {} apply {inv} --no-progress --report run.json",
        env!("CARGO_BIN_EXE_ddb-fleet")
    );
    let mut script = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDBASE")
        .env("AWS_SECRET_ACCESS_KEY", BASE_SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = script.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("Apply? ") {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    (script, out, seen)
}

/// Regression: declining at the prompt printed the whole plan a second time.
#[test]
fn declining_does_not_print_the_plan_twice() {
    use std::io::Write;
    let fleet = grid(1, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let (mut script, mut out, mut seen) = on_a_terminal(&sim.endpoint, dir.path(), &inv);
    script.stdin.as_mut().unwrap().write_all(b"no\n").unwrap();
    let _ = out.read_to_end(&mut seen);
    let status = script.wait().unwrap();
    let text = String::from_utf8_lossy(&seen).to_string();
    assert_eq!(status.code(), Some(2), "{text}");
    assert_eq!(
        text.matches("Changes, grouped by what they do:").count(),
        1,
        "{text}"
    );
    assert!(sim.stats().writes.is_empty());
}

/// Regression: an export that found no table wrote an inventory `validate` refuses, and
/// exited 0.
#[test]
fn an_export_that_finds_no_table_says_so() {
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable::on_demand(&[]));
    let (sim, dir, _) = on_sim(SimConfig::default(), &fleet, ON_DEMAND);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "export",
            "--account",
            &fleet[0].0,
            "--region",
            "us-west-2",
            "--role-name",
            "fleet",
            "-o",
            "out.csv",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("export found no table"), "{run:?}");
    assert!(!dir.path().join("out.csv").exists());
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A run with `env` set and `unset` removed from the environment the runner gives.
fn ddb_fleet_env(
    endpoint: &str,
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    unset: &[&str],
) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ddb-fleet"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDBASE")
        .env("AWS_SECRET_ACCESS_KEY", BASE_SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    for name in unset {
        command.env_remove(name);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Regression: `--profile other` with `AWS_ACCESS_KEY_ID` set used the environment's keys
/// (another account) instead of the profile's role; `--profile nosuchprofile` was ignored; no
/// credentials at all failed every table with an IMDS message; and without AWS_REGION the
/// SDK asked the instance metadata service for a region, warning three times.
#[test]
fn credentials_as_the_aws_cli_takes_them() {
    let fleet: Vec<_> = ["444444444444", crate::sim::CALLER_ACCOUNT]
        .map(|account| {
            (
                account.to_string(),
                "us-east-1".to_string(),
                "orders".to_string(),
                SimTable::on_demand(&[]),
            )
        })
        .into();
    let (sim, dir, _) = on_sim(SimConfig::default(), &fleet, ON_DEMAND);
    std::fs::write(
        dir.path().join("aws-config"),
        "[profile other]\nrole_arn = arn:aws:iam::444444444444:role/ops\nsource_profile = base\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("aws-credentials"),
        format!("[base]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {BASE_SECRET}\n"),
    )
    .unwrap();
    // A row without a role in 444444444444: only that account's credentials may read it.
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,role_name,region,table,mode\n444444444444,,us-east-1,orders,on_demand\n",
    );
    let inv = inv.to_str().unwrap();
    let run = ddb_fleet_env(
        &sim.endpoint,
        dir.path(),
        &["plan", inv, "--profile", "other"],
        &[],
        &[],
    );
    assert_eq!(
        run.code, 0,
        "the profile's role, not the environment's keys: {run:?}"
    );
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("444444444444") && first.contains("profile other"),
        "{run:?}"
    );
    // The environment's keys alone are another account's: refused before anything is read.
    let run = ddb_fleet_env(&sim.endpoint, dir.path(), &["plan", inv], &[], &[]);
    assert_eq!(run.code, 2, "{run:?}");

    let run = ddb_fleet_env(
        &sim.endpoint,
        dir.path(),
        &["plan", inv, "--profile", "nosuchprofile"],
        &[],
        &[],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unknown AWS profile `nosuchprofile`")
            && run.stderr.contains("aws-config"),
        "{run:?}"
    );

    let run = ddb_fleet_env(
        &sim.endpoint,
        dir.path(),
        &["plan", inv],
        &[],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        ["error: no AWS credentials found (environment, --profile / AWS_PROFILE, SSO, credential_process, container or instance role)"],
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");

    // No region anywhere and the metadata service enabled (pointed at a closed port here):
    // no warning about it, rows name their regions. Colour only on a terminal.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env_inv = write(
        dir.path(),
        "mine.csv",
        &format!(
            "account_id,role_name,region,table,mode\n{},,us-east-1,orders,on_demand\n",
            crate::sim::CALLER_ACCOUNT
        ),
    );
    let run = ddb_fleet_env(
        &sim.endpoint,
        dir.path(),
        &["plan", env_inv.to_str().unwrap(), "--log-format", "text"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)],
        &["AWS_REGION", "AWS_EC2_METADATA_DISABLED"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stderr.contains("IMDS") && !run.stderr.contains("failed to load region"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {run:?}"
    );
}

/// The README's canary flow leaves two reports; `rollback` takes both and restores each table
/// to its state before the earliest run that changed it.
#[test]
fn rollback_takes_several_reports() {
    let fleet = grid(2, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let canary = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--canary",
            "1",
            "--report",
            "canary.json",
        ],
    );
    assert_eq!(canary.code, 0, "{canary:?}");
    let rest = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--report", "rest.json"],
    );
    assert_eq!(rest.code, 0, "{rest:?}");
    let rb = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "rollback",
            "canary.json",
            "rest.json",
            "--yes",
            "--report",
            "rb.json",
        ],
    );
    assert_eq!(rb.code, 0, "{rb:?}");
    let report = rb.report(&dir.path().join("rb.json"));
    assert_eq!(report["summary"]["changed"], 4, "{}", report["summary"]);
    for (account, region, table, _) in &fleet {
        assert!(
            sim.table(account, region, table).on_demand,
            "{table} back on-demand"
        );
    }
    // An advise report says what it is.
    std::fs::write(
        dir.path().join("advice.json"),
        r#"{"command":"advise","tables":[]}"#,
    )
    .unwrap();
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["rollback", "advice.json", "--plan-only"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("advice.json is an advise report"),
        "{run:?}"
    );
}
