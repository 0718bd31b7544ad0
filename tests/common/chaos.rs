//! What a chaos proxy does to each connection (`proxy::Proxy::set_chaos`): decided from a seed, so
//! a failing run replays the same faults in the same order (`FIELDWORK_CHAOS_SEED`; thread timing
//! can still differ).

use std::time::Duration;

use super::rng::Rng;

/// One connection's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Forwarded untouched.
    Pass,
    /// Closed before anything reaches the server (the request is dropped).
    Refuse,
    /// Held this long before it reaches the server (later requests of others overtake it).
    Delay(Duration),
    /// Cut after this many request bytes went up (the server may see half a request).
    CutUp(usize),
    /// Cut after this many response bytes came down (the server acted; the device never hears).
    CutDown(usize),
    /// Forwarded, and its request bytes sent to the server once more this long after it ended
    /// (a duplicate arriving late, after newer requests: duplication and reordering).
    Duplicate(Duration),
}

/// The seeded chooser, and how often it chose each plan.
#[derive(Debug)]
pub struct Chaos {
    rng: Rng,
    pub counts: Counts,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub passed: usize,
    pub refused: usize,
    pub delayed: usize,
    pub cut_up: usize,
    pub cut_down: usize,
    pub duplicated: usize,
}

impl Chaos {
    pub fn new(seed: u64) -> Chaos {
        Chaos {
            rng: Rng::new(seed),
            counts: Counts::default(),
        }
    }

    /// The next connection's fate: about half pass, the rest split between the faults.
    pub fn plan(&mut self) -> Plan {
        let pick = self.rng.below(100);
        let plan = match pick {
            0..=44 => Plan::Pass,
            45..=54 => Plan::Refuse,
            55..=66 => Plan::Delay(Duration::from_millis(self.rng.below(400))),
            67..=77 => Plan::CutUp(1 + self.rng.below(3_000) as usize),
            78..=88 => Plan::CutDown(1 + self.rng.below(3_000) as usize),
            _ => Plan::Duplicate(Duration::from_millis(self.rng.below(1_500))),
        };
        let c = &mut self.counts;
        match plan {
            Plan::Pass => c.passed += 1,
            Plan::Refuse => c.refused += 1,
            Plan::Delay(_) => c.delayed += 1,
            Plan::CutUp(_) => c.cut_up += 1,
            Plan::CutDown(_) => c.cut_down += 1,
            Plan::Duplicate(_) => c.duplicated += 1,
        }
        plan
    }
}
