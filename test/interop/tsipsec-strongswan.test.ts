/**
 * tsipsec <-> strongSwan 5.9.8 (kernel-libipsec) in the four-namespace topology: the cases of
 * test/interop/harness/cases.ts that pass (the ones listed in harness/pending.ts run in
 * pending-matrix.pending.ts instead). tsipsec is gw-a, strongSwan gw-b; every case brings a tunnel
 * up, checks both listings against each other and against the expected algorithms, sends ping
 * and a checksummed TCP transfer between the hosts, and tears down.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { createSiteToSite, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import { ensureStrongSwanInstalled } from "../support/strongswan.js";
import { CASES } from "./harness/cases.js";
import { PENDING } from "./harness/pending.js";

describe("tsipsec <-> strongSwan interop (RFC 7296, RFC 4303, RFC 3948)", () => {
  let topology: Topology | undefined;

  beforeAll(async () => {
    // A missing strongSwan is installed; an install that fails fails the suite (never a skip).
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("ti"), ipv6: true });
  });

  afterAll(async () => {
    await topology?.destroy();
  });

  for (const c of CASES.filter((x) => PENDING[x.id] === undefined)) {
    it(c.title, { timeout: c.timeoutMs }, async () => {
      await c.run({ topology: topology! });
    });
  }
});
