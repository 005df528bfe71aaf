using System.Net;
using System.Text.Json.Nodes;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.Planning;
using Xunit;

namespace FalVideo.Core.Tests.Client;

/// <summary>
/// The debug sink (each request and answer in full, key masked, bodies cut at a stated limit), error texts that say the
/// request id and fal's field errors once, and <see cref="MediaPaths"/>.
/// </summary>
public class DebugAndOneMessageTests
{
    private const string Accepted = """{"request_id":"req-42","status":"IN_QUEUE","queue_position":3}""";

    private static TestClient WithDebug(List<string> debug) => new(o => o.Debug = text =>
    {
        lock (debug)
        {
            debug.Add(text);
        }
    });

    [Fact]
    public async Task Debug_shows_the_request_and_the_answer_with_headers_and_bodies_and_masks_the_key()
    {
        var debug = new List<string>();
        using var t = WithDebug(debug);
        t.Handler.Respond(HttpStatusCode.OK, Accepted, "application/json", ("x-fal-request-id", "req-42"));

        await t.Client.SubmitAsync(TestClient.Kling, new JsonObject { ["prompt"] = "a cat on a mat", ["duration"] = "5" });

        Assert.Equal(2, debug.Count);
        var request = debug[0];
        Assert.StartsWith("HTTP request: POST http://127.0.0.1:8787/fal-ai/kling-video/v3/pro/text-to-video", request);
        Assert.Contains("\n  Authorization: Key ****", request);
        Assert.Contains("\n  User-Agent: FalVideo/", request);
        Assert.Contains("\n  Content-Type: application/json", request);
        Assert.Contains("\"prompt\":\"a cat on a mat\"", request);
        var answer = debug[1];
        Assert.StartsWith("HTTP response: 200 OK to POST http://127.0.0.1:8787/fal-ai/kling-video/v3/pro/text-to-video", answer);
        Assert.Contains("\n  x-fal-request-id: req-42", answer);
        Assert.Contains("\"request_id\":\"req-42\"", answer);
        Assert.All(debug, d =>
        {
            Assert.DoesNotContain(TestClient.KeyId, d, StringComparison.Ordinal);
            Assert.DoesNotContain(TestClient.KeySecret, d, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Debug_masks_a_key_an_answer_echoes_and_cuts_long_bodies_at_the_stated_limit()
    {
        var debug = new List<string>();
        using var t = WithDebug(debug);
        var echo = $$"""{"detail":"bad key {{TestClient.Key}} {{new string('x', 5000)}}"}""";
        t.Handler.Respond(HttpStatusCode.BadRequest, echo);

        await Assert.ThrowsAnyAsync<FalException>(() => t.Client.SubmitAsync(TestClient.Kling, new JsonObject { ["prompt"] = "p" }));

        var answer = Assert.Single(debug, d => d.StartsWith("HTTP response: 400", StringComparison.Ordinal));
        Assert.DoesNotContain(TestClient.KeySecret, answer, StringComparison.Ordinal);
        Assert.Contains($"cut at {FalClientOptions.DebugBodyChars} of ", answer);
        Assert.True(answer.Length < FalClientOptions.DebugBodyChars + 1000, $"{answer.Length} characters");
    }

    [Fact]
    public async Task Without_a_debug_sink_nothing_is_described()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, Accepted);
        await t.Client.SubmitAsync(TestClient.Kling, new JsonObject { ["prompt"] = "p" });
        Assert.Null(t.Options.Debug);
        Assert.DoesNotContain(t.Log, l => l.StartsWith("HTTP request", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_404_names_the_request_id_once_and_the_context_is_not_said_twice()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.NotFound, """{"detail":"Request not found"}""");

        var error = await Assert.ThrowsAsync<FalNotFoundException>(() => t.Client.GetStatusAsync(TestClient.Handle("abc-123")));

        Assert.Equal("Getting the status of request abc-123 failed: HTTP 404 Not Found: Request not found", error.Message);
        Assert.Equal("abc-123", error.RequestId);
        Assert.Equal(error.Message, FalErrorIds.Describe(error, "Request abc-123"));
        Assert.Equal("Row 3: boom", FalErrorIds.Describe(new IOException("boom"), "Row 3"));
    }

    [Fact]
    public async Task Fals_field_errors_already_in_the_message_are_not_appended_again()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.UnprocessableEntity, """{"detail":[{"loc":["body","duration"],"msg":"must be 5 or 10","type":"value_error"}]}""");

        var error = await Assert.ThrowsAsync<FalValidationException>(() => t.Client.SubmitAsync(TestClient.Kling, new JsonObject { ["prompt"] = "p" }));

        var text = FalErrorIds.Describe(error, "Row 1");
        Assert.Equal(1, CountOf(text, "must be 5 or 10"));
        Assert.StartsWith("Row 1: Submitting to fal-ai/kling-video/v3/pro/text-to-video failed: HTTP 422", text);
    }

    [Fact]
    public void MediaPaths_from_a_folder_resolve_relative_paths_against_it_and_a_resolver_decides_otherwise()
    {
        var folder = Path.GetTempPath();
        MediaPaths relative = folder;
        Assert.Equal(Path.GetFullPath(Path.Combine(folder, "a.png")), relative.Resolve("a.png").Path);
        Assert.Null(relative.Resolve("a.png").Problem);

        var refusing = new MediaPaths(text => MediaPathResult.Refused("is on the Environment provider.", otherProvider: true));
        var result = refusing.Resolve("env:/PATH");
        Assert.Null(result.Path);
        Assert.True(result.IsOtherProvider);

        var problems = new List<string>();
        var catalog = FalVideo.Catalog.ModelCatalog.Default;
        var model = catalog.Find("kling-v3-pro", out _)!;
        _ = VideoRequestPlanner.Plan(new VideoRow { Prompt = "p", StartImage = "env:/PATH" }, model, null, catalog, refusing, problems);
        Assert.Equal("StartImage 'env:/PATH' is on the Environment provider.", Assert.Single(problems));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
