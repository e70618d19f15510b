//! Scopes, the first part of discovery: rows for many accounts (`account_id` `*`, an OU or a
//! root id) become one row per `ACTIVE` account of the organisation, and rows for every region
//! (`region` `*`) one row per region enabled in that account ([`expand_scopes`]). Accounts
//! that cannot be worked on are recorded ([`OrgReport`]), never fatal: a suspended account
//! is skipped with its state, an account `--exclude-account` names is skipped (never
//! reached), an account none of whose roles can be assumed is failed; an account whose
//! regions cannot be read fails only its `*`-region rows.
//!
//! Which row governs a table when several name it: the most specific (an exact table over a
//! pattern, then an account over an OU (the deeper the more specific) over a root or `*`,
//! then a region over `*`), then the earlier row. [`by_precedence`] orders the rows so;
//! pattern expansion then keeps each table's first claim. A row every table of an account
//! is claimed from by a more specific row (`table` `*`, in all its regions) does not reach
//! that account at all: its role there is never assumed, and cannot fail it.

use crate::aws::organizations::load_directory;
use crate::aws::partition::OPT_IN_REGIONS;
use crate::aws::regions::enabled_regions;
use crate::aws::{AwsError, ClientFactory, ErrorKind};
use crate::inventory::{is_pattern, KNOWN_REGIONS};
use crate::model::{DesiredTable, RoleSpec};
use crate::org::{Directory, Scope, ALL_REGIONS};
use crate::report::{AccountReport, AccountStatus, OrgReport, RegionNote};
use crate::select::Selection;
use futures::StreamExt;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// The rows for one account and region each, those that failed, the organisation's accounts
/// (when any row named many), and each account's enabled regions where they were read.
pub struct Scoped {
    pub rows: Vec<(DesiredTable, Option<AwsError>)>,
    pub organization: Option<OrgReport>,
    pub enabled: BTreeMap<String, Vec<String>>,
}

/// Orders rows most specific first (see the module's header); OUs by depth once the
/// organisation is read (`directory`). The sort is stable, so an earlier row comes before a
/// later one of the same specificity.
pub fn by_precedence(rows: &mut [DesiredTable], directory: Option<&Directory>) {
    rows.sort_by_key(|t| {
        let scope = Scope::of(&t.account_id);
        let depth = match (&scope, directory) {
            (Scope::Parent(p), Some(d)) => d.depth(p).unwrap_or(0),
            _ => 0,
        };
        (
            is_pattern(&t.table),
            scope.rank(),
            Reverse(depth),
            t.region == ALL_REGIONS,
        )
    });
}

/// (account, role) whose credentials and, for a `*` region, enabled regions are read.
type Reach = (String, Option<RoleSpec>);

/// What reaching one (account, role) found.
#[derive(Debug, Clone)]
struct Reached {
    /// The role was assumed, or why not.
    assumed: Result<(), AwsError>,
    /// The account's enabled regions, when a row needed them.
    regions: Option<Result<Vec<String>, AwsError>>,
}

/// Expands rows for many accounts and regions, most specific first ([`by_precedence`]).
/// `sel`'s accounts and regions are applied here, so an account left out is never reached;
/// `allowed` are the regions this release does not know but the user allowed; `concurrency`
/// is `--concurrency` if given (else one per account reached, within the default's bounds).
/// AWS calls: Organizations (once, when a row names many accounts: see `aws::organizations`),
/// then per account reached STS AssumeRole and, for a `*` or opt-in region, EC2
/// DescribeRegions. Fails only when the organisation cannot be read or a row names an OU or
/// root it does not have.
pub async fn expand_scopes(
    factory: &ClientFactory,
    mut rows: Vec<DesiredTable>,
    sel: &Selection,
    allowed: &[String],
    concurrency: Option<usize>,
) -> Result<Scoped, AwsError> {
    let many = rows
        .iter()
        .any(|t| Scope::of(&t.account_id).needs_directory());
    let directory = match many {
        true => Some(load_directory(factory).await?),
        false => None,
    };
    by_precedence(&mut rows, directory.as_ref());
    let targets = targets(&rows, directory.as_ref(), sel)?;
    let needs = needs(&rows, &targets);
    let concurrency = super::concurrency_for(concurrency, needs.len());
    let reached = reach(factory, needs, concurrency).await;
    let mut expanded = Expanded::default();
    for (t, accounts) in rows.iter().zip(&targets) {
        for (account, role) in accounts {
            expanded.add(
                t,
                account,
                role,
                reached.get(&(account.clone(), role.clone())),
                (sel, allowed),
            );
        }
    }
    let enabled = reached
        .iter()
        .filter_map(|((a, _), r)| Some((a.clone(), r.regions.clone()?.ok()?)))
        .collect();
    let organization = directory.map(|d| org_report(&d, &rows, sel, &reached, &expanded, allowed));
    Ok(Scoped {
        rows: expanded.rows,
        organization,
        enabled,
    })
}

/// The rows for one account and region each, as they are made.
#[derive(Default)]
struct Expanded {
    rows: Vec<(DesiredTable, Option<AwsError>)>,
    /// (account, role, whether its regions) already failed: one entry each.
    failed: BTreeSet<(String, Option<RoleSpec>, bool)>,
    /// Explicit regions not enabled in the account, by account.
    not_enabled: BTreeMap<String, BTreeSet<String>>,
}

impl Expanded {
    /// Row `t`'s rows for `account` (reached through `role` as `reached` says, if it was).
    fn add(
        &mut self,
        t: &DesiredTable,
        account: &str,
        role: &Option<RoleSpec>,
        reached: Option<&Reached>,
        (sel, allowed): (&Selection, &[String]),
    ) {
        let all = t.region == ALL_REGIONS;
        match reached {
            Some(Reached {
                assumed: Err(e), ..
            }) => self.fail(t, account, role, false, e),
            Some(Reached {
                regions: Some(Ok(enabled)),
                ..
            }) if all => {
                for region in usable(enabled, allowed) {
                    if sel.keeps_region(&region) {
                        self.rows.push((located(t, account, role, &region), None));
                    }
                }
            }
            Some(Reached {
                regions: Some(Err(e)),
                ..
            }) if all => self.fail(t, account, role, true, e),
            Some(Reached {
                regions: Some(Ok(enabled)),
                ..
            }) if !enabled.contains(&t.region) => {
                self.not_enabled
                    .entry(account.to_string())
                    .or_default()
                    .insert(t.region.clone());
            }
            _ => self.rows.push((located(t, account, role, &t.region), None)),
        }
    }

    /// One failed entry per (account, role), and per (account, role) whose regions could not
    /// be read.
    fn fail(
        &mut self,
        t: &DesiredTable,
        account: &str,
        role: &Option<RoleSpec>,
        regions: bool,
        e: &AwsError,
    ) {
        if self
            .failed
            .insert((account.to_string(), role.clone(), regions))
        {
            self.rows
                .push((located(t, account, role, &t.region), Some(e.clone())));
        }
    }
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

/// Each row's accounts (ACTIVE ones the selection keeps, by id) with the role to reach each;
/// an account row's own account, unless the organisation lists it as not ACTIVE. An account
/// every table of which a more specific row claims ([`claims_all`]) is not the later row's.
fn targets(
    rows: &[DesiredTable],
    directory: Option<&Directory>,
    sel: &Selection,
) -> Result<Vec<Vec<Reach>>, AwsError> {
    let mut targets: Vec<Vec<Reach>> = Vec::with_capacity(rows.len());
    for (i, t) in rows.iter().enumerate() {
        let claimed: BTreeSet<&str> = (0..i)
            .filter(|&j| claims_all(&rows[j], t))
            .flat_map(|j| targets[j].iter().map(|(a, _)| a.as_str()))
            .collect();
        let accounts: Vec<Reach> = accounts_of(t, directory)?
            .into_iter()
            .filter(|a| sel.keeps_account(a) && !claimed.contains(a.as_str()))
            .map(|a| {
                let role = t.role.as_ref().map(|r| r.in_account(&a));
                (a, role)
            })
            .collect();
        targets.push(accounts);
    }
    Ok(targets)
}

/// Whether `earlier` (more specific) claims every table `later` could name in an account
/// both name: every table (`*`), in every region or in `later`'s one.
fn claims_all(earlier: &DesiredTable, later: &DesiredTable) -> bool {
    earlier.table == "*" && (earlier.region == ALL_REGIONS || earlier.region == later.region)
}

/// The ACTIVE accounts row `t` names, by id.
fn accounts_of(t: &DesiredTable, directory: Option<&Directory>) -> Result<Vec<String>, AwsError> {
    let scope = Scope::of(&t.account_id);
    let members = match (directory, &scope) {
        (_, Scope::Account(id)) => {
            let inactive = directory
                .and_then(|d| d.get(id))
                .is_some_and(|a| !a.is_active());
            return Ok(if inactive {
                Vec::new()
            } else {
                vec![id.clone()]
            });
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
        .map(|a| a.id.clone())
        .collect())
}

/// The (account, role) to reach, and whether their enabled regions are needed: every account
/// of a row for many accounts, or of a `*` region; the regions for a `*` region, or for an
/// opt-in region a row for many accounts names (an account that has not enabled it is
/// skipped there, not failed).
fn needs(rows: &[DesiredTable], targets: &[Vec<Reach>]) -> BTreeMap<Reach, bool> {
    let mut needs: BTreeMap<Reach, bool> = BTreeMap::new();
    for (t, accounts) in rows.iter().zip(targets) {
        let many = Scope::of(&t.account_id).needs_directory();
        let all_regions = t.region == ALL_REGIONS;
        if !all_regions && !many {
            continue;
        }
        let regions = all_regions || OPT_IN_REGIONS.contains(&t.region.as_str());
        for reach in accounts {
            *needs.entry(reach.clone()).or_default() |= regions;
        }
    }
    needs
}

/// Reaches each (account, role) once, `concurrency` at a time: its credentials (STS
/// AssumeRole, no client built), then its enabled regions if needed (EC2 DescribeRegions).
async fn reach(
    factory: &ClientFactory,
    needs: BTreeMap<Reach, bool>,
    concurrency: usize,
) -> BTreeMap<Reach, Reached> {
    futures::stream::iter(needs)
        .map(|((account, role), regions)| async move {
            let assumed = factory.reach(&account, role.as_ref()).await;
            let regions = match (&assumed, regions) {
                (Ok(()), true) => Some(enabled_regions(factory, &account, role.as_ref()).await),
                _ => None,
            };
            if let Some(Err(e)) = &regions {
                tracing::warn!(account = %account, "cannot read the account's enabled regions (its `*`-region rows fail): {}: {}", e.code, e.message);
            }
            ((account, role), Reached { assumed, regions })
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

/// Every account the rows named (those `--account` leaves out aside), what became of it, by
/// id.
fn org_report(
    directory: &Directory,
    rows: &[DesiredTable],
    sel: &Selection,
    reached: &BTreeMap<Reach, Reached>,
    expanded: &Expanded,
    allowed: &[String],
) -> OrgReport {
    let named: BTreeSet<&str> = rows
        .iter()
        .flat_map(|t| {
            directory
                .members(&Scope::of(&t.account_id))
                .unwrap_or_default()
        })
        .map(|a| a.id.as_str())
        .filter(|id| sel.excludes(id) || sel.keeps_account(id))
        .collect();
    let mut regions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (t, e) in &expanded.rows {
        if e.is_none() {
            regions.entry(&t.account_id).or_default().insert(&t.region);
        }
    }
    let accounts = named
        .into_iter()
        .filter_map(|id| directory.get(id))
        .map(|a| {
            let mine: Vec<(&Reach, &Reached)> =
                reached.iter().filter(|((id, _), _)| *id == a.id).collect();
            let enabled: BTreeSet<&String> = mine
                .iter()
                .filter_map(|(_, r)| r.regions.as_ref()?.as_ref().ok())
                .flatten()
                .collect();
            let mut skipped_regions: Vec<RegionNote> = enabled
                .iter()
                .filter(|r| usable(&[r.to_string()], allowed).is_empty())
                .map(|r| RegionNote {
                    region: r.to_string(),
                    note: format!(
                        "enabled, but not a region this release knows: allow it with --allow-region {r}"
                    ),
                })
                .collect();
            for r in expanded.not_enabled.get(&a.id).into_iter().flatten() {
                skipped_regions.push(RegionNote {
                    region: r.clone(),
                    note: "not enabled in this account (DescribeRegions)".into(),
                });
            }
            let (status, reason) = status(a, sel, &mine);
            let management = directory.management.as_deref() == Some(a.id.as_str());
            let reason = match (status, management) {
                (AccountStatus::Failed, true) => reason.map(|r| format!("{r} (the organisation's management account, which usually lacks the members' role: give it the role, or leave it out with --exclude-account {})", a.id)),
                _ => reason,
            };
            AccountReport {
                account_id: a.id.clone(),
                name: a.name.clone(),
                ou_path: a.ou_path.clone(),
                state: a.state.clone(),
                status,
                reason,
                management,
                regions: match status {
                    AccountStatus::WorkedOn => regions
                        .remove(a.id.as_str())
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|r| *r != ALL_REGIONS)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                },
                skipped_regions,
            }
        })
        .collect();
    OrgReport::of(accounts)
}

/// An account's status and why: skipped when not ACTIVE or excluded; failed when none of the
/// roles it was reached through could be assumed; else worked on, with what part of it failed
/// (a role, its regions), if any.
fn status(
    a: &crate::org::OrgAccount,
    sel: &Selection,
    reached: &[(&Reach, &Reached)],
) -> (AccountStatus, Option<String>) {
    if !a.is_active() {
        return (
            AccountStatus::Skipped,
            Some(format!("account is {}", a.state)),
        );
    }
    if sel.excludes(&a.id) {
        return (
            AccountStatus::Skipped,
            Some("excluded (--exclude-account)".into()),
        );
    }
    let errors: Vec<String> = reached
        .iter()
        .filter_map(|(_, r)| match (&r.assumed, &r.regions) {
            (Err(e), _) => Some(format!("{}: {}", e.code, e.message)),
            (Ok(()), Some(Err(e))) => Some(format!(
                "its enabled regions could not be read (EC2 DescribeRegions): {}: {}",
                e.code, e.message
            )),
            _ => None,
        })
        .collect();
    let assumed = reached.is_empty() || reached.iter().any(|(_, r)| r.assumed.is_ok());
    let reason = (!errors.is_empty()).then(|| errors.join("; "));
    match assumed {
        true => (AccountStatus::WorkedOn, reason),
        false => (AccountStatus::Failed, reason),
    }
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
        by_precedence(&mut rows, None);
        let lines: Vec<u64> = rows.iter().map(|r| r.source.line).collect();
        assert_eq!(lines, [7, 9, 6, 5, 4, 3, 2, 8]);
    }

    fn org_account(id: &str, parents: &[&str]) -> crate::org::OrgAccount {
        crate::org::OrgAccount {
            id: id.into(),
            name: format!("n{id}"),
            state: "ACTIVE".into(),
            ou_path: String::new(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Root r-ab12 / OU ou-ab12-aaaaaaaa / OU ou-ab12-bbbbbbbb (account 3...), and account 1...
    /// in the root.
    fn nested() -> Directory {
        let (root, ou, child) = ("r-ab12", "ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb");
        Directory::new(
            vec![
                org_account("100000000000", &[root]),
                org_account("300000000000", &[root, ou, child]),
            ],
            [(root, 0), (ou, 1), (child, 2)]
                .iter()
                .map(|(p, d)| (p.to_string(), *d))
                .collect(),
        )
    }

    /// Regression: a root id ranked as an OU (it is the whole organisation, as `*`), and
    /// nested OUs tied, the earlier line winning over the deeper OU.
    #[test]
    fn a_root_ranks_as_the_whole_organisation_and_a_deeper_ou_over_its_parent() {
        let mut rows = vec![
            row(2, "ou-ab12-aaaaaaaa", "*", "*"),
            row(3, "ou-ab12-bbbbbbbb", "*", "*"),
            row(4, "r-ab12", "*", "*"),
            row(5, "ou-ab12-aaaaaaaa", "*", "*"),
            row(6, "*", "*", "*"),
        ];
        by_precedence(&mut rows, Some(&nested()));
        let lines: Vec<u64> = rows.iter().map(|r| r.source.line).collect();
        assert_eq!(lines, [3, 2, 5, 4, 6]);
        // A root row before a `*` row: the earlier wins, as between two `*` rows.
        let mut rows = vec![row(2, "*", "*", "*"), row(3, "r-ab12", "*", "*")];
        by_precedence(&mut rows, Some(&nested()));
        assert_eq!(rows[0].source.line, 2, "the root outranked `*`");
    }

    /// Regression: `*,StdRole,*,*` and `1...,LegacyRole,*,*`: StdRole was assumed in 1... too,
    /// and its failure there failed the account every night although LegacyRole read all its
    /// tables. A row another claims every table from does not reach the account.
    #[test]
    fn an_account_a_more_specific_row_covers_is_not_reached_by_the_broader_row() {
        let role = |name: &str| {
            Some(RoleSpec {
                role_arn: RoleSpec::arn_in("*", name),
                external_id: None,
            })
        };
        let legacy = DesiredTable {
            role: role("Legacy"),
            ..row(3, "100000000000", "*", "*")
        };
        let only_eu = DesiredTable {
            role: role("Eu"),
            ..row(4, "300000000000", "eu-west-1", "*")
        };
        let std = DesiredTable {
            role: role("Std"),
            ..row(2, "*", "*", "*")
        };
        let mut rows = vec![std, legacy, only_eu];
        let d = nested();
        by_precedence(&mut rows, Some(&d));
        let t = targets(&rows, Some(&d), &Selection::default()).unwrap();
        let ids = |i: usize| -> Vec<&str> { t[i].iter().map(|(a, _)| a.as_str()).collect() };
        // An exact region first, then the account's `*` region, then `*`.
        assert_eq!(ids(0), ["300000000000"], "Eu");
        assert_eq!(ids(1), ["100000000000"], "Legacy");
        // Std still reads 3...'s other regions, but 1... is Legacy's alone.
        assert_eq!(ids(2), ["300000000000"], "Std");
        let needs = needs(&rows, &t);
        assert!(!needs
            .keys()
            .any(|(a, r)| a == "100000000000" && *r == role("Std").map(|r| r.in_account(a))));

        // --exclude-account and --account apply before any account is reached.
        let sel = Selection {
            exclude_accounts: vec!["300000000000".into()],
            ..Selection::default()
        };
        let t = targets(&rows, Some(&d), &sel).unwrap();
        assert!(
            t.iter().flatten().all(|(a, _)| a != "300000000000"),
            "{t:?}"
        );
        let sel = Selection {
            accounts: vec!["300000000000".into()],
            ..Selection::default()
        };
        let t = targets(&rows, Some(&d), &sel).unwrap();
        assert!(
            t.iter().flatten().all(|(a, _)| a == "300000000000"),
            "{t:?}"
        );
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
