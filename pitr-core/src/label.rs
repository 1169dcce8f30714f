//! label (being built).
