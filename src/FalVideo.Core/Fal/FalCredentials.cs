using System.Text.RegularExpressions;

namespace FalVideo.Fal;

/// <summary>
/// Finds the API key and hides it in text. The environment variables are the ones both official clients read
/// (PROTOCOL.md "Authentication"; fal-js <c>libs/client/src/config.ts</c>, <c>credentialsFromEnv</c>).
/// </summary>
public static class FalCredentials
{
    /// <summary>Halves shorter than this are not masked on their own: replacing a two-letter id would shred unrelated text.</summary>
    private const int MinMaskedPartLength = 4;

    /// <summary>Picks the key: <paramref name="explicitKey"/>, else <paramref name="sessionKey"/>, else
    /// <c>FAL_KEY</c>, else <c>FAL_KEY_ID</c> + <c>":"</c> + <c>FAL_KEY_SECRET</c> (both must be set).
    /// Blank values count as absent; values are trimmed.</summary>
    /// <param name="explicitKey">A key given for this call (e.g. a cmdlet parameter).</param>
    /// <param name="sessionKey">A key stored for the session.</param>
    /// <param name="getEnvironmentVariable">Reads an environment variable (injectable for tests).</param>
    /// <returns>The key, or null when none is available.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="getEnvironmentVariable"/> is null.</exception>
    public static string? Resolve(string? explicitKey, string? sessionKey, Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var key = Clean(explicitKey) ?? Clean(sessionKey) ?? Clean(getEnvironmentVariable("FAL_KEY"));
        if (key is not null)
        {
            return key;
        }

        var id = Clean(getEnvironmentVariable("FAL_KEY_ID"));
        var secret = Clean(getEnvironmentVariable("FAL_KEY_SECRET"));
        return id is not null && secret is not null ? $"{id}:{secret}" : null;
    }

    /// <summary>Replaces the key, and each half of an <c>id:secret</c> key, with <c>***</c>; so is the token of any
    /// <c>Key …</c> or <c>Bearer …</c> credential, whoever's it is (a server may echo another header back).</summary>
    /// <param name="text">Text that may contain the key (a log line, an error body).</param>
    /// <param name="key">The key; null or empty masks only <c>Key …</c>/<c>Bearer …</c> credentials.</param>
    /// <returns>The masked text.</returns>
    public static string Mask(string text, string? key)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        var masked = text;
        if (!string.IsNullOrEmpty(key))
        {
            masked = masked.Replace(key, "***");
            var colon = key.IndexOf(':');
            if (colon >= 0)
            {
                // The secret goes first: it is the half that matters and may contain the id as a substring.
                foreach (var part in new[] { key[(colon + 1)..], key[..colon] })
                {
                    if (part.Length >= MinMaskedPartLength)
                    {
                        masked = masked.Replace(part, "***");
                    }
                }
            }
        }

        return Credential.Replace(masked, "$1 ***");
    }

    /// <summary>An authorization scheme and its token. The token must hold a digit so prose ("Key frames matter")
    /// stays readable; fal keys and bearer tokens all do.</summary>
    private static readonly Regex Credential = new(
        @"(?<![A-Za-z])(Key|[Bb]earer|BEARER|KEY)\s+(?=[A-Za-z0-9._~+/=:-]*[0-9])[A-Za-z0-9._~+/=:-]{8,}",
        RegexOptions.CultureInvariant);

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
