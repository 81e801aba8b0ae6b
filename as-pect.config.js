// as-pect unit tests of the AssemblyScript library (tests/spec/*.spec.ts).
import { hostImports } from "./tests/spec/host_imports.js";

export default {
  entries: ["tests/spec/**/*.spec.ts"],
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
