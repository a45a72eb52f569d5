// The wasm schema engine arms a 10 s advisory-lock timer on deploy and reset and never clears
// it, so Node stayed alive ~10 s after every command. Long timers armed from WebAssembly are
// unref'd: they still fire while the process has other work, but no longer keep it alive.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function (fn, ms, ...args) {
  const timer = realSetTimeout(fn, ms, ...args);
  if ((ms ?? 0) >= 5000 && timer && typeof timer.unref === "function" && /wasm:\/\//.test(new Error().stack ?? "")) {
    timer.unref();
  }
  return timer;
};

function requireUrl(env) {
  const url = env.DATABASE_URL;
  if (!url) {
    throw new Error("DATABASE_URL is not set (Prisma does not read .env when a config file is used)");
  }
  return url;
}

// Drift the way `prisma.deploy` sees it. 6.7's `migrate diff --from-migrations` replays the
// history on a shadow database through a different adapter call than deploy (executeRaw, not
// executeScript) and then describes that shadow WITHOUT the schema's preview features, so
// `extensions = [...]` (postgresqlExtensions) and multiSchema namespaces are normalised away
// and every diff reports them as missing. With PRISMA_TASKS_DIFF_VIA_DEPLOY=1 (set by
// prisma-tasks, never by hand) the engine's `diff` call is rewritten: the history is applied
// with the engine's own `applyMigrations` (the code path of `migrate deploy`) to a scratch
// database, and the diff is taken from that database with the schema's preview features and
// namespaces (the engine's `schemaDatasource` target, as native `--from-schema-datasource`).
// The engine's JS glue is reached through the WebAssembly.Instance it is instantiated with.
const scratchDatabases = [];
const RealWasmInstance = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(RealWasmInstance, {
  construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget);
    const glue = args[1]?.["./schema_engine_bg.js"];
    if (glue?.SchemaEngine && process.env.PRISMA_TASKS_DIFF_VIA_DEPLOY === "1") {
      patchDiff(glue.SchemaEngine.prototype);
    }
    return instance;
  },
});

function patchDiff(proto) {
  if (proto.diff.prismaTasksPatched) return;
  const diff = proto.diff;
  proto.diff = async function (params) {
    if (params?.from?.tag !== "migrations" || params?.to?.tag !== "schemaDatamodel") {
      return diff.call(this, params);
    }
    try {
      const { tag: _tag, ...migrationsList } = params.from;
      await this.applyMigrations({ migrationsList });
      const from = { tag: "schemaDatasource", files: params.to.files, configDir: configDir(params.to.files) };
      return await diff.call(this, { ...params, from });
    } finally {
      for (const scratch of scratchDatabases.splice(0)) await scratch.dispose();
    }
  };
  proto.diff.prismaTasksPatched = true;
}

function configDir(files) {
  const withDatasource = files.find((file) => /^\s*datasource\s+\w+\s*\{/m.test(file.content));
  const path = (withDatasource ?? files[0])?.path ?? "";
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : process.cwd();
}

// In diff mode the engine's main connection is a scratch database (dropped afterwards), never
// the database DATABASE_URL names: the history is applied to it. With
// PRISMA_TASKS_DIFF_ON_HANDED=1 (the gate, whose handed database is an empty throwaway clone
// made for this diff alone) the history is applied to the handed database itself: no scratch
// to create and drop.
function scratchOnly(factory) {
  if (process.env.PRISMA_TASKS_DIFF_ON_HANDED === "1") return factory;
  factory.connect = async () => {
    const scratch = await factory.connectToShadowDb();
    const dispose = once(scratch.dispose.bind(scratch));
    scratch.dispose = dispose;
    scratchDatabases.push(scratch);
    return scratch;
  };
  return factory;
}

function once(fn) {
  let result;
  return () => (result ??= fn());
}

async function migrateAdapter(env) {
  if (env.PRISMA_TASKS_HOLD === "1" && (await handedLine().catch(() => "")) !== "go") process.exit(0);
  if (env.PRISMA_TASKS_URL_FROM_STDIN === "1") env = { ...env, DATABASE_URL: await handedLine(), PRISMA_TASKS_DIRECT_URL: "" };
  const factory = adapterFactory(env);
  return env.PRISMA_TASKS_DIFF_VIA_DEPLOY === "1" ? scratchOnly(factory) : factory;
}

// Started before its input is ready (prisma-tasks overlaps Node's start with other work; never
// set by hand). PRISMA_TASKS_URL_FROM_STDIN=1: the adapter waits for the database URL, one line
// on stdin, while the CLI loads the schema and the engine. PRISMA_TASKS_HOLD=1: the command
// waits here, before it first connects, for a line "go" (anything else, or EOF: exit 0, with
// nothing done); `migrate deploy` reads the migrations folder only after that.
let handed;
function handedLine() {
  return (handed ??= new Promise((resolve, reject) => {
    let data = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      data += chunk;
      if (data.includes("\n")) {
        process.stdin.destroy();
        resolve(data.slice(0, data.indexOf("\n")));
      }
    });
    process.stdin.on("end", () => (data.trim() ? resolve(data.trim()) : reject(new Error("prisma-tasks handed no line on stdin"))));
    process.stdin.on("error", reject);
  }));
}

