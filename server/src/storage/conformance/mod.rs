//! The conformance suite every storage backend passes, written once (the way matrix-rust-sdk
//! tests its stores): each function takes a fresh, empty [`TestStore`] and checks one behaviour
//! of the storage traits through the traits alone — the happy path, tenant isolation, the errors
//! a caller can cause, the per-tenant seq order and cursors, and commits racing from several
//! threads. A backend runs all of it with one line in its tests:
//!
//! ```ignore
//! fieldwork_server::storage_conformance_tests!(my_backend_with_an_empty_database());
//! ```
//!
//! where the expression makes a [`TestStore`] (it is evaluated once per test). The SQLite
//! backend's line is in `server/tests/storage_conformance.rs`. Compiled with the `conformance`
//! feature only.
//!
//! Clock values are plain numbers: a backend stores the times it is given and never reads a
//! clock of its own.

#![allow(clippy::unwrap_used)]

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod blobs;
pub mod brain_memory;
pub mod channels;
pub mod concurrency;
pub mod configs;
pub mod csat_links;
pub mod erasure;
pub mod knowledge;
pub mod positions;
pub mod postgres;
pub mod quotas;
pub mod report_facts;
pub mod saved_views;
pub mod snapshots;
pub mod ticket_list;
pub mod ticket_log;
pub mod ticket_rows;
pub mod web_sessions;
pub mod webhooks;

use std::any::Any;
use std::sync::Arc;

use fieldwork_core::model::{Part, Role};

use super::{
    DeviceRecord, NewChange, ServerStore, TenantRecord, TicketCommit, TicketWrite, TokenKind,
    TokenRecord, UserRecord,
};

/// A store made for one test, with whatever must live as long as it (a temporary directory, a
/// throwaway database).
pub struct TestStore {
    pub store: Arc<dyn ServerStore>,
    _guard: Box<dyn Any>,
}

impl TestStore {
    pub fn new(store: Arc<dyn ServerStore>, guard: impl Any) -> Self {
        TestStore {
            store,
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// One `#[test]` per suite function, each on a fresh store made by `$fresh`.
#[macro_export]
macro_rules! storage_conformance_tests {
    ($fresh:expr) => {
        $crate::storage_conformance_tests!(@each $fresh;
            ticket_log::the_server_actor_stays_the_same,
            ticket_log::a_commit_numbers_its_changes_with_the_tenants_next_seqs,
            ticket_log::cursors_page_through_changes_in_seq_order,
            ticket_log::tenants_never_see_each_others_tickets_changes_or_seqs,
            ticket_log::a_commit_against_a_moved_ticket_or_counter_stores_nothing,
            ticket_log::a_group_of_commits_stores_each_in_order_and_refuses_only_the_failing_one,
            ticket_log::a_group_that_is_all_accepted_stores_every_commit_with_its_seqs,
            ticket_log::a_commit_to_an_unknown_tenant_is_refused,
            ticket_log::the_ticket_counter_moves_only_as_committed,
            ticket_log::a_ticket_write_replaces_its_index_row_and_document,
            ticket_log::a_documents_summary_is_stored_and_replaced_with_it,
            ticket_log::staff_documents_and_staff_changes_are_kept_apart,
            ticket_log::a_tickets_people_are_kept_and_their_seq_moves_only_when_they_change,
            ticket_log::a_scoped_walk_reads_only_tickets_that_may_concern_the_user,
            ticket_log::holdings_are_kept_per_device_and_replaced,
            ticket_log::a_read_sees_one_snapshot_while_commits_go_on,
            snapshots::public_changes_follow_the_snapshot_until_a_commit_compacts_them,
            snapshots::a_new_ticket_without_a_snapshot_is_its_changes,
            snapshots::a_rewrite_replaces_snapshot_and_tail_and_must_bring_a_document,
            ticket_rows::changes_by_people_keep_their_times_and_the_ticket_its_newest,
            ticket_rows::a_reporters_recent_tickets_are_found_by_creation_time,
            ticket_rows::staff_people_are_kept_apart_and_move_the_people_seq,
            accounts::tenants_are_unique_by_name_and_found_by_id_or_name,
            accounts::users_are_unique_per_tenant_and_listed_by_name,
            accounts::users_are_found_by_ids_within_their_tenant_only,
            accounts::a_token_opens_a_session_until_it_is_revoked,
            accounts::a_device_registers_again_under_its_id_and_its_actor_is_its_users,
            accounts::the_device_cap_counts_devices_an_admin_has_not_removed,
            accounts::devices_are_listed_oldest_first_and_unknown_ones_are_refused,
            blobs::an_upload_is_found_by_id_and_resumed_by_its_device,
            blobs::open_uploads_are_bounded_per_device_and_per_user,
            blobs::an_upload_over_a_quota_is_refused_with_what_is_held,
            blobs::a_patch_moves_the_offset_only_from_where_it_stands,
            blobs::a_finished_upload_stores_its_blob_once_and_charges_its_uploader,
            blobs::a_stored_blob_is_claimed_in_its_own_tenant_only,
            blobs::a_commit_names_blobs_in_its_tenant_only,
            blobs::only_blobs_still_unnamed_and_unclaimed_are_collected,
            blobs::old_uploads_are_listed_oldest_first_and_deleted,
            quotas::a_tenants_own_quotas_are_replaced_whole,
            quotas::usage_counts_stored_blobs_and_open_uploads_per_tenant_and_user,
            positions::a_position_is_kept_per_user_and_throttled_by_server_time,
            positions::only_the_tenants_technicians_are_listed,
            configs::configurations_are_versioned_per_tenant_with_who_and_when,
            configs::a_configuration_for_an_unknown_tenant_is_refused,
            erasure::a_rewrite_replaces_a_tickets_history_and_keeps_only_the_old_hashes,
            erasure::a_rewrite_of_a_moved_or_unknown_ticket_stores_nothing,
            erasure::erasures_are_logged_per_ticket_and_tenant_newest_first,
            erasure::a_rewrite_unnames_its_tickets_erased_photos_only,
            webhooks::deliveries_are_due_in_order_and_recorded_until_delivered_or_given_up,
            webhooks::a_tenants_webhook_secret_is_made_once_and_rotated,
            brain_memory::the_brains_memory_is_replaced_per_ticket_and_kept_per_tenant,
            brain_memory::memory_for_an_unknown_tenant_is_refused,
            web_sessions::a_session_lives_until_it_idles_out_ends_or_is_revoked,
            web_sessions::a_session_for_a_user_of_another_tenant_or_nobody_is_refused,
            web_sessions::a_password_change_ends_the_other_sessions,
            web_sessions::disabling_a_user_stops_every_token_and_session_at_once,
            ticket_list::tickets_are_filtered_sorted_and_paged_within_their_tenant,
            ticket_list::text_is_found_in_english_and_chinese_and_internal_notes_by_staff_only,
            ticket_list::tickets_stored_before_listings_are_filled_in_once,
            ticket_list::changed_tickets_are_found_by_their_newest_change_within_their_tenant,
            ticket_list::text_left_for_the_index_is_found_by_every_search_and_an_erasure_indexes_at_once,
            ticket_list::a_notes_terms_follow_the_tickets_waiting_or_indexed_until_all_its_terms_replace_them,
            audit::the_audit_log_names_who_and_how_newest_first_per_tenant,
            report_facts::facts_are_stale_until_they_catch_up_and_the_newer_read_wins,
            report_facts::a_period_finds_what_was_open_or_created_in_it_within_its_tenant,
            csat_links::a_link_is_used_once_before_it_expires_and_a_newer_one_ends_it,
            channels::channels_are_found_by_id_and_token_and_revoked_once,
            assets::a_register_is_kept_per_tenant_replaced_by_serial_and_searched,
            knowledge::an_article_keeps_its_versions_and_publishing_moves_the_sequence,
            knowledge::articles_changed_since_a_sequence_come_in_order_per_tenant,
            channels::a_receipt_stands_for_its_key,
            channels::contacts_and_messages_find_their_tickets,
            channels::alerts_fold_into_one_open_ticket_per_asset_counted_once,
            saved_views::views_are_a_users_own_by_name_replaced_by_name_and_capped,
            concurrency::parallel_commits_get_unique_gap_free_seqs_and_a_pull_misses_none,
            concurrency::parallel_device_registrations_never_overshoot_the_cap,
        );
    };
    (@each $fresh:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let store: $crate::storage::conformance::TestStore = $fresh;
                $crate::storage::conformance::$module::$name(&store);
            }
        )*
    };
}

/// A tenant named `name` (its id is derived from the name).
pub fn tenant(store: &dyn ServerStore, name: &str) -> TenantRecord {
    let tenant = TenantRecord {
        id: format!("tenant-{name}"),
        name: name.to_owned(),
    };
    store.create_tenant(&tenant, 1).unwrap();
    tenant
}

/// A user of `tenant` with `role`, no password, no token.
pub fn user(store: &dyn ServerStore, tenant: &TenantRecord, name: &str, role: Role) -> UserRecord {
    let user = UserRecord {
        id: format!("{}-{name}", tenant.id),
        tenant_id: tenant.id.clone(),
        name: name.to_owned(),
        role,
        team: None,
        skills: Vec::new(),
        disabled: false,
    };
    store.create_user(&user, None, None, 1).unwrap();
    user
}

/// A device token record for `user` (the store fills in the device id).
pub fn device_token(user: &UserRecord, hash: &str, at: i64) -> TokenRecord {
    TokenRecord {
        hash: hash.to_owned(),
        kind: TokenKind::Device,
        user_id: user.id.clone(),
        device_id: None,
        created_at: at,
    }
}

/// A device record of `user` with Automerge actor `actor` (hex).
pub fn device_record(user: &UserRecord, id: &str, actor: &str) -> DeviceRecord {
    DeviceRecord {
        id: id.to_owned(),
        user_id: user.id.clone(),
        tenant_id: user.tenant_id.clone(),
        actor_id: actor.to_owned(),
        name: format!("phone {id}"),
    }
}

/// Registers a device of `user` under a generous cap.
pub fn device(store: &dyn ServerStore, user: &UserRecord, id: &str, actor: &str) -> DeviceRecord {
    let token = device_token(user, &format!("token-{id}"), 1);
    store
        .register_device(&device_record(user, id, actor), &token, 100)
        .unwrap()
}

/// An opaque stored change: the store never reads the bytes.
pub fn change(ticket_id: &str, hash: &str) -> NewChange {
    NewChange {
        ticket_id: ticket_id.to_owned(),
        part: Part::Public,
        hash: hash.to_owned(),
        actor_id: "aa".to_owned(),
        bytes: hash.as_bytes().to_vec(),
        times: None,
    }
}

/// The index row and document of a ticket reported by `reporter`.
pub fn ticket(id: &str, reporter: &str, expected_last_seq: Option<u64>) -> TicketWrite {
    TicketWrite {
        id: id.to_owned(),
        expected_last_seq,
        number: None,
        reporter_id: reporter.to_owned(),
        assignee: None,
        team: None,
        status: "new".to_owned(),
        people: vec![reporter.to_owned()],
        snapshot: Some(format!("doc of {id} after {expected_last_seq:?}").into_bytes()),
        summary: None,
        staff_snapshot: None,
        staff_people: None,
        last_effective_at: None,
        category: None,
        created_at: None,
        listing: None,
        staff_listing: None,
    }
}

/// A commit of `changes` with `tickets` written, by no device.
pub fn commit(
    tenant: &TenantRecord,
    tickets: Vec<TicketWrite>,
    changes: Vec<NewChange>,
) -> TicketCommit {
    TicketCommit {
        tenant_id: tenant.id.clone(),
        device_id: None,
        received_at: 1,
        changes,
        tickets,
        numbers: None,
        held_by_device: Vec::new(),
        blob_refs: Vec::new(),
    }
}

/// Creates ticket `id` with one change `hash`; returns its seq.
pub fn create_ticket(
    store: &dyn ServerStore,
    tenant: &TenantRecord,
    id: &str,
    reporter: &str,
    hash: &str,
) -> u64 {
    let seqs = store
        .commit(&commit(
            tenant,
            vec![ticket(id, reporter, None)],
            vec![change(id, hash)],
        ))
        .unwrap();
    seqs[0]
}
