import { PrismaLibSQL } from "@prisma/adapter-libsql";

// adapter-libsql 6.7's executeRaw() runs only the FIRST statement of a multi-statement string,
// and the schema engine applies whole migration scripts that way (the shadow database of
// `migrate diff --from-migrations` got one statement per migration). Parameterless scripts go
// through executeScript() (libsql executeMultiple) instead.
const hasSeveralStatements = (sql) =>
  sql
    .replace(/--[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""')
    .replace(/[\s;]+$/, "")
    .includes(";");

function multiStatementSafe(adapter) {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    if ((!query.args || query.args.length === 0) && hasSeveralStatements(query.sql)) {
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
  factory.connect = async () => multiStatementSafe(await connect());
  factory.connectToShadowDb = async () => multiStatementSafe(await connectToShadowDb());
  return factory;
}
