//! archive (being built).
