/**
 * SA lifetimes (RFC 4301 s4.4.2.1 "SA Lifetime"): a soft limit, on reaching which IKE should
 * rekey, and a hard limit, on reaching which the SA is deleted. Limits are in bytes (of protected
 * traffic: the inner packets), packets and seconds; any may be absent. Time is given as `now` in
 * milliseconds by the caller; this module never reads a clock.
 */

export interface LifetimeLimits {
  readonly bytes?: number;
  readonly packets?: number;
  readonly seconds?: number;
}

export interface Lifetime {
  readonly soft?: LifetimeLimits;
  readonly hard?: LifetimeLimits;
}

/**
 * What one accounting step found: "ok"; "soft" exactly once, when the soft limit is first
 * reached; "hard" once the hard limit is reached (the SA must not be used any more).
 */
export type LifetimeEvent = "ok" | "soft" | "hard";

export class LifetimeTracker {
  /** Bytes of protected traffic so far. */
  bytes = 0;
  packets = 0;
  private softSignalled = false;
  private hardReached = false;
  private readonly softBytes: number;
  private readonly softPackets: number;
  private readonly softAt: number;
  private readonly hardBytes: number;
  private readonly hardPackets: number;
  private readonly hardAt: number;

  constructor(
    lifetime: Lifetime,
    /** Creation time, ms. */
    readonly createdAt: number,
  ) {
    const s = lifetime.soft ?? {};
    const h = lifetime.hard ?? {};
    this.softBytes = s.bytes ?? Infinity;
    this.softPackets = s.packets ?? Infinity;
    this.softAt = s.seconds === undefined ? Infinity : createdAt + s.seconds * 1000;
    this.hardBytes = h.bytes ?? Infinity;
    this.hardPackets = h.packets ?? Infinity;
    this.hardAt = h.seconds === undefined ? Infinity : createdAt + h.seconds * 1000;
  }

  get expired(): boolean {
    return this.hardReached;
  }

  get softReached(): boolean {
    return this.softSignalled;
  }

  /**
   * Checks whether the SA may carry one more packet of `bytes` at `now`; when it may, counts it.
   * Returns "hard" (and counts nothing) when carrying it would exceed a hard limit or the hard
   * time has come; "soft" the first time a soft limit is reached; else "ok".
   */
  account(now: number, bytes: number): LifetimeEvent {
    if (this.hardReached) return "hard";
    if (now >= this.hardAt || this.packets + 1 > this.hardPackets || this.bytes + bytes > this.hardBytes) {
      this.hardReached = true;
      return "hard";
    }
    this.packets++;
    this.bytes += bytes;
    return this.checkSoft(now);
  }

  /** Time-only check (no traffic): "hard" when the hard time has come, "soft" once at the soft time. */
  poll(now: number): LifetimeEvent {
    if (this.hardReached) return "hard";
    if (now >= this.hardAt) {
      this.hardReached = true;
      return "hard";
    }
    return this.checkSoft(now);
  }

  /** Marks the soft limit as reached (e.g. sequence numbers near exhaustion); true the first time. */
  forceSoft(): boolean {
    if (this.softSignalled) return false;
    this.softSignalled = true;
    return true;
  }

  /** Next time (ms) at which {@link poll} would report something, or undefined. */
  nextDeadline(): number | undefined {
    if (this.hardReached) return undefined;
    const t = this.softSignalled ? this.hardAt : Math.min(this.softAt, this.hardAt);
    return t === Infinity ? undefined : t;
  }

  private checkSoft(now: number): LifetimeEvent {
    if (!this.softSignalled && (now >= this.softAt || this.packets >= this.softPackets || this.bytes >= this.softBytes)) {
      this.softSignalled = true;
      return "soft";
    }
    return "ok";
  }
}
