//! Scopes, the first part of discovery: rows for many accounts (`account_id` `*`, an OU or a
//! root id) become one row per `ACTIVE` account of the organisation, and rows for every region
//! (`region` `*`) one row per region enabled in that account ([`expand_scopes`]). Accounts
//! that cannot be worked on are recorded ([`OrgReport`]), never fatal: a suspended account
//! is skipped with its state, an account whose role cannot be assumed (or whose regions
//! cannot be read) is one failed row.
//!
//! Which row governs a table when several name it: the most specific (an exact table over a
//! pattern, then an account over an OU over `*`, then a region over `*`), then the earlier
//! row. [`by_precedence`] orders the rows so; pattern expansion then keeps each table's first
//! claim.

use crate::aws::organizations::load_directory;
use crate::aws::regions::enabled_regions;
use crate::aws::{AwsError, ClientFactory, ErrorKind};
use crate::inventory::{is_pattern, KNOWN_REGIONS};
use crate::model::{DesiredTable, RoleSpec};
use crate::org::{Directory, OrgAccount, Scope, ALL_REGIONS};
use crate::report::{AccountReport, AccountStatus, OrgReport, RegionNote};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};

/// The rows for one account and region each, those that failed, and the organisation's
/// accounts (when any row named many).
pub struct Scoped {
    pub rows: Vec<(DesiredTable, Option<AwsError>)>,
    pub organization: Option<OrgReport>,
}

/// Orders rows most specific first (see the module's header); the sort is stable, so an
/// earlier row comes before a later one of the same specificity.
pub fn by_precedence(rows: &mut [DesiredTable]) {
    rows.sort_by_key(|t| {
        (
            is_pattern(&t.table),
            Scope::of(&t.account_id).rank(),
            t.region == ALL_REGIONS,
        )
    });
}

/// (account, role) whose credentials and, for a `*` region, enabled regions are read.
type Reach = (String, Option<RoleSpec>);

/// Expands rows for many accounts and regions, in precedence order (the caller sorts:
/// [`by_precedence`]). `allowed` are the regions this release does not know but the user
/// allowed. AWS calls: Organizations (once, when a row names many accounts: see
/// `aws::organizations`), then per account reached STS AssumeRole and, for a `*` region, EC2
/// DescribeRegions. Fails only when the organisation cannot be read or a row names an OU or
/// root it does not have.
pub async fn expand_scopes(
    factory: &ClientFactory,
    rows: Vec<DesiredTable>,
    allowed: &[String],
    concurrency: usize,
) -> Result<Scoped, AwsError> {
    let many = rows
        .iter()
        .any(|t| Scope::of(&t.account_id).needs_directory());
    if !many && rows.iter().all(|t| t.region != ALL_REGIONS) {
        let rows = rows.into_iter().map(|t| (t, None)).collect();
        return Ok(Scoped {
            rows,
            organization: None,
        });
    }
    let directory = match many {
        true => Some(load_directory(factory).await?),
        false => None,
    };
    let targets = targets(&rows, directory.as_ref())?;
    let reached = reach(factory, &rows, &targets, concurrency).await;
    let mut out = Vec::new();
    let mut failed_once = BTreeSet::new();
    for (t, accounts) in rows.iter().zip(&targets) {
        for (account, role) in accounts {
            let key = (account.clone(), role.clone());
            match reached.get(&key) {
                Some(Err(e)) if failed_once.insert(account.clone()) => out.push((
                    DesiredTable {
                        account_id: account.clone(),
                        role: role.clone(),
                        ..t.clone()
                    },
                    Some(e.clone()),
                )),
                Some(Err(_)) => {}
                Some(Ok(Some(regions))) if t.region == ALL_REGIONS => {
                    for region in usable(regions, allowed) {
                        out.push((located(t, account, role, &region), None));
                    }
                }
                _ => out.push((located(t, account, role, &t.region), None)),
            }
        }
    }
    let organization = directory.map(|d| org_report(&d, &rows, &reached, allowed));
    Ok(Scoped {
        rows: out,
        organization,
    })
}

/// The row for one account and region.
fn located(t: &DesiredTable, account: &str, role: &Option<RoleSpec>, region: &str) -> DesiredTable {
    DesiredTable {
        account_id: account.to_string(),
        role: role.clone(),
        region: region.to_string(),
        ..t.clone()
    }
}

/// Each row's accounts (ACTIVE ones, by id) with the role to reach each; an account row's
/// own account, unless the organisation lists it as not ACTIVE.
fn targets(
    rows: &[DesiredTable],
    directory: Option<&Directory>,
) -> Result<Vec<Vec<Reach>>, AwsError> {
    rows.iter()
        .map(|t| {
            let scope = Scope::of(&t.account_id);
            let members: Vec<&OrgAccount> = match (directory, &scope) {
                (_, Scope::Account(id)) => {
                    let inactive = directory
                        .and_then(|d| d.get(id))
                        .is_some_and(|a| !a.is_active());
                    if !inactive {
                        return Ok(vec![(id.clone(), t.role.clone())]);
                    }
                    Vec::new()
                }
                (Some(d), _) => d.members(&scope).ok_or_else(|| {
                    AwsError::new(
                        "ParentNotFoundException",
                        format!(
                            "{} (line {} of {}) names {}, which is not a root or OU of the organisation",
                            t.account_id, t.source.line, t.source.file, t.account_id
                        ),
                        ErrorKind::Permanent,
                    )
                })?,
                (None, _) => Vec::new(),
            };
            Ok(members
                .into_iter()
                .filter(|a| a.is_active())
                .map(|a| (a.id.clone(), t.role.as_ref().map(|r| r.in_account(&a.id))))
                .collect())
        })
        .collect()
}

/// Reaches each account that needs it once: an account of a row for many accounts, or of a
/// `*` region. `Ok(Some(regions))`: its enabled regions (asked when a `*` row needs them);
/// `Ok(None)`: its role was assumed.
async fn reach(
    factory: &ClientFactory,
    rows: &[DesiredTable],
    targets: &[Vec<Reach>],
    concurrency: usize,
) -> BTreeMap<Reach, Result<Option<Vec<String>>, AwsError>> {
    let mut needs: BTreeMap<Reach, bool> = BTreeMap::new();
    for (t, accounts) in rows.iter().zip(targets) {
        let all_regions = t.region == ALL_REGIONS;
        if !all_regions && !Scope::of(&t.account_id).needs_directory() {
            continue;
        }
        for reach in accounts {
            *needs.entry(reach.clone()).or_default() |= all_regions;
        }
    }
    let home = factory.home_region();
    futures::stream::iter(needs)
        .map(|((account, role), regions)| {
            let home = home.clone();
            async move {
                let r = match regions {
                    true => enabled_regions(factory, &account, role.as_ref(), &home)
                        .await
                        .map(Some),
                    false => factory
                        .account_region(&account, role.as_ref(), &home)
                        .await
                        .map(|_| None),
                };
                ((account, role), r)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// The enabled regions this release can work in (known, or allowed by `--allow-region`).
fn usable(regions: &[String], allowed: &[String]) -> Vec<String> {
    regions
        .iter()
        .filter(|r| KNOWN_REGIONS.contains(&r.as_str()) || allowed.contains(r))
        .cloned()
        .collect()
}

/// Every account the rows named, what became of it, by id.
fn org_report(
    directory: &Directory,
    rows: &[DesiredTable],
    reached: &BTreeMap<Reach, Result<Option<Vec<String>>, AwsError>>,
    allowed: &[String],
) -> OrgReport {
    let mut named = BTreeSet::new();
    let mut regions: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for t in rows {
        for a in directory
            .members(&Scope::of(&t.account_id))
            .unwrap_or_default()
        {
            named.insert(a.id.as_str());
            if t.region != ALL_REGIONS && a.is_active() {
                regions.entry(&a.id).or_default().insert(t.region.clone());
            }
        }
    }
    let mut failures = BTreeMap::new();
    for ((account, _), r) in reached {
        match r {
            Err(e) => {
                failures.entry(account.as_str()).or_insert(e);
            }
            Ok(Some(enabled)) => {
                let r = regions.entry(account.as_str()).or_default();
                r.extend(enabled.iter().cloned());
            }
            Ok(None) => {}
        }
    }
    let accounts = named
        .into_iter()
        .filter_map(|id| directory.get(id))
        .map(|a| {
            let all: Vec<String> = regions
                .remove(a.id.as_str())
                .unwrap_or_default()
                .into_iter()
                .collect();
            let kept = usable(&all, allowed);
            let skipped_regions = all
                .iter()
                .filter(|r| !kept.contains(r))
                .map(|r| RegionNote {
                    region: r.clone(),
                    note: format!(
                        "enabled, but not a region this release knows: allow it with --allow-region {r}"
                    ),
                })
                .collect();
            let (status, reason) = match (a.is_active(), failures.get(a.id.as_str())) {
                (false, _) => (AccountStatus::Skipped, Some(format!("account is {}", a.state))),
                (true, Some(e)) => (AccountStatus::Failed, Some(format!("{}: {}", e.code, e.message))),
                (true, None) => (AccountStatus::WorkedOn, None),
            };
            AccountReport {
                account_id: a.id.clone(),
                name: a.name.clone(),
                ou_path: a.ou_path.clone(),
                state: a.state.clone(),
                status,
                reason,
                regions: if status == AccountStatus::WorkedOn { kept } else { Vec::new() },
                skipped_regions,
            }
        })
        .collect();
    OrgReport::of(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, account: &str, region: &str, table: &str) -> DesiredTable {
        DesiredTable {
            source: crate::model::Source {
                file: "inv.csv".into(),
                line,
            },
            account_id: account.into(),
            region: region.into(),
            table: table.into(),
            ..DesiredTable::discovered()
        }
    }

    #[test]
    fn the_most_specific_row_comes_first_then_the_earlier() {
        let mut rows = vec![
            row(2, "*", "*", "*"),
            row(3, "ou-ab12-cdef5678", "*", "*"),
            row(4, "111111111111", "*", "*"),
            row(5, "111111111111", "us-east-1", "*"),
            row(6, "*", "*", "orders"),
            row(7, "111111111111", "us-east-1", "orders"),
            row(8, "*", "*", "*"),
            row(9, "r-ab12", "us-east-1", "carts"),
        ];
        by_precedence(&mut rows);
        let lines: Vec<u64> = rows.iter().map(|r| r.source.line).collect();
        assert_eq!(lines, [7, 9, 6, 5, 4, 3, 2, 8]);
    }

    #[test]
    fn a_row_for_many_accounts_names_its_role_in_each() {
        let role = RoleSpec {
            role_arn: RoleSpec::arn_in("ou-ab12-cdef5678", "Audit"),
            external_id: Some("x1".into()),
        };
        assert_eq!(role.role_arn, "arn:aws:iam::*:role/Audit");
        let one = role.in_account("222233334444");
        assert_eq!(one.role_arn, "arn:aws:iam::222233334444:role/Audit");
        assert_eq!(one.external_id.as_deref(), Some("x1"));
        assert_eq!(
            usable(&["us-east-1".into(), "xx-new-1".into()], &[]),
            ["us-east-1"]
        );
    }
}
