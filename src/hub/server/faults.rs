//! Failures injected on purpose: tests and drills make the hub answer its
//! next writes with an error, slowly, or die half-way through a transaction.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Failures a test or a drill asks the hub to produce on its next writes
/// (`POST /` and `PUT`): an error status, a slow answer, or a transaction
/// abandoned half-way as if the process had died.
#[derive(Default)]
pub struct Faults {
    inner: Mutex<FaultQueue>,
}

#[derive(Default)]
struct FaultQueue {
    statuses: VecDeque<u16>,
    delays: VecDeque<Duration>,
    aborts: VecDeque<usize>,
}

impl Faults {
    /// The next `times` writes are answered with `status` (429 and 503 carry `Retry-After: 1`).
    pub fn fail_next(&self, status: u16, times: usize) {
        self.lock().statuses.extend(std::iter::repeat_n(status, times));
    }

    /// The next `times` writes wait `delay` before being handled.
    pub fn delay_next(&self, delay: Duration, times: usize) {
        self.lock().delays.extend(std::iter::repeat_n(delay, times));
    }

    /// The next transaction stops after `entries` writes and rolls back, and
    /// the connection is answered with nothing useful (a 500), like a crash.
    pub fn abort_next(&self, entries: usize) {
        self.lock().aborts.push_back(entries);
    }

    /// What the next write meets: a status, a delay, a transaction cut
    /// after so many entries (each taken once).
    pub(super) fn take(&self) -> (Option<u16>, Option<Duration>, Option<usize>) {
        let mut q = self.lock();
        (q.statuses.pop_front(), q.delays.pop_front(), q.aborts.pop_front())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultQueue> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
