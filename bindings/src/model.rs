//! The closed vocabularies (kind, channel, priority, status, role, …) as FFI enums, each the
//! mirror of its core type, converted both ways with no logic.

use fieldwork_core::model as core;
use fieldwork_core::store::{ChangeOrigin as CoreOrigin, SortBy as CoreSort};
use fieldwork_core::sync::SyncState as CoreSyncState;
use fieldwork_protocol::blobs::BlobKind as CoreBlobKind;

/// Declares an FFI enum with the same unit variants as a core enum, and `From` both ways, so a
/// variant added in the core is a compile error here until it is mirrored.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident = $core:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as Core;
                match value { $(Core::$variant => $name::$variant),+ }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as Core;
                match value { $($name::$variant => Core::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// What a ticket is about; decides who may create it.
    TicketKind = core::TicketKind { HelpRequest, Repair, FaultReport, Complaint, Inquiry, Alert }
);

mirror_enum!(
    /// Where a ticket came in.
    Channel = core::Channel { App, Web, Email, Phone, Iot, Api }
);

mirror_enum!(
    /// How urgent a ticket is, from least to most urgent.
    Priority = core::Priority { Low, Normal, High, Urgent }
);

mirror_enum!(
    /// Where a ticket stands in the workflow.
    Status = core::Status {
        New, Assigned, Accepted, EnRoute, OnSite, InProgress, AwaitingParts, AwaitingCustomer,
        Resolved, Closed, Cancelled, Reopened,
    }
);

mirror_enum!(
    /// What a user may see and do inside their tenant.
    Role = core::Role { Rider, Merchant, Technician, Agent, Dispatcher, Supervisor, Admin }
);

mirror_enum!(
    /// How a ticket list is ordered.
    SortBy = CoreSort {
        /// Most recently changed first.
        Updated,
        /// Soonest SLA deadline first; tickets without one last.
        SlaDue,
        /// Most urgent first, then most recently changed.
        Priority,
    }
);

mirror_enum!(
    /// Who a knowledge-base article is for.
    KbAudience = fieldwork_core::knowledge::KbAudience {
        /// Everyone of the tenant (riders and merchants too).
        Everyone,
        /// Technicians and the back office only (internal).
        Staff,
        /// A value this app version does not know (from a newer server).
        Unknown,
    }
);

mirror_enum!(
    /// Where a change to tickets came from.
    ChangeOrigin = CoreOrigin {
        /// An edit made on this device.
        Local,
        /// Pulled from the server or imported from a bundle.
        Remote,
    }
);

mirror_enum!(
    /// What sync is doing, for a status line.
    SyncState = CoreSyncState {
        Idle,
        Syncing,
        /// The server cannot be reached or the OS reports no network; changes stay queued.
        Offline,
        /// The last attempt failed for another reason (see `SyncStatus.last_error`).
        Error,
    }
);

mirror_enum!(
    /// Which of an attachment's two files a photo file is.
    BlobKind = CoreBlobKind {
        /// The thumbnail (long edge ≤ 320 px): uploaded first, downloaded with the ticket.
        Thumb,
        /// The stored image (long edge ≤ 1920 px by default): uploaded after the thumbnail,
        /// downloaded only when asked for (`fetch_photo`).
        Full,
    }
);

/// The statuses a ticket may move to from `from` by a status change (assignment and release move
/// in and out of `assigned`/`new` through `assign`), so a UI offers only valid buttons. Whether
/// this user's role may make the move is decided when the change is made.
#[uniffi::export]
pub fn next_statuses(from: Status) -> Vec<Status> {
    fieldwork_core::rules::workflow::next_statuses(from.into())
        .iter()
        .map(|s| (*s).into())
        .collect()
}
