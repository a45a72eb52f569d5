"""prisma-tasks: invoke tasks and nox sessions for Prisma monorepos with module-local schemas."""

__version__ = "0.1.0"
