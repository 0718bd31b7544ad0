//! The people an answer names, by id: the tenant's users, the service brain, and the intake
//! channels that reported or wrote something — so pages show names, never bare ids.

use super::Caller;
use super::error::ApiError;
use super::ticket_out::{NameOut, People};
use crate::state::{AppState, blocking};

/// The names of `ids` (users of the caller's tenant; others are left out).
pub(super) async fn people(
    state: &AppState,
    caller: &Caller,
    mut ids: Vec<String>,
) -> Result<People, ApiError> {
    ids.sort_unstable();
    ids.dedup();
    let mut people = People::new();
    // The brain's own entries name it as their author.
    if let Some(at) = ids.iter().position(|id| id == fieldwork_brain::BRAIN_ACTOR) {
        let brain = NameOut {
            name: "Fieldwork brain".to_owned(),
            role: "brain".to_owned(),
        };
        people.insert(ids.remove(at), brain);
    }
    // Intake channels name themselves as the reporters and authors of what they took in.
    let (channels, ids): (Vec<String>, Vec<String>) = ids
        .into_iter()
        .partition(|id| id.starts_with(crate::intake::CHANNEL_AUTHOR_PREFIX));
    if !channels.is_empty() {
        let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
        let known = blocking(move || Ok(store.channels(&tenant)?)).await?;
        for c in known {
            let id = format!("{}{}", crate::intake::CHANNEL_AUTHOR_PREFIX, c.id);
            if channels.contains(&id) {
                let role = format!("channel:{}", c.kind);
                people.insert(id, NameOut { name: c.name, role });
            }
        }
    }
    if ids.is_empty() {
        return Ok(people);
    }
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let users = blocking(move || Ok(store.users_by_ids(&tenant, &ids)?)).await?;
    people.extend(users.into_iter().map(|u| {
        let name = NameOut {
            name: u.name,
            role: u.role.as_str().to_owned(),
        };
        (u.id, name)
    }));
    Ok(people)
}
