// Runs one module's JavaScript / TypeScript seeds, in order, in ONE interactive transaction of
// the repository's generated Prisma Client: each file exports `seed(prisma)` (or a default
// function) and is handed the transaction client, so a throw anywhere rolls back every file of
// the module, as a SQL or Python seed's error does. The transaction client has no $transaction
// or $disconnect; raw SQL that ends the transaction (`$executeRaw\`COMMIT\``) is NOT refused
// here, unlike in SQL and Python seeds (seeding/guard.py): do not write one.
//
//   node run-seeds.mjs <client entry or package name> <seed file>...
//
// On failure the last stderr line is `prisma-tasks-seed-failure: {"file": ..., "error": ...}`.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [clientEntry, ...files] = process.argv.slice(2);
const fromRoot = createRequire(path.join(process.cwd(), "package.json"));
let current = null;

function fail(error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`prisma-tasks-seed-failure: ${JSON.stringify({ file: current, error: message })}`);
  process.exitCode = 1;
}

let prisma;
try {
  const resolved = path.isAbsolute(clientEntry) ? clientEntry : fromRoot.resolve(clientEntry);
  const { PrismaClient } = await import(pathToFileURL(resolved).href);
  prisma = new PrismaClient();
  const timeout = Number(process.env.PRISMA_TASKS_SEED_TIMEOUT_MS || 600000);
  await prisma.$transaction(
    async (tx) => {
      for (const file of files) {
        current = file;
        const module = await import(pathToFileURL(file).href);
        const seed = typeof module.seed === "function" ? module.seed : module.default;
        if (typeof seed !== "function") {
          throw new Error("exports no seed function: `export async function seed(prisma) { ... }`");
        }
        await seed(tx);
      }
      current = null;
    },
    { timeout, maxWait: 60000 },
  );
} catch (error) {
  fail(error);
} finally {
  await prisma?.$disconnect();
}
