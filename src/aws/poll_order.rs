//! The order in which the polls of one (account, region) take their turn: the table that has
//! waited longest first. Of tables alike, the one UPDATING longest is the likeliest to be done,
//! so when polls are short of the DynamoDB rate (thousands of tables waiting, or tables still
//! being read), their turns go where seeing ACTIVE soon is most likely, not to tables that
//! have only just started.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::time::Instant;

/// A waiting poll: since when its table has been waited for, then arrival order.
type Key = (Instant, u64);

/// Polls waiting to go next, oldest wait first.
#[derive(Debug, Default)]
pub struct PollOrder {
    queue: Mutex<BTreeMap<Key, Arc<Notify>>>,
    arrivals: AtomicU64,
}

impl PollOrder {
    /// Waits until no poll of a table waited for longer than `since` is before this one. The
    /// turn lasts while the returned guard lives (the poll takes its token meanwhile); the
    /// next poll goes when it is dropped, whether the poll went or was cancelled.
    pub async fn turn(&self, since: Instant) -> Place<'_> {
        let key = (since, self.arrivals.fetch_add(1, Ordering::Relaxed));
        let notify = Arc::new(Notify::new());
        self.lock().insert(key, notify.clone());
        let place = Place { order: self, key };
        // `notify_one` keeps a permit for a poll not yet listening: no wake-up is lost.
        while self.first() != Some(key) {
            notify.notified().await;
        }
        place
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Arc<Notify>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn first(&self) -> Option<Key> {
        self.lock().keys().next().copied()
    }
}

/// A poll's place in the order; leaving it wakes the poll that is now first.
pub struct Place<'a> {
    order: &'a PollOrder,
    key: Key,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut q = self.order.lock();
        q.remove(&self.key);
        if let Some(next) = q.values().next() {
            next.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Lets the spawned polls run until `n` are in the queue.
    async fn queued(order: &PollOrder, n: usize) {
        while order.lock().len() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn the_longest_waiting_table_polls_first_whatever_the_arrival_order() {
        let order = Arc::new(PollOrder::default());
        let base = Instant::now();
        let first = order.turn(base).await;
        let served = Arc::new(Mutex::new(Vec::new()));
        // Queued behind `first`, whose turn is under way, in this order: waits begun at 9 s,
        // 1 s, 5 s and 3 s after it.
        let tasks: Vec<_> = [9u64, 1, 5, 3]
            .into_iter()
            .map(|s| {
                let (order, served) = (order.clone(), served.clone());
                tokio::spawn(async move {
                    let _turn = order.turn(base + Duration::from_secs(s)).await;
                    served.lock().unwrap().push(s);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                })
            })
            .collect();
        queued(&order, 5).await;
        assert!(
            served.lock().unwrap().is_empty(),
            "went before the turn ahead of them ended"
        );
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*served.lock().unwrap(), vec![1, 3, 5, 9]);
    }

    #[tokio::test]
    async fn a_poll_cancelled_in_the_queue_does_not_hold_up_the_rest() {
        let order = Arc::new(PollOrder::default());
        let base = Instant::now();
        let first = order.turn(base).await;
        let o = order.clone();
        let cancelled = tokio::spawn(async move {
            let _t = o.turn(base + Duration::from_secs(1)).await;
        });
        let o = order.clone();
        let later = tokio::spawn(async move {
            let _t = o.turn(base + Duration::from_secs(2)).await;
        });
        queued(&order, 3).await;
        cancelled.abort();
        assert!(cancelled.await.unwrap_err().is_cancelled());
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), later)
            .await
            .expect("the poll behind a cancelled one never got its turn")
            .unwrap();
        assert!(order.lock().is_empty());
    }
}
