"""Drive the Prisma CLI pinned in the repository's package.json, with or without native engines."""
