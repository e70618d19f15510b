//! The progress bar ([`ProgressSink`]) and a log writer that never garbles it.
//!
//! The bar is drawn on stderr only when stderr is a terminal and `--no-progress` is not given;
//! otherwise it is hidden and costs nothing. Log lines are written through
//! [`SuspendingWriter`], which lifts the bar out of the way while a line is printed.

use crate::events::{Event, EventSink};
use crate::report::TableStatus;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct ProgressSink {
    bar: ProgressBar,
    changed: AtomicUsize,
    unchanged: AtomicUsize,
    failed: AtomicUsize,
    other: AtomicUsize,
}

impl ProgressSink {
    /// A bar on stderr if it is a terminal and `enabled`, else a hidden one.
    pub fn new(enabled: bool) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tables  {msg}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(200));
            b
        } else {
            ProgressBar::hidden()
        };
        ProgressSink {
            bar,
            changed: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            other: AtomicUsize::new(0),
        }
    }

    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl EventSink for ProgressSink {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::ReadStarted { tables } => {
                self.bar.set_length(*tables as u64);
                self.bar.set_message("reading state");
            }
            Event::TableAdvised { advice } => {
                use crate::advise::report::AdviceStatus;
                let counter = match advice.status {
                    AdviceStatus::Recommended => &self.changed,
                    AdviceStatus::Unchanged => &self.unchanged,
                    AdviceStatus::Failed => &self.failed,
                    _ => &self.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                self.bar.inc(1);
                self.bar.set_message(format!(
                    "to change {} · unchanged {} · failed {} · other {}",
                    self.changed.load(Ordering::Relaxed),
                    self.unchanged.load(Ordering::Relaxed),
                    self.failed.load(Ordering::Relaxed),
                    self.other.load(Ordering::Relaxed),
                ));
            }
            Event::TableFinished { report } => {
                let counter = match report.status {
                    TableStatus::Changed | TableStatus::WouldChange => &self.changed,
                    TableStatus::Unchanged => &self.unchanged,
                    TableStatus::Failed => &self.failed,
                    _ => &self.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                self.bar.inc(1);
                self.bar.set_message(format!(
                    "changed {} · unchanged {} · failed {} · other {}",
                    self.changed.load(Ordering::Relaxed),
                    self.unchanged.load(Ordering::Relaxed),
                    self.failed.load(Ordering::Relaxed),
                    self.other.load(Ordering::Relaxed),
                ));
            }
            _ => {}
        }
    }
}

/// A `tracing` writer for stderr that suspends the progress bar around each line.
#[derive(Clone)]
pub struct SuspendingWriter {
    bar: ProgressBar,
}

impl SuspendingWriter {
    pub fn new(bar: ProgressBar) -> Self {
        SuspendingWriter { bar }
    }
}

pub struct LineWriter {
    bar: ProgressBar,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        self.bar.suspend(|| {
            let mut err = std::io::stderr().lock();
            err.write_all(&buf)?;
            err.flush()
        })
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SuspendingWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            bar: self.bar.clone(),
            buf: Vec::new(),
        }
    }
}
