// A Prisma command started ahead of its turn (loaded with `node --import` by prisma-tasks,
// never by hand; PRISMA_TASKS_HOLD_WRITES=1): it runs until its first change to the file
// system, then waits for a line "go" on stdin. Anything else, or EOF, and it exits 0 having
// changed nothing. `generate` computes the whole client before it writes the first file, so
// nearly all of it overlaps the steps before it (the diff, the deploy).
import fs from "node:fs";

const MUTATING = ["mkdir", "writeFile", "appendFile", "rm", "rmdir", "unlink", "copyFile", "cp", "rename", "symlink", "link", "truncate", "chmod", "utimes"];
let released = false;

function readLineSync() {
  const byte = Buffer.alloc(1);
  let line = "";
  for (;;) {
    let read;
    try {
      read = fs.readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code === "EAGAIN") continue;
      throw error;
    }
    if (read === 0 || byte[0] === 10) return line;
    line += byte.toString("latin1");
  }
}

function holdOnce() {
  if (released) return;
  released = true;
  if (readLineSync() !== "go") process.exit(0);
}

function writes(flags) {
  return typeof flags === "number" ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0 : /[wa+]/.test(flags ?? "r");
}

function wrap(target, name, before) {
  const original = target[name];
  if (typeof original !== "function") return;
  target[name] = function (...args) {
    before(args);
    return original.apply(this, args);
  };
}

if (process.env.PRISMA_TASKS_HOLD_WRITES === "1") {
  for (const base of MUTATING) {
    wrap(fs, base, holdOnce);
    wrap(fs, `${base}Sync`, holdOnce);
    wrap(fs.promises, base, holdOnce);
  }
  wrap(fs, "open", (args) => writes(args[1]) && holdOnce());
  wrap(fs, "openSync", (args) => writes(args[1]) && holdOnce());
  wrap(fs.promises, "open", (args) => writes(args[1]) && holdOnce());
  wrap(fs, "createWriteStream", holdOnce);
}
