/**
 * swanctl.conf time values (swanctl.conf(5) "TIME FORMATS"): seconds, or a number with an `s`,
 * `m`, `h` or `d` suffix. YAML numbers are seconds too.
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses `30s`, `5m`, `1.5h`, `1d`, `90` or the YAML number 90 into seconds (integer, rounded).
 * Returns an error message (not a throw) for anything else, including negative values.
 */
export function parseDuration(value: unknown): { ok: true; seconds: number } | { ok: false; message: string } {
  const allowed = 'write a number of seconds or a number with s, m, h or d (e.g. "30s", "5m", "4h", "1d")';
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return { ok: false, message: `invalid duration ${value}; ${allowed}` };
    return { ok: true, seconds: Math.round(value) };
  }
  if (typeof value !== "string") return { ok: false, message: `expected a duration; ${allowed}` };
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(value);
  if (m === null) return { ok: false, message: `invalid duration ${JSON.stringify(value)}; ${allowed}` };
  const n = Number(m[1]);
  const unit = UNIT_SECONDS[m[2] ?? ""] ?? 1;
  return { ok: true, seconds: Math.round(n * unit) };
}
