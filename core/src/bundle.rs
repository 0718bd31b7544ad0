//! Change bundles: a file of Automerge changes that moves work between devices with no server
//! (and gives support a diagnostic copy). Encoding and decoding only; no I/O.
//!
//! Layout: the 8-byte magic `FWBNDL01`, a CBOR body ([`Bundle`]), and the sha256 of the body.
//! The checksum turns any truncation or bit flip into one clear error before anything is applied.

use serde::{Deserialize, Serialize};
pub use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"FWBNDL01";
const CHECKSUM_LEN: usize = 32;
/// The body format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The changes of some tickets, as exported by one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: u32,
    pub tenant: String,
    /// Device time of the export, milliseconds since the Unix epoch.
    pub exported_at: i64,
    /// The exporting store's change sequence at export time: pass it as `since` next time.
    pub until_seq: i64,
    pub tickets: Vec<BundleTicket>,
}

/// All changes of one ticket, each in Automerge's binary change format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleTicket {
    pub id: String,
    /// The changes of the ticket's public document. CBOR byte strings, not arrays of integers:
    /// a third of the size.
    pub changes: Vec<ByteBuf>,
    /// The changes of its staff document: only in a bundle a staff user exported with staff
    /// data for another staff device (`TicketStore::export_with_staff`); absent otherwise, and
    /// never kept by a device whose user does not read staff data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staff: Vec<ByteBuf>,
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a Fieldwork bundle (the file does not start with the bundle header)")]
    NotABundle,
    #[error(
        "the bundle is corrupt or truncated (its checksum does not match); ask for a new export"
    )]
    Corrupt,
    #[error("the bundle is in format {0}, which this app version cannot read; update the app")]
    UnsupportedFormat(u32),
    #[error("the bundle's contents cannot be decoded: {0}")]
    Malformed(String),
}

impl Bundle {
    /// Serialises the bundle with header and checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        ciborium::into_writer(self, &mut body)
            .expect("CBOR encoding into a Vec cannot fail for plain structs");
        let mut out = Vec::with_capacity(MAGIC.len() + body.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&body);
        out.extend_from_slice(&Sha256::digest(&body));
        out
    }

    /// Checks header and checksum, then decodes the body.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(BundleError::NotABundle);
        }
        if bytes.len() < MAGIC.len() + CHECKSUM_LEN {
            return Err(BundleError::Corrupt);
        }
        let (body, checksum) =
            bytes[MAGIC.len()..].split_at(bytes.len() - MAGIC.len() - CHECKSUM_LEN);
        if Sha256::digest(body).as_slice() != checksum {
            return Err(BundleError::Corrupt);
        }
        let bundle: Bundle =
            ciborium::from_reader(body).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if bundle.format != FORMAT {
            return Err(BundleError::UnsupportedFormat(bundle.format));
        }
        Ok(bundle)
    }

    /// How many changes the bundle carries in all.
    pub fn change_count(&self) -> usize {
        self.tickets
            .iter()
            .map(|t| t.changes.len() + t.staff.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            format: FORMAT,
            tenant: "acme".into(),
            exported_at: 1,
            until_seq: 7,
            tickets: vec![BundleTicket {
                id: "t".into(),
                changes: vec![ByteBuf::from(vec![1, 2, 3]), ByteBuf::from(vec![4])],
                staff: Vec::new(),
            }],
        }
    }

    #[test]
    fn round_trips() {
        let bytes = sample().encode();
        assert_eq!(Bundle::decode(&bytes).expect("decodes"), sample());
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_caught() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(
                Bundle::decode(&bytes[..len]).is_err(),
                "truncated to {len} accepted"
            );
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(Bundle::decode(&flipped).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn other_files_are_named_as_such() {
        assert!(matches!(
            Bundle::decode(b"hello world"),
            Err(BundleError::NotABundle)
        ));
        let mut future = sample();
        future.format = 2;
        assert!(matches!(
            Bundle::decode(&future.encode()),
            Err(BundleError::UnsupportedFormat(2))
        ));
    }
}
