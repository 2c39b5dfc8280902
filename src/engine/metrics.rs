//! The metrics of SPEC 12 and the small log-bucketed histogram behind them.
//! Per-event figures (detection time) are streamed into a histogram so the cost
//! per event is constant; per-alert figures are computed from the alerts.

use super::alerts::{Alert, Resolution};
use crate::model::{EventType, Level};
use serde::{Deserialize, Serialize};

/// Milliseconds in buckets of about 6 % width: exact below 16 ms, then 16 buckets
/// per power of two. Constant memory, constant time per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; 64 * 16],
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < 16 {
        v as usize
    } else {
        let b = 63 - v.leading_zeros() as usize; // b >= 4
        ((b - 3) << 4) | ((v >> (b - 4)) & 15) as usize
    }
}

fn bucket_low(i: usize) -> u64 {
    if i < 16 {
        i as u64
    } else {
        let b = (i >> 4) + 3;
        (16 | (i as u64 & 15)) << (b - 4)
    }
}

impl Histogram {
    pub fn record(&mut self, ms: i64) {
        let v = ms.max(0) as u64;
        self.buckets[bucket(v)] += 1;
        self.count += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The q-quantile (0–1), interpolated within its bucket as if the
    /// bucket's samples were spread evenly over it (exact below 16 ms; never
    /// above the largest sample).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return Some(self.max); // the largest sample is known exactly
        }
        let mut before = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            if before + n >= rank {
                // The last bucket ends at the largest sample.
                let (low, high) = (bucket_low(i), bucket_low(i + 1).min(self.max + 1));
                // The rank-th of the bucket's n samples, at the middle of its share.
                let at = (rank - before) as f64 - 0.5;
                let v = low as f64 + (high - low) as f64 * at / n as f64;
                return Some((v.floor() as u64).clamp(low, self.max));
            }
            before += n;
        }
        Some(self.max)
    }

    pub fn stats(&self) -> DurationStats {
        let s = |ms: Option<u64>| ms.map(|v| v as f64 / 1000.0);
        DurationStats {
            count: self.count,
            mean_s: self.mean().map(|m| m / 1000.0),
            p50_s: s(self.quantile(0.5)),
            p90_s: s(self.quantile(0.9)),
            p99_s: s(self.quantile(0.99)),
            max_s: s((self.count > 0).then_some(self.max)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DurationStats {
    pub count: u64,
    pub mean_s: Option<f64>,
    pub p50_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub p99_s: Option<f64>,
    pub max_s: Option<f64>,
}

/// Counters kept as events arrive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub events: u64,
    pub duplicates: u64,
    pub parse_errors: u64,
    pub derived: u64,
    pub unknown_types: u64,
    pub detection: Histogram,
    /// Events stamped ahead of the time coord read them (SPEC 5.3).
    #[serde(default)]
    pub skewed: u64,
}

/// SPEC 12, named as the seed names them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub detection_time: DurationStats,
    pub response_initiation_time: DurationStats,
    pub resolution_time: ResolutionTimes,
    /// Alerts resolved with no operator action / resolved alerts.
    pub automated_resolution_rate: Option<f64>,
    /// Alerts that reached `human` and were not false alarms / alerts that reached `human`.
    pub escalation_accuracy: Option<f64>,
    /// False alarms / alerts.
    pub false_alert_rate: Option<f64>,
    /// Mean duration of resolved communication_failure alerts.
    pub coordination_restoration: DurationStats,
    pub data_integrity: DataIntegrity,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResolutionTimes {
    pub all: DurationStats,
    pub critical: DurationStats,
    pub high: DurationStats,
    pub medium: DurationStats,
    pub low: DurationStats,
}

impl ResolutionTimes {
    pub fn get(&self, level: crate::model::Level) -> &DurationStats {
        use crate::model::Level;
        match level {
            Level::Critical => &self.critical,
            Level::High => &self.high,
            Level::Medium => &self.medium,
            Level::Low => &self.low,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataIntegrity {
    /// Events applied (each id once).
    pub events: u64,
    /// Repeated ids, counted once.
    pub duplicates: u64,
    pub parse_errors: u64,
    /// Events the console derived itself (agent timeouts, phase completions).
    pub derived: u64,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub fn compute(counters: &Counters, alerts: &[Alert]) -> Metrics {
    let mut response = Histogram::default();
    let mut by_level: [Histogram; 4] = Default::default();
    let mut all = Histogram::default();
    let mut restoration = Histogram::default();
    let (mut resolved, mut automated, mut human, mut human_ok, mut false_alarms) = (0, 0, 0, 0, 0);
    for a in alerts {
        if let Some(at) = a.responded_at {
            response.record((at - a.first_seen).num_milliseconds());
        }
        if a.reached_human {
            human += 1;
            if a.resolution != Some(Resolution::FalseAlarm) {
                human_ok += 1;
            }
        }
        if a.resolution == Some(Resolution::FalseAlarm) {
            false_alarms += 1;
        }
        if let Some(at) = a.resolved_at {
            resolved += 1;
            if !a.operator_touched {
                automated += 1;
            }
            let ms = (at - a.first_seen).num_milliseconds();
            all.record(ms);
            by_level[a.level as usize].record(ms);
            if a.trigger == EventType::CommunicationFailure {
                restoration.record(ms);
            }
        }
    }
    let level = |l: Level| by_level[l as usize].stats();
    Metrics {
        detection_time: counters.detection.stats(),
        response_initiation_time: response.stats(),
        resolution_time: ResolutionTimes {
            all: all.stats(),
            critical: level(Level::Critical),
            high: level(Level::High),
            medium: level(Level::Medium),
            low: level(Level::Low),
        },
        automated_resolution_rate: ratio(automated, resolved),
        escalation_accuracy: ratio(human_ok, human),
        false_alert_rate: ratio(false_alarms, alerts.len()),
        coordination_restoration: restoration.stats(),
        data_integrity: DataIntegrity {
            events: counters.events,
            duplicates: counters.duplicates,
            parse_errors: counters.parse_errors,
            derived: counters.derived,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, u64::MAX >> 2]) {
            let b = bucket(v);
            assert!(b >= last, "{v}");
            last = b;
            let low = bucket_low(b);
            assert!(low <= v, "{v} {low}");
            assert!((v - low) as f64 <= v as f64 * 0.0625, "{v} {low}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        h.record(-5); // clock skew counts as 0
        assert_eq!(h.count(), 101);
        assert_eq!(h.quantile(0.0), Some(0));
        assert_eq!(h.quantile(0.5), Some(50)); // the 51st of 101 samples
        assert_eq!(h.quantile(0.99), Some(99));

        // A known distribution across wide buckets: 1 s … 1000 s, one each.
        // The low edge of a bucket read p50 = 496 s, p99 = 960 s; spread
        // within the bucket they come within a second of the truth.
        let mut wide = Histogram::default();
        for s in 1..=1000 {
            wide.record(s * 1000);
        }
        for (q, want) in [(0.5, 500_000), (0.9, 900_000), (0.99, 990_000)] {
            let got = wide.quantile(q).unwrap();
            assert!(got.abs_diff(want) <= 1_000, "p{q}: {got} ms, want {want}");
        }
        assert_eq!(h.stats().max_s, Some(0.1));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
