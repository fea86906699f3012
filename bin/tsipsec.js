#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `prepare` on `npm ci`).
import { main } from "../dist/cli/main.js";

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`tsipsec: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
