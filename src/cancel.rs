//! [`Cancel`]: the run's stop signal. The first Ctrl-C asks the run to start nothing new and to
//! stop each table at its next consistent point; the CLI handles a second one. A table waiting
//! for ACTIVE sleeps through [`Cancel::sleep`], so it stops waiting as soon as the run is asked
//! to stop (a wait may sleep for minutes once the run knows how long updates take).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Cancel {
    requested: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Cancel {
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Ends once the run is asked to stop (at once if it already has been).
    pub async fn requested(&self) {
        // Made before the flag is read: a request after the read still wakes it.
        let woken = self.wake.notified();
        if self.is_requested() {
            return;
        }
        woken.await;
    }

    /// Sleeps for `d`, or until the run is asked to stop if that comes first. Nothing to sleep
    /// is done at once: a wait past its quiet time, or with nothing to settle, arms no timer.
    pub async fn sleep(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.requested() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_sleep_ends_when_the_run_is_asked_to_stop() {
        runtime().block_on(async {
            let cancel = Arc::new(Cancel::default());
            let asker = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                asker.request();
            });
            let slept = tokio::time::timeout(
                Duration::from_secs(30),
                cancel.sleep(Duration::from_secs(600)),
            );
            assert!(slept.await.is_ok(), "the sleep outlasted the request");
            assert!(cancel.is_requested());
        });
    }

    #[test]
    fn once_asked_a_sleep_does_not_start() {
        runtime().block_on(async {
            let cancel = Cancel::default();
            cancel.request();
            let slept = tokio::time::timeout(
                Duration::from_secs(30),
                cancel.sleep(Duration::from_secs(600)),
            );
            assert!(slept.await.is_ok());
        });
    }

    #[test]
    fn a_sleep_of_nothing_is_over_at_once() {
        runtime().block_on(async {
            let cancel = Cancel::default();
            let sleep = std::pin::pin!(cancel.sleep(Duration::ZERO));
            assert!(futures::poll!(sleep).is_ready(), "it waited for the timer");
        });
    }

    #[test]
    fn a_sleep_not_asked_to_stop_lasts() {
        runtime().block_on(async {
            let cancel = Cancel::default();
            let slept = tokio::time::timeout(
                Duration::from_millis(50),
                cancel.sleep(Duration::from_secs(600)),
            );
            assert!(slept.await.is_err(), "the sleep ended early");
        });
    }
}
