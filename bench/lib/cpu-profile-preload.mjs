// Preloaded into the tsipsec daemons by bench/tunnel.ts (BENCH_TUNNEL_PROFILE=DIR) through
// NODE_OPTIONS="--import <this file>" (Node 20 refuses --cpu-prof in NODE_OPTIONS): starts the V8
// CPU profiler at start-up and writes DIR/<pid>.cpuprofile when the process exits. A main-thread
// inspector session answers synchronously, so the exit handler can stop and save.
import { writeFileSync, mkdirSync } from "node:fs";
import { Session } from "node:inspector";

const dir = process.env.TSIPSEC_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, res) => {
      if (err || !res) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(res.profile));
    });
  });
}
