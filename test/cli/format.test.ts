/**
 * The human listings (src/cli/format.ts), modelled on swanctl --list-sas / --list-conns / --stats.
 */
import { describe, expect, it } from "vitest";
import { formatListConns, formatListSas, formatStats } from "../../src/cli/format.js";
import type { ChildSaStatus, ConnectionStatus, IkeSaStatus } from "../../src/control/protocol.js";

const child: ChildSaStatus = {
  id: 7,
  name: "net",
  reqid: 2,
  state: "REKEYING",
  mode: "TRANSPORT",
  protocol: "ESP",
  udpEncapsulation: false,
  encr: "AES_CBC-256",
  integ: "HMAC_SHA2_256_128",
  ke: "ECP_256",
  esn: true,
  spiIn: "00000001",
  spiOut: "ffffffff",
  bytesIn: 0,
  packetsIn: 0,
  bytesOut: 0,
  packetsOut: 0,
  installedSecondsAgo: 0,
  localTs: ["198.18.1.0/24[tcp/80]", "2001:db8:1::/48"],
  remoteTs: ["198.18.2.0/24"],
};

const responderSa: IkeSaStatus = {
  id: 9,
  connection: "site-b",
  state: "CONNECTING",
  version: 2,
  initiator: false,
  spiI: "1111111111111111",
  spiR: "0000000000000000",
  local: { id: "192.0.2.2", address: "192.0.2.2", port: 4500, behindNat: true },
  remote: { id: "192.0.2.1", address: "198.51.100.7", port: 61000, behindNat: true },
  encr: "CHACHA20_POLY1305-256",
  prf: "PRF_HMAC_SHA2_256",
  ke: "CURVE_25519",
  children: [child],
};

describe("formatListSas", () => {
  it("marks the responder's SPI, NAT, and omits absent timings", () => {
    expect(formatListSas([responderSa])).toBe(
      [
        "site-b: #9, CONNECTING, IKEv2, 1111111111111111_i 0000000000000000_r*",
        "  local  '192.0.2.2' @ 192.0.2.2[4500] [NAT]",
        // RFC 7296 s2.23: a mismatched source hash may be the peer forcing encapsulation, not a NAT.
        "  remote '192.0.2.1' @ 198.51.100.7[61000] [ENCAP]",
        "  CHACHA20_POLY1305-256/PRF_HMAC_SHA2_256/CURVE_25519",
        "  net: #7, reqid 2, REKEYING, TRANSPORT, ESP:AES_CBC-256/HMAC_SHA2_256_128/ECP_256/ESN",
        "    installed 0s ago",
        "    in  00000001,      0 bytes,     0 packets",
        "    out ffffffff,      0 bytes,     0 packets",
        "    local  198.18.1.0/24[tcp/80]",
        "    local  2001:db8:1::/48",
        "    remote 198.18.2.0/24",
        "",
      ].join("\n"),
    );
  });

  it("prints nothing for no SAs", () => {
    expect(formatListSas([])).toBe("");
  });
});

describe("formatListConns", () => {
  const conn: ConnectionStatus = {
    name: "site-a",
    version: 2,
    localAddrs: ["192.0.2.1"],
    remoteAddrs: ["%any"],
    localPort: 500,
    remotePort: 4500,
    proposals: ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"],
    rekeyTimeSeconds: 0,
    dpdDelaySeconds: 0,
    encap: true,
    local: { auth: "psk", id: "gw-a.example" },
    remote: { auth: "pubkey", id: "%any" },
    children: [{ name: "net", mode: "TUNNEL", startAction: "trap", rekeyTimeSeconds: 3600, lifeTimeSeconds: 3960, espProposals: ["aes128gcm16-esn"], localTs: ["198.18.1.0/24"], remoteTs: ["198.18.2.0/24", "198.18.3.0/24"] }],
    ikeSas: 0,
  };
  it("shows addresses, proposals, auth rounds and children like swanctl --list-conns", () => {
    expect(formatListConns([conn])).toBe(
      [
        "site-a: IKEv2, no reauthentication, no rekeying",
        "  local:  192.0.2.1",
        "  remote: %any[4500]",
        "  proposals: aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048 (UDP encapsulation forced)",
        "  local pre-shared key authentication:",
        "    id: gw-a.example",
        "  remote public key authentication:",
        "    id: %any",
        "  net: TUNNEL, rekeying every 3600s, expires after 3960s, start action trap",
        "    esp proposals: aes128gcm16-esn",
        "    local:  198.18.1.0/24",
        "    remote: 198.18.2.0/24 198.18.3.0/24",
        "",
      ].join("\n"),
    );
  });
});

describe("formatListConns: lifetimes of 0 (swanctl: none)", () => {
  it("a child with rekey_time 0 and no life_time neither rekeys nor expires, and says so", () => {
    const conn: ConnectionStatus = {
      name: "site-b", version: 2, localAddrs: ["192.0.2.1"], remoteAddrs: ["192.0.2.2"], localPort: 500, remotePort: 500,
      proposals: ["default"], rekeyTimeSeconds: 14400, dpdDelaySeconds: 0, encap: false,
      local: { auth: "psk", id: "192.0.2.1" }, remote: { auth: "psk", id: "192.0.2.2" },
      children: [{ name: "net", mode: "TUNNEL", startAction: "none", rekeyTimeSeconds: 0, lifeTimeSeconds: 0, espProposals: ["default"], localTs: ["dynamic"], remoteTs: ["dynamic"] }],
      ikeSas: 0,
    };
    expect(formatListConns([conn])).toContain("  net: TUNNEL, no rekeying, no expiry, start action none\n");
  });
});

describe("formatListConns: dpd_action and close_action", () => {
  const base: ConnectionStatus = {
    name: "site-b", version: 2, localAddrs: ["192.0.2.1"], remoteAddrs: ["192.0.2.2"], localPort: 500, remotePort: 500,
    proposals: ["default"], rekeyTimeSeconds: 14400, dpdDelaySeconds: 30, encap: false,
    local: { auth: "psk", id: "192.0.2.1" }, remote: { auth: "psk", id: "192.0.2.2" },
    children: [{ name: "net", mode: "TUNNEL", startAction: "start", dpdAction: "restart", closeAction: "trap", rekeyTimeSeconds: 0, lifeTimeSeconds: 0, espProposals: ["default"], localTs: ["dynamic"], remoteTs: ["dynamic"] }],
    ikeSas: 0,
  };
  it("names the actions that do something; the defaults (clear, none) are not printed", () => {
    expect(formatListConns([base])).toContain("  net: TUNNEL, no rekeying, no expiry, start action start, dpd action restart, close action trap\n");
    const quiet: ConnectionStatus = { ...base, children: base.children.map((c) => ({ ...c, dpdAction: "clear" as const, closeAction: "none" as const })) };
    expect(formatListConns([quiet])).toContain("  net: TUNNEL, no rekeying, no expiry, start action start\n");
  });
});

describe("formatStats", () => {
  it("lists counters and only the drop reasons that happened", () => {
    const text = formatStats({
      uptimeSeconds: 3,
      connections: 2,
      ikeSas: { total: 0, halfOpen: 0, established: 0 },
      childSas: { installed: 0 },
      ike: { messagesIn: 0, messagesOut: 0, retransmits: 0, invalid: 0 },
      esp: { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 },
      drops: { replay: 0, icv: 0 },
    });
    expect(text).toContain("uptime: 3s\nconnections: 2 loaded\n");
    expect(text).toContain("drops: none\n");
  });

  it("shows the engine's COOKIE, half-open and resent-response counters (RFC 7296 s2.1, s2.6)", () => {
    const text = formatStats({
      uptimeSeconds: 3,
      connections: 1,
      ikeSas: { total: 0, halfOpen: 0, established: 0 },
      childSas: { installed: 0 },
      ike: { messagesIn: 9, messagesOut: 9, retransmits: 1, invalid: 2, responsesResent: 3, cookiesDemanded: 4, halfOpenBlocked: 5 },
      esp: { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 },
      drops: {},
    });
    expect(text).toContain("IKE responses resent: 3, COOKIEs demanded: 4, half-open refused: 5\n");
  });
});
