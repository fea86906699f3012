/**
 * One Child SA as the IKE engine tracks it (RFC 7296 s1.3, s2.17): its SPIs, suite, selectors,
 * keys (held in Secrets and handed to the data plane in an installChildSa output), lifetimes and
 * rekey bookkeeping.
 *
 *   installed -> rekeying (our CREATE_CHILD_SA with REKEY_SA in flight) -> rekeyed (the new SA is
 *   installed; the old one waits for its DELETE so in-flight packets still decrypt, s2.8)
 *   installed -> deleting (our INFORMATIONAL DELETE in flight) -> gone
 */
import type { ChildConfig, ChildSaSpec, Millis, UdpEndpoint } from "./api.js";
import type { Secret } from "../crypto/secret.js";
import type { EncrAlgorithm, IntegAlgorithm } from "../crypto/types.js";
import type { TrafficSelector } from "../wire/ike/types.js";

export type ChildSaState = "installed" | "rekeying" | "rekeyed" | "deleting";

export interface ChildSuite {
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  esn: boolean;
  /** KE group used for PFS in the exchange that created this SA (0 = none). */
  keGroup: number;
}

export class ChildSa {
  readonly id: number;
  readonly config: ChildConfig;
  ikeSaId: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly mode: "tunnel" | "transport";
  readonly suite: ChildSuite;
  readonly localTs: TrafficSelector[];
  readonly remoteTs: TrafficSelector[];
  readonly udpEncapsulation: boolean;
  #state: ChildSaState = "installed";
  readonly installedAt: Millis;
  #rekeyAt: Millis | undefined;
  #expireAt: Millis | undefined;
  /**
   * Called when a change may bring this SA's next deadline earlier (set by the IKE SA that holds
   * it, for the engine's DeadlineQueue).
   */
  onDeadlineChange: (() => void) | undefined;
  /** Keys, wiped when the SA is deleted (design.md rule 9). */
  readonly keys: Secret[];
  /** Set on the old SA once a rekey produced its successor (s2.8). */
  replacedBy: number | undefined;
  /** The peer asked us to rekey this SA and we answered (nonces of that exchange, for s2.8.1). */
  passiveRekey: { newId: number; nonceI: Uint8Array; nonceR: Uint8Array } | undefined;

  constructor(o: {
    id: number;
    config: ChildConfig;
    ikeSaId: number;
    spiIn: number;
    spiOut: number;
    mode: "tunnel" | "transport";
    suite: ChildSuite;
    localTs: TrafficSelector[];
    remoteTs: TrafficSelector[];
    udpEncapsulation: boolean;
    installedAt: Millis;
    rekeyAt: Millis | undefined;
    expireAt: Millis | undefined;
    keys: Secret[];
  }) {
    this.id = o.id;
    this.config = o.config;
    this.ikeSaId = o.ikeSaId;
    this.spiIn = o.spiIn;
    this.spiOut = o.spiOut;
    this.mode = o.mode;
    this.suite = o.suite;
    this.localTs = o.localTs;
    this.remoteTs = o.remoteTs;
    this.udpEncapsulation = o.udpEncapsulation;
    this.installedAt = o.installedAt;
    this.#rekeyAt = o.rekeyAt;
    this.#expireAt = o.expireAt;
    this.onDeadlineChange = undefined;
    this.keys = o.keys;
    this.replacedBy = undefined;
    this.passiveRekey = undefined;
  }

  get state(): ChildSaState {
    return this.#state;
  }

  set state(s: ChildSaState) {
    this.#state = s;
    // Only an installed SA's rekeyAt is a deadline (rekeying -> installed brings it back).
    if (s === "installed") this.onDeadlineChange?.();
  }

  /** Soft lifetime: we start a rekey then (undefined = never). */
  get rekeyAt(): Millis | undefined {
    return this.#rekeyAt;
  }

  set rekeyAt(at: Millis | undefined) {
    this.#rekeyAt = at;
    if (at !== undefined) this.onDeadlineChange?.();
  }

  /** Hard lifetime: the SA is deleted then. */
  get expireAt(): Millis | undefined {
    return this.#expireAt;
  }

  set expireAt(at: Millis | undefined) {
    this.#expireAt = at;
    if (at !== undefined) this.onDeadlineChange?.();
  }

  wipe(): void {
    for (const k of this.keys) if (!k.wiped) k.wipe();
  }
}

/**
 * An IKE SA's Child SAs by id. Adding one (install, or the move to a new IKE SA in a rekey,
 * s2.18) points its deadline hook at the holding IKE SA and calls that hook.
 */
export class ChildSaMap extends Map<number, ChildSa> {
  readonly #onDeadlineChange: () => void;

  constructor(onDeadlineChange: () => void) {
    super();
    this.#onDeadlineChange = onDeadlineChange;
  }

  override set(id: number, child: ChildSa): this {
    super.set(id, child);
    child.onDeadlineChange = this.#onDeadlineChange;
    this.#onDeadlineChange();
    return this;
  }
}

/**
 * Splits Child SA KEYMAT (RFC 7296 s2.17): "encryption key (if any) for the SA carrying data from
 * the initiator to the responder, then integrity key, then the same for responder to initiator".
 * `weInitiated` is our role in the exchange that created the SA.
 */
export function splitChildKeymat(
  keymat: Secret,
  encr: EncrAlgorithm,
  integ: IntegAlgorithm | undefined,
  weInitiated: boolean,
): { encrIn: Secret; integIn: Secret | undefined; encrOut: Secret; integOut: Secret | undefined } {
  const e = encr.keymatLength;
  const a = integ?.keyLength ?? 0;
  let o = 0;
  const take = (n: number): Secret => {
    const s = keymat.slice(o, o + n);
    o += n;
    return s;
  };
  const encrIr = take(e);
  const integIr = integ ? take(a) : undefined;
  const encrRi = take(e);
  const integRi = integ ? take(a) : undefined;
  return weInitiated
    ? { encrOut: encrIr, integOut: integIr, encrIn: encrRi, integIn: integRi }
    : { encrIn: encrIr, integIn: integIr, encrOut: encrRi, integOut: integRi };
}

/** KEYMAT length for one ESP SA pair: two directions of cipher key (+salt) and integrity key. */
export function childKeymatLength(encr: EncrAlgorithm, integ: IntegAlgorithm | undefined): number {
  return 2 * (encr.keymatLength + (integ?.keyLength ?? 0));
}

/** The installChildSa payload for the data plane. */
export function childSpec(
  sa: ChildSa,
  connection: string,
  keys: { encrIn: Secret; integIn: Secret | undefined; encrOut: Secret; integOut: Secret | undefined },
  local: UdpEndpoint,
  remote: UdpEndpoint,
  tfcPadding: boolean,
  replaces: number | undefined,
): ChildSaSpec {
  const c = sa.config;
  return {
    id: sa.id,
    connection,
    child: c.name,
    ikeSaId: sa.ikeSaId,
    protocol: "esp",
    mode: sa.mode,
    spiIn: sa.spiIn,
    spiOut: sa.spiOut,
    encr: sa.suite.encr,
    integ: sa.suite.integ,
    esn: sa.suite.esn,
    encrKeyIn: keys.encrIn,
    integKeyIn: keys.integIn,
    encrKeyOut: keys.encrOut,
    integKeyOut: keys.integOut,
    localTs: sa.localTs,
    remoteTs: sa.remoteTs,
    local,
    remote,
    udpEncapsulation: sa.udpEncapsulation,
    replayWindow: c.replayWindow,
    tfcPadding,
    lifetime: {
      softSeconds: c.rekeyTimeSeconds,
      hardSeconds: c.lifeTimeSeconds,
      softBytes: c.rekeyBytes,
      hardBytes: c.lifeBytes,
      softPackets: c.rekeyPackets,
      hardPackets: c.lifePackets,
    },
    replaces,
  };
}
