//! Discovery, the run's first stage: pattern rows (`table = "orders-*"`) become one row per
//! matching table.

use super::Group;
use crate::aws::ops;
use crate::aws::{AwsError, ClientFactory};
use crate::model::*;
use futures::StreamExt;
use std::collections::HashMap;

/// Expands pattern rows (`table = "orders-*"`) into one row per matching table, through
/// DynamoDB ListTables (once per account, role and region). Explicit rows win over pattern
/// rows for the same table, and an earlier pattern row over a later one. A pattern row whose
/// listing fails stays, with the error. Inventory order is kept.
pub async fn expand_patterns(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    concurrency: usize,
) -> Vec<(DesiredTable, Option<AwsError>)> {
    use crate::inventory::{glob_match, is_pattern};
    let explicit: std::collections::HashSet<(String, String, String)> = tables
        .iter()
        .filter(|t| !is_pattern(&t.table))
        .map(|t| (t.account_id.clone(), t.region.clone(), t.table.clone()))
        .collect();
    let groups: std::collections::BTreeSet<Group> = tables
        .iter()
        .filter(|t| is_pattern(&t.table))
        .map(|t| (t.account_id.clone(), t.role.clone(), t.region.clone()))
        .collect();
    let listings: HashMap<Group, Result<Vec<String>, AwsError>> = futures::stream::iter(groups)
        .map(|(account, role, region)| async move {
            let r = match factory
                .account_region(&account, role.as_ref(), &region)
                .await
            {
                Ok(c) => ops::list_tables(&c).await,
                Err(e) => Err(e),
            };
            ((account, role, region), r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut claimed = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        if !is_pattern(&t.table) {
            out.push((t, None));
            continue;
        }
        let key = (t.account_id.clone(), t.role.clone(), t.region.clone());
        match &listings[&key] {
            Err(e) => out.push((t, Some(e.clone()))),
            Ok(names) => {
                let mut names: Vec<&String> =
                    names.iter().filter(|n| glob_match(&t.table, n)).collect();
                names.sort();
                if names.is_empty() {
                    tracing::warn!(account = %t.account_id, region = %t.region, pattern = %t.table, source = %t.source, "the pattern matches no table");
                }
                for name in names {
                    let id = (t.account_id.clone(), t.region.clone(), name.clone());
                    if explicit.contains(&id) || !claimed.insert(id) {
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
    out
}
