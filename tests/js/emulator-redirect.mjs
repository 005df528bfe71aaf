// fal's JS client hard-codes fal's hosts (queue.fal.run, fal.run, rest.fal.ai); the client's own request middleware
// points them at the emulator, so the client runs unchanged. Shared by the official-client test and the benchmark's
// official contenders.
export const FAL_HOSTS = /^https:\/\/(?:[a-z0-9-]+\.)?fal\.run(?=\/|$)|^https:\/\/rest\.fal\.ai(?=\/|$)/;

/**
 * Configures `fal` to send everything to `base` (the emulator's URL, no trailing slash).
 * A URL on any other host throws, so nothing reaches the real fal.
 * @param {object} fal the `fal` export of @fal-ai/client
 * @param {string} base the emulator's base URL
 * @param {string} credentials the key the client sends
 * @param {(host: string) => void} [rewritten] told each fal host that was rewritten
 */
export function redirectToEmulator(fal, base, credentials, rewritten = () => {}) {
  fal.config({
    credentials,
    requestMiddleware: async (request) => {
      const match = FAL_HOSTS.exec(request.url);
      if (match) {
        rewritten(match[0]);
        return { ...request, url: base + request.url.slice(match[0].length) };
      }
      if (!request.url.startsWith(base + "/")) {
        // A host this script does not know about would reach the real fal: stop rather than leak.
        throw new Error(`the client called an unexpected URL: ${request.url}`);
      }
      return request;
    },
  });
}
