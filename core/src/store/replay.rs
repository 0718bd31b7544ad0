//! Replaying a bundle's changes of one ticket in causal order, each judged against the ticket as
//! its author saw it (the document at the change's dependencies) by
//! [`ImportJudge`](crate::rules::imports::ImportJudge) — the import's side of what the server does
//! on a push.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use automerge::{Change, ChangeHash};

use super::StoreError;
use crate::bundle::Bundle;
use crate::rules::imports::{ImportJudge, ImportRefusal};
use crate::ticket::{Ticket, TicketDocument};

type Result<T> = std::result::Result<T, StoreError>;

/// The most changes of one ticket a bundle may carry. Judging a change reads the whole ticket,
/// so a ticket's cost grows with the square of its changes.
pub const MAX_CHANGES_PER_TICKET: usize = 1_000;

/// The most judging one import may cost, in units of one ticket change read: a ticket of `n`
/// changes counts `n (n + 1) / 2` (each change judged against the ticket before it). A bundle of
/// 1,000 tickets of 40 changes each counts 820,000; judging a unit takes about 5 µs here
/// (`cargo bench -p fieldwork-core --bench import`).
pub const MAX_JUDGING_WORK: usize = 1_000_000;

/// The most earlier versions of one ticket rebuilt to judge changes made on concurrent branches
/// (each rebuild replays the branch's history).
pub const MAX_VERSIONS_PER_TICKET: usize = 256;

/// A limit an import would pass, refused before anything is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImportLimit {
    #[error("over {MAX_CHANGES_PER_TICKET} changes of one ticket")]
    ChangesPerTicket,
    #[error(
        "over {MAX_JUDGING_WORK} units of checking in all, a ticket of n changes counting n(n+1)/2"
    )]
    JudgingWork,
    #[error("over {MAX_VERSIONS_PER_TICKET} concurrent branches of one ticket")]
    Branches,
}

/// Refuses a bundle whose checking would cost more than the limits allow, from its size alone.
pub(super) fn check_cost(bundle: &Bundle) -> Result<()> {
    let mut work: usize = 0;
    for n in bundle
        .tickets
        .iter()
        .flat_map(|ticket| [ticket.changes.len(), ticket.staff.len()])
    {
        if n > MAX_CHANGES_PER_TICKET {
            return Err(StoreError::ImportTooLarge(ImportLimit::ChangesPerTicket));
        }
        work = work.saturating_add(n * (n + 1) / 2);
        if work > MAX_JUDGING_WORK {
            return Err(StoreError::ImportTooLarge(ImportLimit::JudgingWork));
        }
    }
    Ok(())
}

/// Side branches kept while replaying, so a branch is rebuilt once and not once per change.
const KEPT_BRANCHES: usize = 8;

/// The changes of `changes` that `doc` lacks, each once, in an order where every change comes
/// after its dependencies (the bundle's own order where it allows). Returns them and how many
/// of `changes` the document already had.
pub(super) fn causal_order(
    doc: &mut TicketDocument,
    changes: Vec<Change>,
) -> Result<(Vec<Change>, usize)> {
    let mut known = 0;
    let mut seen = HashSet::new();
    let mut fresh = Vec::new();
    for change in changes {
        let hash = change.hash();
        if doc.has_change(&hash) {
            known += 1;
        } else if seen.insert(hash) {
            fresh.push(change);
        }
    }
    let index: HashMap<ChangeHash, usize> = fresh
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut waiting = vec![0_usize; fresh.len()];
    let mut dependents = vec![Vec::new(); fresh.len()];
    let mut missing = BTreeSet::new();
    for (i, change) in fresh.iter().enumerate() {
        for dep in change.deps() {
            if let Some(&j) = index.get(dep) {
                waiting[i] += 1;
                dependents[j].push(i);
            } else if !doc.has_change(dep) {
                missing.insert(*dep);
            }
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::IncompleteBundle(missing.len()));
    }
    // Kahn's algorithm, always taking the earliest ready change: an honest bundle is already in
    // causal order and keeps it.
    let mut ready: BinaryHeap<Reverse<usize>> = (0..fresh.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(fresh.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(Reverse(k));
            }
        }
    }
    if order.len() != fresh.len() {
        // Only a dependency cycle gets here, which real change hashes cannot form.
        return Err(StoreError::IncompleteBundle(fresh.len() - order.len()));
    }
    let mut slots: Vec<Option<Change>> = fresh.into_iter().map(Some).collect();
    let ordered = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok((ordered, known))
}

/// A version of the ticket on a side branch, with its view once read.
struct Branch {
    heads: Vec<ChangeHash>,
    doc: TicketDocument,
    view: Option<Ticket>,
}

/// Applies changes to one ticket's document, judging each first.
pub(super) struct Replay<'a> {
    doc: &'a mut TicketDocument,
    /// The view of `doc` at its current heads, when already read.
    view: Option<Ticket>,
    /// Recently used side branches, most recent last.
    branches: Vec<Branch>,
    versions: usize,
}

impl<'a> Replay<'a> {
    pub(super) fn new(doc: &'a mut TicketDocument) -> Self {
        Replay {
            doc,
            view: None,
            branches: Vec::new(),
            versions: 0,
        }
    }

    /// Applies `change` (whose dependencies are all in the document) and judges it. `Ok(Some)`
    /// is a refused change; `Err` a document that cannot take it at all. A staff document's
    /// change is read merged into `public`, the ticket's public view as its author saw it
    /// (`TicketDocument::read_with`); that view may differ from one change to the next, so no
    /// staff reading is kept between steps.
    pub(super) fn step(
        &mut self,
        change: Change,
        judge: &mut ImportJudge,
        public: Option<&Ticket>,
    ) -> Result<Option<ImportRefusal>> {
        let keep = public.is_none();
        let author = change.actor_id().to_hex_string();
        let mut deps = change.deps().to_vec();
        deps.sort_unstable();
        let part = self.doc.part();
        if deps.is_empty() {
            // A staff document starts from its genesis, which every replica has: another root is
            // a second creation too.
            let second = !self.doc.heads().is_empty();
            self.doc.apply_changes(vec![change])?;
            self.view = None;
            if second {
                return Ok(Some(ImportRefusal::SecondCreation));
            }
            let Ok(after) = self.doc.view() else {
                return Ok(Some(ImportRefusal::Unreadable));
            };
            let verdict = judge.judge(&author, part, None, &after).err();
            self.view = Some(after);
            return Ok(verdict);
        }
        if deps == self.doc.heads() {
            let before = match self.view.take().filter(|_| keep) {
                Some(view) => Ok(view),
                None => self.doc.read_with(public),
            };
            self.doc.apply_changes(vec![change])?;
            let (Ok(before), Ok(after)) = (before, self.doc.read_with(public)) else {
                return Ok(Some(ImportRefusal::Unreadable));
            };
            let verdict = judge.judge(&author, part, Some(&before), &after).err();
            self.view = Some(after).filter(|_| keep);
            return Ok(verdict);
        }
        let mut branch = self.branch_at(deps)?;
        let before = match branch.view.take().filter(|_| keep) {
            Some(view) => Ok(view),
            None => branch.doc.read_with(public),
        };
        let hash = change.hash();
        branch.doc.apply_changes(vec![change.clone()])?;
        self.doc.apply_changes(vec![change])?;
        self.view = None;
        let verdict = match (before, branch.doc.read_with(public)) {
            (Ok(before), Ok(after)) => {
                let verdict = judge.judge(&author, part, Some(&before), &after).err();
                branch.view = Some(after).filter(|_| keep);
                verdict
            }
            _ => Some(ImportRefusal::Unreadable),
        };
        // The change built on all of `deps`, so it is the branch's one head now.
        branch.heads = vec![hash];
        self.branches.push(branch);
        Ok(verdict)
    }

    /// The ticket at `heads`: a kept branch there, or the document rebuilt at that point.
    fn branch_at(&mut self, heads: Vec<ChangeHash>) -> Result<Branch> {
        if let Some(i) = self.branches.iter().position(|b| b.heads == heads) {
            return Ok(self.branches.remove(i));
        }
        self.versions += 1;
        if self.versions > MAX_VERSIONS_PER_TICKET {
            return Err(StoreError::ImportTooLarge(ImportLimit::Branches));
        }
        if self.branches.len() >= KEPT_BRANCHES {
            self.branches.remove(0);
        }
        let doc = self.doc.fork_at(&heads)?;
        Ok(Branch {
            heads,
            doc,
            view: None,
        })
    }
}
