// Submits one request through fal's official JS client (@fal-ai/client, unchanged) with a webhookUrl, against the
// FalVideo emulator: the wire form of the webhook (?fal_webhook=) is the client's own, and the emulator must deliver
// to it. Prints one JSON line {"requestId"}; the test receives and verifies the delivery.
//
//   node tests/js/official-webhook.mjs <emulator base url> <webhook url>
import { fal } from "@fal-ai/client";
import { redirectToEmulator } from "./emulator-redirect.mjs";

const [base, webhookUrl] = [(process.argv[2] ?? "").replace(/\/+$/, ""), process.argv[3] ?? ""];
if (!/^https?:\/\//.test(base) || !/^https?:\/\//.test(webhookUrl)) {
  console.error("usage: node official-webhook.mjs <emulator base url> <webhook url>");
  process.exit(1);
}
redirectToEmulator(fal, base, "test-key");

const submitted = await fal.queue.submit("fal-ai/kling-video/v3/pro/text-to-video", {
  input: { prompt: "A lighthouse at dusk, slow dolly in", duration: "5", generate_audio: false },
  webhookUrl,
});
console.log(JSON.stringify({ requestId: submitted.request_id }));
