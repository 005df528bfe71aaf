using FalVideo.Emulator.Media;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// The stand-in for fal's public media CDN (<c>v3.fal.media</c>): job outputs and uploads, without auth, with
/// <c>Content-Length</c> and HTTP Range support so resumable downloads can be rehearsed.
/// </summary>
internal static class CdnRoutes
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMethods(LocalMedia.Prefix + "{**path}", [HttpMethods.Get, HttpMethods.Head], Serve);

    private static IResult Serve(string path, LocalMedia media) =>
        media.Find(LocalMedia.Prefix + path) is { } file
            ? Results.File(file.Open(), file.ContentType, enableRangeProcessing: true)
            : Responses.Detail(404, "File not found");
}
