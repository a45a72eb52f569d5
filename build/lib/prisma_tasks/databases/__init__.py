"""Throwaway and template databases: PostgreSQL (a server or a local cluster) and SQLite."""
