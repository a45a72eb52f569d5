"""The one database layer: a connection over PostgreSQL (psycopg) or SQLite, quoting, and all
parsing and rewriting of Prisma database URLs. Imports nothing else of the package but errors.
"""
