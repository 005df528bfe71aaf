using System.Security.Cryptography;
using System.Text;
using FalVideo.Core.Tests.Http;
using FalVideo.Fal;
using FalVideo.Jobs;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Utilities.Encoders;

namespace FalVideo.Core.Tests.Client;

/// <summary>
/// fal's webhook signature check on every runtime the module runs on (Ed25519 through BouncyCastle, also under Mono):
/// deliveries are signed here with a key pair of the test's own, over the message laid out as PROTOCOL.md
/// ("Webhooks") says, independently of the verifier's own <see cref="FalWebhookVerifier.SignedMessage"/>; the JWKS
/// is served by a real loopback HTTP server that counts its requests.
/// </summary>
public sealed class WebhookVerifierTests
{
    private const string RequestId = "024ca5b1-45d3-4afd-883e-ad3abe2a1c4d";
    private const string UserId = "user-42";

    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static readonly string OkBody =
        "{\"request_id\": \"" + RequestId + "\", \"gateway_request_id\": \"" + RequestId + "\", \"status\": \"OK\", " +
        "\"payload\": {\"video\": {\"url\": \"https://v3.fal.media/files/x/out.mp4\", \"content_type\": \"video/mp4\", " +
        "\"file_name\": \"out.mp4\", \"file_size\": 1234}}}";

    private sealed class Clock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Time { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Time;
    }

    private sealed class KeyPair
    {
        public Ed25519PrivateKeyParameters Private { get; } = new(new SecureRandom());
        public string Jwk => "{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"" +
            Convert.ToBase64String(Private.GeneratePublicKey().GetEncoded()).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\"}";

        /// <summary>The headers of a delivery of <paramref name="body"/> signed at <paramref name="at"/>.</summary>
        public FalWebhookHeaders Sign(string body, DateTimeOffset at, string requestId = RequestId, string userId = UserId)
        {
            var timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            byte[] hash;
            using (var sha = SHA256.Create()) hash = sha.ComputeHash(Encoding.UTF8.GetBytes(body));
            var message = Encoding.UTF8.GetBytes(requestId + "\n" + userId + "\n" + timestamp + "\n" + Hex.ToHexString(hash));
            var signer = new Ed25519Signer();
            signer.Init(true, Private);
            signer.BlockUpdate(message, 0, message.Length);
            return new FalWebhookHeaders(requestId, userId, timestamp, Hex.ToHexString(signer.GenerateSignature()));
        }
    }

    /// <summary>Serves <c>{"keys": [...]}</c> of the current <paramref name="jwks"/>() at any path.</summary>
    private static LoopbackServer JwksServer(Func<string> jwks, int status = 200) => new(async (stream, _, stop) =>
    {
        var body = Encoding.UTF8.GetBytes("{\"keys\": [" + jwks() + "]}");
        var head = LoopbackServer.Head(status == 200 ? "200 OK" : $"{status} Error", "Content-Type: application/json",
            $"Content-Length: {body.Length}", "Connection: close");
        await stream.WriteAsync(head, 0, head.Length, stop).ConfigureAwait(false);
        await stream.WriteAsync(body, 0, body.Length, stop).ConfigureAwait(false);
    });

    private static FalWebhookVerifier Verifier(LoopbackServer server, Clock clock) =>
        new(new Uri(server.BaseUrl, ".well-known/jwks.json"), clock: clock);

    [Fact]
    public async Task A_delivery_signed_as_fal_signs_verifies_and_parses()
    {
        var key = new KeyPair();
        using var server = JwksServer(() => key.Jwk);
        var clock = new Clock(Now);

        var delivery = await Verifier(server, clock).VerifyAsync(key.Sign(OkBody, Now.AddSeconds(-20)), OkBody);

        Assert.True(delivery.Succeeded);
        Assert.Equal(RequestId, delivery.RequestId);
        Assert.Equal(UserId, delivery.UserId);
        Assert.Equal(Now.AddSeconds(-20), delivery.SignedAt);
        Assert.Equal("https://v3.fal.media/files/x/out.mp4", delivery.Video!.Url.ToString());
        Assert.Equal(1234, delivery.Video.FileSize);

        var job = new FalJob { RequestId = RequestId, Status = FalJobStatus.InProgress };
        delivery.ApplyTo(job);
        Assert.Equal(FalJobStatus.Completed, job.Status);
        Assert.Equal("https://v3.fal.media/files/x/out.mp4", job.VideoUrl);
        Assert.Equal(1234, job.VideoSize);
        Assert.Equal("out.mp4", job.VideoFileName);
    }

    [Fact]
    public async Task Any_key_of_the_set_may_have_signed()
    {
        var old = new KeyPair();
        var current = new KeyPair();
        using var server = JwksServer(() => old.Jwk + ", {\"kty\": \"RSA\", \"n\": \"x\", \"e\": \"AQAB\"}, " + current.Jwk);
        var delivery = await Verifier(server, new Clock(Now)).VerifyAsync(current.Sign(OkBody, Now), OkBody);
        Assert.Equal(RequestId, delivery.RequestId);
    }

    [Fact]
    public async Task A_changed_body_a_changed_header_or_another_key_is_refused()
    {
        var key = new KeyPair();
        var stranger = new KeyPair();
        using var server = JwksServer(() => key.Jwk);
        var verifier = Verifier(server, new Clock(Now));
        var headers = key.Sign(OkBody, Now);

        async Task<FalWebhookException> Refused(FalWebhookHeaders h, string body)
        {
            var e = await Assert.ThrowsAsync<FalWebhookException>(() => verifier.VerifyAsync(h, body));
            Assert.Equal(FalWebhookException.InvalidId, e.ErrorId);
            return e;
        }

        Assert.Contains("does not verify", (await Refused(headers, OkBody.Replace("1234", "9999"))).Message);
        Assert.Contains("does not verify", (await Refused(headers, OkBody + " ")).Message);
        Assert.Contains("does not verify", (await Refused(new FalWebhookHeaders(RequestId, "user-43", headers.Timestamp, headers.Signature), OkBody)).Message);
        Assert.Contains("does not verify", (await Refused(stranger.Sign(OkBody, Now), OkBody)).Message);
        Assert.Contains("64-byte", (await Refused(new FalWebhookHeaders(RequestId, UserId, headers.Timestamp, "zz" + headers.Signature!.Substring(2)), OkBody)).Message);
        var otherId = "11111111-45d3-4afd-883e-ad3abe2a1c4d";
        Assert.Contains("names request", (await Refused(key.Sign(OkBody, Now, otherId), OkBody)).Message);
        var missing = await Refused(new FalWebhookHeaders(RequestId, null, headers.Timestamp, null), OkBody);
        Assert.Contains(FalWebhookHeaders.UserIdHeader, missing.Message);
        Assert.Contains(FalWebhookHeaders.SignatureHeader, missing.Message);
    }

    [Fact]
    public async Task Only_timestamps_within_300_seconds_either_way_are_accepted()
    {
        var key = new KeyPair();
        using var server = JwksServer(() => key.Jwk);
        var verifier = Verifier(server, new Clock(Now));

        await verifier.VerifyAsync(key.Sign(OkBody, Now.AddSeconds(-300)), OkBody);
        await verifier.VerifyAsync(key.Sign(OkBody, Now.AddSeconds(300)), OkBody);
        var old = await Assert.ThrowsAsync<FalWebhookException>(() => verifier.VerifyAsync(key.Sign(OkBody, Now.AddSeconds(-301)), OkBody));
        Assert.Contains("301 s ago", old.Message);
        var future = await Assert.ThrowsAsync<FalWebhookException>(() => verifier.VerifyAsync(key.Sign(OkBody, Now.AddMinutes(10)), OkBody));
        Assert.Contains("in the future", future.Message);
        var garbled = key.Sign(OkBody, Now);
        await Assert.ThrowsAsync<FalWebhookException>(() =>
            verifier.VerifyAsync(new FalWebhookHeaders(RequestId, UserId, "1.7e9", garbled.Signature), OkBody));
    }

    [Fact]
    public async Task The_keys_are_fetched_once_and_again_after_24_hours()
    {
        var key = new KeyPair();
        using var server = JwksServer(() => key.Jwk);
        var clock = new Clock(Now);

        for (var i = 0; i < 3; i++)
            await Verifier(server, clock).VerifyAsync(key.Sign(OkBody, clock.Time), OkBody);
        Assert.Equal(1, server.Requests);

        clock.Time = Now.AddHours(24);
        await Verifier(server, clock).VerifyAsync(key.Sign(OkBody, clock.Time), OkBody);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task A_key_rotated_in_is_found_by_one_refetch_once_the_kept_keys_are_five_minutes_old()
    {
        var first = new KeyPair();
        var next = new KeyPair();
        var served = first;
        using var server = JwksServer(() => served.Jwk);
        var clock = new Clock(Now);
        var verifier = Verifier(server, clock);
        await verifier.VerifyAsync(first.Sign(OkBody, clock.Time), OkBody);

        served = next;
        // Keys fetched a moment ago are not fetched again for every bad signature.
        await Assert.ThrowsAsync<FalWebhookException>(() => verifier.VerifyAsync(next.Sign(OkBody, clock.Time), OkBody));
        Assert.Equal(1, server.Requests);

        clock.Time = Now.AddMinutes(6);
        var delivery = await verifier.VerifyAsync(next.Sign(OkBody, clock.Time), OkBody);
        Assert.Equal(RequestId, delivery.RequestId);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task Keys_that_cannot_be_fetched_are_their_own_error()
    {
        var key = new KeyPair();
        using var failing = JwksServer(() => key.Jwk, status: 503);
        var e = await Assert.ThrowsAsync<FalWebhookException>(() => Verifier(failing, new Clock(Now)).VerifyAsync(key.Sign(OkBody, Now), OkBody));
        Assert.Equal(FalWebhookException.KeysUnavailableId, e.ErrorId);
        Assert.Contains("503", e.Message);

        using var noEd25519 = JwksServer(() => "{\"kty\": \"RSA\", \"n\": \"x\", \"e\": \"AQAB\"}");
        e = await Assert.ThrowsAsync<FalWebhookException>(() => Verifier(noEd25519, new Clock(Now)).VerifyAsync(key.Sign(OkBody, Now), OkBody));
        Assert.Equal(FalWebhookException.KeysUnavailableId, e.ErrorId);
    }

    [Fact]
    public async Task An_error_delivery_fails_the_job_with_fals_text_and_the_detail()
    {
        var key = new KeyPair();
        using var server = JwksServer(() => key.Jwk);
        const string body = "{\"request_id\": \"" + RequestId + "\", \"gateway_request_id\": \"" + RequestId + "\", \"status\": \"ERROR\", " +
            "\"error\": \"Invalid status code: 422\", \"payload\": {\"detail\": [{\"loc\": [\"body\", \"prompt\"], \"msg\": \"field required\", \"type\": \"value_error.missing\"}]}}";
        var delivery = await Verifier(server, new Clock(Now)).VerifyAsync(key.Sign(body, Now), body);

        Assert.False(delivery.Succeeded);
        Assert.Null(delivery.Video);
        var job = new FalJob { RequestId = RequestId, Status = FalJobStatus.InQueue };
        delivery.ApplyTo(job);
        Assert.Equal(FalJobStatus.Failed, job.Status);
        Assert.StartsWith("Invalid status code: 422: ", job.Error);
        Assert.Contains("field required", job.Error);
        Assert.Null(job.VideoUrl);
    }

    [Fact]
    public void The_header_names_match_in_any_case()
    {
        var headers = FalWebhookHeaders.From(new Dictionary<string, string?>
        {
            ["x-fal-webhook-request-id"] = RequestId, ["X-FAL-WEBHOOK-USER-ID"] = UserId,
            ["X-Fal-Webhook-Timestamp"] = " 1764504000 ", ["x-fal-webhook-signature"] = "ab", ["Content-Type"] = "application/json",
        });
        Assert.Equal(RequestId, headers.RequestId);
        Assert.Equal(UserId, headers.UserId);
        Assert.Equal("1764504000", headers.Timestamp);
        Assert.Equal("ab", headers.Signature);
    }
}
