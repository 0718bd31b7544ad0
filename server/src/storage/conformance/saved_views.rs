//! [`SavedViews`]: a user's views by name, a name saved again replacing its query, a cap on how
//! many, and nothing shared between users or tenants.

use fieldwork_core::Role;

use super::{TestStore, tenant, user};
use crate::storage::SavedView;

fn view(tenant_id: &str, user_id: &str, id: &str, name: &str, query: &str) -> SavedView {
    SavedView {
        id: id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        query: query.to_owned(),
        created_at: 100,
    }
}

pub fn views_are_a_users_own_by_name_replaced_by_name_and_capped(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let ann = user(s, &acme, "ann", Role::Dispatcher);
    let bob = user(s, &acme, "bob", Role::Dispatcher);
    let gus = user(s, &globex, "gus", Role::Dispatcher);

    let urgent = view(&acme.id, &ann.id, "v1", "Urgent", "priority=urgent");
    assert_eq!(s.save_view(&urgent, 2).unwrap(), Some(urgent.clone()));
    let breached = view(&acme.id, &ann.id, "v2", "Breached", "due=breached");
    s.save_view(&breached, 2).unwrap();
    assert_eq!(
        s.saved_views(&acme.id, &ann.id).unwrap(),
        [breached.clone(), urgent.clone()]
    );

    // At the cap a new name is refused; the same name is replaced, keeping its id and time.
    assert_eq!(
        s.save_view(&view(&acme.id, &ann.id, "v3", "More", "q=x"), 2)
            .unwrap(),
        None
    );
    let again = view(
        &acme.id,
        &ann.id,
        "v9",
        "Urgent",
        "priority=urgent&team=north",
    );
    let saved = s.save_view(&again, 2).unwrap().expect("replaced");
    assert_eq!(
        (saved.id.as_str(), saved.query.as_str()),
        ("v1", "priority=urgent&team=north")
    );
    assert_eq!(s.saved_views(&acme.id, &ann.id).unwrap().len(), 2);

    // Another user, of the tenant or another, neither sees nor deletes them.
    s.save_view(
        &view(&acme.id, &bob.id, "b1", "Urgent", "priority=urgent"),
        2,
    )
    .unwrap();
    assert_eq!(s.saved_views(&acme.id, &bob.id).unwrap().len(), 1);
    assert!(s.saved_views(&globex.id, &gus.id).unwrap().is_empty());
    assert!(!s.delete_view(&acme.id, &bob.id, "v1").unwrap());
    assert!(!s.delete_view(&globex.id, &gus.id, "v1").unwrap());
    assert!(s.delete_view(&acme.id, &ann.id, "v1").unwrap());
    assert!(!s.delete_view(&acme.id, &ann.id, "v1").unwrap());
    assert_eq!(s.saved_views(&acme.id, &ann.id).unwrap(), [breached]);
}
