using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Media;
using FalVideo.Emulator.Schemas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// <c>POST /{endpoint id}</c> (PROTOCOL.md, "Submit"): validates the input against the endpoint's schema and
/// queues a job. A 404 or 422 creates no job. <c>?fal_webhook=&lt;absolute http(s) URL&gt;</c> has the job's outcome
/// POSTed there, signed, when it completes (<see cref="Webhooks.WebhookDelivery"/>); another value is ignored. Every
/// submit's query and <c>x-fal-*</c> headers are recorded in <see cref="EmulatorState.Submissions"/>.
/// </summary>
internal static class SubmitRoute
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/{**endpointId}", Submit).RequireFalKey();

    private static async Task<IResult> Submit(
        HttpContext context, string? endpointId, EndpointCatalog catalog, JobScheduler jobs, LocalMedia media, EmulatorOptions options, EmulatorState state)
    {
        state.Submissions.Record(context, endpointId ?? "");
        var id = EndpointId.Parse(endpointId);
        if (id is null || catalog.InputOf(id.Id) is not { } schema)
            return Responses.Detail(404, "Application not found");

        string raw;
        using (var reader = new StreamReader(context.Request.Body))
            raw = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(raw))
            return Invalid(new ValidationIssue(["body"], "Field required", "missing"));

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(raw);
        }
        catch (JsonException e)
        {
            return Invalid(new ValidationIssue(["body"], "JSON decode error", "json_invalid", null, new JsonObject { ["error"] = e.Message }));
        }

        using (document)
        {
            var issues = InputValidator.Validate(document.RootElement, schema, url => media.IsMissingHere(url, context));
            if (issues.Count > 0) return Invalid([.. issues]);
        }

        var markers = PromptMarkers.Find(raw);
        var job = jobs.Submit(id.Id, id.AppId, raw, markers.Seconds ?? options.JobSeconds, markers.FailureType, markers.VideoBytes ?? options.VideoBytes);
        if (context.Request.Query["fal_webhook"].ToString() is { Length: > 0 } hook
            && Uri.TryCreate(hook, UriKind.Absolute, out var hookUrl) && (hookUrl.Scheme == Uri.UriSchemeHttp || hookUrl.Scheme == Uri.UriSchemeHttps))
        {
            state.Webhooks.Add(job.RequestId, job.AppId, hookUrl, context.Request.BaseUrl());
        }
        return Responses.Json(QueueJson.Submitted(context.Request.BaseUrl(), job));
    }

    private static IResult Invalid(params ValidationIssue[] issues) => Responses.Json(ValidationIssue.Body(issues), 422);
}
