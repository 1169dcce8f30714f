//! control (being built).
