import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { ControlError } from "../../src/control/protocol.js";
import { createPair, type Pair } from "./harness.js";

/**
 * Break-it F3: `tsipsec up` fails (exit 1, the daemon answers an error) with the reason when the
 * peer refuses the Child SA, instead of "still negotiating" after its wait. A Child SA refused in
 * IKE_AUTH leaves the IKE SA up (RFC 7296 s2.21.2), so the second `up` travels in CREATE_CHILD_SA
 * (s1.3.1): both paths are covered.
 */
describe("RFC 7296 s2.21.2, s1.3.1: `up` reports a refused Child SA", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "uprf", startA: "none", startB: "none" });
    // gw-b accepts only another ESP suite: every Child SA gw-a asks for is refused.
    const b = readFileSync(pair.configB, "utf8").replace(/esp_proposals: .*/, "esp_proposals: aes256-sha256");
    writeFileSync(pair.configB, b, { mode: 0o600 });
    await controlRequest(pair.gwB.controlPath, { op: "reload" });
  });
  afterAll(async () => {
    await pair?.close();
  });

  async function upError(): Promise<ControlError> {
    const r = await controlRequest(pair.gwA.controlPath, { op: "up", conn: "site", child: "net" }).then(
      (ok) => ok,
      (e: unknown) => e,
    );
    expect(r).toBeInstanceOf(ControlError);
    return r as ControlError;
  }

  it("NO_PROPOSAL_CHOSEN in IKE_AUTH: up fails with the notify; the IKE SA stays", async () => {
    const e = await upError();
    expect(e.code).toBe("failed");
    expect(e.message).toMatch(/Child SA site\/net failed: NO_PROPOSAL_CHOSEN/);
    const sas = await pair.gwA.listSas();
    expect(sas).toHaveLength(1);
    expect(sas[0]?.children).toHaveLength(0);
  });

  it("NO_PROPOSAL_CHOSEN in CREATE_CHILD_SA: up fails with the notify", async () => {
    const e = await upError();
    expect(e.message).toMatch(/Child SA site\/net failed: NO_PROPOSAL_CHOSEN/);
  });

  it("TS_UNACCEPTABLE: up fails with the notify", async () => {
    // gw-b now takes the ESP suite but protects another remote subnet than gw-a offers.
    const b = readFileSync(pair.configB, "utf8").replace(/esp_proposals: .*/, "esp_proposals: aes128gcm16").replace('remote_ts: "198.18.1.0/24"', 'remote_ts: "198.18.9.0/24"');
    expect(b).toContain("198.18.9.0/24");
    writeFileSync(pair.configB, b, { mode: 0o600 });
    await controlRequest(pair.gwB.controlPath, { op: "reload" });
    const e = await upError();
    expect(e.message).toMatch(/Child SA site\/net failed: TS_UNACCEPTABLE/);
  });
});
