/**
 * The control protocol between the `tsipsec` CLI and a running daemon: newline-delimited JSON
 * over a Unix domain socket (mode 0600).
 *
 * Theory of operation: the client writes one request line `{"id":1,"op":"list-sas"}\n`; the
 * server answers with exactly one line carrying the same `id`:
 * `{"id":1,"ok":true,"result":[...]}` or `{"id":1,"ok":false,"error":{"code":"...","message":"..."}}`.
 * Several requests may be pipelined on one connection; each is answered independently (a bad
 * line gets an error response, the connection and the server stay up).
 *
 * Times in status records are RELATIVE SECONDS computed by the daemon at the moment it answers
 * (like `swanctl --list-sas`: "established 12s ago, rekeying in 3400s"), so the CLI needs no
 * clock. Byte and packet counters are plain numbers (2^53 bytes is 9 PB: enough for a counter
 * shown to an operator). SPIs are lowercase hex strings (IKE: 16 digits, ESP/AH: 8 digits).
 *
 * The daemon implements {@link ControlHandler}; src/control/server.ts turns it into a socket
 * server; src/control/client.ts sends one request and waits for its response.
 */
import type { IkeSaStatus } from "../ike/status.js";

/** Bumped on an incompatible change to the request or response shapes. */
export const CONTROL_PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Requests

/** Bring up a connection's IKE SA and (all its `children`, or just `child`) Child SAs. */
export interface UpRequest {
  op: "up";
  conn: string;
  child?: string;
}

/** Delete a connection's IKE SAs (and with them, their Child SAs). */
export interface DownRequest {
  op: "down";
  conn: string;
}

/** Rekey a connection's Child SAs (or only `child`); with `ike: true`, rekey the IKE SA too. */
export interface RekeyRequest {
  op: "rekey";
  conn: string;
  child?: string;
  ike?: boolean;
}

export interface ListSasRequest {
  op: "list-sas";
}

export interface ListConnsRequest {
  op: "list-conns";
}

export interface StatsRequest {
  op: "stats";
}

/** Re-read the configuration (from `config` if given, else the file the daemon started with). */
export interface ReloadRequest {
  op: "reload";
  /** Absolute path of a config file to load instead of the current one. */
  config?: string;
}

export type ControlRequest =
  | UpRequest
  | DownRequest
  | RekeyRequest
  | ListSasRequest
  | ListConnsRequest
  | StatsRequest
  | ReloadRequest;

export type ControlOp = ControlRequest["op"];

export const CONTROL_OPS: readonly ControlOp[] = ["up", "down", "rekey", "list-sas", "list-conns", "stats", "reload"];

// ---------------------------------------------------------------------------------------------
// Status records (filled by the daemon)

// The list-sas records are the engine's own status shapes (src/ike/status.ts), served as they are.
export type { ChildSaState, ChildSaStatus, IkeSaEndpointStatus, IkeSaState, IkeSaStatus } from "../ike/status.js";
/** One configured Child SA template (`swanctl --list-conns`). */
export interface ChildConfigStatus {
  name: string;
  mode: "TUNNEL" | "TRANSPORT";
  startAction: "none" | "start" | "trap";
  /** After a dead peer / the peer's DELETE (children.<child>.dpd_action / close_action); absent = clear / none. */
  dpdAction?: "clear" | "trap" | "restart";
  closeAction?: "none" | "trap" | "start";
  rekeyTimeSeconds: number;
  lifeTimeSeconds: number;
  /** ESP proposals as configured, e.g. `aes128gcm16`. */
  espProposals: string[];
  localTs: string[];
  remoteTs: string[];
}

/** One configured connection (`swanctl --list-conns`). */
export interface ConnectionStatus {
  name: string;
  version: 2;
  localAddrs: string[];
  remoteAddrs: string[];
  localPort: number;
  remotePort: number;
  /** IKE proposals as configured, e.g. `aes256gcm16-prfsha384-ecp384`. */
  proposals: string[];
  rekeyTimeSeconds: number;
  dpdDelaySeconds: number;
  encap: boolean;
  local: { auth: "psk" | "pubkey"; id: string };
  remote: { auth: "psk" | "pubkey"; id: string };
  children: ChildConfigStatus[];
  /** Number of IKE SAs currently existing for this connection (any state). */
  ikeSas: number;
}

/** Daemon-wide counters (`tsipsec stats`). */
export interface Stats {
  /** Seconds since the daemon started. */
  uptimeSeconds: number;
  /** Number of loaded connections. */
  connections: number;
  ikeSas: { total: number; halfOpen: number; established: number };
  childSas: { installed: number };
  /** IKE datagrams and the engine's counters (RFC 7296 s2.1 retransmissions, s2.6 COOKIEs, half-open limit). */
  ike: {
    messagesIn: number;
    messagesOut: number;
    retransmits: number;
    invalid: number;
    responsesResent?: number;
    cookiesDemanded?: number;
    halfOpenBlocked?: number;
  };
  esp: { packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number };
  /**
   * The TUN device (absent before it is open): packets read (towards the tunnel) and written
   * (from it); with virtio-net offloads, TSO frames read (each split into segments) and GSO
   * frames written (each a run of coalesced segments) with the packets inside them.
   */
  tun?: { device: string; offload: boolean; packetsRead: number; packetsWritten: number; tsoFramesRead: number; gsoFramesWritten: number; gsoPacketsWritten: number };
  /** Dropped packets by reason (e.g. `replay`, `icv`, `no-sa`, `policy`), counts. */
  drops: Record<string, number>;
}

/** Result of up/down/rekey: what the daemon did, for the operator. */
export interface ActionResult {
  /** One human line, e.g. `initiated IKE SA #3 for site-a`. */
  message: string;
  /** The IKE SA ids affected, when known. */
  ikeSaIds?: number[];
}

/** Result of a reload. */
export interface ReloadResult {
  message: string;
  /** Connection names after the reload. */
  connections: string[];
}

/** What each op returns on success. */
export interface ControlResults {
  "up": ActionResult;
  "down": ActionResult;
  "rekey": ActionResult;
  "list-sas": IkeSaStatus[];
  "list-conns": ConnectionStatus[];
  "stats": Stats;
  "reload": ReloadResult;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Error codes:
 * - `bad-request`: the line was not JSON, or not a known request shape (a client bug).
 * - `unknown-connection` / `unknown-child`: no such name in the loaded configuration (CLI exit 2).
 * - `config-error`: a reload found errors; `details` lists them, the old config stays active (exit 2).
 * - `timeout`: the handler did not answer in time (exit 1).
 * - `failed`: the operation ran and failed, e.g. negotiation error (exit 1).
 * - `internal`: the handler threw something unexpected (exit 1).
 */
export type ControlErrorCode =
  | "bad-request"
  | "unknown-connection"
  | "unknown-child"
  | "config-error"
  | "timeout"
  | "failed"
  | "internal";

export interface ControlErrorBody {
  code: ControlErrorCode;
  message: string;
  /** Extra lines, e.g. each config error of a failed reload. */
  details?: string[];
}

/**
 * What a ControlHandler throws to answer with a specific error code (any other exception is
 * answered as `internal`). Never put key material in `message`.
 */
export class ControlError extends Error {
  readonly code: ControlErrorCode;
  readonly details: string[] | undefined;

  constructor(code: ControlErrorCode, message: string, details?: string[]) {
    super(message);
    this.name = "ControlError";
    this.code = code;
    this.details = details;
  }

  toBody(): ControlErrorBody {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }
}

// ---------------------------------------------------------------------------------------------
// Framing

/** A request line: the request plus a client-chosen id echoed in the response. */
export type ControlRequestFrame = ControlRequest & { id: number };

export type ControlResponseFrame =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: ControlErrorBody };

/**
 * The daemon side: one method per op. A method returns (or resolves to) the op's result, or
 * throws a {@link ControlError} to answer with a code. Methods may be async; the server applies a
 * timeout to each call.
 */
export type ControlHandler = {
  [K in ControlOp]: (req: Extract<ControlRequest, { op: K }>) => ControlResults[K] | Promise<ControlResults[K]>;
};

/** Largest accepted request line, bytes (a request is tiny; this bounds a misbehaving client). */
export const MAX_REQUEST_LINE_BYTES = 64 * 1024;

/**
 * Validates a parsed JSON value as a request frame. Returns the frame, or an error message naming
 * what is wrong. Never throws.
 */
export function parseRequestFrame(value: unknown): { ok: true; frame: ControlRequestFrame } | { ok: false; id: number | null; message: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, id: null, message: "request must be a JSON object" };
  }
  const v = value as Record<string, unknown>;
  const id = typeof v["id"] === "number" && Number.isSafeInteger(v["id"]) ? v["id"] : null;
  if (id === null) return { ok: false, id: null, message: "request needs an integer \"id\"" };
  const op = v["op"];
  const bad = (message: string): { ok: false; id: number; message: string } => ({ ok: false, id, message });
  const str = (k: string, required: boolean): string | undefined | Error => {
    const x = v[k];
    if (x === undefined) return required ? new Error(`"${k}" is required for op "${String(op)}"`) : undefined;
    if (typeof x !== "string" || x.length === 0) return new Error(`"${k}" must be a non-empty string`);
    return x;
  };
  const allowOnly = (keys: string[]): string | undefined => {
    const extra = Object.keys(v).filter((k) => k !== "id" && k !== "op" && !keys.includes(k));
    return extra.length > 0 ? `unknown field(s) ${extra.map((k) => `"${k}"`).join(", ")} for op "${String(op)}"` : undefined;
  };
  switch (op) {
    case "up":
    case "rekey": {
      const extraErr = allowOnly(op === "up" ? ["conn", "child"] : ["conn", "child", "ike"]);
      if (extraErr !== undefined) return bad(extraErr);
      const conn = str("conn", true);
      const child = str("child", false);
      if (conn instanceof Error) return bad(conn.message);
      if (child instanceof Error) return bad(child.message);
      if (conn === undefined) return bad("\"conn\" is required");
      if (op === "up") {
        return { ok: true, frame: child === undefined ? { id, op, conn } : { id, op, conn, child } };
      }
      const ike = v["ike"];
      if (ike !== undefined && typeof ike !== "boolean") return bad("\"ike\" must be a boolean");
      const frame: ControlRequestFrame = { id, op, conn };
      if (child !== undefined) frame.child = child;
      if (ike !== undefined) frame.ike = ike;
      return { ok: true, frame };
    }
    case "down": {
      const extraErr = allowOnly(["conn"]);
      if (extraErr !== undefined) return bad(extraErr);
      const conn = str("conn", true);
      if (conn instanceof Error) return bad(conn.message);
      if (conn === undefined) return bad("\"conn\" is required");
      return { ok: true, frame: { id, op, conn } };
    }
    case "list-sas":
    case "list-conns":
    case "stats": {
      const extraErr = allowOnly([]);
      if (extraErr !== undefined) return bad(extraErr);
      return { ok: true, frame: { id, op } };
    }
    case "reload": {
      const extraErr = allowOnly(["config"]);
      if (extraErr !== undefined) return bad(extraErr);
      const config = str("config", false);
      if (config instanceof Error) return bad(config.message);
      return { ok: true, frame: config === undefined ? { id, op } : { id, op, config } };
    }
    default:
      return bad(`unknown op ${JSON.stringify(op)}; known ops: ${CONTROL_OPS.join(", ")}`);
  }
}
