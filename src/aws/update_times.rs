//! How long this run's UpdateTables have kept tables UPDATING, so that a wait after an
//! UpdateTable does not poll while no update of this run has ever been done.
//!
//! AWS does not publish how long an update takes ("allow several minutes" per switch) and asks
//! clients not to query the control plane excessively. Until some table of the run has been
//! seen ACTIVE after its update, waits poll as their policy says. Once one has, a wait does
//! not poll before three quarters of the shortest update seen (seen up to one poll late, so
//! the true shortest may be a little shorter): a table that finishes sooner than every table
//! before it is noticed at most that much later, and the polls it saves go to the tables that
//! are likely done, within the same DynamoDB rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The shortest update seen in this run (shared by every account and region).
#[derive(Debug)]
pub struct UpdateTimes {
    shortest_ms: AtomicU64,
}

impl Default for UpdateTimes {
    fn default() -> Self {
        UpdateTimes {
            shortest_ms: AtomicU64::new(u64::MAX),
        }
    }
}

impl UpdateTimes {
    /// A table was seen ACTIVE `took` after its UpdateTable was answered.
    pub fn record(&self, took: Duration) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.shortest_ms.fetch_min(ms, Ordering::Relaxed);
    }

    /// How long after its UpdateTable a table need not be polled: zero until one is seen.
    pub fn quiet(&self) -> Duration {
        match self.shortest_ms.load(Ordering::Relaxed) {
            u64::MAX => Duration::ZERO,
            ms => Duration::from_millis(ms / 4 * 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_quiet_until_an_update_is_seen_then_three_quarters_of_the_shortest() {
        let t = UpdateTimes::default();
        assert_eq!(t.quiet(), Duration::ZERO);
        t.record(Duration::from_secs(8));
        assert_eq!(t.quiet(), Duration::from_secs(6));
        t.record(Duration::from_secs(4));
        t.record(Duration::from_secs(12));
        assert_eq!(t.quiet(), Duration::from_secs(3), "the shortest counts");
    }
}
