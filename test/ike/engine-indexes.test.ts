/**
 * The engine's per-setup look-ups that replaced scans of every IKE SA (docs/performance.md
 * bench:ike): the Child SA SPI offered by a request in flight, the half-open set, the SA by id.
 * (By peer identity and by id are also checked against a scan at every step of every simulation,
 * test/sim/network.ts; INITIAL_CONTACT itself in test/sim/negotiation.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { IkeEngine } from "../../src/ike/engine.js";
import { IkeSa } from "../../src/ike/ike-sa.js";
import type { Random } from "../../src/crypto/random.js";
import { seededRandom } from "../../src/crypto/random.js";
import { A_ADDR, A_ID, B_ADDR, B_ID, connection, engineConfig } from "../sim/fixtures.js";

/** A Random whose 4-byte draws are the scripted SPIs, in order (other sizes: seeded). */
function scriptedSpis(spis: number[]): Random {
  const rest = seededRandom("rest");
  return {
    bytes(n: number): Uint8Array {
      if (n !== 4) return rest.bytes(n);
      const spi = spis.shift();
      if (spi === undefined) throw new Error("script exhausted");
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, spi);
      return b;
    },
  };
}

function sa(engine: IkeEngine, id: number, spi: bigint): IkeSa {
  const conn = connection("c", { addr: A_ADDR, id: A_ID, ts: ["10.1.0.0/16"] }, { addr: B_ADDR, id: B_ID, ts: ["10.2.0.0/16"] });
  const s = new IkeSa({ id, connection: conn, initiator: true, spiI: spi, spiR: 0n, local: { address: A_ADDR, port: 500 }, remote: { address: B_ADDR, port: 500 }, state: "awaitingAuthResponse", now: 0, localId: A_ID });
  engine.registerIkeSa(s);
  return s;
}

const authOffer = (childSpi: number): IkeSa["active"] => ({ kind: "auth", child: undefined, childSpi, proposals: [], tsi: [], tsr: [], transport: false });

describe("IkeEngine indexes", () => {
  it("newChildSpi skips an SPI offered by a request in flight, and reuses it once that request is done", () => {
    const engine = new IkeEngine(engineConfig([]), scriptedSpis([0x1000, 0x2000, 0x1000]), 0);
    const s = sa(engine, 1, 11n);
    s.active = authOffer(0x1000);
    expect(engine.newChildSpi()).toBe(0x2000);
    s.active = undefined;
    expect(engine.newChildSpi()).toBe(0x1000);
  });

  it("an SPI offered before registration counts, one of a closed SA does not", () => {
    const engine = new IkeEngine(engineConfig([]), scriptedSpis([0x1000, 0x3000, 0x4000, 0x3000]), 0);
    const conn = connection("c", { addr: A_ADDR, id: A_ID, ts: ["10.1.0.0/16"] }, { addr: B_ADDR, id: B_ID, ts: ["10.2.0.0/16"] });
    const early = new IkeSa({ id: 7, connection: conn, initiator: true, spiI: 7n, spiR: 0n, local: { address: A_ADDR, port: 500 }, remote: { address: B_ADDR, port: 500 }, state: "awaitingAuthResponse", now: 0, localId: A_ID });
    early.active = authOffer(0x1000);
    engine.registerIkeSa(early);
    const other = sa(engine, 8, 8n);
    other.active = authOffer(0x3000);
    expect(engine.newChildSpi()).toBe(0x4000);
    engine.closeIkeSa(0, other, "test");
    expect(engine.newChildSpi()).toBe(0x3000);
  });

  it("ikeSaById finds live SAs only", () => {
    const engine = new IkeEngine(engineConfig([]), seededRandom(1), 0);
    const a = sa(engine, 3, 33n);
    expect(engine.ikeSaById(3)).toBe(a);
    engine.closeIkeSa(0, a, "test");
    expect(engine.ikeSaById(3)).toBeUndefined();
  });
});
