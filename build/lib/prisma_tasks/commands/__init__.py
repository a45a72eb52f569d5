"""The verbs behind the invoke tasks and nox sessions; the one layer that combines the Prisma CLI,
databases, seeding and tenancy (migrate, status, reset, the gate, doctor, watch).
"""
