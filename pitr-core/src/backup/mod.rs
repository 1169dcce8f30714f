//! backup (being built).
