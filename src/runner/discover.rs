//! Discovery, the run's first stage: rows for many accounts and regions become rows for one
//! account and region each (`scope.rs`), then pattern rows (`table = "orders-*"`) one row per
//! matching table ([`discover`]).

use super::scope::expand_scopes;
use super::Group;
use crate::aws::ops;
use crate::aws::partition::OPT_IN_REGIONS;
use crate::aws::{AwsError, ClientFactory};
use crate::model::*;
use crate::report::{AccountStatus, OrgReport, RegionNote};
use crate::select::Selection;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// The tables a run works on, each with the error that kept it from being found (a failed
/// account, a failed listing), and the organisation's accounts when rows named many.
pub struct Discovered {
    pub rows: Vec<(DesiredTable, Option<AwsError>)>,
    pub organization: Option<OrgReport>,
}

/// Expands every row into the tables it governs: accounts and regions first (`*`, OUs, roots,
/// see `scope.rs`; `sel`'s accounts and regions applied there, so an account left out is
/// never reached), then patterns; each table is governed by its most specific row (then the
/// earlier). Inventory order is kept, and the same inventory gives every shard the same
/// tables in the same order. `concurrency`: `--concurrency` if given, else one per account
/// (then per account and region listed) within the default's bounds. Fails only when the
/// organisation cannot be read.
pub async fn discover(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    sel: &Selection,
    allowed_regions: &[String],
    concurrency: Option<usize>,
) -> Result<Discovered, AwsError> {
    let scoped = expand_scopes(factory, tables, sel, allowed_regions, concurrency).await?;
    let (failed, found): (Vec<_>, Vec<_>) = scoped.rows.into_iter().partition(|(_, e)| e.is_some());
    let found = found.into_iter().map(|(t, _)| t).collect();
    let listing = Listing {
        enabled: &scoped.enabled,
        concurrency,
    };
    let (mut rows, skipped_regions) = expand_patterns(factory, found, listing).await;
    let mut organization = scoped.organization;
    if let Some(o) = organization.as_mut() {
        fail_unlisted(o, &rows, &failed);
    }
    rows.extend(failed);
    rows.sort_by_key(|(t, _)| t.source.line);
    for (account, note) in skipped_regions {
        tracing::warn!(account = %account, region = %note.region, "region skipped: {}", note.note);
        let entry = organization
            .as_mut()
            .and_then(|o| o.accounts.iter_mut().find(|a| a.account_id == account));
        if let Some(a) = entry {
            a.regions.retain(|r| *r != note.region);
            a.skipped_regions.push(note);
        }
    }
    Ok(Discovered { rows, organization })
}

/// An account worked on none of whose places could be listed (every listing failed, no
/// table found) was not worked on: it is failed, with the first listing's error.
fn fail_unlisted(
    o: &mut OrgReport,
    listed: &[(DesiredTable, Option<AwsError>)],
    failed_before: &[(DesiredTable, Option<AwsError>)],
) {
    let mut by_account: BTreeMap<&str, (bool, Option<&AwsError>)> = BTreeMap::new();
    for (t, e) in listed {
        let entry = by_account.entry(&t.account_id).or_default();
        entry.0 |= e.is_none();
        if entry.1.is_none() {
            entry.1 = e.as_ref();
        }
    }
    for a in &mut o.accounts {
        let reached_before = failed_before
            .iter()
            .any(|(t, _)| t.account_id == a.account_id);
        if let Some((false, Some(e))) = by_account.get(a.account_id.as_str()) {
            if a.status == AccountStatus::WorkedOn && !reached_before {
                a.status = AccountStatus::Failed;
                a.reason = Some(format!(
                    "no listing of its tables succeeded: {}: {}",
                    e.code, e.message
                ));
                a.regions.clear();
            }
        }
    }
    *o = OrgReport::of(std::mem::take(&mut o.accounts));
}

/// What pattern expansion knows: each account's enabled regions where they were read, and
/// `--concurrency` if given.
#[derive(Clone, Copy)]
struct Listing<'a> {
    enabled: &'a BTreeMap<String, Vec<String>>,
    concurrency: Option<usize>,
}

impl Listing<'_> {
    /// Whether a listing's error says the region is not enabled in the account (AWS answers
    /// `AuthFailure` / `UnrecognizedClientException` for an opt-in region the account has
    /// not opted into): a region to pass over, not a failure. Only where the region is not
    /// among the account's enabled regions (when read), or, when they were not read, is an
    /// opt-in region: otherwise the answer means the credentials are not usable there.
    fn region_not_enabled(&self, e: &AwsError, account: &str, region: &str) -> bool {
        matches!(
            e.code.as_str(),
            "AuthFailure" | "UnrecognizedClientException"
        ) && match self.enabled.get(account) {
            Some(enabled) => !enabled.iter().any(|r| r == region),
            None => OPT_IN_REGIONS.contains(&region),
        }
    }
}

/// Expands pattern rows (`table = "orders-*"`) into one row per matching table, through
/// DynamoDB ListTables (once per account, role and region). Rows come most specific first
/// ([`by_precedence`]): each table is kept from the first row that names it. A pattern row
/// whose listing fails stays, with the error; one whose region is not enabled is dropped and
/// noted (account, note).
async fn expand_patterns(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    listing: Listing<'_>,
) -> (
    Vec<(DesiredTable, Option<AwsError>)>,
    Vec<(String, RegionNote)>,
) {
    use crate::inventory::{glob_match, is_pattern};
    let groups: std::collections::BTreeSet<Group> = tables
        .iter()
        .filter(|t| is_pattern(&t.table))
        .map(|t| (t.account_id.clone(), t.role.clone(), t.region.clone()))
        .collect();
    let concurrency = super::concurrency_for(listing.concurrency, groups.len());
    let listings: HashMap<Group, Result<Vec<String>, AwsError>> = futures::stream::iter(groups)
        .map(|(account, role, region)| async move {
            let r = match factory
                .account_region(&account, role.as_ref(), &region)
                .await
            {
                Ok(c) => ops::list_tables(&c).await,
                Err(e) => Err(e),
            };
            // A listing with no table there: its clients are not kept (at organisation scale,
            // most accounts' regions hold none).
            if r.as_ref().is_ok_and(Vec::is_empty) {
                factory.forget(&account, role.as_ref(), &region);
            }
            ((account, role, region), r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut claimed = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    let mut skipped: Vec<(String, RegionNote)> = Vec::new();
    // Per row and pattern: whether it matched nothing yet, in how many places it was listed.
    let mut unmatched: std::collections::BTreeMap<(String, String), (bool, usize, DesiredTable)> =
        Default::default();
    for t in tables {
        if !is_pattern(&t.table) {
            let id = (t.account_id.clone(), t.region.clone(), t.table.clone());
            if claimed.insert(id) {
                out.push((t, None));
            }
            continue;
        }
        let key = (t.account_id.clone(), t.role.clone(), t.region.clone());
        match &listings[&key] {
            Err(e) if listing.region_not_enabled(e, &t.account_id, &t.region) => {
                let noted = skipped
                    .iter()
                    .any(|(a, n)| *a == t.account_id && n.region == t.region);
                if !noted {
                    let note = format!("not enabled in this account ({}: {})", e.code, e.message);
                    skipped.push((
                        t.account_id.clone(),
                        RegionNote {
                            region: t.region.clone(),
                            note,
                        },
                    ));
                }
            }
            Err(e) => out.push((t, Some(e.clone()))),
            Ok(names) => {
                let mut names: Vec<&String> =
                    names.iter().filter(|n| glob_match(&t.table, n)).collect();
                names.sort();
                let row = (t.source.to_string(), t.table.clone());
                let seen = unmatched.entry(row).or_insert((true, 0, t.clone()));
                seen.0 &= names.is_empty();
                seen.1 += 1;
                for name in names {
                    let id = (t.account_id.clone(), t.region.clone(), name.clone());
                    if !claimed.insert(id) {
                        continue;
                    }
                    out.push((
                        DesiredTable {
                            table: name.clone(),
                            ..t.clone()
                        },
                        None,
                    ));
                }
            }
        }
    }
    for (_, places, t) in unmatched.into_values().filter(|(none, ..)| *none) {
        match places {
            1 => {
                tracing::warn!(account = %t.account_id, region = %t.region, pattern = %t.table, source = %t.source, "the pattern matches no table")
            }
            n => {
                tracing::warn!(pattern = %t.table, source = %t.source, "the pattern matches no table in any of its {n} accounts and regions")
            }
        }
    }
    (out, skipped)
}
