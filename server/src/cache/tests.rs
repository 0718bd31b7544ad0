//! The document cache's bounds, versions, kept views and admission.

use super::*;
use fieldwork_core::ticket::{ActorId, Edit, NewTicket};
use fieldwork_core::{Actor, Role, TicketKind};

fn agent() -> Actor {
    Actor {
        tenant: "t".into(),
        user_id: "u".into(),
        role: Role::Agent,
        name: None,
        team: None,
    }
}

fn doc(id: &str, seq: u64) -> CachedDoc {
    let new = NewTicket::titled(TicketKind::Repair, "x");
    let doc = TicketDocument::create(id, &agent(), &new, ActorId::random(), 1).expect("create");
    let view = Arc::new(doc.view().expect("view"));
    CachedDoc {
        seq,
        doc,
        staff: None,
        view,
    }
}

/// Asks the cache for ticket `id` `times` times at a version it does not hold, as a writer or a
/// reader does before loading a document on a miss.
fn ask(cache: &DocCache, id: &str, times: usize) {
    for _ in 0..times {
        assert!(cache.take("t", id, u64::MAX).is_none());
    }
}

#[test]
fn holds_at_most_capacity_and_drops_the_least_recently_used() {
    let cache = DocCache::new(2);
    cache.put("t", "a", doc("a", 1));
    cache.put("t", "b", doc("b", 1));
    assert!(
        cache.view("t", "a", 1).is_some(),
        "a is now the most recent"
    );
    // c, asked for more often than b, takes its place.
    ask(&cache, "c", 2);
    cache.put("t", "c", doc("c", 1));
    assert_eq!(cache.len(), 2);
    assert!(
        cache.take("t", "b", 1).is_none(),
        "b was the least recently used"
    );
    assert!(cache.take("t", "a", 1).is_some() && cache.take("t", "c", 1).is_some());
}

#[test]
fn the_byte_budget_bounds_the_cache_whatever_the_count() {
    let mut one = doc("a", 1);
    let each = estimated_bytes(&mut one.doc);
    assert!(each > 0);
    // Room for four documents by bytes (in the documents' half), thirty by count: bytes decide.
    let budget = (4 * each + each / 2) * 2;
    let cache = DocCache::with_budget(30, budget);
    for (i, id) in ["a", "b", "c", "d", "e", "f"].into_iter().enumerate() {
        ask(&cache, id, i);
        cache.put("t", id, doc(id, i as u64));
    }
    assert_eq!(cache.len(), 4);
    assert!(cache.bytes() <= budget / 2);
    assert!(cache.take("t", "a", 0).is_none() && cache.take("t", "f", 5).is_some());
    // A document bigger than a quarter of the budget is not kept at all.
    let small = DocCache::with_budget(30, 2 * each);
    small.put("t", "a", doc("a", 1));
    assert_eq!(small.len(), 0);
    assert_eq!(small.bytes(), 0);
}

#[test]
fn hands_out_only_the_version_asked_for_and_never_goes_back() {
    let cache = DocCache::new(4);
    cache.put("t", "a", doc("a", 5));
    assert!(cache.view("t", "a", 4).is_none() && cache.take("t", "a", 6).is_none());
    cache.put("t", "a", doc("a", 3));
    let taken = cache.take("t", "a", 5).expect("version 5 is cached");
    assert_eq!(taken.seq, 5);
    assert_eq!(cache.len(), 0);
    assert!(DocCache::new(0).view("t", "a", 5).is_none());
}

#[test]
fn keeps_the_views_of_documents_pushed_out_within_their_share() {
    let mut one = doc("a", 1);
    let each = estimated_bytes(&mut one.doc);
    let view = estimated_view_bytes(&PackedView::pack((*one.view).clone()));
    assert!(
        view < each / 4,
        "a view ({view}) is far smaller than its document ({each})"
    );
    // Two documents fit by count; the views' half (four documents' worth) holds more than three
    // views.
    let budget = 8 * (each + 1);
    let cache = DocCache::with_budget(2, budget);
    for (i, id) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        ask(&cache, id, i + 1);
        cache.put("t", id, doc(id, i as u64));
    }
    assert_eq!(cache.len(), 2, "d and e");
    let (views, bytes) = cache.kept_views();
    assert_eq!(views, 3, "the views of a, b and c");
    assert!(bytes <= budget / 2);
    // A kept view is handed out at its version only, and its document is gone.
    assert!(cache.view("t", "a", 0).is_some());
    assert!(cache.view("t", "a", 1).is_none());
    assert!(cache.take("t", "a", 0).is_none());
    // A newer document replaces the kept view; an older one does not go back over it.
    cache.put("t", "b", doc("b", 1));
    assert!(cache.view("t", "b", 1).is_some());
    cache.put("t", "c", doc("c", 1));
    assert!(
        cache.view("t", "c", 2).is_some(),
        "c's view at 2 is newer than 1"
    );
    // Forgetting a ticket drops its view too.
    cache.forget("t", "c");
    assert!(cache.view("t", "c", 2).is_none());
    // With caching off nothing is kept, views neither.
    let off = DocCache::new(0);
    off.put("t", "a", doc("a", 1));
    assert_eq!(off.kept_views(), (0, 0));
}

#[test]
fn a_newcomer_pushes_out_only_documents_asked_for_less_often() {
    let cache = DocCache::new(2);
    for id in ["a", "b"] {
        ask(&cache, id, 3);
        cache.put("t", id, doc(id, 1));
    }
    // Asked for once: it does not push out documents asked for three times. Its view is kept.
    ask(&cache, "c", 1);
    cache.put("t", "c", doc("c", 1));
    assert_eq!(cache.len(), 2);
    assert!(cache.take("t", "c", 1).is_none());
    assert!(cache.view("t", "c", 1).is_some(), "the view of c is kept");
    // A document a writer took out goes back in at its next version whatever it is asked for,
    // and pushes out the least recently used (b) if it must.
    let mut taken = cache.take("t", "a", 1).expect("a is cached");
    taken.seq = 2;
    // Meanwhile another document fills the room a left: room is free for anyone.
    cache.put("t", "e", doc("e", 1));
    assert_eq!(cache.len(), 2);
    cache.put("t", "a", taken);
    assert!(cache.take("t", "a", 2).is_some(), "a went back in");
    assert!(
        cache.take("t", "b", 1).is_none(),
        "pushing out b, the least recently used"
    );
}

/// Devices sync on a timer, so their tickets are asked for in the same order round after round.
/// When they do not all fit, plain LRU pushes out the very ticket asked for next, and every
/// request misses; the admission keeps a steady set.
#[test]
fn tickets_asked_for_in_a_loop_larger_than_the_cache_still_hit() {
    let cache = DocCache::new(50);
    let ids: Vec<String> = (0..100).map(|i| format!("ticket-{i}")).collect();
    let mut hits = 0;
    let rounds = 10;
    for round in 0..rounds {
        for id in &ids {
            // As a commit does: take the document at its version, or load it on a miss; then
            // put it back at the next one.
            let seq = round as u64;
            let mut working = match cache.take("t", id, seq) {
                Some(cached) => {
                    if round >= 2 {
                        hits += 1;
                    }
                    cached
                }
                None => doc(id, seq),
            };
            working.seq = seq + 1;
            cache.put("t", id, working);
            // The report facts read the ticket as committed.
            assert!(cache.view("t", id, seq + 1).is_some());
        }
    }
    let asked = (rounds - 2) * ids.len();
    assert!(
        hits * 10 >= asked * 4,
        "{hits} of {asked} requests hit with room for half the tickets"
    );
}

#[test]
fn a_ticket_is_kept_with_its_tip_and_moved_along_without_its_document() {
    let cache = DocCache::with_budget(1, DEFAULT_DOC_CACHE_BYTES);
    let mut a = doc("a", 1);
    let note = Edit::AddNote {
        text: "fan replaced".into(),
        internal: false,
    };
    a.doc.apply(&a.view, &note, &agent(), 2).expect("a note");
    let whole = a.doc.view().expect("view");
    a.view = Arc::new(whole.clone());
    let tip = a.doc.tip();
    assert!(tip.is_some());
    cache.put("t", "a", a);
    // b pushes a out: a's view is kept, with the tip its document had.
    ask(&cache, "b", 3);
    cache.put("t", "b", doc("b", 1));
    let kept = cache
        .kept("t", "a", 1)
        .expect("a is kept without its document");
    assert_eq!(kept.tip.as_deref(), tip.as_ref());
    assert_eq!(
        cache.kept_views().1,
        estimated_view_bytes(&PackedView::pack((*kept.view).clone())),
        "kept by its packed size"
    );
    assert_eq!(
        cache.view("t", "a", 1).as_deref(),
        Some(&*kept.view),
        "a reader gets the view as it was kept"
    );
    assert_eq!(kept.view.title, whole.title);
    assert_eq!(kept.view.notes.len(), 1);
    assert_eq!(
        (
            kept.view.notes[0].text.as_str(),
            kept.view.notes[0].id.as_str()
        ),
        ("", whole.notes[0].id.as_str()),
        "without the note's text"
    );
    assert!(cache.kept("t", "a", 2).is_none(), "only at its version");
    assert!(cache.kept("t", "b", 1).is_none(), "b is held as a document");
    let (packed, tip) = (kept.packed.clone(), kept.tip.clone().expect("with its tip"));
    // A writer judged a note on the tip and stored it as version 2: kept at 2, not 1.
    cache.put_kept("t", "a", 2, packed.clone(), tip.clone());
    assert!(cache.kept("t", "a", 1).is_none());
    assert!(cache.view("t", "a", 2).is_some());
    // An older version does not go back over it, as a document or kept.
    cache.put_kept("t", "a", 1, packed.clone(), tip.clone());
    cache.put("t", "a", doc("a", 1));
    assert_eq!(cache.kept("t", "a", 2).map(|k| k.seq), Some(2));
    // Kept at a newer version, a ticket's older document leaves the cache.
    cache.put_kept("t", "b", 5, packed.clone(), tip.clone());
    assert!(cache.take("t", "b", 1).is_none());
    assert!(cache.kept("t", "b", 5).is_some());
    // Forgotten, nothing of it is kept.
    cache.forget("t", "a");
    assert!(cache.kept("t", "a", 2).is_none());
    // With caching off nothing is kept.
    let off = DocCache::new(0);
    off.put_kept("t", "a", 1, packed, tip);
    assert_eq!(off.kept_views(), (0, 0));
}
