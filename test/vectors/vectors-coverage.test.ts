/**
 * The vectors README's rule, enforced: "Every data file here must be read by a test."
 * A data file under VECTORS_DIR counts as read when a test source under test/ names it (its
 * path, or its file name after a quote, slash or backtick), or when captures-and-keys.json lists
 * it in a `file`, `secrets_file` or `expected_output` field (tests iterate that index). A file
 * added later without a test makes this fail with its name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VECTORS_DIR, vectorPath } from "../support/vectors.js";

const THIS_FILE = fileURLToPath(import.meta.url);
const TEST_ROOT = resolve(dirname(THIS_FILE), "..");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.isFile() ? [p] : [];
  });
}

const toPosix = (p: string): string => p.split(sep).join(posix.sep);

/** Data files, relative to VECTORS_DIR with `/` separators; README.md files describe, they are not data. */
const dataFiles = walk(VECTORS_DIR)
  .map((p) => toPosix(relative(VECTORS_DIR, p)))
  .filter((rel) => basename(rel) !== "README.md")
  .sort();

/** Every test source except this one (which must not count itself). */
const testSources = walk(TEST_ROOT)
  .filter((p) => p.endsWith(".ts") && resolve(p) !== resolve(THIS_FILE))
  .map((p) => readFileSync(p, "utf8"));

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function namedByATest(rel: string): boolean {
  const name = new RegExp(`["'\`/]${escape(basename(rel))}["'\`]`);
  return testSources.some((src) => src.includes(rel) || name.test(src));
}

/** Paths (relative to VECTORS_DIR) that captures-and-keys.json's file fields name. */
function indexedFiles(): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (k === "file" || k === "secrets_file" || k === "expected_output") {
        // Values such as "tcpdump/esp0.out (no key: headers only)" or
        // "tcpdump/ikev2-id-normal.pcap / ikev2-id-short.pcap": take each path-like token;
        // a bare name lives in the folder of the token before it.
        let folder = "";
        for (const s of [x].flat()) {
          if (typeof s !== "string") continue;
          for (const token of s.match(/[\w.-]+(?:\/[\w.-]+)*\.[a-z0-9]+/gi) ?? []) {
            if (token.includes("/")) folder = posix.dirname(token);
            found.add(`captures/${token.includes("/") ? token : posix.join(folder, token)}`);
          }
        }
      } else {
        visit(x);
      }
    }
  };
  visit(JSON.parse(readFileSync(vectorPath("captures/captures-and-keys.json"), "utf8")));
  return found;
}

describe("shared/vectors/README.md: every data file is read by a test", () => {
  it("the walk finds the data files (the folder is where test/support/vectors.ts says)", () => {
    expect(dataFiles.length).toBeGreaterThan(40);
    expect(dataFiles).toContain("captures/captures-and-keys.json");
  });

  it("every file under VECTORS_DIR is named by a test source or by captures-and-keys.json", () => {
    const indexed = indexedFiles();
    const unread = dataFiles.filter((rel) => !indexed.has(rel) && !namedByATest(rel));
    expect(unread, `data files no test reads (add a test that asserts something true about each): ${unread.join(", ")}`).toEqual([]);
  });

  it("every file captures-and-keys.json lists exists (the index does not point at missing captures)", () => {
    const missing = [...indexedFiles()].filter((rel) => !dataFiles.includes(rel));
    expect(missing).toEqual([]);
  });
});
