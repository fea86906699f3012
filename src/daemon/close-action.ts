import type { ChildConfig } from "../ike/api.js";

/**
 * What the daemon does for a child after its IKE SA closed (swanctl `dpd_action` /
 * `close_action`), decided from the engine's `ikeSaClosed` reason.
 *
 * - `dead-peer`: a request we retransmitted went unanswered (a liveness check, RFC 7296 s2.4, or
 *   any other exchange), or the IKE SA setup timed out: the child's `dpd_action` applies.
 * - `peer-deleted`: the peer deleted the IKE SA (s1.4.1): the child's `close_action` applies.
 * Anything else (our own `down`, authentication or proposal failures, INITIAL_CONTACT, a rekey
 * collision) asks for nothing.
 */
export type CloseCause = "dead-peer" | "peer-deleted";

/** `restart` re-initiates the child (with back-off), `trap` installs its trap policy. */
export type AfterCloseAction = "none" | "trap" | "restart";

/** Reasons as src/ike/engine.ts and src/ike/exchanges/informational.ts word them. */
export function closeCause(reason: string): CloseCause | undefined {
  if (reason.startsWith("peer not responding") || reason === "IKE SA setup timed out") return "dead-peer";
  if (reason === "deleted by peer") return "peer-deleted";
  return undefined;
}

export function actionAfterClose(cause: CloseCause, child: Pick<ChildConfig, "dpdAction" | "closeAction">): AfterCloseAction {
  if (cause === "dead-peer") {
    const a = child.dpdAction ?? "clear";
    return a === "clear" ? "none" : a;
  }
  const a = child.closeAction ?? "none";
  return a === "start" ? "restart" : a;
}

/** Back-off before re-initiation attempt `attempt` (1, 2, ...): 1 s doubling up to 30 s, ms. */
export function restartDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 30_000);
}
