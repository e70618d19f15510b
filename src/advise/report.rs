//! The JSON report of `advise` ([`AdviceReport`]): a documented contract, versioned like the
//! run report (`schema_version`), that `report merge` can combine across shards.

use crate::cost::recommend::{Advice, Verdict};
use crate::model::{ObservedTable, Owner, Source};
use crate::report::{ErrorReport, InventoryRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 1;

/// The whole report of one `advise` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdviceReport {
    pub schema_version: u32,
    pub tool_version: String,
    /// Always `advise`.
    pub command: String,
    pub started_at: String,
    pub finished_at: String,
    pub interrupted: bool,
    pub inventory: InventoryRef,
    pub settings: AdviceSettings,
    pub cloudwatch: CloudWatchUse,
    pub summary: AdviceSummary,
    /// Per account: monthly cost now and recommended.
    pub accounts: Vec<AccountTotals>,
    pub tables: Vec<TableAdvice>,
    /// The organisation's accounts, when the run named many (`--organization`, `--ou`, `*`
    /// rows): names, OU paths, and which were skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub organization: Option<crate::report::OrgReport>,
}

/// What the analysis used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdviceSettings {
    pub days: u32,
    /// Seconds per CloudWatch period (60, 300 or 3600).
    pub period: u32,
    pub min_days: f64,
    pub min_savings_percent: f64,
    pub min_savings: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cap_on_demand: Option<f64>,
    /// Monthly figures are for this many days (365 / 12).
    pub days_per_month: f64,
    pub currency: String,
    pub prices_source: String,
    pub prices_date: String,
    /// Which commitments the prices include (reserved capacity, Savings Plans), or that list
    /// prices were used; and that the free tier is ignored.
    #[serde(default)]
    pub commitments: String,
    /// `--cap-floor`.
    #[serde(default)]
    pub cap_floor: i64,
    /// `--managed-tag` values, as given.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub managed_tags: Vec<String>,
    /// `--include-managed`: managed tables' recommendations are written to the inventory.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub include_managed: bool,
}

/// CloudWatch requests made (CloudWatch bills GetMetricData per 1,000 metrics requested).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudWatchUse {
    pub calls: u64,
    pub metrics_requested: u64,
    pub datapoints: u64,
}

/// Totals for the fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdviceSummary {
    pub tables: usize,
    pub recommended: usize,
    pub unchanged: usize,
    pub insufficient_data: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Tables with a recommended change that a stack or a `--managed-tag` manages: not
    /// written to the inventory, and not counted in `monthly_recommended`.
    #[serde(default)]
    pub managed: usize,
    /// What those would save a month, changed where their owner defines them.
    #[serde(default)]
    pub monthly_saving_managed: f64,
    /// Tables with a recommended change whose tags could not be read (owner not known).
    #[serde(default)]
    pub owner_unknown: usize,
    pub monthly_now: f64,
    pub monthly_recommended: f64,
    pub monthly_saving: f64,
    /// Tables that throttled in the window (their advice keeps their bounds).
    #[serde(default)]
    pub throttled: usize,
    /// Reserved capacity discount the recommendations give up, a month.
    #[serde(default)]
    pub reserved_discount_given_up: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountTotals {
    pub account_id: String,
    /// The account's name in Organizations (runs that read the organisation).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// Its OU path (`Root/payments/prod`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ou_path: Option<String>,
    pub tables: usize,
    pub recommended: usize,
    pub monthly_now: f64,
    pub monthly_recommended: f64,
    pub monthly_saving: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceStatus {
    Recommended,
    Unchanged,
    InsufficientData,
    /// A change is recommended, but a CloudFormation stack or a `--managed-tag` manages the
    /// table (`state.owner`): its next update would revert the change, so the inventory keeps
    /// the table as it is (unless `--include-managed`, which makes it `recommended`).
    Managed,
    /// Not analysed: see `reason` (a global table).
    Skipped,
    /// Could not be read (DescribeTable, auto scaling or CloudWatch): see `error`.
    Failed,
}

/// One table's advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableAdvice {
    pub account_id: String,
    pub region: String,
    pub table: String,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub external_id: Option<String>,
    pub status: AdviceStatus,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub reason: String,
    /// The usage, the options' costs and the recommendation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub advice: Option<Box<Advice>>,
    /// The table as read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<Box<ObservedTable>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ErrorReport>,
}

impl TableAdvice {
    /// Monthly cost now and recommended (both 0 without advice); a managed table's
    /// recommendation is not made, so it costs what it costs now.
    pub fn monthly(&self) -> (f64, f64) {
        self.advice
            .as_ref()
            .map_or((0.0, 0.0), |a| match self.status {
                AdviceStatus::Managed => (a.monthly_now, a.monthly_now),
                _ => (a.monthly_now, a.monthly_recommended),
            })
    }

    /// Who manages the table, where it matters: a managed table's recommendation left out of
    /// the inventory (or, with `--include-managed`, written all the same), or an owner that
    /// could not be read. `None` for a table no one is known to manage.
    pub fn owner_note(&self) -> Option<String> {
        let owner = self.state.as_ref()?.owner.as_ref()?;
        match owner {
            Owner::Stack(_) | Owner::Tag(_) if self.status == AdviceStatus::Managed => Some(format!(
                "managed by {owner}: not written to the inventory (its next update would revert the change; change it there, or pass --include-managed)"
            )),
            Owner::Stack(_) | Owner::Tag(_) => {
                Some(format!("managed by {owner}: written all the same (--include-managed)"))
            }
            Owner::Unknown(why) => Some(format!(
                "owner not known ({why}): not checked for a stack or a --managed-tag"
            )),
            Owner::None => None,
        }
    }

    pub fn status_of(advice: &Advice) -> AdviceStatus {
        match advice.verdict {
            Verdict::Recommended => AdviceStatus::Recommended,
            Verdict::Unchanged => AdviceStatus::Unchanged,
            Verdict::InsufficientData => AdviceStatus::InsufficientData,
        }
    }
}

impl AdviceSummary {
    pub fn of(tables: &[TableAdvice]) -> AdviceSummary {
        let mut s = AdviceSummary {
            tables: tables.len(),
            ..AdviceSummary::default()
        };
        for t in tables {
            *match t.status {
                AdviceStatus::Recommended => &mut s.recommended,
                AdviceStatus::Unchanged => &mut s.unchanged,
                AdviceStatus::InsufficientData => &mut s.insufficient_data,
                AdviceStatus::Managed => &mut s.managed,
                AdviceStatus::Skipped => &mut s.skipped,
                AdviceStatus::Failed => &mut s.failed,
            } += 1;
            let (now, rec) = t.monthly();
            s.monthly_now += now;
            s.monthly_recommended += rec;
            if let Some(a) = &t.advice {
                s.throttled += usize::from(a.throttled());
                s.reserved_discount_given_up += a.reserved_discount_given_up;
            }
            if let Some(a) = t
                .advice
                .as_ref()
                .filter(|_| t.status == AdviceStatus::Managed)
            {
                s.monthly_saving_managed += a.monthly_saving;
            }
            let owner = t.state.as_ref().and_then(|o| o.owner.as_ref());
            s.owner_unknown += usize::from(matches!(owner, Some(Owner::Unknown(_))));
        }
        s.monthly_saving = s.monthly_now - s.monthly_recommended;
        s
    }

    /// The saving as a percentage of today's monthly cost (0 when nothing costs anything).
    pub fn saving_percent(&self) -> f64 {
        if self.monthly_now > 0.0 {
            self.monthly_saving / self.monthly_now * 100.0
        } else {
            0.0
        }
    }
}

/// Totals per account, by account id, named from the organisation where it was read.
pub fn accounts(
    tables: &[TableAdvice],
    org: Option<&crate::report::OrgReport>,
) -> Vec<AccountTotals> {
    let mut by: BTreeMap<&str, AccountTotals> = BTreeMap::new();
    let known = |id: &str| org.and_then(|o| o.accounts.iter().find(|a| a.account_id == id));
    for t in tables {
        let a = by.entry(&t.account_id).or_insert_with(|| AccountTotals {
            account_id: t.account_id.clone(),
            name: known(&t.account_id).map(|a| a.name.clone()),
            ou_path: known(&t.account_id).map(|a| a.ou_path.clone()),
            ..AccountTotals::default()
        });
        a.tables += 1;
        a.recommended += usize::from(t.status == AdviceStatus::Recommended);
        let (now, rec) = t.monthly();
        a.monthly_now += now;
        a.monthly_recommended += rec;
        a.monthly_saving = a.monthly_now - a.monthly_recommended;
    }
    by.into_values().collect()
}

/// Combines the advice reports of a sharded run: tables concatenated (a table in two reports
/// is an error), totals and CloudWatch counts added up. All must share settings and inventory.
pub fn merge(reports: Vec<AdviceReport>) -> Result<AdviceReport, String> {
    let mut iter = reports.into_iter();
    let mut merged = iter.next().ok_or("no report to merge")?;
    let mut seen: std::collections::HashSet<(String, String, String)> = merged
        .tables
        .iter()
        .map(|t| (t.account_id.clone(), t.region.clone(), t.table.clone()))
        .collect();
    for r in iter {
        if r.settings != merged.settings {
            return Err("the advice reports were made with different settings or prices".into());
        }
        if r.inventory != merged.inventory {
            return Err(format!(
                "the reports are of different inventories ({} and {})",
                merged.inventory.path, r.inventory.path
            ));
        }
        for t in r.tables {
            if !seen.insert((t.account_id.clone(), t.region.clone(), t.table.clone())) {
                return Err(format!(
                    "table {} in {} {} is in more than one report: were the shards overlapping?",
                    t.table, t.account_id, t.region
                ));
            }
            merged.tables.push(t);
        }
        merged.cloudwatch.calls += r.cloudwatch.calls;
        merged.cloudwatch.metrics_requested += r.cloudwatch.metrics_requested;
        merged.cloudwatch.datapoints += r.cloudwatch.datapoints;
        merged.started_at = merged.started_at.min(r.started_at);
        merged.finished_at = merged.finished_at.max(r.finished_at);
        merged.interrupted |= r.interrupted;
    }
    merged.summary = AdviceSummary::of(&merged.tables);
    merged.accounts = accounts(&merged.tables, merged.organization.as_ref());
    Ok(merged)
}
