using System.Text.Json.Nodes;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Schemas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// Status, result and cancel of a queued request at <c>/[namespace/]owner/alias/requests/{id}...</c>
/// (PROTOCOL.md, "Status", "Result", "Cancel"). A URL that keeps the endpoint's sub-path or names another
/// app matches nothing and gets 404, as a client that builds URLs wrongly would at fal.
/// </summary>
internal static class RequestRoutes
{
    /// <summary>The two prefixes fal allows: <c>owner/alias</c>, and <c>namespace/owner/alias</c> for workflows/comfy.</summary>
    public static readonly string[] AppPrefixes = ["/{owner}/{alias}", "/{ns}/{owner}/{alias}"];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in AppPrefixes)
        {
            app.MapGet(prefix + "/requests/{requestId}/status", Status).RequireFalKey();
            app.MapGet(prefix + "/requests/{requestId}/status/stream", StatusStream.Run).RequireFalKey();
            app.MapGet(prefix + "/requests/{requestId}", Result).RequireFalKey();
            app.MapPut(prefix + "/requests/{requestId}/cancel", Cancel).RequireFalKey();
        }
    }

    /// <summary>The <c>[namespace/]owner/alias</c> the URL names, or null for a namespace fal does not have.</summary>
    public static string? AppIdOf(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var app = $"{values["owner"]}/{values["alias"]}";
        return values["ns"] is not string ns ? app
            : EndpointId.Namespaces.Contains(ns) ? $"{ns}/{app}"
            : null;
    }

    public static bool WantsLogs(HttpRequest request) => request.Query["logs"] == "1";

    private static IResult Status(HttpContext context, string requestId, JobScheduler jobs, EmulatorState state)
    {
        state.CountStatusRequest();
        if (Find(context, requestId, jobs) is not { } job) return NotFound();
        var logs = WantsLogs(context.Request) ? JobLogs.For(job) : null;
        var code = job.Status == JobStatus.Completed ? 200 : 202;
        return Responses.Json(QueueJson.Status(context.Request.BaseUrl(), job, logs), code);
    }

    private static IResult Result(HttpContext context, string requestId, JobScheduler jobs, Platform.CatalogPrices prices)
    {
        if (Find(context, requestId, jobs) is not { } job) return NotFound();
        context.Response.Headers["x-fal-request-id"] = job.RequestId;
        if (job.Status != JobStatus.Completed) return Responses.Detail(400, "Request is still in progress");
        if (job.ErrorType is { } errorType)
        {
            context.Response.Headers["X-Fal-Error-Type"] = errorType;
            return Responses.Json(new JsonObject { ["detail"] = job.Error, ["error_type"] = errorType }, Failures.HttpStatus(errorType));
        }
        // The billed quantity (PROTOCOL.md "Headers worth exposing"): seconds of video for a per-second price; fal does
        // not send it for every endpoint, and neither does the emulator for flat-priced ones.
        if (prices.BillableUnitsHeader(job.EndpointId, job.Input) is { } units) context.Response.Headers["x-fal-billable-units"] = units;
        return Responses.Json(QueueJson.Result(context.Request.BaseUrl(), job));
    }

    private static IResult Cancel(HttpContext context, string requestId, JobScheduler jobs)
    {
        var outcome = AppIdOf(context) is { } appId ? jobs.Cancel(requestId, appId) : CancelOutcome.NotFound;
        var (code, status) = outcome switch
        {
            CancelOutcome.Requested => (202, "CANCELLATION_REQUESTED"),
            CancelOutcome.AlreadyCompleted => (400, "ALREADY_COMPLETED"),
            _ => (404, "NOT_FOUND"),
        };
        return Responses.Json(new JsonObject { ["status"] = status }, code);
    }

    public static EmulatedJob? Find(HttpContext context, string requestId, JobScheduler jobs) =>
        AppIdOf(context) is { } appId ? jobs.Find(requestId, appId) : null;

    public static IResult NotFound() => Responses.Detail(404, "Request not found");
}
