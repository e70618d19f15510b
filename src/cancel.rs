//! [`Cancel`]: the run's stop signal. The first Ctrl-C asks the run to start nothing new and to
//! stop each table at its next consistent point; the CLI handles a second one.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Cancel {
    requested: AtomicBool,
}

impl Cancel {
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
