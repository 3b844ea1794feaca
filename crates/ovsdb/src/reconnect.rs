//! When and where to reconnect: a pure state machine (no clock, no sockets).
//!
//! Capped exponential backoff over a rotating list of remotes. Unlike OVS's
//! `reconnect` (a blind 1–8 s backoff), the first attempt after losing a good
//! connection is immediate, and the backoff starts small (~100 ms) so that a cluster
//! failover or a server restart costs little more than the server's own downtime.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    n_remotes: usize,
    initial: Duration,
    max: Duration,
    next_remote: usize,
    delay: Duration,
}

impl Backoff {
    pub fn new(n_remotes: usize, initial: Duration, max: Duration) -> Self {
        Backoff {
            n_remotes: n_remotes.max(1),
            initial,
            max: max.max(initial),
            next_remote: 0,
            delay: Duration::ZERO,
        }
    }

    /// The remote to try next and how long to wait before trying.
    pub fn next_attempt(&self) -> (usize, Duration) {
        (self.next_remote, self.delay)
    }

    /// The attempt failed (or the server was unsuitable): move to the next remote
    /// and back off further.
    pub fn failed(&mut self) {
        self.next_remote = (self.next_remote + 1) % self.n_remotes;
        self.delay = if self.delay.is_zero() {
            self.initial
        } else {
            (self.delay * 2).min(self.max)
        };
    }

    /// The server answered but cannot serve us (a follower during a leader election,
    /// a member cut off from its cluster): the cluster is alive and will likely have
    /// a usable member soon, so the backoff stays short (at most 4× the initial
    /// delay) instead of growing to the cap.
    pub fn unsuitable(&mut self) {
        self.failed();
        self.delay = self.delay.min(self.initial * 4);
    }

    /// A connection was established and synced: the next attempt (after it is lost)
    /// is immediate, to the same remote.
    pub fn connected(&mut self) {
        self.delay = Duration::ZERO;
    }

    pub fn current_delay(&self) -> Duration {
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_rotates_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(3, ms(100), ms(4000));
        assert_eq!(b.next_attempt(), (0, ms(0)));
        let mut seen = vec![];
        for _ in 0..8 {
            b.failed();
            seen.push(b.next_attempt());
        }
        assert_eq!(
            seen,
            vec![
                (1, ms(100)),
                (2, ms(200)),
                (0, ms(400)),
                (1, ms(800)),
                (2, ms(1600)),
                (0, ms(3200)),
                (1, ms(4000)),
                (2, ms(4000)),
            ]
        );
        b.connected();
        assert_eq!(
            b.next_attempt(),
            (2, ms(0)),
            "retry at once after a good connection"
        );
        b.failed();
        assert_eq!(b.next_attempt(), (0, ms(100)));
        for _ in 0..5 {
            b.unsuitable();
        }
        assert_eq!(
            b.current_delay(),
            ms(400),
            "followers answer: keep polling briskly"
        );
        b.failed();
        assert_eq!(b.current_delay(), ms(800));
        let single = Backoff::new(0, ms(100), ms(50));
        assert_eq!(single.next_attempt(), (0, ms(0)));
    }
}
