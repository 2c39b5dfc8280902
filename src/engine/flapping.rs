//! Flap detection (SPEC 5.2 rule 11), after Nagios: per dedup key, a 20-slot
//! history of samples (a trigger is an "open" sample, a recovery a "closed" one);
//! each slot records whether the state changed, weighted towards the newest with
//! 0.8 + 0.02·i. Flapping starts above 30 % and stops below 25 %.

use serde::{Deserialize, Serialize};

const SLOTS: usize = 20;
const START_ABOVE: f64 = 30.0;
const STOP_BELOW: f64 = 25.0;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlapHistory {
    /// Change flags, oldest first; at most `SLOTS`.
    changes: std::collections::VecDeque<bool>,
    last_open: bool,
    pub flapping: bool,
}

impl FlapHistory {
    /// Records a sample; returns `Some(new_state)` when flapping starts or stops.
    pub fn record(&mut self, open: bool) -> Option<bool> {
        let changed = open != self.last_open;
        self.last_open = open;
        if self.changes.len() == SLOTS {
            self.changes.pop_front();
        }
        self.changes.push_back(changed);
        let pct = self.percent();
        let was = self.flapping;
        if !was && pct > START_ABOVE {
            self.flapping = true;
        } else if was && pct < STOP_BELOW {
            self.flapping = false;
        }
        (self.flapping != was).then_some(self.flapping)
    }

    /// Weighted percentage of state change over the window. Slot i counts from the
    /// oldest of a full window, so a short history weighs like the newest slots.
    pub fn percent(&self) -> f64 {
        let skip = SLOTS - self.changes.len();
        let total: f64 = self
            .changes
            .iter()
            .enumerate()
            .filter(|(_, &c)| c)
            .map(|(i, _)| 0.8 + 0.02 * (i + skip) as f64)
            .sum();
        total / SLOTS as f64 * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_hysteresis() {
        let mut h = FlapHistory::default();
        // open, close, open, close, open: 5 changes in the newest slots:
        // (1.10 + 1.12 + 1.14 + 1.16 + 1.18) / 20 = 28.5 % — not yet above 30 %.
        for i in 0..5 {
            assert_eq!(h.record(i % 2 == 0), None);
        }
        assert!((h.percent() - 28.5).abs() < 1e-9, "{}", h.percent());
        // a sixth change shifts them older: (1.08+…+1.18)/20 = 33.9 % → starts
        assert_eq!(h.record(false), Some(true));
        assert!((h.percent() - 33.9).abs() < 1e-9, "{}", h.percent());
        // steady samples age the changes out; between 25 % and 30 % it stays on
        let mut stopped_at = None;
        for n in 1..=20 {
            let before = h.percent();
            if let Some(false) = h.record(false) {
                stopped_at = Some(n);
                assert!(h.percent() < 25.0);
                break;
            }
            assert!(h.flapping, "still flapping at {before}");
        }
        assert!(stopped_at.is_some());
    }

    #[test]
    fn steady_state_never_flaps() {
        let mut h = FlapHistory::default();
        h.record(true);
        for _ in 0..50 {
            assert_eq!(h.record(true), None);
        }
        assert!(h.percent() < 1e-9);
    }
}
