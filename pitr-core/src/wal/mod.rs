//! WAL reading: pages, records, CRC, decoders, scanning. (Being built.)

/// Error reading WAL. (Placeholder until the reader lands.)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WalError(pub String);
