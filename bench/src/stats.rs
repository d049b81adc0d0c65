//! Latency samples, percentiles, and duration parsing (pure, unit-tested).

use std::time::Duration;

/// One scenario's results.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Latency of every completed request, in microseconds (valid or not).
    pub micros: Vec<u64>,
    /// Requests whose response failed validation (transport error, non-200, unexpected errors).
    pub failures: u64,
    /// Of the failures: answers carrying an `INTERNAL` error (whatever their HTTP status).
    pub internal: u64,
    /// Of the failures: HTTP 5xx answers other than deliberate load shedding.
    pub server_errors: u64,
    /// Of the failures: no answer at all (connection error, the client's timeout).
    pub transport: u64,
    /// Deliberate load shedding (HTTP 503 with `Retry-After`): counted apart, neither a
    /// failure nor a served request (not in `micros`).
    pub shed: u64,
    /// The first few failure messages, for the report.
    pub examples: Vec<String>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.micros.extend(other.micros);
        self.failures += other.failures;
        self.internal += other.internal;
        self.server_errors += other.server_errors;
        self.transport += other.transport;
        self.shed += other.shed;
        for e in other.examples {
            if self.examples.len() < 5 {
                self.examples.push(e);
            }
        }
    }

    pub fn requests(&self) -> u64 {
        self.micros.len() as u64
    }

    /// Completed requests per second over the measured window.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests() as f64 / secs
        } else {
            0.0
        }
    }

    /// The q-quantile (0..=1) in milliseconds, nearest-rank; 0 when empty.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let mut v = self.micros.clone();
        v.sort_unstable();
        percentile_sorted(&v, q) as f64 / 1000.0
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile_sorted(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "20s", "500ms", "2m", or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 20s, 500ms, 2m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {s:?} (ms, s or m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 0.50), 50);
        assert_eq!(percentile_sorted(&v, 0.95), 95);
        assert_eq!(percentile_sorted(&v, 0.99), 99);
        assert_eq!(percentile_sorted(&v, 1.0), 100);
        assert_eq!(percentile_sorted(&v, 0.0), 1);
        assert_eq!(percentile_sorted(&[7], 0.99), 7);
        assert_eq!(percentile_sorted(&[], 0.5), 0);
    }

    #[test]
    fn stats_merge_and_throughput() {
        let mut a = Stats {
            micros: vec![1000, 3000],
            failures: 1,
            examples: vec!["x".into()],
            elapsed: Duration::from_secs(2),
            shed: 4,
            ..Stats::default()
        };
        a.merge(Stats {
            micros: vec![2000],
            failures: 2,
            examples: vec!["y".into()],
            elapsed: Duration::ZERO,
            internal: 1,
            shed: 1,
            ..Stats::default()
        });
        assert_eq!(a.requests(), 3);
        assert_eq!(a.failures, 3);
        assert_eq!((a.internal, a.shed), (1, 5));
        assert_eq!(a.examples, vec!["x", "y"]);
        assert!((a.throughput() - 1.5).abs() < 1e-9);
        assert!((a.percentile_ms(0.5) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
    }
}
