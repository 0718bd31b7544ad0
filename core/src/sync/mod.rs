//! Sync with the Fieldwork server: the protocol's wire types ([`protocol`]).
pub mod protocol;
