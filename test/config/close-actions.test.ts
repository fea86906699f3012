import { describe, expect, it } from "vitest";
import { formatConfigError, parseConfig } from "../../src/config/index.js";

/** swanctl `dpd_action` / `close_action` on a child (docs/config.md); RFC 7296 s2.4 liveness checks. */
const doc = (childExtra: string, remoteAddrs = "192.0.2.2"): string => `
connections:
  site-a:
    local_addrs: 192.0.2.1
    remote_addrs: ${remoteAddrs}
    dpd_delay: 30s
    local: { auth: psk, id: 192.0.2.1 }
    remote: { auth: psk, id: 192.0.2.2 }
    children:
      net:
        local_ts: 198.18.1.0/24
        remote_ts: 198.18.2.0/24
${childExtra}
secrets:
  ike-1: { id: [192.0.2.1, 192.0.2.2], secret: testbed-only-psk-do-not-use }
`;

describe("children.<child>.dpd_action and close_action", () => {
  it("default to clear and none", () => {
    const r = parseConfig(doc(""));
    if (!r.ok) throw new Error(r.errors.map(formatConfigError).join("\n"));
    const ch = r.config.engine.connections[0]?.children[0];
    expect(ch?.dpdAction).toBe("clear");
    expect(ch?.closeAction).toBe("none");
  });

  it("take restart/trap and start/trap", () => {
    for (const [dpd, close] of [["restart", "start"], ["trap", "trap"]] as const) {
      const r = parseConfig(doc(`        dpd_action: ${dpd}\n        close_action: ${close}`));
      if (!r.ok) throw new Error(r.errors.map(formatConfigError).join("\n"));
      const ch = r.config.engine.connections[0]?.children[0];
      expect(ch?.dpdAction).toBe(dpd);
      expect(ch?.closeAction).toBe(close);
    }
  });

  it("refuse unknown actions with the key path", () => {
    const r = parseConfig(doc("        dpd_action: hold\n        close_action: restart"));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.map(formatConfigError).join("\n");
    expect(text).toMatch(/dpd_action.*clear, trap or restart/);
    expect(text).toMatch(/close_action.*none, trap or start/);
  });

  it("refuse re-initiation without a concrete remote address", () => {
    const r = parseConfig(doc("        dpd_action: restart", "\"%any\""));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map(formatConfigError).join("\n")).toMatch(/dpd_action.*no IP address to initiate to/);
  });
});
