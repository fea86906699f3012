import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where the shared test vectors live (README.md there lists what each file asserts). */
import { VECTORS_DIR } from "../support/vectors.js";

export { VECTORS_DIR };

/** Path of a vector file relative to the vectors folder. */
export function vectorPath(rel: string): string {
  return join(VECTORS_DIR, rel);
}

/** The text of a vector file. */
export function readVectorText(rel: string): string {
  return readFileSync(vectorPath(rel), "utf8");
}

/** A vector JSON file, parsed; the caller states the shape it relies on. */
export function readVectorJson<T>(rel: string): T {
  return JSON.parse(readVectorText(rel)) as T;
}
