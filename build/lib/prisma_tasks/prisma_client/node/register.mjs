// Entry point for `node --import <this file>` (or NODE_OPTIONS="--import <this file>"): lets the
// Prisma Client generated with the driverAdapters preview feature query through Prisma 6.7's
// WebAssembly query engine, with no native engine. See client.cjs for what it changes.
import { createRequire, register } from "node:module";

register("./hooks.mjs", import.meta.url);
createRequire(import.meta.url)("./client.cjs").install();
