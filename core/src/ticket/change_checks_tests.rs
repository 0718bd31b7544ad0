//! What is checked and read by the size of a change rather than of the ticket: the depth of
//! what changes made (`limits::check_depth_of`), and the view after a replica's own edits
//! (`TicketDocument::view_after_own_edits`).

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT};

use super::tests::{actor, conflicting_priorities, created, edit, merge, replica};
use super::*;
use crate::model::{Priority, Role};

/// A change by `doc`'s actor nesting `levels` maps under the object at `under` (the root's
/// `x_future` when `None`), and the innermost one.
fn nest(
    doc: &mut TicketDocument,
    under: Option<&automerge::ObjId>,
    levels: usize,
) -> (automerge::ObjId, Change) {
    let raw = doc.raw_mut();
    let mut obj = match under {
        Some(obj) => obj.clone(),
        None => raw.put_object(ROOT, "x_future", ObjType::Map).expect("put"),
    };
    for _ in 0..levels {
        obj = raw.put_object(&obj, "k", ObjType::Map).expect("nest");
    }
    raw.commit();
    (obj, raw.get_last_local_change().expect("change").clone())
}

#[test]
fn changes_taken_in_are_checked_for_depth_few_objects_or_many_and_after_waiting() {
    let tech = actor("tech1", Role::Technician);
    let mut doc = created(&tech);
    // `x_future` is at depth 1: 15 more levels reach the limit, 16 cross it. 3,000 levels make
    // more objects than are checked one by one, and the whole document is walked.
    for (levels, deep) in [(15, false), (16, true), (3_000, true)] {
        let mut author = replica(&mut doc);
        let (_, change) = nest(&mut author, None, levels);
        let taken = replica(&mut doc).apply_changes(vec![change]);
        assert_eq!(
            matches!(
                taken,
                Err(DocumentError::Limit(limits::LimitError::TooDeep))
            ),
            deep,
            "{levels} levels: {taken:?}"
        );
    }
    // A change that waited for its dependency is checked when it is applied with it.
    let mut author = replica(&mut doc);
    let (inner, first) = nest(&mut author, None, 10);
    let (_, second) = nest(&mut author, Some(&inner), 6);
    let mut reader = replica(&mut doc);
    reader
        .apply_changes(vec![second])
        .expect("waits for its dependency");
    let taken = reader.apply_changes(vec![first]);
    assert!(
        matches!(
            taken,
            Err(DocumentError::Limit(limits::LimitError::TooDeep))
        ),
        "{taken:?}"
    );
}

#[test]
fn a_view_after_own_edits_looks_for_conflicts_only_when_there_were_some() {
    let agent = actor("agent1", Role::Agent);
    let note = |text: &str| Edit::AddNote {
        text: text.into(),
        internal: false,
    };
    // None before: none can come of an edit made here.
    let mut plain = created(&agent);
    edit(&mut plain, &agent, note("checked"));
    assert_eq!(
        plain.view_after_own_edits(false).expect("read"),
        plain.view().expect("read")
    );
    // Some before: an edit elsewhere keeps them, one of the field settles them.
    let (mut a, mut b) = conflicting_priorities(&agent);
    merge(&mut a, &mut b);
    edit(&mut a, &agent, note("still two priorities"));
    let kept = a.view_after_own_edits(true).expect("read");
    assert_eq!(kept, a.view().expect("read"));
    assert_eq!(kept.conflicts.len(), 1);
    let urgent = Edit::SetPriority {
        priority: Priority::Urgent,
    };
    edit(&mut a, &agent, urgent);
    let settled = a.view_after_own_edits(true).expect("read");
    assert_eq!(settled, a.view().expect("read"));
    assert!(settled.conflicts.is_empty());
}
