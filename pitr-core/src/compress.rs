//! compress (being built).
