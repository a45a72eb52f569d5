const { PrismaLibSQL } = require("@prisma/adapter-libsql");

// Where SQLite itself says a statement ends: the token classes and transitions of SQLite's own
// sqlite3_complete() (complete.c), so `;` inside strings, quoted identifiers, comments and
// CREATE TRIGGER ... BEGIN ... END bodies does not end a statement. Returns each statement's
// first keyword (upper case) and its text.
const COMPLETE_TRANSITIONS = {
  // state:    [SEMI, WS, OTHER, EXPLAIN, CREATE, TEMP, TRIGGER, END]
  start: ["start", "start", "normal", "explain", "create", "normal", "normal", "normal"],
  normal: ["start", "normal", "normal", "normal", "normal", "normal", "normal", "normal"],
  explain: ["start", "explain", "normal", "explain", "create", "normal", "normal", "normal"],
  create: ["start", "create", "normal", "normal", "normal", "create", "trigger", "normal"],
  trigger: ["semi", "trigger", "trigger", "trigger", "trigger", "trigger", "trigger", "trigger"],
  semi: ["semi", "semi", "trigger", "trigger", "trigger", "trigger", "trigger", "end"],
  end: ["start", "end", "trigger", "trigger", "trigger", "trigger", "trigger", "trigger"],
};
const KEYWORD_CLASS = { EXPLAIN: 3, CREATE: 4, TEMP: 5, TEMPORARY: 5, TRIGGER: 6, END: 7 };

function* sqliteTokens(sql) {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    let j = i + 1;
    if (/\s/.test(c)) {
      while (j < sql.length && /\s/.test(sql[j])) j++;
      yield { kind: 1, start: i, end: j };
    } else if (c === "-" && sql[i + 1] === "-") {
      j = sql.indexOf("\n", i);
      j = j < 0 ? sql.length : j + 1;
      yield { kind: 1, start: i, end: j };
    } else if (c === "/" && sql[i + 1] === "*") {
      j = sql.indexOf("*/", i + 2);
      j = j < 0 ? sql.length : j + 2;
      yield { kind: 1, start: i, end: j };
    } else if (c === ";") {
      yield { kind: 0, start: i, end: j };
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      for (;;) {
        j = sql.indexOf(close, j);
        if (j < 0) {
          j = sql.length;
          break;
        }
        j++;
        if (close === "]" || sql[j] !== close) break;
        j++; // a doubled quote stands for itself
      }
      yield { kind: 2, start: i, end: j };
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      yield { kind: KEYWORD_CLASS[word] ?? 2, start: i, end: j, word };
    } else {
      yield { kind: 2, start: i, end: j };
    }
    i = j;
  }
}

function sqliteStatements(sql) {
  const statements = [];
  let state = "start";
  let from = 0; // where the current statement's first token starts
  let keyword = null;
  for (const token of sqliteTokens(sql)) {
    if (keyword === null && token.kind !== 1) from = token.start;
    if (keyword === null && token.word) keyword = token.word;
    state = COMPLETE_TRANSITIONS[state][token.kind];
    if (state === "start" && token.kind === 0) {
      if (keyword !== null) statements.push({ keyword, text: sql.slice(from, token.end) });
      keyword = null;
    }
  }
  if (keyword !== null) statements.push({ keyword, text: sql.slice(from) });
  return statements;
}

// Statements that manage or cannot run inside a transaction: a script that has one runs as it
// is, statement after statement, as native Prisma runs every SQLite migration.
const OWN_TRANSACTION = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH"]);
const FOREIGN_KEYS_PRAGMA = /^\s*PRAGMA\s+(?:["`[]?main["`\]]?\s*\.\s*)?["`[]?foreign_keys["`\]]?\s*=\s*['"]?(\w+)/i;

// Native Prisma runs a SQLite migration statement by statement: one that fails halfway stays
// half-applied. Here it runs in one transaction (all or nothing). `PRAGMA foreign_keys` is a
// no-op inside a transaction, so when the script turns foreign keys off (Prisma's table
// rebuilds do, so that dropping the old table neither fails nor cascades) it is turned off
// before BEGIN, and set to the value the script leaves it at after COMMIT (or back, on failure).
async function runAtomically(client, script) {
  const statements = sqliteStatements(script);
  if (statements.some((s) => OWN_TRANSACTION.has(s.keyword))) {
    return client.executeMultiple(script);
  }
  const pragmas = statements
    .map((s) => FOREIGN_KEYS_PRAGMA.exec(s.text)?.[1])
    .filter((value) => value !== undefined);
  const before = (await client.execute("PRAGMA foreign_keys")).rows[0]?.[0] ? "ON" : "OFF";
  const turnsOff = pragmas.some((value) => /^(off|0|false|no)$/i.test(value));
  if (turnsOff) await client.execute("PRAGMA foreign_keys = OFF");
  try {
    // executeMultiple rolls back whatever transaction a failing script leaves open.
    await client.executeMultiple(`BEGIN IMMEDIATE;\n${script}\n;COMMIT;`);
  } catch (error) {
    if (turnsOff) await client.execute(`PRAGMA foreign_keys = ${before}`);
    throw error;
  }
  if (pragmas.length) await client.execute(`PRAGMA foreign_keys = ${pragmas.at(-1)}`);
}

// adapter-libsql 6.7's executeRaw() runs only the FIRST statement of a multi-statement string,
// and the schema engine's shadow replay sends whole migration scripts that way (the shadow
// database of `migrate diff --from-migrations` got one statement per migration). Deploy uses
// executeScript(). Both now run the script whole and atomically.
function wholeScripts(adapter) {
  adapter.executeScript = async (script) => {
    try {
      await runAtomically(adapter.client, script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    if ((!query.args || query.args.length === 0) && sqliteStatements(query.sql).length > 1) {
      await adapter.executeScript(query.sql);
      return 0;
    }
    return executeRaw(query);
  };
  return adapter;
}

function adapterFactory(env) {
  const factory = new PrismaLibSQL({ url: requireUrl(env) });
  const connect = factory.connect.bind(factory);
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => wholeScripts(await connect());
  factory.connectToShadowDb = async () => wholeScripts(await connectToShadowDb());
  return factory;
}
