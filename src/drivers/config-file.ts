/**
 * Reads a config file from disk and loads it (src/config/, which is pure). The one check that
 * needs the file system lives here: a file that holds secrets must not be readable by group or
 * others, as OpenSSH refuses a world-readable private key.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { parseConfig, type ConfigError, type TsipsecConfig } from "../config/index.js";

/** Largest config file read, bytes: far above any real gateway's, far below harm. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export type ConfigFileResult = { ok: true; config: TsipsecConfig } | { ok: false; errors: ConfigError[] };

/**
 * Reads and loads `path`. Errors (missing file, unreadable, YAML/schema errors, permissions) come
 * back as ConfigErrors; never throws for a bad file.
 */
export function loadConfigFile(path: string): ConfigFileResult {
  const r = readConfigText(path);
  if (!r.ok) return { ok: false, errors: [{ path: "", message: `cannot read config file ${path}: ${r.why}` }] };
  const { text, mode } = r;
  const result = parseConfig(text);
  if (!result.ok) return result;
  if (result.config.engine.secrets.length > 0 && (mode & 0o077) !== 0) {
    const octal = `0${(mode & 0o777).toString(8)}`;
    const how = (mode & 0o044) !== 0 ? "readable" : "writable";
    return {
      ok: false,
      errors: [{ path: "", message: `config file ${path} holds secrets and is ${how} by group/others (mode ${octal}); chmod 600 ${path}` }],
    };
  }
  return result;
}

/**
 * The file's text and mode, from one open file (no stat/read race). Only a regular file of at
 * most MAX_CONFIG_BYTES is read: the daemon reads at `reload` on its event loop, where a FIFO
 * would block it and /dev/zero would grow it without end. O_NONBLOCK keeps open(2) of a FIFO
 * from waiting for a writer.
 */
function readConfigText(path: string): { ok: true; text: string; mode: number } | { ok: false; why: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, why: code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, why: "is a directory" };
    if (!st.isFile()) return { ok: false, why: "not a regular file" };
    if (st.size > MAX_CONFIG_BYTES) return { ok: false, why: `${st.size} bytes, more than the ${MAX_CONFIG_BYTES} a config file may have` };
    // One byte more than allowed shows a file that grew since fstat.
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > MAX_CONFIG_BYTES) return { ok: false, why: `more than the ${MAX_CONFIG_BYTES} bytes a config file may have` };
    }
    return { ok: true, text: buf.toString("utf8", 0, n), mode: st.mode };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}
