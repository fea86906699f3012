/**
 * API
 *   type IkeFault = "peer" | "local" | "config"
 *   interface IkeError { kind: "IkeError"; notify: number | undefined; name: string; message: string; fault: IkeFault }
 *   ikeError(notify: number, message: string, fault: IkeFault): IkeError      // name = NotifyType name
 *   localError(name: string, message: string, fault?: IkeFault): IkeError    // no notify to send
 *   isIkeError(v: unknown): v is IkeError
 *   formatIkeError(e: IkeError): string                                       // "NO_PROPOSAL_CHOSEN (peer): ..."
 *   type IkeResult<T> = { ok: true; value: T } | { ok: false; error: IkeError }
 *   ok(value) / fail(error)
 *
 * Errors in the IKE layer are values, not exceptions (design.md: nothing is thrown across the core
 * boundary). `name` is the RFC 7296 s3.10.1 Notify Message Type name when the failure maps to a
 * notification the engine should send (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, AUTHENTICATION_FAILED,
 * ...), and `message` is written for an operator: what was wrong and what to change. Messages never
 * contain key material (Secrets print as `Secret(n bytes)` anyway).
 */
import { notifyTypeName } from "../wire/ike/constants.js";

/** Who has to act: the peer sent something wrong, our own state is wrong, or the configuration must change. */
export type IkeFault = "peer" | "local" | "config";

export interface IkeError {
  /** Discriminator so an IkeError can be told apart from a success value. */
  readonly kind: "IkeError";
  /** NotifyType to send (or that was received), e.g. 14 for NO_PROPOSAL_CHOSEN; undefined when none applies. */
  readonly notify: number | undefined;
  /** The RFC name, e.g. "NO_PROPOSAL_CHOSEN", or a local name like "INVALID_PROPOSAL_STRING". */
  readonly name: string;
  /** Operator-facing explanation: what did not match and what to change. */
  readonly message: string;
  readonly fault: IkeFault;
}

/** An error that maps to Notify type `notify` (RFC 7296 s3.10.1); its name is the registry name. */
export function ikeError(notify: number, message: string, fault: IkeFault): IkeError {
  return { kind: "IkeError", notify, name: notifyTypeName(notify), message, fault };
}

/** An error with no notification to send (e.g. a malformed config string or a local inconsistency). */
export function localError(name: string, message: string, fault: IkeFault = "local"): IkeError {
  return { kind: "IkeError", notify: undefined, name, message, fault };
}

export function isIkeError(v: unknown): v is IkeError {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "IkeError";
}

/** One line for logs: `NO_PROPOSAL_CHOSEN (config): ...`. */
export function formatIkeError(e: IkeError): string {
  return `${e.name} (${e.fault}): ${e.message}`;
}

/** A success or an IkeError. */
export type IkeResult<T> = { ok: true; value: T } | { ok: false; error: IkeError };

export function ok<T>(value: T): IkeResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: IkeError): IkeResult<T> {
  return { ok: false, error };
}
