//! Throwaway real PostgreSQL clusters for tests (being built).
