// Benchmark contender for the download profile: fal's official JS client (@fal-ai/client, unchanged) runs N jobs
// against the FalVideo emulator (fal.queue.submit for every row, then subscribeToStatus and result, untimed), then
// downloads every result the way fal's docs show a result being used: fetch(result.data.video.url), the body read
// whole (arrayBuffer) and written to a file. The client has no download helper of its own; the docs fetch one URL and
// show no batch, so by default one download runs at a time (--parallel N runs N at once, a simple pool of workers).
// Started by bench/FalVideo.Benchmark (Issue12.cs).
//
//   node tests/js/bench-download.mjs --base-url http://127.0.0.1:8787 --rows 200 --dir /tmp/x [--parallel 1]
//
// Prints one line `BENCH-FIGURES {json}` (bench/FalVideo.Benchmark/ResourceChecks.cs, FigureReport); exit 0 = all saved.
import { fal } from "@fal-ai/client";
import { redirectToEmulator } from "./emulator-redirect.mjs";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

// The same endpoint and input as the other contenders (bench/FalVideo.Benchmark/Workload.cs).
const ENDPOINT = "fal-ai/kling-video/v3/pro/text-to-video";
const prompt = (i) => `Row ${i}: a paper boat drifting down a rain-soaked street at night, slow tracking shot`;

const options = { baseUrl: process.env.FALVIDEO_BASE_URL, rows: 200, dir: undefined, parallel: 1 };
for (let i = 2; i < process.argv.length; i++) {
  const value = () => process.argv[++i] ?? fail(`${process.argv[i - 1]} needs a value`);
  switch (process.argv[i]) {
    case "--base-url": options.baseUrl = value(); break;
    case "--rows": options.rows = Number.parseInt(value(), 10); break;
    case "--dir": options.dir = value(); break;
    case "--parallel": options.parallel = Number.parseInt(value(), 10); break;
    default: fail(`unknown option ${process.argv[i]}`);
  }
}
const base = (options.baseUrl ?? "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(base) || !(options.rows > 0) || !options.dir || !(options.parallel > 0)) {
  fail("usage: node bench-download.mjs --base-url <emulator url> --rows <n> --dir <folder> [--parallel <n>]");
}

redirectToEmulator(fal, base, "bench-key");

function fail(message) {
  console.error(`bench-download: ${message}`);
  process.exit(2);
}

async function main() {
  const version = JSON.parse(readFileSync(new URL("./node_modules/@fal-ai/client/package.json", import.meta.url), "utf8")).version;
  const inputs = Array.from({ length: options.rows }, (_, i) => ({ prompt: prompt(i + 1), duration: "5", generate_audio: false }));
  const submitted = await Promise.all(inputs.map((input) => fal.queue.submit(ENDPOINT, { input })));
  const results = await Promise.all(submitted.map(async ({ request_id: requestId }) => {
    await fal.queue.subscribeToStatus(ENDPOINT, { requestId });
    return fal.queue.result(ENDPOINT, { requestId });
  }));

  // The timed part: every video fetched and written, `parallel` at a time.
  let next = 0, bytes = 0, files = 0, errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.parallel, results.length) }, async () => {
    while (next < results.length) {
      const i = next++;
      try {
        const response = await fetch(results[i].data.video.url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = Buffer.from(await response.arrayBuffer());
        await writeFile(join(options.dir, `${results[i].requestId}.mp4`), body);
        bytes += body.length;
        files++;
      } catch (error) {
        errors++;
        console.error(`ERROR: ${error?.stack ?? error}`);
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const report = {
    check: "download-official",
    figures: { seconds, bytes, files, errors, parallel: options.parallel },
    notes: [`@fal-ai/client ${version}, Node.js ${process.version}, fetch + arrayBuffer + writeFile, ${options.parallel} at a time`],
  };
  console.log(`BENCH-FIGURES ${JSON.stringify(report)}`);
  process.exit(files === options.rows ? 0 : 1);
}

main().catch((error) => fail(error?.stack ?? String(error)));
