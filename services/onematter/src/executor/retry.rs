//! A step's retry policy: exponential back-off with jitter.

use std::time::Duration;

/// Retry policy of a step: exponential back-off with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total (the first one included).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Growth factor per attempt.
    pub multiplier: u32,
    /// Share of the back-off that is randomised (0.0-1.0), so many cases failing together do
    /// not retry together.
    pub jitter: f64,
}

impl RetryPolicy {
    pub const STANDARD: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(300),
        multiplier: 2,
        jitter: 0.2,
    };

    /// The back-off after failed attempt number `attempt` (1-based), before jitter.
    pub fn base_backoff(&self, attempt: u32) -> Duration {
        let factor = u64::from(self.multiplier).saturating_pow(attempt.saturating_sub(1));
        let ms = (self.initial_backoff.as_millis() as u64).saturating_mul(factor);
        Duration::from_millis(ms.min(self.max_backoff.as_millis() as u64))
    }

    /// The back-off with jitter: in `[base * (1 - jitter), base]`.
    pub fn backoff(&self, attempt: u32, unit_random: f64) -> Duration {
        let base = self.base_backoff(attempt).as_millis() as f64;
        let jitter = self.jitter.clamp(0.0, 1.0);
        let ms = base * (1.0 - jitter * unit_random.clamp(0.0, 1.0));
        Duration::from_millis(ms as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(10),
        multiplier: 2,
        jitter: 0.5,
    };

    #[test]
    fn backoff_doubles_per_attempt_up_to_the_ceiling() {
        let secs: Vec<u64> = (1..=6).map(|a| POLICY.base_backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_only_shortens_the_backoff_within_its_share() {
        assert_eq!(POLICY.backoff(3, 0.0), Duration::from_secs(4));
        assert_eq!(POLICY.backoff(3, 1.0), Duration::from_secs(2));
        let mid = POLICY.backoff(3, 0.5);
        assert!(mid > Duration::from_secs(2) && mid < Duration::from_secs(4));
    }
}
