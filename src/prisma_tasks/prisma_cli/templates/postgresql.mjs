import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

// adapter-pg 6.7 cannot deserialize the `char` (oid 18) and `name` (oid 19) columns that the
// schema engine's catalog queries return; report them as `text` (oid 25) before it sees them.
const retype = (result) => {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of r?.fields ?? []) {
      if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
    }
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

function adapterFactory(env) {
  const { schema, ...connection } = connectionFields(requireUrl(env));
  const options = schema ? { schema } : undefined;
  // allowExitOnIdle: `migrate diff` never ends its pool; without this Node waits for pg's idle timeout.
  const base = { ...connection, Client: RetypingClient, allowExitOnIdle: true };
  const factory = new PrismaPg(base, options);
  // adapter-pg's own shadow spreads {...config, database} but a connectionString would win, so its
  // "shadow" was the main database; and it dropped the shadow while its pool was still connected.
  // Here: a real separate database, dropped WITH (FORCE) after the pool's sockets have closed.
  const prefix = env.PRISMA_TASKS_SHADOW_PREFIX || "prisma_shadow_";
  factory.connectToShadowDb = async () => {
    const name = `${prefix}${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    const admin = new pg.Client(connection);
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const shadow = await new PrismaPg({ ...base, database: name }, options).connect();
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
          await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      }
    };
    return shadow;
  };
  return factory;
}
