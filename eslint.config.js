// Lint rules. The core folders (design.md "a deterministic core, thin drivers") must not do
// I/O, read the clock or arm timers: time, randomness and bytes come in as arguments.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const CORE = ["src/wire/**", "src/crypto/**", "src/ipsec/**", "src/ike/**", "src/config/**"];
const IO_MODULES = ["fs", "net", "dgram", "child_process", "timers", "worker_threads", "cluster", "http", "https", "readline", "os", "dns", "tls"]
  .flatMap((m) => [m, `node:${m}`, `${m}/promises`, `node:${m}/promises`]);

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bench/results/**", "native/build/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", performance: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/ban-ts-comment": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: CORE,
    rules: {
      "no-restricted-imports": ["error", { paths: IO_MODULES.map((name) => ({ name, message: "The protocol core does no I/O (design.md): take bytes in, return outputs." })) }],
      "no-restricted-globals": ["error",
        { name: "setTimeout", message: "The core keeps deadlines in a table; the driver owns the one timer." },
        { name: "setInterval", message: "The core keeps deadlines in a table; the driver owns the one timer." },
        { name: "setImmediate", message: "No scheduling in the core." },
        { name: "performance", message: "Time comes in as an argument (now, ms)." },
        { name: "process", message: "The core does not touch the process (env, stdout, exit)." },
        { name: "fetch", message: "No network I/O in the core." },
      ],
      "no-restricted-properties": ["error",
        { object: "Date", property: "now", message: "Time comes in as an argument (now, ms)." },
        { object: "Math", property: "random", message: "Randomness is injected (crypto/random.ts Random)." },
      ],
      "no-restricted-syntax": ["error", { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "Time comes in as an argument (now, ms)." }],
    },
  },
);
