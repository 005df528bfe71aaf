namespace FalVideo.Emulator.Schemas;

/// <summary>
/// An endpoint id split as fal's clients split it (PROTOCOL.md, "Endpoint id → URLs"; fal-js
/// <c>parseEndpointId</c>): <c>[namespace/]owner/alias[/path…]</c>, where only <c>workflows</c> and
/// <c>comfy</c> are namespaces. Status, result and cancel URLs use <see cref="AppId"/>, never the path.
/// </summary>
internal sealed record EndpointId(string Id, string AppId)
{
    public static readonly string[] Namespaces = ["workflows", "comfy"];

    public static EndpointId? Parse(string? id)
    {
        var parts = (id ?? "").TrimEnd('/').Split('/');
        if (parts.Any(string.IsNullOrWhiteSpace)) return null;
        var appLength = Namespaces.Contains(parts[0]) ? 3 : 2;
        if (parts.Length < appLength) return null;
        return new EndpointId(string.Join('/', parts), string.Join('/', parts.Take(appLength)));
    }
}
