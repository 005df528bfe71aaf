// Drives fal's official JS client (@fal-ai/client, unchanged) against the FalVideo emulator, to show the
// emulator speaks fal's protocol as fal's own client understands it.
//
//   node tests/js/official-client.mjs http://127.0.0.1:8787      (or set FALVIDEO_BASE_URL)
//
// The client hard-codes fal's hosts (queue.fal.run, fal.run, rest.fal.ai in 1.10.1: src/request.js buildUrl,
// src/config.js getRestApiUrl), so a request middleware points them at the emulator. Upload PUTs and CDN
// downloads go to the URLs the emulator returned, as they would at fal. Prints one JSON line; exit 0 = all good.
import { fal, ValidationError, ApiError } from "@fal-ai/client";
import { redirectToEmulator } from "./emulator-redirect.mjs";

const ENDPOINT = "fal-ai/kling-video/v3/pro/text-to-video";
const I2V_ENDPOINT = "fal-ai/kling-video/o3/pro/image-to-video";
// A 1x1 PNG.
const PNG = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="), (c) => c.charCodeAt(0));

const base = (process.argv[2] ?? process.env.FALVIDEO_BASE_URL ?? "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(base)) {
  fail("usage: node official-client.mjs <emulator base url>   (or set FALVIDEO_BASE_URL)");
}

const rewrittenHosts = new Set();
redirectToEmulator(fal, base, "test-key", (host) => rewrittenHosts.add(host));

function fail(message) {
  console.error(`official-client: ${message}`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const summary = {};

  // Submit, then poll status with logs.
  const submitted = await fal.queue.submit(ENDPOINT, {
    input: { prompt: "A lighthouse at dusk, slow dolly in [emulator:seconds=1]", duration: "5", generate_audio: false },
  });
  check(submitted.request_id, "submit returned no request_id");
  check(submitted.status_url === `${base}/fal-ai/kling-video/requests/${submitted.request_id}/status`,
    `unexpected status_url ${submitted.status_url}`);
  summary.requestId = submitted.request_id;
  summary.submitStatus = submitted.status;

  const firstStatus = await fal.queue.status(ENDPOINT, { requestId: submitted.request_id, logs: true });
  check(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].includes(firstStatus.status), `odd status ${firstStatus.status}`);
  check(Array.isArray(firstStatus.logs), "status with logs=true carried no logs array");
  summary.firstStatus = firstStatus.status;

  // Wait over the SSE stream.
  const streamed = [];
  let logLines = [];
  const done = await fal.queue.subscribeToStatus(ENDPOINT, {
    requestId: submitted.request_id,
    logs: true,
    mode: "streaming",
    onQueueUpdate: (update) => {
      streamed.push(update.status);
      logLines = update.logs ?? logLines; // the client accumulates the lines each event adds
    },
  });
  check(done.status === "COMPLETED", `stream ended with ${done.status}`);
  check(streamed.at(-1) === "COMPLETED", "the last streamed update was not COMPLETED");
  summary.streamedStatuses = streamed;
  summary.streamedLogLines = logLines.map((log) => log.message);

  // Result and download.
  const result = await fal.queue.result(ENDPOINT, { requestId: submitted.request_id });
  check(result.requestId === submitted.request_id, "result did not carry x-fal-request-id");
  const video = result.data.video;
  check(video?.url?.startsWith(`${base}/cdn/`), `video url not served by the emulator: ${video?.url}`);
  const download = await fetch(video.url);
  const bytes = new Uint8Array(await download.arrayBuffer());
  check(download.ok && download.headers.get("content-type") === "video/mp4", `download failed: ${download.status}`);
  check(bytes.length === video.file_size, `downloaded ${bytes.length} bytes, file_size says ${video.file_size}`);
  summary.videoUrl = video.url;
  summary.videoBytes = bytes.length;

  // Polling subscribe (submit + 500 ms polls + result) in one call.
  const polled = await fal.subscribe("fal-ai/minimax/hailuo-2.3/pro/text-to-video", {
    input: { prompt: "A storm over the sea" },
    logs: true,
    pollInterval: 100,
  });
  check(polled.data.video?.url, "fal.subscribe returned no video");
  summary.subscribeRequestId = polled.requestId;

  // Upload, read back, and use as a model input.
  const uploadUrl = await fal.storage.upload(new Blob([PNG], { type: "image/png" }));
  check(uploadUrl.startsWith(`${base}/cdn/uploads/`), `upload url not on the emulator: ${uploadUrl}`);
  const readBack = new Uint8Array(await (await fetch(uploadUrl)).arrayBuffer());
  check(readBack.length === PNG.length && readBack.every((b, i) => b === PNG[i]), "uploaded bytes differ");
  const i2v = await fal.queue.submit(I2V_ENDPOINT, { input: { image_url: uploadUrl, prompt: "the light turns on" } });
  summary.uploadUrl = uploadUrl;
  summary.imageToVideoRequestId = i2v.request_id;

  // Cancel: accepted for a running job, refused (400 ALREADY_COMPLETED) for a finished one.
  const slow = await fal.queue.submit(ENDPOINT, { input: { prompt: "a long one [emulator:seconds=10]" } });
  await fal.queue.cancel(ENDPOINT, { requestId: slow.request_id });
  summary.cancelledRequestId = slow.request_id;
  try {
    await fal.queue.cancel(ENDPOINT, { requestId: submitted.request_id });
    throw new Error("cancelling a completed request did not fail");
  } catch (error) {
    check(error instanceof ApiError && error.status === 400 && error.body?.status === "ALREADY_COMPLETED",
      `cancel of a completed request: ${error}`);
    summary.cancelCompleted = error.body.status;
  }

  // The client's ValidationError understands the emulator's 422 body.
  try {
    await fal.queue.submit(ENDPOINT, { input: { prompt: "p", duration: 5 } });
    throw new Error("a numeric duration was accepted");
  } catch (error) {
    check(error instanceof ValidationError, `expected a ValidationError, got ${error}`);
    const [fieldError] = error.getFieldErrors("duration");
    check(fieldError?.type === "literal_error", `no duration error in ${JSON.stringify(error.body)}`);
    summary.validationError = { status: error.status, loc: fieldError.loc, type: fieldError.type };
  }

  summary.rewrittenHosts = [...rewrittenHosts].sort();
  summary.ok = true;
  console.log(JSON.stringify(summary));
}

main().catch((error) => fail(error?.stack ?? String(error)));
