// Submits one request with fal's official JS client (@fal-ai/client, unchanged) and the submit options given as JSON,
// so a test can compare the wire the emulator recorded with what FalVideo sends for the same options.
//
//   node tests/js/submit-options.mjs <emulator base url> <endpoint id> '<options json>'
//
// Options: {"webhookUrl": "...", "priority": "low", "startTimeout": 30, "expiresIn": 86400 | "1d", "noFallback": true}.
// fal-js 1.10.1 has no option for x-fal-disable-fallbacks, so noFallback passes it in `headers` (which the client
// lower-cases). Prints one JSON line with the request id; exit 0 = submitted.
import { fal } from "@fal-ai/client";
import { redirectToEmulator } from "./emulator-redirect.mjs";

const [base, endpointId, optionsJson] = [process.argv[2]?.replace(/\/+$/, ""), process.argv[3], process.argv[4] ?? "{}"];
if (!/^https?:\/\//.test(base ?? "") || !endpointId) {
  console.error("usage: node submit-options.mjs <emulator base url> <endpoint id> '<options json>'");
  process.exit(1);
}
redirectToEmulator(fal, base, "test-key");
const options = JSON.parse(optionsJson);

const submitted = await fal.queue.submit(endpointId, {
  input: { prompt: options.prompt ?? "A lighthouse at dusk" },
  ...(options.webhookUrl !== undefined && { webhookUrl: options.webhookUrl }),
  ...(options.priority !== undefined && { priority: options.priority }),
  ...(options.startTimeout !== undefined && { startTimeout: options.startTimeout }),
  ...(options.expiresIn !== undefined && { storageSettings: { expiresIn: options.expiresIn } }),
  ...(options.noFallback && { headers: { "X-Fal-Disable-Fallbacks": "true" } }),
});
console.log(JSON.stringify({ requestId: submitted.request_id }));
