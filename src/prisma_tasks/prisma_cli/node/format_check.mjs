// `prisma format --check` inside another Prisma command's process (loaded with `node --import`
// by prisma-tasks, never by hand), so the gate starts the CLI once, not twice. It uses the CLI's
// own formatter: the glue object prisma-schema-wasm is instantiated with carries `format`.
// PRISMA_TASKS_FORMAT_CHECK names a JSON request {files: [paths], report: path}; the report
// written there is {unformatted: [paths]} or {error: message}. Prisma formats all files of a
// multi-file schema together (a back-relation may be added in another file), so we do too.
import { readFileSync, writeFileSync } from "node:fs";

const requestPath = process.env.PRISMA_TASKS_FORMAT_CHECK;
let done = false;

function check(format) {
  if (done) return;
  done = true;
  const request = JSON.parse(readFileSync(requestPath, "utf8"));
  let report;
  try {
    const schemas = request.files.map((path) => [path, readFileSync(path, "utf8")]);
    const options = { textDocument: { uri: "file:/dev/null" }, options: { tabSize: 2, insertSpaces: true } };
    const formatted = new Map(JSON.parse(format(JSON.stringify(schemas), JSON.stringify(options))));
    report = { unformatted: schemas.filter(([path, text]) => formatted.get(path) !== text).map(([path]) => path) };
  } catch (error) {
    report = { error: String(error?.message ?? error) };
  }
  writeFileSync(request.report, JSON.stringify(report));
}

if (requestPath) {
  const RealInstance = WebAssembly.Instance;
  WebAssembly.Instance = new Proxy(RealInstance, {
    construct(target, args, newTarget) {
      const instance = Reflect.construct(target, args, newTarget);
      const glue = args[1]?.__wbindgen_placeholder__;
      // The glue stores the instance's exports only after this returns, so format once it has.
      if (typeof glue?.format === "function") setImmediate(() => check(glue.format));
      return instance;
    },
  });
}
