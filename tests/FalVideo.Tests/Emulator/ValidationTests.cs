using System.Text.Json;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>Endpoint lookup and input validation at submit: 404 and 422 in fal's (FastAPI's) shapes, and no job created.</summary>
public sealed class ValidationTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    /// <summary>Every endpoint of MODELS.md with its smallest valid input.</summary>
    public static TheoryData<string, string> MinimalInputs => new()
    {
        { "fal-ai/kling-video/v3/pro/text-to-video", """{"prompt":"p"}""" },
        { "fal-ai/kling-video/v3/standard/text-to-video", """{"multi_prompt":[{"prompt":"a","duration":"5"},{"prompt":"b","duration":"10"}]}""" },
        { "fal-ai/kling-video/v3/4k/text-to-video", """{"prompt":"p","duration":"15","aspect_ratio":"9:16","cfg_scale":0,"shot_type":"intelligent"}""" },
        { "fal-ai/kling-video/v3/pro/image-to-video", """{"start_image_url":"https://example.com/a.png","prompt":"@Element1 waves","elements":[{"frontal_image_url":"https://example.com/f.png","reference_image_urls":["https://example.com/r.png"]},{"video_url":"https://example.com/v.mp4"}]}""" },
        { "fal-ai/kling-video/v3/standard/image-to-video", """{"start_image_url":"https://example.com/a.png","prompt":"p","end_image_url":null}""" },
        { "fal-ai/kling-video/v3/4k/image-to-video", """{"start_image_url":"https://example.com/a.png","multi_prompt":[{"prompt":"a"}]}""" },
        { "fal-ai/kling-video/v3/pro/motion-control", """{"image_url":"https://example.com/a.png","video_url":"https://example.com/m.mp4","character_orientation":"video","elements":[{"frontal_image_url":"https://example.com/f.png"}]}""" },
        { "fal-ai/kling-video/v3/standard/motion-control", """{"image_url":"https://example.com/a.png","video_url":"https://example.com/m.mp4","character_orientation":"image"}""" },
        { "fal-ai/kling-video/o3/pro/text-to-video", """{"prompt":"p","generate_audio":true}""" },
        { "fal-ai/kling-video/o3/4k/text-to-video", """{"prompt":"p"}""" },
        { "fal-ai/kling-video/o3/pro/image-to-video", """{"image_url":"https://example.com/a.png","prompt":"p"}""" },
        { "fal-ai/kling-video/o3/4k/image-to-video", """{"image_url":"https://example.com/a.png","prompt":"p"}""" },
        { "fal-ai/kling-video/v2.5-turbo/pro/text-to-video", """{"prompt":"p","duration":"10"}""" },
        { "fal-ai/kling-video/v2.5-turbo/pro/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png","tail_image_url":"https://example.com/b.png"}""" },
        { "fal-ai/kling-video/v2.1/pro/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/hailuo-2.3/pro/text-to-video", """{"prompt":"p","prompt_optimizer":false}""" },
        { "fal-ai/minimax/hailuo-2.3/pro/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/hailuo-2.3/standard/text-to-video", """{"prompt":"p","duration":"10"}""" },
        { "fal-ai/minimax/hailuo-2.3/standard/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png","duration":"6"}""" },
        { "fal-ai/minimax/hailuo-2.3-fast/pro/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/hailuo-02/standard/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png","resolution":"512P","end_image_url":"https://example.com/b.png"}""" },
        { "fal-ai/minimax/video-01-subject-reference", """{"prompt":"p","subject_reference_image_url":"https://example.com/face.png"}""" },
        // The endpoints of MODELS.md's "On fal, not yet in the catalog" (fal-js KlingVideo*/Minimax* input types).
        { "fal-ai/kling-video/v3/turbo/pro/text-to-video", """{"multi_prompt":[{"prompt":"a","duration":"3"},{"prompt":"b","duration":"3"}]}""" },
        { "fal-ai/kling-video/v3/turbo/pro/image-to-video", """{"image_url":"https://example.com/a.png"}""" },
        { "fal-ai/kling-video/v3/turbo/standard/text-to-video", """{"prompt":"p","duration":"15"}""" },
        { "fal-ai/kling-video/v3/turbo/standard/image-to-video", """{"image_url":"https://example.com/a.png","prompt":"p"}""" },
        { "fal-ai/kling-video/o3/standard/text-to-video", """{"prompt":"p"}""" },
        { "fal-ai/kling-video/o3/standard/image-to-video", """{"image_url":"https://example.com/a.png","prompt":"p"}""" },
        { "fal-ai/kling-video/o3/standard/reference-to-video", """{"prompt":"@Image1 walks","image_urls":["https://example.com/a.png"]}""" },
        { "fal-ai/kling-video/o3/pro/reference-to-video", """{"prompt":"@Image1 walks","image_urls":["https://example.com/a.png"]}""" },
        { "fal-ai/kling-video/o3/4k/reference-to-video", """{"prompt":"@Image1 walks","image_urls":["https://example.com/a.png"]}""" },
        { "fal-ai/kling-video/o3/standard/video-to-video/edit", """{"prompt":"p","video_url":"https://example.com/v.mp4"}""" },
        { "fal-ai/kling-video/o3/standard/video-to-video/reference", """{"prompt":"p","video_url":"https://example.com/v.mp4","duration":"8"}""" },
        { "fal-ai/kling-video/o3/pro/video-to-video/edit", """{"prompt":"p","video_url":"https://example.com/v.mp4"}""" },
        { "fal-ai/kling-video/o3/pro/video-to-video/reference", """{"prompt":"p","video_url":"https://example.com/v.mp4","duration":"8"}""" },
        { "fal-ai/kling-video/o1/image-to-video", """{"prompt":"p","start_image_url":"https://example.com/a.png","duration":"10"}""" },
        { "fal-ai/kling-video/o1/reference-to-video", """{"prompt":"p","elements":[{"frontal_image_url":"https://example.com/f.png"}]}""" },
        { "fal-ai/kling-video/o1/video-to-video/edit", """{"prompt":"p","video_url":"https://example.com/v.mp4"}""" },
        { "fal-ai/kling-video/o1/video-to-video/reference", """{"prompt":"p","video_url":"https://example.com/v.mp4","aspect_ratio":"auto"}""" },
        { "fal-ai/kling-video/o1/standard/image-to-video", """{"prompt":"p","start_image_url":"https://example.com/a.png","duration":"10"}""" },
        { "fal-ai/kling-video/o1/standard/reference-to-video", """{"prompt":"p","elements":[{"frontal_image_url":"https://example.com/f.png"}]}""" },
        { "fal-ai/kling-video/o1/standard/video-to-video/edit", """{"prompt":"p","video_url":"https://example.com/v.mp4"}""" },
        { "fal-ai/kling-video/o1/standard/video-to-video/reference", """{"prompt":"p","video_url":"https://example.com/v.mp4","aspect_ratio":"auto"}""" },
        { "fal-ai/kling-video/v2.6/pro/text-to-video", """{"prompt":"p","generate_audio":false}""" },
        { "fal-ai/kling-video/v2.6/pro/image-to-video", """{"prompt":"p","start_image_url":"https://example.com/a.png","voice_ids":["v1","v2"]}""" },
        { "fal-ai/kling-video/v2.6/pro/motion-control", """{"image_url":"https://example.com/a.png","video_url":"https://example.com/v.mp4","character_orientation":"video"}""" },
        { "fal-ai/kling-video/v2.6/standard/motion-control", """{"image_url":"https://example.com/a.png","video_url":"https://example.com/v.mp4","character_orientation":"image"}""" },
        { "fal-ai/kling-video/v2.5-turbo/standard/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/kling-video/v2.1/standard/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png","duration":"10"}""" },
        { "fal-ai/kling-video/v2.1/master/text-to-video", """{"prompt":"p"}""" },
        { "fal-ai/kling-video/v2.1/master/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/kling-video/v2/master/text-to-video", """{"prompt":"p","aspect_ratio":"1:1"}""" },
        { "fal-ai/kling-video/v2/master/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/kling-video/lipsync/audio-to-video", """{"video_url":"https://example.com/v.mp4","audio_url":"https://example.com/a.mp3"}""" },
        { "fal-ai/kling-video/lipsync/text-to-video", """{"video_url":"https://example.com/v.mp4","text":"Hello","voice_id":"v1"}""" },
        { "fal-ai/kling-video/ai-avatar/v2/pro", """{"image_url":"https://example.com/a.png","audio_url":"https://example.com/a.mp3"}""" },
        { "fal-ai/kling-video/ai-avatar/v2/standard", """{"image_url":"https://example.com/a.png","audio_url":"https://example.com/a.mp3"}""" },
        { "fal-ai/kling-video/create-voice", """{"voice_url":"https://example.com/a.mp3"}""" },
        { "fal-ai/kling-video/video-to-audio", """{"video_url":"https://example.com/v.mp4"}""" },
        { "fal-ai/minimax/hailuo-02/standard/text-to-video", """{"prompt":"p","duration":"10"}""" },
        { "fal-ai/minimax/hailuo-02/pro/text-to-video", """{"prompt":"p"}""" },
        { "fal-ai/minimax/hailuo-02/pro/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png","end_image_url":"https://example.com/b.png"}""" },
        { "fal-ai/minimax/hailuo-02-fast/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/video-01", """{"prompt":"p"}""" },
        { "fal-ai/minimax/video-01/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/video-01-live", """{"prompt":"p"}""" },
        { "fal-ai/minimax/video-01-live/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
        { "fal-ai/minimax/video-01-director", """{"prompt":"p"}""" },
        { "fal-ai/minimax/video-01-director/image-to-video", """{"prompt":"p","image_url":"https://example.com/a.png"}""" },
    };

    [Theory]
    [MemberData(nameof(MinimalInputs))]
    public async Task Every_documented_endpoint_accepts_a_valid_input(string endpointId, string json)
    {
        var (code, body) = await fixture.SubmitAsync(endpointId, json);

        Assert.True(code == 200, $"{endpointId}: {code} {body}");
        Assert.Equal(endpointId, fixture.Emulator.State.Jobs.Single(j => j.RequestId == body.GetProperty("request_id").GetString()).EndpointId);
    }

    [Fact]
    public async Task The_endpoint_list_is_exactly_the_documented_one()
    {
        var (_, body) = await GetJsonAsync(fixture.Http, "/_emulator/endpoints");

        var listed = body.GetProperty("endpoints").EnumerateArray().Select(e => e.GetString()).Order().ToArray();
        Assert.Equal(MinimalInputs.Select(row => (string)row[0]).Order().ToArray(), listed);
    }

    [Theory]
    [InlineData("fal-ai/sora-2/text-to-video/pro")]
    [InlineData("fal-ai/sora-2/image-to-video")]
    [InlineData("fal-ai/kling-video/v9/pro/text-to-video")]
    [InlineData("fal-ai")]
    public async Task Unknown_and_retired_endpoints_are_404_without_a_job(string endpointId)
    {
        var before = fixture.Emulator.State.AcceptedSubmissions;

        var (code, body) = await fixture.SubmitAsync(endpointId, """{"prompt":"p"}""");

        Assert.Equal(404, code);
        Assert.Equal("Application not found", body.GetProperty("detail").GetString());
        Assert.Equal(before, fixture.Emulator.State.AcceptedSubmissions);
    }

    [Theory]
    [InlineData(KlingT2V, """{"prompt":"p","duration":5}""", "duration", "literal_error")]
    [InlineData(KlingT2V, """{"prompt":"p","duration":"20"}""", "duration", "literal_error")]
    [InlineData(KlingT2V, """{"prompt":"p","aspect_ratio":"4:3"}""", "aspect_ratio", "literal_error")]
    [InlineData(KlingT2V, """{"prompt":"p","cfg_scale":1.5}""", "cfg_scale", "less_than_equal")]
    [InlineData(KlingT2V, """{"prompt":"p","cfg_scale":-0.1}""", "cfg_scale", "greater_than_equal")]
    [InlineData(KlingT2V, """{"prompt":"p","generate_audio":"true"}""", "generate_audio", "bool_type")]
    [InlineData(KlingT2V, """{"prompt":42}""", "prompt", "string_type")]
    [InlineData(KlingT2V, """{"prompt":"p","seed":1}""", "seed", "extra_forbidden")]
    [InlineData("fal-ai/kling-video/o3/pro/image-to-video", """{"prompt":"p","image_url":"https://e.com/a.png","start_image_url":"https://e.com/a.png"}""", "start_image_url", "extra_forbidden")]
    [InlineData("fal-ai/kling-video/o3/pro/image-to-video", """{"prompt":"p"}""", "image_url", "missing")]
    [InlineData("fal-ai/minimax/hailuo-2.3/pro/text-to-video", """{"prompt_optimizer":true}""", "prompt", "missing")]
    [InlineData("fal-ai/minimax/hailuo-2.3/pro/text-to-video", """{"prompt":"p","duration":"6"}""", "duration", "extra_forbidden")]
    [InlineData("fal-ai/minimax/hailuo-2.3/standard/text-to-video", """{"prompt":"p","duration":"8"}""", "duration", "literal_error")]
    [InlineData("fal-ai/minimax/hailuo-2.3/pro/image-to-video", """{"prompt":"p","image_url":"data:image/png;base64,AAAA"}""", "image_url", "url_scheme")]
    [InlineData("fal-ai/minimax/hailuo-2.3/pro/image-to-video", """{"prompt":"p","image_url":"not a url"}""", "image_url", "url_parsing")]
    [InlineData("fal-ai/kling-video/v3/pro/motion-control", """{"image_url":"https://e.com/a.png","video_url":"https://e.com/m.mp4","character_orientation":"sideways"}""", "character_orientation", "literal_error")]
    [InlineData("fal-ai/kling-video/v3/pro/motion-control", """{"image_url":"https://e.com/a.png","video_url":"https://e.com/m.mp4","character_orientation":"image","elements":[{"frontal_image_url":"https://e.com/f.png"}]}""", "elements", "value_error")]
    [InlineData("fal-ai/kling-video/v3/pro/motion-control", """{"image_url":"https://e.com/a.png","video_url":"https://e.com/m.mp4","character_orientation":"video","elements":[{},{}]}""", "elements", "too_long")]
    [InlineData(KlingT2V, """{"multi_prompt":[{"prompt":"a","duration":"10"},{"prompt":"b","duration":"6"}]}""", "multi_prompt", "value_error")]
    [InlineData(KlingT2V, """{"multi_prompt":[{"prompt":"a"},{"prompt":"b"},{"prompt":"c"},{"prompt":"d"}]}""", "multi_prompt", "value_error")]
    [InlineData(KlingT2V, """{"multi_prompt":[]}""", "multi_prompt", "too_short")]
    public async Task Invalid_input_is_422_naming_the_field_and_creates_no_job(string endpointId, string json, string field, string type)
    {
        var before = fixture.Emulator.State.AcceptedSubmissions;

        var (code, body) = await fixture.SubmitAsync(endpointId, json);

        Assert.Equal(422, code);
        var issue = Assert.Single(body.GetProperty("detail").EnumerateArray());
        Assert.Equal(["body", field], issue.GetProperty("loc").EnumerateArray().Select(l => l.GetString()!));
        Assert.Equal(type, issue.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(issue.GetProperty("msg").GetString()));
        Assert.Equal(before, fixture.Emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public async Task Enum_errors_list_the_allowed_values()
    {
        var (_, body) = await fixture.SubmitAsync("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", """{"prompt":"p","duration":5}""");

        var issue = body.GetProperty("detail")[0];
        Assert.Equal("Input should be '5' or '10'", issue.GetProperty("msg").GetString());
        Assert.Equal(5, issue.GetProperty("input").GetInt32());
    }

    [Fact]
    public async Task Every_problem_is_reported_at_once()
    {
        var (code, body) = await fixture.SubmitAsync("fal-ai/kling-video/o3/pro/image-to-video",
            """{"start_image_url":"https://e.com/a.png","duration":5,"prompt":"p","multi_prompt":[{"prompt":"x","duration":"0"}]}""");

        Assert.Equal(422, code);
        var issues = body.GetProperty("detail").EnumerateArray()
            .Select(i => (string.Join('.', i.GetProperty("loc").EnumerateArray().Select(l => l.ToString())), i.GetProperty("type").GetString()!))
            .ToArray();
        var expected = new[]
        {
            ("body.start_image_url", "extra_forbidden"), ("body.duration", "literal_error"), ("body.multi_prompt.0.duration", "literal_error"),
            ("body.image_url", "missing"), ("body", "value_error"),
        };
        Assert.Equal(expected, issues);
    }

    [Fact]
    public async Task Prompt_and_multi_prompt_together_or_neither_are_refused()
    {
        var (both, bothBody) = await fixture.SubmitAsync(KlingT2V, """{"prompt":"p","multi_prompt":[{"prompt":"a"}]}""");
        var (neither, neitherBody) = await fixture.SubmitAsync(KlingT2V, """{"duration":"5"}""");

        Assert.Equal(422, both);
        Assert.Equal(422, neither);
        foreach (var body in new[] { bothBody, neitherBody })
        {
            var issue = Assert.Single(body.GetProperty("detail").EnumerateArray());
            Assert.Equal(["body"], issue.GetProperty("loc").EnumerateArray().Select(l => l.GetString()!));
            Assert.Contains("Either prompt or multi_prompt", issue.GetProperty("msg").GetString());
        }
    }

    [Theory]
    [InlineData("", "missing")]
    [InlineData("{not json", "json_invalid")]
    [InlineData("[1,2]", "model_attributes_type")]
    public async Task A_body_that_is_not_a_json_object_is_422(string raw, string type)
    {
        var (code, body) = await fixture.SubmitAsync(KlingT2V, raw);

        Assert.Equal(422, code);
        var issue = Assert.Single(body.GetProperty("detail").EnumerateArray());
        Assert.Equal(type, issue.GetProperty("type").GetString());
        Assert.Equal(["body"], issue.GetProperty("loc").EnumerateArray().Select(l => l.GetString()!));
    }

    [Fact]
    public async Task An_image_url_on_the_emulator_cdn_must_have_been_uploaded()
    {
        var missing = $"{fixture.BaseUrl}/cdn/uploads/{Guid.NewGuid():N}/face.png";
        var (code, body) = await fixture.SubmitAsync("fal-ai/minimax/hailuo-2.3/pro/image-to-video",
            JsonSerializer.Serialize(new { prompt = "p", image_url = missing }));

        Assert.Equal(422, code);
        var issue = Assert.Single(body.GetProperty("detail").EnumerateArray());
        Assert.Equal("image_url", issue.GetProperty("loc")[1].GetString());
        Assert.Contains("upload", issue.GetProperty("msg").GetString());
    }
}
