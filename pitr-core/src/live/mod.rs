//! live (being built).
