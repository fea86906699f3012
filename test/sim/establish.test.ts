import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf } from "./fixtures.js";
import { formatTs } from "../../src/ike/negotiation/traffic-selectors.js";

describe("RFC 7296 s1.2: IKE_SA_INIT + IKE_AUTH establish an IKE SA and the first Child SA", () => {
  it("brings up a PSK site-to-site tunnel with crossed SPIs, keys and selectors", () => {
    const { net, a, b, engA } = makePair(1);
    net.call(a, (e, now) => (e as typeof engA).initiate(now, "site"));
    // IKE_SA_INIT { HDR, SAi1, KEi, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP), N(SIG_HASH) } -->
    // <-- { HDR, SAr1, KEr, Nr, N(NATD_S), N(NATD_D), N(FRAG_SUP), N(SIG_HASH) }
    // IKE_AUTH { HDR, SK { IDi, IDr, AUTH, N(INITIAL_CONTACT), SAi2, TSi, TSr } } -->
    // <-- { HDR, SK { IDr, AUTH, SAr2, TSi, TSr } }
    expect(net.runUntil(() => a.installed.size === 1 && b.installed.size === 1, 10_000)).toBe(true);
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
    expect(a.established.length).toBe(1);
    expect(b.established.length).toBe(1);
    const pairs = pairedChildren(a, b);
    expect(pairs.length).toBe(1);
    const [sa, sb] = pairs[0]!;
    expect(sa.encrKeyOut.expose()).toEqual(sb.encrKeyIn.expose());
    expect(sa.encrKeyIn.expose()).toEqual(sb.encrKeyOut.expose());
    expect(sa.encrKeyIn.expose()).not.toEqual(sa.encrKeyOut.expose());
    expect(sa.encr.name).toBe("ENCR_AES_GCM_16_128");
    expect(sb.encr.name).toBe(sa.encr.name);
    expect(sa.integ).toBeUndefined();
    expect(sa.localTs.map(formatTs)).toEqual(["198.18.1.0/24"]);
    expect(sa.remoteTs.map(formatTs)).toEqual(["198.18.2.0/24"]);
    expect(sb.localTs.map(formatTs)).toEqual(["198.18.2.0/24"]);
    expect(sb.remoteTs.map(formatTs)).toEqual(["198.18.1.0/24"]);
    expect(sa.mode).toBe("tunnel");
    expect(sa.udpEncapsulation).toBe(false);
    expect(sa.connection).toBe("site");
    const status = engA.listSas(net.now);
    expect(status.length).toBe(1);
    expect(status[0]!.state).toBe("ESTABLISHED");
    expect(status[0]!.children[0]!.spiIn).toBe(sa.spiIn.toString(16).padStart(8, "0"));
  });
});
