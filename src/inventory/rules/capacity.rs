//! The capacity a row asks for: `mode` (on-demand or provisioned), the auto scaling
//! thresholds of a provisioned row (`min_*`, `max_*`, `target_*` for read and write), and
//! `indexes` (whether the table's GSIs are managed with it).

use super::RowValidator;
use crate::inventory::Limits;
use crate::model::*;

const THRESHOLD_FIELDS: &[&str] = &[
    "min_read",
    "max_read",
    "target_read",
    "min_write",
    "max_write",
    "target_write",
];

/// Target utilisation DynamoDB auto scaling accepts, in percent.
pub const TARGET_RANGE: (f64, f64) = (20.0, 90.0);

impl RowValidator<'_> {
    pub(super) fn billing_mode(&mut self) -> Option<BillingMode> {
        let m = self.required_text("mode", "mode")?;
        match m.to_ascii_lowercase().replace('-', "_").as_str() {
            "on_demand" | "ondemand" | "pay_per_request" => Some(BillingMode::OnDemand),
            "provisioned" => Some(BillingMode::Provisioned),
            _ => {
                self.error(
                    "mode",
                    format!("unknown mode `{m}`"),
                    Some("use on_demand or provisioned".into()),
                );
                None
            }
        }
    }

    pub(super) fn index_scope(&mut self) -> Option<IndexScope> {
        let Some(s) = self.text("indexes") else {
            return Some(IndexScope::All);
        };
        match s.to_ascii_lowercase().as_str() {
            "all" => Some(IndexScope::All),
            "none" => Some(IndexScope::None),
            _ => {
                self.error(
                    "indexes",
                    format!("unknown value `{s}`"),
                    Some("use all or none".into()),
                );
                None
            }
        }
    }

    /// The mode with its thresholds: a provisioned row needs all six.
    pub(super) fn desired_mode(
        &mut self,
        mode: Option<BillingMode>,
        limits: &Limits,
    ) -> Option<DesiredMode> {
        match mode? {
            BillingMode::OnDemand => {
                // Thresholds written on an on-demand row are most likely a wrong `mode`:
                // refuse rather than silently drop them. Inherited defaults are fine.
                for f in THRESHOLD_FIELDS {
                    if self.row.fields.get(*f).is_some_and(|v| v.explicit) {
                        self.error(
                            f,
                            "auto scaling thresholds are set on an on_demand row".into(),
                            Some("remove them, or set mode to provisioned".into()),
                        );
                    }
                }
                Some(DesiredMode::OnDemand)
            }
            BillingMode::Provisioned => {
                let read = self.thresholds("read", limits);
                let write = self.thresholds("write", limits);
                Some(DesiredMode::Provisioned(AutoScaling {
                    read: read?,
                    write: write?,
                }))
            }
        }
    }

    fn thresholds(&mut self, side: &str, limits: &Limits) -> Option<Thresholds> {
        let (min_f, max_f, target_f) = (
            format!("min_{side}"),
            format!("max_{side}"),
            format!("target_{side}"),
        );
        let mut missing = false;
        for f in [&min_f, &max_f, &target_f] {
            if !self.row.fields.contains_key(f.as_str()) {
                let hint = self.where_to_set(f);
                self.error(
                    f,
                    "missing: provisioned tables need min, max and target for read and write"
                        .into(),
                    Some(hint),
                );
                missing = true;
            }
        }
        if missing {
            return None;
        }
        let min = self.integer(&min_f, 1, limits.max_capacity_units);
        let max = self.integer(&max_f, 1, limits.max_capacity_units);
        let target = self.percent(&target_f);
        let (min, max, target) = (min?, max?, target?);
        if min > max {
            self.error(
                &min_f,
                format!("{min_f} ({min}) is greater than {max_f} ({max})"),
                None,
            );
            return None;
        }
        Some(Thresholds { min, max, target })
    }
}
