"""The Prisma Client in wasm mode: the Node-side hook that lets a generated client query through
Prisma 6.7's WebAssembly query engine (`node/`), and how the suite hands it to the Node
processes it starts (`preload`)."""
