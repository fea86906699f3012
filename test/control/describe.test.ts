/**
 * describeConnections (src/control/describe.ts): the loaded config as list-conns records, with
 * proposals as the operator wrote them and traffic selectors resolved (dynamic -> address).
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { describeConnections } from "../../src/control/describe.js";

const YAML = `
connections:
  site-a:
    local_addrs: 192.0.2.1
    remote_addrs: 192.0.2.2
    proposals: aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048
    dpd_delay: 30s
    local: { auth: psk }
    remote: { auth: psk, id: 192.0.2.2 }
    children:
      net: { remote_ts: 198.18.2.0/24, esp_proposals: aes128gcm16, start_action: start }
secrets:
  ike: { id: 192.0.2.2, secret: "testbed-only" }
`;

describe("describeConnections", () => {
  it("maps a loaded connection to its status record", () => {
    const r = parseConfig(YAML);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(describeConnections(r.config, (name) => (name === "site-a" ? 2 : 0))).toEqual([
      {
        name: "site-a",
        version: 2,
        localAddrs: ["192.0.2.1"],
        remoteAddrs: ["192.0.2.2"],
        localPort: 500,
        remotePort: 500,
        proposals: ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"],
        rekeyTimeSeconds: 14400,
        dpdDelaySeconds: 30,
        encap: false,
        local: { auth: "psk", id: "192.0.2.1" },
        remote: { auth: "psk", id: "192.0.2.2" },
        children: [
          {
            name: "net",
            mode: "TUNNEL",
            startAction: "start",
            dpdAction: "clear",
            closeAction: "none",
            rekeyTimeSeconds: 3600,
            lifeTimeSeconds: 3960,
            espProposals: ["aes128gcm16"],
            localTs: ["192.0.2.1/32"],
            remoteTs: ["198.18.2.0/24"],
          },
        ],
        ikeSas: 2,
      },
    ]);
  });
});
