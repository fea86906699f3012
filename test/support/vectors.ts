import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the shared test vectors live: `../shared/vectors` beside the repository (as laid out on
 * developers' machines and in CI), or `TSIPSEC_VECTORS` when set.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const VECTORS_DIR = process.env["TSIPSEC_VECTORS"] ?? resolve(repoRoot, "../shared/vectors");

/** Absolute path of a file under the vectors folder, e.g. `vectorPath("esp/rfc3602-aes-cbc.json")`. */
export function vectorPath(relative: string): string {
  return resolve(VECTORS_DIR, relative);
}
