//! Where a run's tables come from and which it acts on: an inventory file or the single-table
//! flags ([`load_tables`], [`single_table`]), and the selection the filters, `--shard` and
//! `--resume` describe ([`selection`], [`preselect`]). All of it is checked before any AWS
//! call.

use super::args::{SelectArgs, SingleTableArgs};
use super::{read_report, CliError};
use crate::inventory::{self, InventoryError, InventoryErrors, Limits, Raw, RawRow};
use crate::model::{DesiredTable, RoleSpec, Source};
use crate::report::InventoryRef;
use crate::select::{self, Selection};
use std::path::{Path, PathBuf};

/// The selection the flags describe; `--resume` reads its report.
pub fn selection(
    regions: &[String],
    s: &SelectArgs,
    resume: Option<&Path>,
) -> Result<Selection, CliError> {
    let resume = match resume {
        None => None,
        Some(path) => Some(select::unfinished(&read_report(path)?.0)),
    };
    let sel = Selection {
        accounts: s.accounts.clone(),
        exclude_accounts: s.exclude_accounts.clone(),
        regions: regions.to_vec(),
        tables: s.tables.clone(),
        shard: s.shard,
        resume,
    };
    sel.validate().map_err(CliError::Usage)?;
    Ok(sel)
}

/// Keeps the rows `sel` may select, before patterns are expanded (nothing is read from AWS).
pub fn preselect(
    tables: Vec<DesiredTable>,
    sel: &Selection,
) -> Result<Vec<DesiredTable>, CliError> {
    let total = tables.len();
    let keeps = |sel: &Selection, t: &DesiredTable| {
        if inventory::is_pattern(&t.table) {
            sel.keeps_location(t)
        } else {
            sel.keeps(t)
        }
    };
    // An empty shard is no mistake (6 tables over 4 shards leave two empty): only filters
    // that keep nothing of the whole inventory are.
    let unsharded = Selection {
        shard: None,
        ..sel.clone()
    };
    if !tables.iter().any(|t| keeps(&unsharded, t)) {
        return Err(CliError::Usage(format!(
            "the selection (--account, --region, --table, --resume) matches none of the inventory's {total} table{}",
            if total == 1 { "" } else { "s" }
        )));
    }
    Ok(tables.into_iter().filter(|t| keeps(sel, t)).collect())
}

/// Where `export` and `advise` find tables without an inventory: every table (or those
/// matching `tables`) of each account (an id, `*` for the organisation, an OU or root id) x
/// region (`*`: every region enabled in the account), through `role_name` if given.
pub struct Discovery<'a> {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub tables: &'a [String],
    pub role_name: Option<&'a str>,
    /// The command, for messages.
    pub command: &'a str,
}

impl<'a> Discovery<'a> {
    /// The discovery `command`'s flags ask for.
    pub fn of(d: &'a super::args::DiscoveryArgs, command: &'a str) -> Self {
        let mut accounts = d.accounts.clone();
        if d.organization {
            accounts.push(crate::org::ALL.to_string());
        }
        accounts.extend(d.ous.iter().cloned());
        let regions = match d.all_regions() {
            Ok(true) => vec![crate::org::ALL_REGIONS.to_string()],
            _ => d.regions.clone(),
        };
        Discovery {
            accounts,
            regions,
            tables: &d.tables,
            role_name: d.role_name.as_deref(),
            command,
        }
    }
}

/// The rows a reading command reads: an inventory's (selected), or the discovery's, as
/// pattern rows (expanded through ListTables). Returns the source and the rows.
pub fn rows_to_read_from(
    inventory: Option<&Path>,
    d: &Discovery,
    sel: &Selection,
    limits: &Limits,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    if let Some(path) = inventory {
        let inv = inventory::load(path, limits)?;
        let source = InventoryRef {
            path: inv.path,
            sha256: inv.sha256,
        };
        return Ok((source, preselect(inv.tables, sel)?));
    }
    if d.accounts.is_empty() || d.regions.is_empty() {
        return Err(CliError::Usage(format!(
            "{} needs an inventory, or --account and --region (--organization or --ou for many accounts)",
            d.command
        )));
    }
    let many = d
        .accounts
        .iter()
        .any(|a| crate::org::Scope::of(a).needs_directory());
    if many && d.role_name.is_none() {
        return Err(CliError::Usage(
            "--organization and --ou need --role-name: the role to assume in each account".into(),
        ));
    }
    let patterns = if d.tables.is_empty() {
        vec!["*".to_string()]
    } else {
        d.tables.to_vec()
    };
    let mut rows = Vec::new();
    for account in &d.accounts {
        for region in &d.regions {
            for pattern in &patterns {
                rows.push(DesiredTable {
                    source: Source {
                        file: super::identity::COMMAND_LINE.into(),
                        line: 0,
                    },
                    account_id: account.clone(),
                    role: d.role_name.map(|n| RoleSpec {
                        role_arn: RoleSpec::arn_in(account, n),
                        external_id: None,
                    }),
                    region: region.clone(),
                    table: pattern.clone(),
                    ..DesiredTable::discovered()
                });
            }
        }
    }
    let source = InventoryRef {
        path: "(command line)".into(),
        sha256: String::new(),
    };
    Ok((source, rows))
}

/// The inventory for `plan`/`apply`: a file (filtered), or one row built from the
/// single-table flags.
pub fn load_tables(
    inventory: &Option<PathBuf>,
    single: &SingleTableArgs,
    filters: &SelectArgs,
    sel: &Selection,
    limits: &Limits,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    match (inventory, single.is_empty()) {
        (Some(_), false) => Err(CliError::Usage(
            "give either an inventory file or the single-table flags (--tableName ...), not both"
                .into(),
        )),
        (None, true) => Err(CliError::Usage(
            "missing inventory: give an inventory file, or --tableName and --region with --readMode/--writeMode"
                .into(),
        )),
        (Some(path), true) => {
            let inv = inventory::load(path, limits)?;
            let tables = preselect(inv.tables, sel)?;
            Ok((
                InventoryRef {
                    path: inv.path,
                    sha256: inv.sha256,
                },
                tables,
            ))
        }
        (None, false) => {
            if single.region.len() > 1 {
                return Err(CliError::Usage(
                    "--region: give one region for a single table".into(),
                ));
            }
            if !filters.accounts.is_empty() || !filters.tables.is_empty() || filters.shard.is_some() {
                return Err(CliError::Usage(
                    "--account, --table and --shard select rows of an inventory; the single-table form names its table with --tableName".into(),
                ));
            }
            Ok((
                InventoryRef {
                    path: "(command line)".into(),
                    sha256: String::new(),
                },
                single_table(single, limits)?,
            ))
        }
    }
}

/// Builds and validates the one row described by the single-table flags. Errors name the flag.
pub fn single_table(
    a: &SingleTableArgs,
    limits: &Limits,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    const LABEL: &str = crate::inventory::error::COMMAND_LINE;
    let mut errors = Vec::new();
    let err = |flag: &str, message: String, hint: Option<&str>| InventoryError {
        file: LABEL.into(),
        line: None,
        field: Some(flag.into()),
        message,
        hint: hint.map(str::to_string),
    };
    let mut row = RawRow::default();
    for (_, field, value) in a.flags() {
        if let Some(v) = value {
            row.insert(field, Raw::Text(v.clone()), 0, true);
        }
    }
    let normalize = |m: &str| m.to_ascii_lowercase().replace(['_', '-'], "");
    match (&a.read_mode, &a.write_mode) {
        (Some(r), Some(w)) if normalize(r) != normalize(w) => errors.push(err(
            "--readMode",
            format!("--readMode ({r}) and --writeMode ({w}) differ"),
            Some("billing mode is table-wide in DynamoDB: give the same mode for both"),
        )),
        (Some(m), _) | (None, Some(m)) => {
            row.insert("mode", Raw::Text(m.clone()), 0, true);
        }
        (None, None) => errors.push(err(
            "--readMode",
            "missing".into(),
            Some("give --readMode and --writeMode (ondemand or provisioned)"),
        )),
    }
    if !errors.is_empty() {
        return Err(InventoryErrors(errors));
    }
    inventory::validate_rows(LABEL, &[row], limits, false).map_err(|InventoryErrors(es)| {
        InventoryErrors(
            es.into_iter()
                .map(|mut e| {
                    e.line = None;
                    let flag = a
                        .flags()
                        .iter()
                        .find(|(_, f, _)| Some(*f) == e.field.as_deref())
                        .map(|(flag, _, _)| *flag)
                        .unwrap_or(if e.field.as_deref() == Some("mode") {
                            "--readMode"
                        } else {
                            ""
                        });
                    if !flag.is_empty() {
                        e.field = Some(flag.into());
                    }
                    // The values are named as the user gave them: by their flags.
                    for (flag, field, _) in a.flags().iter().filter(|(_, f, _)| f.contains('_')) {
                        e.message = e.message.replace(field, flag);
                    }
                    e
                })
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DesiredMode, Thresholds};
    use clap::Parser;

    /// The single-table flags as `plan` and `apply` take them.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        single: SingleTableArgs,
    }

    fn seed(args: &[&str]) -> Result<Vec<DesiredTable>, InventoryErrors> {
        let mut argv = vec!["ddb-fleet"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        single_table(&cli.single, &Limits::default())
    }

    #[test]
    fn seed_flags_build_one_row() {
        let t = seed(&[
            "--tableName",
            "orders",
            "--region",
            "us-east-1",
            "--readMode",
            "provisioned",
            "--writeMode",
            "provisioned",
            "--minRead",
            "5",
            "--maxRead",
            "100",
            "--targetRead",
            "70",
            "--minWrite",
            "1",
            "--maxWrite",
            "10",
            "--targetWrite",
            "50",
        ])
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].table, "orders");
        assert_eq!(
            t[0].account_id, "",
            "resolved later from the caller's identity"
        );
        match t[0].mode {
            DesiredMode::Provisioned(a) => {
                assert_eq!(
                    a.read,
                    Thresholds {
                        min: 5,
                        max: 100,
                        target: 70.0
                    }
                );
                assert_eq!(
                    a.write,
                    Thresholds {
                        min: 1,
                        max: 10,
                        target: 50.0
                    }
                );
            }
            _ => panic!(),
        }
        let t = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "ondemand",
        ])
        .unwrap();
        assert_eq!(t[0].mode, DesiredMode::OnDemand);
    }

    #[test]
    fn seed_flag_errors_name_the_flag() {
        let e = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "provisioned",
        ])
        .unwrap_err()
        .0;
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field.as_deref(), Some("--readMode"));
        assert!(
            e[0].to_string().contains("billing mode is table-wide"),
            "{}",
            e[0]
        );

        let e = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "provisioned",
            "--writeMode",
            "provisioned",
            "--minRead",
            "9",
            "--maxRead",
            "3",
            "--targetRead",
            "70",
            "--minWrite",
            "1",
            "--maxWrite",
            "2",
            "--targetWrite",
            "99",
        ])
        .unwrap_err()
        .0;
        let fields: Vec<_> = e.iter().map(|e| e.field.clone().unwrap()).collect();
        assert_eq!(fields, ["--minRead", "--targetWrite"], "{e:?}");
        assert!(e
            .iter()
            .all(|e| e.file == "command line" && e.line.is_none()));
    }
}
