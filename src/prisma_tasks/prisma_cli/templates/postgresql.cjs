const { readFileSync } = require("node:fs");
const { constants: osConstants } = require("node:os");
const { PrismaPg } = require("@prisma/adapter-pg");
const pg = require("pg");

// adapter-pg 6.7 cannot deserialize the `char` (oid 18) and `name` (oid 19) columns that the
// schema engine's catalog queries return. Native Prisma reads `name` as text and `char` as a
// one-character value: reporting `char` as text crashed the engine (`RuntimeError:
// unreachable`) on the first CHECK or exclusion constraint, whose `contype` it reads as a char.
// So: `name` is reported as `text` (oid 25) before the adapter sees it, and `char` columns are
// reported as text too but remembered, and retyped to the adapter's Character column type in
// the adapter's result (keyed by the rows array, which the adapter passes through unchanged).
const CHARACTER_COLUMN = 6; // ColumnTypeEnum.Character of @prisma/driver-adapter-utils 6.7
const charColumnsOf = new WeakMap();
const retype = (result) => {
  for (const r of Array.isArray(result) ? result : [result]) {
    const chars = [];
    (r?.fields ?? []).forEach((field, index) => {
      if (field.dataTypeID === 18) chars.push(index);
      if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
    });
    if (chars.length && Array.isArray(r.rows)) charColumnsOf.set(r.rows, chars);
  }
  return result;
};
class RetypingClient extends pg.Client {
  query(config, values, callback) {
    if (typeof values === "function") {
      callback = values;
      values = undefined;
    }
    if (typeof callback === "function") {
      return super.query(config, values, (err, res) => callback(err, err ? res : retype(res)));
    }
    const out = super.query(config, values);
    return out && typeof out.then === "function" ? out.then(retype) : out;
  }
}
function withCharacterColumns(queryable) {
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const index of charColumnsOf.get(result.rows) ?? []) result.columnTypes[index] = CHARACTER_COLUMN;
    return result;
  };
  const startTransaction = queryable.startTransaction?.bind(queryable);
  if (startTransaction) {
    queryable.startTransaction = async (...args) => withCharacterColumns(await startTransaction(...args));
  }
  return queryable;
}

// adapter-pg 6.7's executeScript() splits a migration on every `;` and sends the pieces one by
// one through its pool: a `;` inside a function body, DO block, comment, string, identifier or
// default broke the migration, and a failing statement left the ones before it applied. Native
// Prisma sends the whole script as one simple-protocol query: PostgreSQL's own parser finds
// the statements and runs them in one implicit transaction (all or nothing, unless the script
// has its own BEGIN/COMMIT, or a statement that cannot run in a transaction, as with native).
// The shadow replay of `migrate diff` used executeRaw instead; both now come here, so a history
// that cannot be deployed cannot pass the drift check either.
function wholeScripts(adapter) {
  const runScript = async (script) => {
    try {
      return await adapter.client.query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  adapter.executeScript = async (script) => {
    await runScript(script);
  };
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    if (query.args?.length) return executeRaw(query);
    const result = await runScript(query.sql);
    return (Array.isArray(result) ? result.at(-1) : result)?.rowCount ?? 0;
  };
  return withCharacterColumns(adapter);
}

// adapter-pg 6.7 only reports `?schema=` to the schema engine (as the schema it inspects); its
// connections keep the server's default search_path, so `migrate deploy` wrote every table and
// _prisma_migrations into `public`. Native Prisma sets search_path to the schema alone: so do we,
// as a startup option (each pooled connection, shadow included, gets it before any statement).
function searchPathOption(schema) {
  const quoted = `"${schema.replace(/"/g, '""')}"`;
  // libpq-style options: a backslash escapes whitespace and itself.
  return `-c search_path=${quoted.replace(/[\\\s]/g, (c) => `\\${c}`)}`;
}

function connectionFields(url) {
  const u = new URL(url);
  const schema = u.searchParams.get("schema") || undefined;
  return {
    host: decodeURIComponent(u.hostname),
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
    schema,
    ...(schema ? { options: searchPathOption(schema) } : {}),
  };
}

// Native Prisma runs migrate commands through `directUrl` when the datasource has one (the
// `url` is often a pooler that cannot run DDL); prisma-tasks passes its value here.
function migrateUrl(env) {
  return env.PRISMA_TASKS_DIRECT_URL || requireUrl(env);
}

function adapterFactory(env) {
  const { schema, ...connection } = connectionFields(migrateUrl(env));
  const options = schema ? { schema } : undefined;
  // allowExitOnIdle: `migrate diff` never ends its pool; without this Node waits for pg's idle timeout.
  const base = { ...connection, Client: RetypingClient, allowExitOnIdle: true };
  const factory = new PrismaPg(base, options);
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = wholeScripts(await connect());
    // The gate's diff on its handed throwaway (common.cjs scratchOnly): connected (the pool
    // connects lazily, so a test's fault opens one connection first), nothing applied yet.
    if (process.env.PRISMA_TASKS_DIFF_ON_HANDED === "1" && process.env.PRISMA_TASKS_FAULT?.includes("handed:connected")) {
      await adapter.client.query("SELECT 1");
      await faultPoint("handed:connected");
    }
    return adapter;
  };
  // adapter-pg's own shadow spreads {...config, database} but a connectionString would win, so its
  // "shadow" was the main database; and it dropped the shadow while its pool was still connected.
  // Here: a real separate database, dropped WITH (FORCE) after the pool's sockets have closed,
  // or at once on SIGINT/SIGTERM/SIGHUP, and named after this process (see shadowName).
  factory.connectToShadowDb = async () => {
    const name = shadowName(env);
    const admin = new pg.Client(connection);
    await admin.connect();
    let dropping;
    const drop = () => (dropping ??= admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    // Tracked before CREATE is sent: a signal now queues the DROP behind it on this client.
    trackShadow(name, drop);
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      untrackShadow(name);
      await admin.end();
      throw error;
    }
    await faultPoint("shadow:created");
    const shadow = wholeScripts(await new PrismaPg({ ...base, database: name }, options).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      const pool = shadow.client;
      pool.on("error", () => {});
      const open = pool.totalCount;
      const closed = new Promise((resolve) => {
        let removed = 0;
        if (open === 0) return resolve();
        pool.on("remove", () => {
          if (++removed >= open) resolve();
        });
        setTimeout(resolve, 5000).unref();
      });
      try {
        await dispose();
        await closed;
      } finally {
        try {
          await drop();
        } finally {
          untrackShadow(name);
          await admin.end();
        }
      }
    };
    return shadow;
  };
  return factory;
}

// Shadow (and diff-mode scratch) databases are named prisma_shadow_<tag>_<pid>_<start>_<random>:
// prisma-tasks passes the prefix up to the tag (this host and pid namespace); pid and start time
// (clock ticks since boot, /proc/self/stat field 22) are this process's. Whoever finds such a
// database whose process is gone, or whose pid now belongs to a process started at another
// time, knows nobody uses it and drops it (prisma_tasks/databases/shadows.py); a live one is
// never touched.
function shadowName(env) {
  const given = env.PRISMA_TASKS_SHADOW_PREFIX ?? process.env.PRISMA_TASKS_SHADOW_PREFIX;
  const prefix = /^[a-z0-9_]{1,40}$/.test(given ?? "") ? given : "prisma_shadow_";
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return `${prefix}${process.pid}_${processStartTime()}_${random}`;
}

function processStartTime() {
  try {
    const stat = readFileSync("/proc/self/stat", "ascii");
    return stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\s+/)[19] ?? "u";
  } catch {
    return "u"; // no /proc: the reaper then judges by the pid alone
  }
}

// While a shadow exists, SIGINT (Ctrl-C), SIGTERM (what prisma-tasks forwards when it is
// interrupted) and SIGHUP drop it before the process exits with 128 + the signal's number;
// with none, the handlers are off and the signals do what they did before.
const liveShadows = new Map();
const TERMINATING = ["SIGINT", "SIGTERM", "SIGHUP"];
let terminating = false;

function onTerminatingSignal(signal) {
  if (terminating) return;
  terminating = true;
  const exit = () => process.exit(128 + (osConstants.signals[signal] ?? 15));
  setTimeout(exit, 10000); // a server that does not answer must not keep us
  Promise.allSettled([...liveShadows.values()].map((drop) => drop())).then(exit, exit);
}

function trackShadow(name, drop) {
  if (liveShadows.size === 0) for (const signal of TERMINATING) process.on(signal, onTerminatingSignal);
  liveShadows.set(name, drop);
}

function untrackShadow(name) {
  liveShadows.delete(name);
  if (liveShadows.size === 0 && !terminating) {
    for (const signal of TERMINATING) process.off(signal, onTerminatingSignal);
  }
}

// Crash-test hook, as prisma_tasks.fsutil.fault_point: with PRISMA_TASKS_FAULT=<point> (several:
// comma-separated) the process dies here by SIGKILL, cleaning up nothing; with <point>:hold it
// waits here for ever, so a test can signal it at exactly this point.
async function faultPoint(point) {
  const points = (process.env.PRISMA_TASKS_FAULT ?? "").split(",");
  if (points.includes(point)) process.kill(process.pid, "SIGKILL");
  if (points.includes(`${point}:hold`)) await new Promise(() => setInterval(() => {}, 60000));
}
