"use strict";
// Makes `new PrismaClient()` query with no native engine (prisma-tasks' wasm mode).
//
// Prisma 6.7 ships a WebAssembly query engine, but only the client's `wasm.js` build uses it, and
// only with a driver adapter. Application code imports the normal entry (`@prisma/client`,
// `<output>/index.js`), which loads the native library. When this hook is installed, loading a
// generated client's `index.js` / `default.js` yields its `wasm.js` build instead, with a
// PrismaClient that builds the driver adapter for the datasource URL when it is given none.
// Everything else the client exports (Prisma namespace, enums, errors) is the wasm build's own.
//
// Facts this relies on (Prisma 6.7.0, checked): a generated client folder has a package.json
// named `prisma-client-<hash>`; only with previewFeatures = ["driverAdapters"] is its `wasm.js`
// the wasm build (otherwise a browser stub) with the engine (`query_engine_bg.wasm`) beside it;
// that build's `const config = {...}` is JSON (provider, datasource variable, schema folder).
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");

const ENTRY_FILES = new Set(["index.js", "default.js"]);
const loaded = new Map();

// The engine arms a timer per interactive transaction and never clears it, so Node stayed alive
// ~5 s after `$disconnect()`. Timers armed from WebAssembly frames are unref'd: they still fire
// while the process has other work, but no longer keep it alive.
function unrefWasmTimers() {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = function setTimeout(fn, ms, ...args) {
    const timer = realSetTimeout(fn, ms, ...args);
    if ((ms ?? 0) >= 1000 && typeof timer?.unref === "function" && /wasm:\/\//.test(new Error().stack ?? "")) {
      timer.unref();
    }
    return timer;
  };
  // util.promisify(setTimeout) and timers/promises users read these (promisify.custom)
  for (const key of Reflect.ownKeys(realSetTimeout)) {
    if (typeof key === "symbol") Object.defineProperty(globalThis.setTimeout, key, Object.getOwnPropertyDescriptor(realSetTimeout, key));
  }
}

function generatedClientDir(filename) {
  if (!ENTRY_FILES.has(path.basename(filename))) return null;
  const dir = path.dirname(filename);
  if (loaded.has(dir)) return dir;
  try {
    const { name } = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    return typeof name === "string" && name.startsWith("prisma-client-") ? dir : null;
  } catch {
    return null;
  }
}

function readConfig(file) {
  const source = fs.readFileSync(file, "utf8");
  const start = source.indexOf("const config = ");
  const end = source.indexOf("\nconfig.dirname", start);
  if (start < 0 || end < 0) throw new Error(`prisma-tasks: cannot read the client config in ${file}`);
  return JSON.parse(source.slice(start + "const config = ".length, end));
}

function loadClient(dir, compileOriginal) {
  if (loaded.has(dir)) return loaded.get(dir);
  const wasmEntry = path.join(dir, "wasm.js");
  // Without the preview feature `wasm.js` is a browser stub and no engine is written beside it.
  if (!fs.existsSync(path.join(dir, "query_engine_bg.wasm"))) {
    throw new Error(
      `prisma-tasks: the Prisma Client in ${dir} cannot query here: it was generated without ` +
        'previewFeatures = ["driverAdapters"] and no native query engine is installed. Add that ' +
        "line to the generator block of base.prisma (the `base_schema` file, prisma/base.prisma by " +
        "default) and run `invoke prisma.generate`.",
    );
  }
  const config = readConfig(wasmEntry);
  if ((config.generator?.previewFeatures ?? []).includes("queryCompiler")) {
    process.emitWarning(
      "prisma-tasks: this client was generated with the queryCompiler preview, which returned " +
        "wrong results in Prisma 6.7 (dates, counts, errors); it is left as generated",
    );
    const result = compileOriginal();
    loaded.set(dir, result);
    return result;
  }
  const wasm = require(wasmEntry);
  const requireFromClient = Module.createRequire(path.join(dir, "package.json"));
  class PrismaClient extends wasm.PrismaClient {
    constructor(options = {}) {
      super(options.adapter ? options : withAdapter(options, config, dir, requireFromClient));
    }
  }
  const exports = { ...wasm, PrismaClient };
  loaded.set(dir, exports);
  return exports;
}

function withAdapter(options, config, dir, requireFromClient) {
  const { datasourceUrl, datasources, ...rest } = options;
  const [datasourceName] = config.datasourceNames ?? ["db"];
  const inline = config.inlineDatasources?.[datasourceName]?.url ?? {};
  const variable = inline.fromEnvVar;
  const url =
    datasourceUrl ??
    datasources?.[datasourceName]?.url ??
    (variable ? workerValue(variable) ?? process.env[variable] ?? fromDotEnv(variable, config, dir) : inline.value);
  if (!url) {
    throw new Error(`prisma-tasks: ${variable ?? "the datasource url"} is not set`);
  }
  return { ...rest, adapter: adapterFor(config.activeProvider, url, schemaDir(config, dir), requireFromClient) };
}

// `invoke db.run --workers N` gives each test worker its own database: `<variable>_<k>`, for the
// worker number the runner sets (vitest's VITEST_POOL_ID, jest's JEST_WORKER_ID; both 1-based).
// Read when the client is constructed, after the runner has numbered its worker.
function workerValue(variable) {
  const workers = Number(process.env.PRISMA_TASKS_WORKERS || 0);
  const id = Number(process.env.VITEST_POOL_ID || process.env.JEST_WORKER_ID || 0);
  if (!workers || !id) return undefined;
  if (id > workers) {
    throw new Error(
      `prisma-tasks: test worker ${id} has no database of its own: db.run made ${workers}; ` +
        `run it with --workers ${id} or more, or give the runner at most ${workers} workers`,
    );
  }
  return process.env[`${variable}_${id}`];
}

function schemaDir(config, dir) {
  return path.resolve(dir, config.relativePath ?? ".");
}

// Native Prisma reads a `.env` beside the schema or at the project root when the variable is
// unset; the wasm build does not. Plain KEY=VALUE lines, optional quotes; no expansion.
function fromDotEnv(variable, config, dir) {
  for (const folder of [schemaDir(config, dir), process.cwd()]) {
    let text;
    try {
      text = fs.readFileSync(path.join(folder, ".env"), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split(/\r?\n/)) {
      const match = line.match(/^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/);
      if (match?.[1] !== variable) continue;
      const value = match[2];
      const quoted = value.match(/^(["'])(.*)\1$/);
      return quoted ? quoted[2] : value.replace(/\s+#.*$/, "");
    }
  }
  return undefined;
}

// The adapter packages are looked up from the generated client, then from the schema's folder
// (the package that depends on Prisma), then from the working directory. With pnpm's
// `hoist=false` the client (inside node_modules/.pnpm) sees only its own dependencies, so the
// adapters a workspace package such as packages/db depends on are found only from there.
function requireAdapterPackage(name, requireFromClient, schemaFolder) {
  const lookups = [requireFromClient, ...[schemaFolder, process.cwd()].map((folder) => Module.createRequire(path.join(folder, "noop.js")))];
  for (const lookup of lookups) {
    try {
      return lookup(name);
    } catch (error) {
      if (error?.code !== "MODULE_NOT_FOUND" || !String(error.message).includes(`'${name}'`)) throw error;
    }
  }
  return undefined;
}

function adapterFor(provider, url, schemaFolder, requireFromClient) {
  const load = (name) => {
    const loaded = requireAdapterPackage(name, requireFromClient, schemaFolder);
    if (loaded === undefined) {
      throw new Error(`prisma-tasks: the ${provider} driver adapter needs the npm package ${name}; install it`);
    }
    return loaded;
  };
  if (provider === "postgresql" || provider === "postgres") {
    const { PrismaPg } = load("@prisma/adapter-pg");
    load("pg");
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      // URL's own error quotes its input, password included
      throw new Error("prisma-tasks: the datasource URL cannot be parsed as a URL (shown nowhere: it may hold a password)");
    }
    const schema = parsed.searchParams.get("schema") || undefined;
    parsed.searchParams.delete("schema"); // a Prisma parameter; pg would send it to the server
    // allowExitOnIdle: like the native engine, an idle pool does not keep Node alive.
    const pool = { connectionString: parsed.toString(), allowExitOnIdle: true };
    // adapter-pg 6.7 ignores ?schema= for queries; native Prisma sets the search_path to it.
    if (schema) pool.options = `-c search_path=${`"${schema.replace(/"/g, '""')}"`.replace(/[\\\s]/g, (c) => `\\${c}`)}`;
    return new PrismaPg(pool, schema ? { schema } : undefined);
  }
  if (provider === "sqlite") {
    const { PrismaLibSQL } = load("@prisma/adapter-libsql");
    load("@libsql/client");
    const file = url.replace(/^file:/, "").replace(/\?.*$/, "");
    // Native Prisma resolves a relative SQLite path against the schema folder, libsql against
    // the working directory: resolve it the native way.
    const absolute = path.isAbsolute(file) ? file : path.resolve(schemaFolder, file);
    return new PrismaLibSQL({ url: `file:${absolute}` });
  }
  throw new Error(
    `prisma-tasks: Prisma 6.7 has no driver adapter for the ${provider} provider, so its client ` +
      "cannot query without native engines (wasm mode supports postgresql and sqlite)",
  );
}

function install() {
  if (globalThis.__prismaTasksClientHook) return;
  globalThis.__prismaTasksClientHook = true;
  unrefWasmTimers();
  // At Module.prototype.load, where a module object is filled from its file: every require
  // and every ESM import of a CommonJS file passes here with the resolved filename, also when
  // a loader such as tsx replaces the `.js` extension handler with its own compiler.
  const load = Module.prototype.load;
  Module.prototype.load = function prismaTasksLoad(filename) {
    const dir = typeof filename === "string" ? generatedClientDir(filename) : null;
    if (dir === null) return load.call(this, filename);
    this.filename = filename;
    this.paths = Module._nodeModulePaths(path.dirname(filename));
    this.exports = loadClient(dir, () => {
      load.call(this, filename);
      return this.exports;
    });
    this.loaded = true;
  };
}

module.exports = { install, adapterFor };
