// Module-customization hooks (run on Node's loader thread). Prisma's generated wasm client loads
// its engine with `import("./query_engine_bg.wasm")`, which plain Node refuses
// (ERR_UNKNOWN_FILE_EXTENSION). Answer that one import with the compiled module.
const ENGINE = /\/query_engine_bg(\.[a-z]+)?\.wasm$/;

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && ENGINE.test(new URL(url).pathname)) {
    const source =
      'import { readFileSync } from "node:fs";\n' +
      `export default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(url)})));\n`;
    return { format: "module", source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
