//! Work slots of an apply ([`SlotHandle`]) and the bound on tables UPDATING at once
//! ([`Updating`]), per group of tables: the key `K` is the scheduler's (the runner's
//! (account, region) group); this module knows nothing of it but that it can be hashed.
//!
//! `--concurrency` bounds the tables being worked on, not those waiting: a table hands its slot
//! back to the scheduler (the runner's execute stage) while it waits for ACTIVE or for its turn to
//! send an UpdateTable, and asks for one again afterwards. Independently, at most
//! `--max-updating` tables of an (account, region) are UPDATING because of this run: a permit
//! is taken before an UpdateTable and given back once the table is ACTIVE again.
//!
//! A group's slots go by turns ([`Lane`]) to tables coming back from a wait (their auto
//! scaling, the Auto Scaling quota's work) and to new tables (their switches, the DynamoDB
//! quota's): served first, tables back from a wait took every slot for as long as Auto Scaling
//! had a backlog, and the switches not yet sent waited for it, minutes of UPDATING later.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// What a table task tells the scheduler.
#[derive(Debug)]
pub enum SlotMsg<K> {
    /// The table gives its slot back (it is about to wait).
    Release(K),
    /// The table wants a slot again; the scheduler answers when one is its.
    Resume(K, oneshot::Sender<()>),
}

/// A table task's way to give back and take again its group's work slot. Whether the task
/// holds its slot is known at any moment ([`SlotHandle::holds`]): a task that ends (or
/// panics) while waiting has given its slot back already, and must not give it twice.
#[derive(Clone)]
pub struct SlotHandle<K> {
    tx: mpsc::UnboundedSender<SlotMsg<K>>,
    group: K,
    held: Arc<AtomicBool>,
}

impl<K: Clone> SlotHandle<K> {
    /// The handle of a task that holds a slot of `group` now.
    pub fn new(tx: mpsc::UnboundedSender<SlotMsg<K>>, group: K) -> Self {
        SlotHandle {
            tx,
            group,
            held: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Whether the task holds its slot (it is not waiting without it).
    pub fn holds(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
        let _ = self.tx.send(SlotMsg::Release(self.group.clone()));
    }

    /// Waits until the scheduler gives this table a slot again.
    pub async fn resume(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(SlotMsg::Resume(self.group.clone(), tx))
            .is_ok()
        {
            let _ = rx.await;
        }
        self.held.store(true, Ordering::SeqCst);
    }

    /// Runs `f` without holding a slot: released before, taken again after. A future ready at
    /// once (a permit free) keeps the slot: giving it back would let the scheduler start
    /// another table beside this one.
    pub async fn without<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        if let std::task::Poll::Ready(out) = futures::poll!(f.as_mut()) {
            return out;
        }
        self.release();
        let out = f.await;
        self.resume().await;
        out
    }
}

/// One group's tables waiting for a slot: new ones (`T`) and those coming back from a wait.
pub struct Lane<T> {
    new: VecDeque<T>,
    back: VecDeque<oneshot::Sender<()>>,
    /// Tables of the group holding a slot.
    pub running: usize,
    /// When both kinds wait, whether a new table has the next turn.
    new_next: bool,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            new: VecDeque::new(),
            back: VecDeque::new(),
            running: 0,
            new_next: false,
        }
    }
}

/// The table a freed slot goes to.
pub enum Next<T> {
    /// A table back from a wait: answering lets it go on.
    Resume(oneshot::Sender<()>),
    /// A new table, to start.
    Start(T),
}

impl<T> Lane<T> {
    pub fn push_new(&mut self, table: T) {
        self.new.push_back(table);
    }

    pub fn push_back_from_wait(&mut self, resume: oneshot::Sender<()>) {
        self.back.push_back(resume);
    }

    /// The next table to get a slot, each kind in arrival order, the two kinds by turns while
    /// both wait (a table back from a wait first).
    pub fn take_turn(&mut self) -> Option<Next<T>> {
        let new_turn = self.back.is_empty() || (self.new_next && !self.new.is_empty());
        let next = if new_turn {
            self.new.pop_front().map(Next::Start)
        } else {
            self.back.pop_front().map(Next::Resume)
        };
        if next.is_some() {
            self.new_next = !new_turn;
        }
        next
    }
}

/// Per group, the permits for tables UPDATING at once.
pub struct Updating<K> {
    per_group: usize,
    groups: Mutex<HashMap<K, Arc<Semaphore>>>,
}

impl<K: Hash + Eq + Clone> Updating<K> {
    pub fn new(per_group: usize) -> Self {
        Updating {
            per_group: per_group.max(1),
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// A permit to send an UpdateTable in `group` (kept until the table is ACTIVE again).
    pub async fn acquire(&self, group: &K) -> OwnedSemaphorePermit {
        let sem = self
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(group.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_group)))
            .clone();
        sem.acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle() -> (
        SlotHandle<&'static str>,
        mpsc::UnboundedReceiver<SlotMsg<&'static str>>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (SlotHandle::new(tx, "1/r"), rx)
    }

    /// Regression: a permit free at once still gave the slot back, and with --concurrency 1 the
    /// scheduler started the next table beside this one.
    #[tokio::test]
    async fn a_wait_over_at_once_keeps_the_slot() {
        let (slot, mut rx) = handle();
        // Given back, the slot would be asked for again, and nobody answers here.
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(1), slot.without(async { 7 }));
        assert_eq!(out.await.ok(), Some(7), "the slot was given back");
        assert!(rx.try_recv().is_err(), "the slot was given back");
    }

    /// Regression: tables back from a wait were always served first, and at 10,000 tables a
    /// group's last switches waited behind its whole Auto Scaling backlog (sent 17 s late).
    #[test]
    fn a_lane_gives_its_slots_by_turns_while_both_kinds_wait() {
        let mut lane = Lane::default();
        let mut answers = Vec::new();
        for name in ["a", "b", "c"] {
            lane.push_new(name);
        }
        for _ in 0..4 {
            let (tx, rx) = oneshot::channel();
            lane.push_back_from_wait(tx);
            answers.push(rx);
        }
        let mut order = Vec::new();
        let mut resumed = 0;
        while let Some(next) = lane.take_turn() {
            match next {
                Next::Start(name) => order.push(name.to_string()),
                Next::Resume(tx) => {
                    tx.send(()).unwrap();
                    order.push(format!("back{resumed}"));
                    resumed += 1;
                }
            }
        }
        assert_eq!(
            order,
            ["back0", "a", "back1", "b", "back2", "c", "back3"],
            "by turns, each kind in arrival order"
        );
        // Each table back from a wait was answered, in the order it asked.
        for mut rx in answers {
            assert_eq!(rx.try_recv(), Ok(()));
        }
    }

    #[test]
    fn a_lane_with_one_kind_serves_it_alone() {
        let mut lane = Lane::default();
        lane.push_new(1);
        lane.push_new(2);
        assert!(matches!(lane.take_turn(), Some(Next::Start(1))));
        assert!(matches!(lane.take_turn(), Some(Next::Start(2))));
        assert!(lane.take_turn().is_none());
        let (tx, _rx) = oneshot::channel();
        lane.push_back_from_wait(tx);
        assert!(matches!(lane.take_turn(), Some(Next::Resume(_))));
        assert!(lane.take_turn().is_none());
    }

    #[tokio::test]
    async fn a_real_wait_gives_the_slot_back_and_asks_for_it_again() {
        let (slot, mut rx) = handle();
        let scheduler = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(msg) = rx.recv().await {
                match msg {
                    SlotMsg::Release(_) => seen.push("release"),
                    SlotMsg::Resume(_, answer) => {
                        seen.push("resume");
                        let _ = answer.send(());
                        break;
                    }
                }
            }
            seen
        });
        let out = slot
            .without(async {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                8
            })
            .await;
        assert_eq!(out, 8);
        assert_eq!(scheduler.await.unwrap(), vec!["release", "resume"]);
    }

    /// Regression: a table that panicked while waiting without its slot had given it back,
    /// and its task's end gave it back again: `--concurrency` was exceeded by one per panic.
    #[test]
    fn a_panic_while_waiting_leaves_the_slot_given_back_once() {
        let (slot, mut rx) = handle();
        assert!(slot.holds());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let waited = rt.block_on(futures::FutureExt::catch_unwind(
            std::panic::AssertUnwindSafe(slot.without(async {
                tokio::task::yield_now().await;
                panic!("a bug while waiting");
            })),
        ));
        assert!(waited.is_err());
        assert!(!slot.holds(), "the task no longer holds its slot");
        assert!(matches!(rx.try_recv(), Ok(SlotMsg::Release(_))));
        assert!(
            rx.try_recv().is_err(),
            "given back once, never asked for again"
        );
    }
}
