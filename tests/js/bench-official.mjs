// Benchmark contender: fal's official JS client (@fal-ai/client, unchanged) doing N text-to-video jobs against the
// FalVideo emulator the way its docs show: fal.queue.submit for every row, then fal.queue.subscribeToStatus
// (polling every 500 ms by default, or mode "streaming") and fal.queue.result for each request.
// Started by bench/FalVideo.Benchmark, which counts the HTTP requests at the emulator.
//
//   node tests/js/bench-official.mjs --base-url http://127.0.0.1:8787 --rows 1000 [--mode polling|streaming] [--poll-ms 500]
//
// Prints one line `BENCH-RESULT {json}` (the fields of bench/FalVideo.Benchmark/ChildReport.cs); exit 0 = all done.
import { fal } from "@fal-ai/client";
import { redirectToEmulator } from "./emulator-redirect.mjs";
import { readFileSync } from "node:fs";

// The same endpoint and input as the FalVideo rows and the floor (bench/FalVideo.Benchmark/Workload.cs).
const ENDPOINT = "fal-ai/kling-video/v3/pro/text-to-video";
const prompt = (i) => `Row ${i}: a paper boat drifting down a rain-soaked street at night, slow tracking shot`;

const options = { baseUrl: process.env.FALVIDEO_BASE_URL, rows: 1000, mode: "polling", pollMs: undefined };
for (let i = 2; i < process.argv.length; i++) {
  const value = () => process.argv[++i] ?? fail(`${process.argv[i - 1]} needs a value`);
  switch (process.argv[i]) {
    case "--base-url": options.baseUrl = value(); break;
    case "--rows": options.rows = Number.parseInt(value(), 10); break;
    case "--mode": options.mode = value(); break;
    case "--poll-ms": options.pollMs = Number.parseInt(value(), 10); break;
    default: fail(`unknown option ${process.argv[i]}`);
  }
}
const base = (options.baseUrl ?? "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(base) || !(options.rows > 0) || !["polling", "streaming"].includes(options.mode)) {
  fail("usage: node bench-official.mjs --base-url <emulator url> --rows <n> [--mode polling|streaming] [--poll-ms <n>]");
}

redirectToEmulator(fal, base, "bench-key");

function fail(message) {
  console.error(`bench-official: ${message}`);
  process.exit(2);
}

// Peak resident set size of this process, read like the .NET contenders read theirs.
function peakRssKb() {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) : process.resourceUsage().maxRSS;
}

async function main() {
  const version = JSON.parse(readFileSync(new URL("./node_modules/@fal-ai/client/package.json", import.meta.url), "utf8")).version;
  const inputs = Array.from({ length: options.rows }, (_, i) => ({ prompt: prompt(i + 1), duration: "5", generate_audio: false }));
  const waitOptions = options.mode === "streaming"
    ? { mode: "streaming" }
    : options.pollMs ? { pollInterval: options.pollMs } : {};

  const started = performance.now();
  // A batch in JS: every submit at once, then every wait at once.
  const submitted = await Promise.all(inputs.map((input) => fal.queue.submit(ENDPOINT, { input })));
  const settled = await Promise.allSettled(submitted.map(async ({ request_id: requestId }) => {
    await fal.queue.subscribeToStatus(ENDPOINT, { requestId, ...waitOptions });
    return fal.queue.result(ENDPOINT, { requestId });
  }));
  const workSeconds = (performance.now() - started) / 1000;

  const completed = settled.filter((s) => s.status === "fulfilled" && s.value?.data?.video?.url).length;
  const failures = settled.filter((s) => s.status === "rejected");
  for (const f of failures.slice(0, 5)) console.error(`ERROR: ${f.reason?.stack ?? f.reason}`);
  const cpu = process.cpuUsage();
  const report = {
    client: `@fal-ai/client ${version}, Node.js ${process.version}, ${options.mode}${options.mode === "polling" ? ` ${options.pollMs ?? 500} ms` : ""}`,
    workSeconds,
    completed,
    errors: failures.length,
    peakRssKb: peakRssKb(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  console.log(`BENCH-RESULT ${JSON.stringify(report)}`);
  process.exit(completed === options.rows ? 0 : 1);
}

main().catch((error) => fail(error?.stack ?? String(error)));
