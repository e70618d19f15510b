//! Choosing which tables a run acts on ([`Selection`]): `--account`, `--region` and `--table`
//! filters, `--shard K/N` (a stable share of the fleet for one of N machines), and
//! `--resume REPORT` (only what an earlier run left undone).

use crate::inventory;
use crate::model::DesiredTable;
use crate::org::{Scope, ALL_REGIONS};
use crate::report::{Report, TableStatus};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`, 0-based, as Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`) and
/// AWS Batch array jobs (`AWS_BATCH_JOB_ARRAY_INDEX`) number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected K/N, e.g. 0/4"))?;
        let index: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: K is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "`{s}`: K must be from 0 to N-1 (shards are numbered from 0)"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a: a fixed hash (unlike std's, which is seeded per process), so every machine
/// of a sharded run agrees on who owns which table, today and tomorrow.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Shard {
    /// Whether this shard owns the table.
    pub fn owns(&self, account: &str, region: &str, table: &str) -> bool {
        fnv1a(format!("{account}/{region}/{table}").as_bytes()) % self.count == self.index
    }
}

pub type TableKey = (String, String, String);

/// The tables an earlier run left undone: failed, interrupted, not applied (`would_change`, as
/// a canary leaves them) or skipped for a reason that may pass (`retryable`).
pub fn unfinished(report: &Report) -> HashSet<TableKey> {
    report
        .tables
        .iter()
        .filter(|t| match t.status {
            TableStatus::Failed | TableStatus::Interrupted | TableStatus::WouldChange => true,
            TableStatus::Skipped => t.error.as_ref().is_some_and(|e| e.retryable),
            TableStatus::Changed | TableStatus::Unchanged => false,
        })
        .map(|t| (t.account_id.clone(), t.region.clone(), t.table.clone()))
        .collect()
}

/// Which tables to act on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub accounts: Vec<String>,
    /// `--exclude-account`: never these accounts.
    pub exclude_accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Globs on the table name.
    pub tables: Vec<String>,
    pub shard: Option<Shard>,
    /// Only these (from `--resume`).
    pub resume: Option<HashSet<TableKey>>,
}

impl Selection {
    /// Checks the filter values as inventory values are checked.
    pub fn validate(&self) -> Result<(), String> {
        for a in &self.accounts {
            if !inventory::valid_account_id(a) {
                return Err(format!("--account {a}: not a 12-digit AWS account id"));
            }
        }
        for a in &self.exclude_accounts {
            if !inventory::valid_account_id(a) {
                return Err(format!(
                    "--exclude-account {a}: not a 12-digit AWS account id"
                ));
            }
        }
        for r in &self.regions {
            if !inventory::valid_region(r) {
                return Err(format!("--region {r}: not an AWS region name"));
            }
        }
        Ok(())
    }

    /// Whether a row may be needed at all, before table patterns are expanded: account and
    /// region filters only (a pattern row's table name is not a table yet; a row for many
    /// accounts or for every region may hold the ones selected).
    pub fn keeps_location(&self, t: &DesiredTable) -> bool {
        let many = Scope::of(&t.account_id).needs_directory();
        (many || self.keeps_account(&t.account_id))
            && (t.region == ALL_REGIONS || self.keeps_region(&t.region))
    }

    /// Whether the account may be worked on at all (`--account`, `--exclude-account`): a row
    /// for many accounts never reaches the others.
    pub fn keeps_account(&self, id: &str) -> bool {
        (self.accounts.is_empty() || self.accounts.iter().any(|a| a == id)) && !self.excludes(id)
    }

    /// Whether `--exclude-account` names the account.
    pub fn excludes(&self, id: &str) -> bool {
        self.exclude_accounts.iter().any(|a| a == id)
    }

    /// Whether the region may be worked on (`--region`).
    pub fn keeps_region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    /// Whether a concrete table is selected.
    pub fn keeps(&self, t: &DesiredTable) -> bool {
        self.keeps_location(t)
            && (self.tables.is_empty()
                || self
                    .tables
                    .iter()
                    .any(|g| inventory::glob_match(g, &t.table)))
            && self
                .shard
                .is_none_or(|s| s.owns(&t.account_id, &t.region, &t.table))
            && self.resume.as_ref().is_none_or(|keys| {
                keys.contains(&(t.account_id.clone(), t.region.clone(), t.table.clone()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing() {
        assert_eq!("0/4".parse::<Shard>(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!("3/4".parse::<Shard>(), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "2", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_are_disjoint_cover_everything_and_are_even() {
        let count = 4;
        let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
        let mut sizes = vec![0usize; count as usize];
        for a in 0..20 {
            for r in ["us-east-1", "eu-west-1"] {
                for t in 0..100 {
                    let account = format!("{:012}", 100_000_000_000u64 + a);
                    let table = format!("table-{t}");
                    let owners: Vec<u64> = shards
                        .iter()
                        .filter(|s| s.owns(&account, r, &table))
                        .map(|s| s.index)
                        .collect();
                    assert_eq!(owners.len(), 1, "exactly one owner");
                    sizes[owners[0] as usize] += 1;
                }
            }
        }
        // 4,000 tables: each shard within 10% of 1,000.
        for s in sizes {
            assert!((900..=1100).contains(&s), "{s}");
        }
        // Stable: a fixed hash, not a per-process one.
        assert_eq!(
            fnv1a(b"111111111111/us-east-1/orders"),
            0xadd3_fb47_b3c3_1e1a
        );
    }
}
