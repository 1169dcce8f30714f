//! conf (being built).
