/**
 * Reads a config file from disk and loads it (src/config/, which is pure). The one check that
 * needs the file system lives here: a file that holds secrets must not be readable by group or
 * others, as OpenSSH refuses a world-readable private key.
 */
import { readFileSync, statSync } from "node:fs";
import { parseConfig, type ConfigError, type TsipsecConfig } from "../config/index.js";

export type ConfigFileResult = { ok: true; config: TsipsecConfig } | { ok: false; errors: ConfigError[] };

/**
 * Reads and loads `path`. Errors (missing file, unreadable, YAML/schema errors, permissions) come
 * back as ConfigErrors; never throws for a bad file.
 */
export function loadConfigFile(path: string): ConfigFileResult {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (e as Error).message;
    return { ok: false, errors: [{ path: "", message: `cannot read config file ${path}: ${why}` }] };
  }
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
