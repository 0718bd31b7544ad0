//! What a chaos proxy does to each connection (`proxy::Proxy::set_chaos`): decided from a seed, so
//! a failing run replays exactly (`FIELDWORK_CHAOS_SEED`).

use std::time::Duration;

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
    state: u64,
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
            state: seed.max(1),
            counts: Counts::default(),
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// The next connection's fate: about half pass, the rest split between the faults.
    pub fn plan(&mut self) -> Plan {
        let pick = self.below(100);
        let plan = match pick {
            0..=44 => Plan::Pass,
            45..=54 => Plan::Refuse,
            55..=66 => Plan::Delay(Duration::from_millis(self.below(400))),
            67..=77 => Plan::CutUp(1 + self.below(3_000) as usize),
            78..=88 => Plan::CutDown(1 + self.below(3_000) as usize),
            _ => Plan::Duplicate(Duration::from_millis(self.below(1_500))),
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
