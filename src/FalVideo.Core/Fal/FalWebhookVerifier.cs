using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Utilities.Encoders;

namespace FalVideo.Fal;

/// <summary>
/// Verifies a webhook delivery from fal (PROTOCOL.md, "Webhooks"; docs.fal.ai, model-endpoints/webhooks): the
/// signature of <c>X-Fal-Webhook-Signature</c> is Ed25519 over the UTF-8 text of four lines joined by <c>\n</c> —
/// request id, user id, timestamp (the three headers' values) and the lowercase hex SHA-256 of the raw body — and must
/// verify under one of the Ed25519 keys (JWK <c>kty</c> OKP, <c>crv</c> Ed25519, <c>x</c> base64url) of fal's JWKS at
/// <see cref="JwksUrl"/>; the timestamp must lie within <see cref="Tolerance"/> of now (300 s). The JWKS is fetched
/// once and kept in memory for <see cref="KeyLifetime"/> (fal allows up to 24 h), shared by every verifier of the
/// process that uses the same URL; when no kept key verifies a signature and the keys are older than
/// <see cref="RefreshAfter"/>, they are fetched again once, so a key fal has just rotated in is found. Ed25519 comes
/// from BouncyCastle, which runs on .NET Framework 4.7.2 and .NET 8 alike (neither has Ed25519 built in).
/// </summary>
public sealed class FalWebhookVerifier
{
    /// <summary>Path of fal's JWKS on its REST host (PROTOCOL.md, "Webhooks").</summary>
    public const string JwksPath = "/.well-known/jwks.json";

    /// <summary>fal's JWKS: <c>https://rest.fal.ai/.well-known/jwks.json</c> (PROTOCOL.md, "Webhooks").</summary>
    public static Uri DefaultJwksUrl { get; } = new("https://rest.fal.ai" + JwksPath);

    private static readonly ConcurrentDictionary<string, KeySet> s_keys = new(StringComparer.Ordinal);
    private static readonly SemaphoreSlim s_fetchGate = new(1, 1);
    private static int s_fetches;

    private readonly HttpClient _http;
    private readonly TimeProvider _clock;

    /// <summary>A verifier that reads its keys from <paramref name="jwksUrl"/>.</summary>
    /// <param name="jwksUrl">The JWKS URL: <see cref="DefaultJwksUrl"/>, or the emulator's (<see cref="JwksUrlFor"/>).</param>
    /// <param name="http">The HTTP client for the JWKS; null uses the module's shared one (no key is ever sent).</param>
    /// <param name="clock">The clock the timestamp window is measured with; null for the system clock.</param>
    public FalWebhookVerifier(Uri jwksUrl, HttpClient? http = null, TimeProvider? clock = null)
    {
        JwksUrl = jwksUrl ?? throw new ArgumentNullException(nameof(jwksUrl));
        _http = http ?? FalSharedHttp.Client;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The JWKS URL the keys come from.</summary>
    public Uri JwksUrl { get; }

    /// <summary>How far the signed timestamp may lie from now, either way: 300 seconds (PROTOCOL.md, "Webhooks").</summary>
    public TimeSpan Tolerance { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>How long fetched keys are used before they are fetched again: 24 hours, the most fal's docs allow.</summary>
    public TimeSpan KeyLifetime { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Keys at least this old are fetched again (once) when none of them verifies a signature: 5 minutes.</summary>
    public TimeSpan RefreshAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one JWKS fetch may take: 30 seconds.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>JWKS fetches this process has made (all URLs): what shows that the keys are cached.</summary>
    public static int FetchCount => Volatile.Read(ref s_fetches);

    /// <summary>The JWKS URL on a REST base URL: <c>{restBaseUrl}/.well-known/jwks.json</c>, where fal's is on
    /// <c>https://rest.fal.ai</c> and the emulator serves its own.</summary>
    /// <param name="restBaseUrl">fal's REST base URL (FalClientOptions.RestBaseUrl).</param>
    public static Uri JwksUrlFor(Uri restBaseUrl) => new(restBaseUrl.ToString().TrimEnd('/') + JwksPath);

    /// <summary>Forgets every kept JWKS, so the next verification fetches again.</summary>
    public static void ClearKeyCache() => s_keys.Clear();

    /// <summary>
    /// Verifies a delivery and returns it parsed. Checks, in order: the four headers are there, the timestamp is a
    /// whole number of seconds within <see cref="Tolerance"/> of now, the signature is 64 bytes of hex that one of fal's
    /// keys verifies over the four lines, and the body is fal's JSON with the header's request id.
    /// </summary>
    /// <param name="headers">fal's headers from the delivery.</param>
    /// <param name="body">The raw body text, exactly as received (its UTF-8 bytes are what fal hashed).</param>
    /// <param name="ct">Cancels the JWKS fetch.</param>
    /// <returns>The verified delivery.</returns>
    /// <exception cref="FalWebhookException">Id <c>FalWebhookInvalid</c>: the delivery failed a check (the message
    /// says which). Id <c>FalWebhookKeysUnavailable</c>: the JWKS could not be fetched or held no Ed25519 key.</exception>
    public async Task<FalWebhookEvent> VerifyAsync(FalWebhookHeaders headers, string body, CancellationToken ct = default)
    {
        if (headers is null) throw new ArgumentNullException(nameof(headers));
        body ??= "";
        var missing = new[]
        {
            (FalWebhookHeaders.RequestIdHeader, headers.RequestId), (FalWebhookHeaders.UserIdHeader, headers.UserId),
            (FalWebhookHeaders.TimestampHeader, headers.Timestamp), (FalWebhookHeaders.SignatureHeader, headers.Signature),
        }.Where(h => h.Item2 is null).Select(h => h.Item1).ToArray();
        if (missing.Length > 0)
            throw new FalWebhookException($"The request is not a signed fal webhook: it lacks the header(s) {string.Join(", ", missing)}.");

        if (!long.TryParse(headers.Timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > 253402300799)
            throw new FalWebhookException($"{FalWebhookHeaders.TimestampHeader} '{headers.Timestamp}' is not a time in Unix seconds.");
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var skew = _clock.GetUtcNow() - signedAt;
        if (skew.Duration() > Tolerance)
        {
            throw new FalWebhookException(
                $"The webhook was signed at {signedAt:u}, {FalWebhookException.Seconds(skew.Duration())} s {(skew > TimeSpan.Zero ? "ago" : "in the future")}; " +
                $"only {FalWebhookException.Seconds(Tolerance)} s either way are accepted (a replayed delivery, or this machine's clock is off).");
        }

        var signature = DecodeSignature(headers.Signature!)
            ?? throw new FalWebhookException($"{FalWebhookHeaders.SignatureHeader} is not the hex of a 64-byte Ed25519 signature.");
        var message = SignedMessage(headers.RequestId!, headers.UserId!, headers.Timestamp!, body);

        var keys = await KeysAsync(forceRefresh: false, ct).ConfigureAwait(false);
        if (!AnyVerifies(keys.Keys, message, signature))
        {
            var verified = false;
            if (_clock.GetUtcNow() - keys.FetchedAt >= RefreshAfter)
            {
                keys = await KeysAsync(forceRefresh: true, ct).ConfigureAwait(false);
                verified = AnyVerifies(keys.Keys, message, signature);
            }
            if (!verified)
            {
                throw new FalWebhookException(
                    $"The signature of the webhook for request {headers.RequestId} does not verify with any of the {keys.Keys.Count} key(s) at {JwksUrl}: " +
                    "the body or a header was changed, or it was not signed by fal.");
            }
        }

        var parsed = FalWebhookEvent.Parse(body, headers.UserId!, signedAt);
        if (!string.Equals(parsed.RequestId, headers.RequestId, StringComparison.Ordinal))
        {
            throw new FalWebhookException(
                $"The body names request {parsed.RequestId} but {FalWebhookHeaders.RequestIdHeader} names {headers.RequestId}.");
        }
        return parsed;
    }

    /// <summary>
    /// The bytes fal signs: the UTF-8 text <c>request_id \n user_id \n timestamp \n sha256hex(body)</c>, the hash in
    /// lowercase hex over the UTF-8 bytes of <paramref name="body"/> (PROTOCOL.md, "Webhooks").
    /// </summary>
    /// <param name="requestId">X-Fal-Webhook-Request-Id.</param>
    /// <param name="userId">X-Fal-Webhook-User-Id.</param>
    /// <param name="timestamp">X-Fal-Webhook-Timestamp, as sent.</param>
    /// <param name="body">The raw body.</param>
    public static byte[] SignedMessage(string requestId, string userId, string timestamp, string body)
    {
        byte[] hash;
        using (var sha = SHA256.Create()) hash = sha.ComputeHash(Encoding.UTF8.GetBytes(body ?? ""));
        return Encoding.UTF8.GetBytes(string.Join("\n", requestId, userId, timestamp, Hex.ToHexString(hash)));
    }

    /// <summary>True when one of <paramref name="publicKeys"/> (32-byte Ed25519 public keys) verifies
    /// <paramref name="signature"/> over <paramref name="message"/>.</summary>
    /// <param name="publicKeys">The candidate keys.</param>
    /// <param name="message">The signed bytes (<see cref="SignedMessage"/>).</param>
    /// <param name="signature">The 64-byte signature.</param>
    public static bool AnyVerifies(IEnumerable<byte[]> publicKeys, byte[] message, byte[] signature)
    {
        foreach (var key in publicKeys)
        {
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(key, 0));
            verifier.BlockUpdate(message, 0, message.Length);
            if (verifier.VerifySignature(signature)) return true;
        }
        return false;
    }

    /// <summary>
    /// The Ed25519 public keys of a JWKS document <c>{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "&lt;base64url&gt;"}, ...]}</c>
    /// (RFC 8037); other keys are skipped.
    /// </summary>
    /// <param name="json">The JWKS text.</param>
    /// <returns>The 32-byte keys, in document order.</returns>
    /// <exception cref="FalWebhookException">Id <c>FalWebhookKeysUnavailable</c>: not a JWKS, or no Ed25519 key in it.</exception>
    public static IReadOnlyList<byte[]> ParseJwks(string json)
    {
        if (FalJson.TryParse(Encoding.UTF8.GetBytes(json ?? "")) is not JsonObject root || root["keys"] is not JsonArray entries)
            throw FalWebhookException.KeysUnavailable("The JWKS is not a JSON object with a \"keys\" array.");
        var keys = new List<byte[]>();
        foreach (var entry in entries.OfType<JsonObject>())
        {
            if (FalJson.GetString(entry, "kty") != "OKP" || FalJson.GetString(entry, "crv") != "Ed25519") continue;
            // 32 bytes: Ed25519PublicKeyParameters.KeySize (RFC 8032).
            if (FalJson.GetString(entry, "x") is { } x && FromBase64Url(x) is { Length: 32 } key)
                keys.Add(key);
        }
        if (keys.Count == 0) throw FalWebhookException.KeysUnavailable("The JWKS holds no Ed25519 key (kty OKP, crv Ed25519).");
        return keys;
    }

    private async Task<KeySet> KeysAsync(bool forceRefresh, CancellationToken ct)
    {
        var url = JwksUrl.ToString();
        if (!forceRefresh && s_keys.TryGetValue(url, out var kept) && _clock.GetUtcNow() - kept.FetchedAt < KeyLifetime) return kept;

        await s_fetchGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Another verification may have fetched while this one waited.
            if (s_keys.TryGetValue(url, out kept) && _clock.GetUtcNow() - kept.FetchedAt < (forceRefresh ? TimeSpan.FromSeconds(1) : KeyLifetime))
                return kept;
            var fresh = new KeySet(await FetchAsync(ct).ConfigureAwait(false), _clock.GetUtcNow());
            s_keys[url] = fresh;
            return fresh;
        }
        finally
        {
            s_fetchGate.Release();
        }
    }

    private async Task<IReadOnlyList<byte[]>> FetchAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref s_fetches);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(FetchTimeout);
        string text;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, JwksUrl);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw FalWebhookException.KeysUnavailable($"fal's webhook keys could not be fetched: {JwksUrl} answered HTTP {(int)response.StatusCode}.");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw FalWebhookException.KeysUnavailable($"fal's webhook keys could not be fetched: {JwksUrl} did not answer within {FalWebhookException.Seconds(FetchTimeout)} s.");
        }
        catch (HttpRequestException e)
        {
            throw FalWebhookException.KeysUnavailable($"fal's webhook keys could not be fetched from {JwksUrl}: {e.Message}", e);
        }
        return ParseJwks(text);
    }

    private static byte[]? DecodeSignature(string hex)
    {
        if (hex.Length != 128) return null;
        foreach (var c in hex)
        {
            if (!Uri.IsHexDigit(c)) return null;
        }
        return Hex.Decode(hex);
    }

    private static byte[]? FromBase64Url(string text)
    {
        var s = text.Trim().Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
        try { return Convert.FromBase64String(s); }
        catch (FormatException) { return null; }
    }

    private sealed class KeySet(IReadOnlyList<byte[]> keys, DateTimeOffset fetchedAt)
    {
        public IReadOnlyList<byte[]> Keys { get; } = keys;
        public DateTimeOffset FetchedAt { get; } = fetchedAt;
    }
}
