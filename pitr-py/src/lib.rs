//! Python module `pitr` (being built).
