using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Utilities.Encoders;

namespace FalVideo.Emulator.Webhooks;

/// <summary>
/// The emulator's webhook signing key: an Ed25519 key pair made when the emulator starts (kept across
/// <see cref="RunningEmulator.RestartAsync"/>), whose public half the emulator serves as a JWKS at
/// <c>/.well-known/jwks.json</c>, where fal serves its own on <c>rest.fal.ai</c> (PROTOCOL.md, "Webhooks"). It signs
/// what fal signs: the UTF-8 text <c>request_id \n user_id \n timestamp \n sha256hex(body)</c>, the signature sent as hex.
/// </summary>
public sealed class WebhookSigner
{
    private readonly Ed25519PrivateKeyParameters _private;

    /// <summary>A new random key pair.</summary>
    public WebhookSigner()
    {
        _private = new Ed25519PrivateKeyParameters(new SecureRandom());
        PublicKey = _private.GeneratePublicKey().GetEncoded();
        KeyId = "emulator-" + Hex.ToHexString(SHA256.HashData(PublicKey), 0, 8);
    }

    /// <summary>The 32-byte Ed25519 public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The JWK <c>kid</c> of the key (derived from the key, so it changes with every emulator start).</summary>
    public string KeyId { get; }

    /// <summary>The JWKS document: <c>{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "&lt;base64url&gt;", "kid", "use": "sig", "alg": "EdDSA"}]}</c> (RFC 8037).</summary>
    public JsonObject Jwks() => new()
    {
        ["keys"] = new JsonArray(new JsonObject
        {
            ["kty"] = "OKP",
            ["crv"] = "Ed25519",
            ["x"] = Convert.ToBase64String(PublicKey).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            ["kid"] = KeyId,
            ["use"] = "sig",
            ["alg"] = "EdDSA",
        }),
    };

    /// <summary>The hex signature of one delivery.</summary>
    /// <param name="requestId">X-Fal-Webhook-Request-Id.</param>
    /// <param name="userId">X-Fal-Webhook-User-Id.</param>
    /// <param name="timestamp">X-Fal-Webhook-Timestamp (Unix seconds, as sent).</param>
    /// <param name="body">The body, whose UTF-8 bytes are hashed.</param>
    public string Sign(string requestId, string userId, string timestamp, string body)
    {
        var message = Encoding.UTF8.GetBytes(string.Join("\n", requestId, userId, timestamp,
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(body))).ToLowerInvariant()));
        var signer = new Ed25519Signer();
        signer.Init(true, _private);
        signer.BlockUpdate(message, 0, message.Length);
        return Convert.ToHexString(signer.GenerateSignature()).ToLowerInvariant();
    }
}
