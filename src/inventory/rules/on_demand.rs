//! Maximum on-demand throughput (`max_read_request_units`, `max_write_request_units`): a
//! whole number of request units per second from 1 to `--max-capacity-units`, or `none` to
//! remove the cap. On on-demand rows and on index rows of on-demand tables; absent, the cap
//! is left as it is.

use super::super::raw::{raw_type, Raw};
use super::RowValidator;
use crate::inventory::Limits;
use crate::model::{BillingMode, Cap, OnDemandCaps};

/// The fields this module reads.
pub(super) const CAP_FIELDS: [&str; 2] = ["max_read_request_units", "max_write_request_units"];

impl RowValidator<'_> {
    /// The caps the row states. Written on a provisioned row they are refused (they usually
    /// mean the `mode` is wrong); inherited from TOML `[defaults]` they are ignored there.
    pub(super) fn caps(&mut self, mode: Option<BillingMode>, limits: &Limits) -> OnDemandCaps {
        if mode == Some(BillingMode::Provisioned) {
            for f in CAP_FIELDS {
                if self.row.fields.get(f).is_some_and(|v| v.explicit) {
                    self.error(
                        f,
                        "maximum on-demand throughput is set on a provisioned row".into(),
                        Some("remove it, or set mode to on_demand".into()),
                    );
                }
            }
            return OnDemandCaps::default();
        }
        OnDemandCaps {
            read: self.cap(CAP_FIELDS[0], limits),
            write: self.cap(CAP_FIELDS[1], limits),
        }
    }

    fn cap(&mut self, field: &str, limits: &Limits) -> Option<Cap> {
        let value = match &self.row.fields.get(field)?.value {
            Raw::Int(i) => *i,
            Raw::Text(t) if t.eq_ignore_ascii_case("none") => return Some(Cap::Unlimited),
            Raw::Text(t) => match t.parse::<i64>() {
                Ok(i) => i,
                Err(_) => {
                    self.error(
                        field,
                        format!("expected request units per second or `none`, found `{t}`"),
                        Some("a whole number from 1, or none to remove the cap".into()),
                    );
                    return None;
                }
            },
            other => {
                let what = raw_type(other);
                self.error(
                    field,
                    format!("expected request units per second or `none`, found {what}"),
                    Some("a whole number from 1, or none to remove the cap".into()),
                );
                return None;
            }
        };
        let max = limits.max_capacity_units;
        if value < 1 {
            self.error(
                field,
                format!("a maximum of {value} request units per second would refuse every request"),
                Some(format!("use 1 to {max}, or none to remove the cap")),
            );
            return None;
        }
        if value > max {
            self.error(
                field,
                format!("request units must be at most {max}, found {value}"),
                Some("the limit is AWS's default per-table quota; pass --max-capacity-units if your account's quota is higher".into()),
            );
            return None;
        }
        Some(Cap::Max(value))
    }
}
