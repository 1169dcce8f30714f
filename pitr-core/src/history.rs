//! history (being built).
