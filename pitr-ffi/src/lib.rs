//! C ABI of pitr (being built).
