/**
 * Configuration errors as values: the loader returns every problem it finds at once, each naming
 * the key path (`connections.site-a.children.net.esp_proposals[0]`) and what is allowed, so an
 * operator fixes a file in one pass. Messages never contain secret values.
 */
export interface ConfigError {
  /** Dotted key path with list indexes in brackets; "" for the document itself. */
  path: string;
  /** What is wrong and what would be accepted. */
  message: string;
}

export type ConfigPath = readonly (string | number)[];

/** `["connections","site-a","proposals",0]` -> `connections.site-a.proposals[0]`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

/** One error line for an operator: `path: message`. */
export function formatConfigError(e: ConfigError): string {
  return e.path === "" ? e.message : `${e.path}: ${e.message}`;
}
