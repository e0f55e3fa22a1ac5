//! The probes alive in this process, so that a caller about to exit can stop them: the
//! language server, on `exit` or at the end of its input, while an `aiolint.confirm` runs.
//! Exiting would otherwise leave the probe's interpreter running (reparented to `init`) until
//! its code ends, and its temporary directory behind.
//!
//! [`stop_all`] kills the process group of every probe whose leader is still unreaped (the
//! order of `child.rs`: a group is only signalled while its unreaped leader reserves its id),
//! refuses new probes, and waits, bounded, until the supervisors have reaped every probe and
//! removed its directory.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::Error;

struct Live {
    /// Process-group leaders that are spawned and not yet reaped.
    unreaped: Vec<libc::pid_t>,
    /// Probes from the start of their spawning to the end of their clean-up.
    open: usize,
    stopped: bool,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    unreaped: Vec::new(),
    open: 0,
    stopped: false,
});
static CLOSED: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Held by a probe from before it is spawned until it is cleaned up.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The leader, from its spawning until it is reaped.
    leader: Option<libc::pid_t>,
}

impl Ticket {
    /// A ticket for a new probe; an error once [`stop_all`] was called.
    pub(crate) fn take() -> Result<Self, Error> {
        let mut live = lock();
        if live.stopped {
            return Err(Error::Internal(
                "the process is exiting: no probe is started".to_owned(),
            ));
        }
        live.open += 1;
        Ok(Ticket { leader: None })
    }

    /// The probe's interpreter runs as process-group leader `pid`. If everything was stopped
    /// meanwhile, its group is killed at once.
    pub(crate) fn spawned(&mut self, pid: libc::pid_t) {
        let mut live = lock();
        if live.stopped {
            kill_group(pid);
        }
        live.unreaped.push(pid);
        self.leader = Some(pid);
    }

    /// The leader is about to be reaped: its group id is no longer reserved afterwards.
    pub(crate) fn reaping(&mut self) {
        if let Some(pid) = self.leader.take() {
            lock().unreaped.retain(|&p| p != pid);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.reaping();
        let mut live = lock();
        live.open = live.open.saturating_sub(1);
        CLOSED.notify_all();
    }
}

/// Kills every probe of this process, refuses new ones, and waits up to `wait` until all are
/// reaped and cleaned up. Returns whether they were.
pub(crate) fn stop_all(wait: Duration) -> bool {
    let mut live = lock();
    live.stopped = true;
    for &pid in &live.unreaped {
        kill_group(pid);
    }
    let (live, _) = CLOSED
        .wait_timeout_while(live, wait, |live| live.open > 0)
        .unwrap_or_else(PoisonError::into_inner);
    live.open == 0
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: plain system call; `pid` leads a group whose leader is unreaped (the caller
    // holds the lock that `reaping` takes first), so the group id is not anyone else's.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}
