/**
 * A config file is untrusted input (design.md): whatever it holds, the loader returns a result
 * (a config or errors with key paths) and never throws, and no error message carries the PSK.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/index.js";
import { parseDuration } from "../../src/config/duration.js";

const PSK = "robustness-psk-marker";

const base = {
  daemon: { tun: { name: "tsipsec0", mtu: 1400 }, log_level: "info" },
  connections: {
    "site-a": {
      local_addrs: ["192.0.2.1"],
      remote_addrs: ["192.0.2.2"],
      proposals: ["aes128-sha256-modp2048"],
      dpd_delay: "30s",
      local: { auth: "psk", id: "192.0.2.1" },
      remote: { auth: "psk", id: "192.0.2.2" },
      children: { net: { local_ts: ["198.18.1.0/24"], remote_ts: ["198.18.2.0/24"], esp_proposals: ["aes128gcm16"], rekey_time: "1h" } },
    },
  },
  secrets: { "ike-1": { id: ["192.0.2.1", "192.0.2.2"], secret: PSK } },
};

/** Every path of the base document (objects and arrays), to replace one value at a time. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== "object" || v === null) return [prefix];
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  for (const [k, child] of Object.entries(v)) out.push(...paths(child, [...prefix, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function replaced(path: (string | number)[], value: unknown): unknown {
  const doc = structuredClone(base) as unknown;
  let node = doc as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
  return doc;
}

const ALL_PATHS = paths(base);

describe("the loader never throws (untrusted input)", () => {
  it("arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const r = parseConfig(text);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });

  it("one value of a valid document replaced by anything JSON can hold", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_PATHS), fc.jsonValue({ maxDepth: 3 }), (path, value) => {
        const r = parseConfig(stringify(replaced(path, value)));
        if (!r.ok) {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            expect(typeof e.path).toBe("string");
            expect(e.message).not.toContain(PSK);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("YAML text of the valid document, truncated anywhere", () => {
    const text = stringify(base);
    for (let i = 0; i <= text.length; i++) {
      const r = parseConfig(text.slice(0, i));
      if (!r.ok) expect(JSON.stringify(r.errors)).not.toContain(PSK);
    }
  });
});

describe("durations (swanctl.conf(5) TIME FORMATS)", () => {
  it("n<unit> is n times the unit's seconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100000 }), fc.constantFrom(["s", 1], ["m", 60], ["h", 3600], ["d", 86400], ["", 1]), (n, [unit, mult]) => {
        expect(parseDuration(`${n}${unit as string}`)).toEqual({ ok: true, seconds: n * (mult as number) });
      }),
    );
  });

  it.each([["1w"], ["h"], ["1 h 2"], ["-3s"], [null], [{}], [Number.NaN], [Number.POSITIVE_INFINITY]])("%j is refused with what is allowed", (v) => {
    const r = parseDuration(v);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/s, m, h or d/);
  });
});
