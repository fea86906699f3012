import { describe, expect, it } from "vitest";
import { actionAfterClose, closeCause, restartDelayMs } from "../../src/daemon/close-action.js";

describe("RFC 7296 s2.4: what follows a closed IKE SA (dpd_action / close_action)", () => {
  it("an unanswered request or setup is a dead peer; a peer's DELETE is a peer deletion; the rest asks for nothing", () => {
    expect(closeCause("peer not responding (INFORMATIONAL timed out)")).toBe("dead-peer");
    expect(closeCause("peer not responding (IKE_SA_INIT timed out)")).toBe("dead-peer");
    expect(closeCause("IKE SA setup timed out")).toBe("dead-peer");
    expect(closeCause("deleted by peer")).toBe("peer-deleted");
    expect(closeCause("terminated by operator")).toBeUndefined();
    expect(closeCause("AUTHENTICATION_FAILED (rejected by peer)")).toBeUndefined();
    expect(closeCause("INITIAL_CONTACT: peer restarted")).toBeUndefined();
  });

  it("dpd_action applies to a dead peer, close_action to a peer deletion (swanctl semantics)", () => {
    expect(actionAfterClose("dead-peer", {})).toBe("none");
    expect(actionAfterClose("dead-peer", { dpdAction: "clear", closeAction: "start" })).toBe("none");
    expect(actionAfterClose("dead-peer", { dpdAction: "trap" })).toBe("trap");
    expect(actionAfterClose("dead-peer", { dpdAction: "restart" })).toBe("restart");
    expect(actionAfterClose("peer-deleted", { dpdAction: "restart" })).toBe("none");
    expect(actionAfterClose("peer-deleted", { closeAction: "trap" })).toBe("trap");
    expect(actionAfterClose("peer-deleted", { closeAction: "start" })).toBe("restart");
  });

  it("re-initiation backs off from 1 s, doubling, to at most 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});
