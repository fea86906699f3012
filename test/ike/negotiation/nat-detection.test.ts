import { describe, it, expect } from "vitest";
import { checkNatDetection, natDetectionHash, natDetectionPayloadData } from "../../../src/ike/negotiation/nat-detection.js";
import { toHex } from "../../../src/wire/hex.js";

// Expected hashes computed independently with Python: hashlib.sha1(spiI + spiR + inet_pton(ip) + struct.pack(">H", port)).
describe("RFC 7296 s2.23: NAT detection hashes", () => {
  it("SHA-1(SPIi | SPIr | IP | Port) for IPv4", () => {
    expect(toHex(natDetectionHash(0x0001020304050607n, 0xc02e7a3031a03188n, "192.0.2.1", 500))).toBe("eecc9802df0ef2a0ac1d1dd301f385ef3e85134b");
  });
  it("for IPv6 with SPIr = 0 (first IKE_SA_INIT request)", () => {
    expect(toHex(natDetectionHash(0x0001020304050607n, 0n, "2001:db8::1", 4500))).toBe("ca56e50f9d0bdf955717f87a0966d1c5684e9f76");
  });
  it("address bytes and text give the same hash", () => {
    expect(natDetectionHash(1n, 2n, new Uint8Array([192, 0, 2, 1]), 500)).toEqual(natDetectionHash(1n, 2n, "192.0.2.1", 500));
  });
});

describe("RFC 7296 s2.23: who is behind a NAT", () => {
  const spiI = 0x1122334455667788n;
  const spiR = 0n;
  // The initiator at 198.51.100.10:500 sends to the responder at 203.0.113.1:500.
  const sent = natDetectionPayloadData(spiI, spiR, { address: "198.51.100.10", port: 500 }, { address: "203.0.113.1", port: 500 });
  const cases: Array<[string, { address: string; port: number }, { address: string; port: number }, boolean, boolean]> = [
    ["no NAT", { address: "203.0.113.1", port: 500 }, { address: "198.51.100.10", port: 500 }, false, false],
    ["initiator behind a NAT (source rewritten)", { address: "203.0.113.1", port: 500 }, { address: "192.0.2.77", port: 61234 }, false, true],
    ["only the port was rewritten", { address: "203.0.113.1", port: 500 }, { address: "198.51.100.10", port: 1025 }, false, true],
    ["responder behind a NAT (destination rewritten)", { address: "198.18.0.5", port: 500 }, { address: "198.51.100.10", port: 500 }, true, false],
  ];
  it.each(cases)("%s", (_n, local, remote, localBehindNat, remoteBehindNat) => {
    // The responder evaluates: local = where the packet arrived, remote = where it came from.
    const r = checkNatDetection({ sourceHashes: [sent.source], destinationHashes: [sent.destination] }, { spiI, spiR, local, remote });
    expect(r).toEqual({ supported: true, localBehindNat, remoteBehindNat });
  });
  it("several source hashes (multi-homed peer): any match means no NAT", () => {
    const other = natDetectionHash(spiI, spiR, "198.51.100.99", 500);
    const r = checkNatDetection(
      { sourceHashes: [other, sent.source], destinationHashes: [sent.destination] },
      { spiI, spiR, local: { address: "203.0.113.1", port: 500 }, remote: { address: "198.51.100.10", port: 500 } },
    );
    expect(r.remoteBehindNat).toBe(false);
  });
  it("no notifies: NAT-T not supported", () => {
    expect(checkNatDetection({ sourceHashes: [], destinationHashes: [] }, { spiI, spiR, local: { address: "203.0.113.1", port: 500 }, remote: { address: "198.51.100.10", port: 500 } }).supported).toBe(false);
  });
});
