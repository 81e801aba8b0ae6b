// as-pect unit tests of the AssemblyScript library (tests/assembly/*.spec.ts).
import { hostImports } from "./tests/assembly/host_imports.js";

export default {
  entries: ["tests/assembly/**/*.spec.ts"],
  include: [],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    let exports = null;
    const module = await instantiate(binary, createImports(hostImports(binary, () => exports), { env: { memory } }));
    exports = module.exports;
    return module;
  },
  outputBinary: false,
};
