//! AWS's limits on how often a table may change, checked before anything is sent: four
//! switches to on-demand per rolling 24 hours, two table-class changes per trailing 30 days.
//! The counts come from DescribeTable (which shows only the last of each) and the reports and
//! journals given to `--history`; a change AWS refuses all the same is recognised by its
//! error (`aws::error`) and skipped the same way.

use super::SkipReason;

/// AWS's limit on switches from provisioned to on-demand per table per rolling 24 hours.
pub const SWITCHES_TO_ON_DEMAND_PER_DAY: usize = 4;

/// AWS's limit on table-class changes per table per trailing 30 days.
pub const TABLE_CLASS_CHANGES_PER_30_DAYS: usize = 2;

/// The windows those limits are counted over, in seconds.
pub const SWITCH_WINDOW_SECS: i64 = 86_400;
pub const TABLE_CLASS_WINDOW_SECS: i64 = 30 * 86_400;

/// `t` (RFC 3339) plus `secs` seconds, RFC 3339.
pub fn add_secs(t: &str, secs: i64) -> Option<String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let d = DateTime::from_str(t, Format::DateTime).ok()?;
    DateTime::from_secs(d.secs() + secs)
        .fmt(Format::DateTime)
        .ok()
}

/// `t` (RFC 3339) plus 24 hours, RFC 3339.
pub fn add_day(t: &str) -> Option<String> {
    add_secs(t, SWITCH_WINDOW_SECS)
}

/// When the next change is allowed, given the changes in the window (oldest first) and the
/// limit on them: when enough have left it that fewer than `limit` remain (with more recorded
/// than the limit, not when the oldest leaves).
fn next_allowed(recent: &[String], limit: usize, window_secs: i64) -> Option<String> {
    let first_to_leave = recent.len().checked_sub(limit)?;
    add_secs(&recent[first_to_leave], window_secs)
}

/// When the next switch to on-demand is allowed, given those of the last 24 hours.
pub fn next_switch_allowed(recent: &[String]) -> Option<String> {
    next_allowed(recent, SWITCHES_TO_ON_DEMAND_PER_DAY, SWITCH_WINDOW_SECS)
}

/// When the next table-class change is allowed, given those of the last 30 days.
pub fn next_class_change_allowed(recent: &[String]) -> Option<String> {
    next_allowed(
        recent,
        TABLE_CLASS_CHANGES_PER_30_DAYS,
        TABLE_CLASS_WINDOW_SECS,
    )
}

/// The skip for a table that has used its switches to on-demand, if it has.
pub fn switch_limit(recent: &[String]) -> Option<(SkipReason, String)> {
    (recent.len() >= SWITCHES_TO_ON_DEMAND_PER_DAY).then(|| {
        (
            SkipReason::SwitchLimit,
            format!(
                "{} switches to on-demand in the last 24 hours (AWS allows {SWITCHES_TO_ON_DEMAND_PER_DAY}); next allowed at {}",
                recent.len(),
                next_switch_allowed(recent).as_deref().unwrap_or("an unknown time")
            ),
        )
    })
}

/// The skip for a table that has used its table-class changes, if it has.
pub fn table_class_limit(recent: &[String]) -> Option<(SkipReason, String)> {
    (recent.len() >= TABLE_CLASS_CHANGES_PER_30_DAYS).then(|| {
        (
            SkipReason::TableClassLimit,
            format!(
                "{} table class changes in the last 30 days (AWS allows {TABLE_CLASS_CHANGES_PER_30_DAYS}); next allowed at {}",
                recent.len(),
                next_class_change_allowed(recent).as_deref().unwrap_or("an unknown time")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_change_is_allowed_when_fewer_than_the_limit_remain() {
        let t = |h: u32| format!("2026-12-05T{h:02}:00:00Z");
        // Four switches: the fifth when the oldest leaves the 24 hours.
        let four: Vec<String> = (1..=4).map(t).collect();
        assert_eq!(
            next_switch_allowed(&four).as_deref(),
            Some("2026-12-06T01:00:00Z")
        );
        // Five recorded (one more than AWS allows, e.g. a history file and AWS's own time
        // a little apart): not until two have left.
        let five: Vec<String> = (1..=5).map(t).collect();
        assert_eq!(
            next_switch_allowed(&five).as_deref(),
            Some("2026-12-06T02:00:00Z")
        );
        assert_eq!(next_switch_allowed(&four[..3]), None, "allowed now");
        let two = vec![t(1), t(2)];
        assert_eq!(
            next_class_change_allowed(&two).as_deref(),
            Some("2027-01-04T01:00:00Z")
        );
    }
}
