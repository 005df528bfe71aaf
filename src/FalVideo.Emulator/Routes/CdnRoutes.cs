using FalVideo.Emulator.Media;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// The stand-in for fal's public media CDN (<c>v3.fal.media</c>): job outputs and uploads, without auth, with
/// <c>Content-Length</c> and HTTP Range support so resumable downloads can be rehearsed. With
/// <see cref="EmulatorOptions.CdnBytesPerSecondPerConnection"/> set, each response is paced to that many bytes per second.
/// </summary>
internal static class CdnRoutes
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMethods(LocalMedia.Prefix + "{**path}", [HttpMethods.Get, HttpMethods.Head], Serve);

    private static IResult Serve(HttpContext context, string path, LocalMedia media, EmulatorOptions options, EmulatorState state)
    {
        if (media.Find(LocalMedia.Prefix + path) is not { } file) return Responses.Detail(404, "File not found");
        if (!state.PrivateOutputs.Allows(context)) return Responses.Detail(403, "Access to this file is forbidden");
        var body = file.Open();
        if (options.CdnBytesPerSecondPerConnection is { } cap) body = new PacedStream(body, cap);
        return Results.File(body, file.ContentType, enableRangeProcessing: true);
    }
}
