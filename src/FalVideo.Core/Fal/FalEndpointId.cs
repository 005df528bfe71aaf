using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace FalVideo.Fal;

/// <summary>
/// A fal endpoint id, <c>owner/alias[/path…]</c>; the namespaces <c>workflows/</c> and <c>comfy/</c> add one
/// leading segment. Example: <c>fal-ai/kling-video/v3/pro/text-to-video</c> → owner <c>fal-ai</c>, alias
/// <c>kling-video</c>, path <c>v3/pro/text-to-video</c>. Source: PROTOCOL.md "Endpoint id → URLs";
/// fal-js <c>libs/client/src/utils.ts</c> (<c>parseEndpointId</c>, <c>ensureEndpointIdFormat</c>).
/// </summary>
public sealed class FalEndpointId : IEquatable<FalEndpointId>
{
    private static readonly string[] Namespaces = ["workflows", "comfy"];

    private const string SegmentChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
#if NET8_0_OR_GREATER
    private static readonly SearchValues<char> s_segmentChars = SearchValues.Create(SegmentChars);

    private static bool HasOnlySegmentChars(string segment) => !segment.AsSpan().ContainsAnyExcept(s_segmentChars);
#else
    private static bool HasOnlySegmentChars(string segment) => segment.All(c => SegmentChars.IndexOf(c) >= 0);
#endif

    // A batch names the same few endpoints thousands of times (every status, result and journal handle parses one):
    // parsed ids are kept, up to a bound so a stream of distinct ids cannot grow it without limit.
    private const int MaxCached = 1024;
    private static readonly ConcurrentDictionary<string, FalEndpointId> s_parsed = new(StringComparer.Ordinal);

    private FalEndpointId(string? ns, string owner, string alias, string? path)
    {
        Namespace = ns;
        Owner = owner;
        Alias = alias;
        Path = path;
        AppId = ns is null ? $"{owner}/{alias}" : $"{ns}/{owner}/{alias}";
        Id = path is null ? AppId : $"{AppId}/{path}";
    }

    /// <summary>The full id, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>; submit URLs use it whole.</summary>
    public string Id { get; }

    /// <summary><c>workflows</c> or <c>comfy</c> when the id has that leading segment, else null.</summary>
    public string? Namespace { get; }

    /// <summary>The owner segment, e.g. <c>fal-ai</c>.</summary>
    public string Owner { get; }

    /// <summary>The app alias, e.g. <c>kling-video</c>.</summary>
    public string Alias { get; }

    /// <summary>The sub-path after the alias, e.g. <c>v3/pro/text-to-video</c>; null when there is none.</summary>
    public string? Path { get; }

    /// <summary><c>[namespace/]owner/alias</c>: what status, result and cancel URLs are built from
    /// (they never carry the sub-path; PROTOCOL.md "Endpoint id → URLs").</summary>
    public string AppId { get; }

    /// <summary>Parses an endpoint id.</summary>
    /// <param name="id">An id such as <c>fal-ai/minimax/hailuo-02/standard/text-to-video</c>, or the legacy
    /// <c>12345-my-app</c> form (read as <c>12345/my-app</c>).</param>
    /// <returns>The parsed id.</returns>
    /// <exception cref="ArgumentException">The id is empty, has too few segments, an empty segment, a
    /// <c>.</c>/<c>..</c> segment or characters other than letters, digits, <c>-</c>, <c>_</c>, <c>.</c>, <c>~</c>.</exception>
    public static FalEndpointId Parse(string id)
    {
        if (TryParseCore(id, out var value, out var error))
        {
            return value;
        }

        throw new ArgumentException(error, nameof(id));
    }

    /// <summary>Parses an endpoint id without throwing.</summary>
    /// <param name="id">The id text; null or blank fails.</param>
    /// <param name="value">The parsed id on success, else null.</param>
    /// <returns>True when <paramref name="id"/> is a valid endpoint id.</returns>
    public static bool TryParse([NotNullWhen(true)] string? id, [NotNullWhen(true)] out FalEndpointId? value)
        => TryParseCore(id, out value, out _);

    private static bool TryParseCore(string? id, [NotNullWhen(true)] out FalEndpointId? value, out string error)
    {
        if (id is not null && s_parsed.TryGetValue(id, out value))
        {
            error = "";
            return true;
        }

        if (!TryParseText(id, out value, out error))
        {
            return false;
        }

        if (s_parsed.Count < MaxCached)
        {
            s_parsed.TryAdd(id!, value);
        }

        return true;
    }

    private static bool TryParseText(string? id, [NotNullWhen(true)] out FalEndpointId? value, out string error)
    {
        value = null;
        var text = id?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "The endpoint id is empty; expected owner/alias[/path], e.g. fal-ai/kling-video/v3/pro/text-to-video.";
            return false;
        }

        var parts = text.Split('/');
        if (parts.Length == 1)
        {
            // fal still accepts the old "<numeric owner>-<alias>" app ids (fal-js ensureEndpointIdFormat).
            var dash = text.IndexOf('-');
            if (dash > 0 && text[..dash].All(char.IsAsciiDigit) && dash < text.Length - 1)
            {
                parts = [text[..dash], text[(dash + 1)..]];
            }
        }

        foreach (var part in parts)
        {
            if (!IsValidSegment(part))
            {
                error = $"The endpoint id '{text}' is not valid: every '/'-separated segment must be non-empty and use only letters, digits, '-', '_', '.' or '~'.";
                return false;
            }
        }

        var hasNamespace = Namespaces.Contains(parts[0], StringComparer.Ordinal);
        var first = hasNamespace ? 1 : 0;
        if (parts.Length < first + 2)
        {
            error = $"The endpoint id '{text}' is not valid: expected {(hasNamespace ? parts[0] + "/" : "")}owner/alias[/path].";
            return false;
        }

        var path = parts.Length > first + 2 ? string.Join("/", parts, first + 2, parts.Length - first - 2) : null;
        value = new FalEndpointId(hasNamespace ? parts[0] : null, parts[first], parts[first + 1], path);
        error = "";
        return true;
    }

    private static bool IsValidSegment(string segment) =>
        segment.Length > 0 && segment != "." && segment != ".."
        && HasOnlySegmentChars(segment);

    /// <summary>Returns <see cref="Id"/>.</summary>
    public override string ToString() => Id;

    /// <summary>Ordinal comparison of <see cref="Id"/>.</summary>
    public bool Equals(FalEndpointId? other) => other is not null && string.Equals(Id, other.Id, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FalEndpointId);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Id);
}
