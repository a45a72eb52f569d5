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
