using System.Globalization;
using System.Text.Json.Nodes;
using FalVideo.Catalog;
using FalVideo.Planning;

namespace FalVideo.Core.Tests.Planning;

/// <summary>
/// The request planner without a runspace: what a row becomes (endpoint, input JSON, uploads, cost), the problems a bad
/// row gets, and the idempotency key of a plan. Models are picked from the shipped catalog by what they can do, and
/// every expected value comes from the catalog entry or the row, so a catalog update changes the inputs, not the tests.
/// </summary>
public sealed class VideoRequestPlannerTests : IDisposable
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Default;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"falvideo-planner-{Guid.NewGuid():N}");

    public VideoRequestPlannerTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    /// <summary>An active model with both text- and image-to-video, a choice of lengths and aspect ratios, and an end frame.</summary>
    private static VideoModel Versatile => Catalog.Models.First(m => !m.IsRetired
        && m.EndpointFor(VideoModes.TextToVideo) is not null && m.EndpointFor(VideoModes.ImageToVideo) is not null
        && m.Accepts("duration") && m.Durations.Length > 1 && m.DefaultDuration is not null
        && m.Accepts("aspect_ratio") && m.AspectRatios.Length > 1 && m.EndImageInput is not null && m.Prices.Length > 0);

    /// <summary>An active model that takes elements (image-to-video).</summary>
    private static VideoModel WithElements => Catalog.Models.First(m => !m.IsRetired && m.SupportsElements && m.EndpointFor(VideoModes.ImageToVideo) is not null);

    private VideoRequestPlan? Plan(VideoRow row, VideoModel model, List<string> problems) =>
        VideoRequestPlanner.Plan(row, model, null, Catalog, _folder, problems);

    private string NewFile(string name)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, [0x89, 0x50, 0x4E, 0x47]);
        return path;
    }

    [Fact]
    public void A_text_to_video_row_becomes_the_models_endpoint_its_fields_and_the_catalog_price()
    {
        var model = Versatile;
        var duration = model.Durations[model.Durations.Length - 1];
        var ratio = model.AspectRatios[model.AspectRatios.Length - 1];
        var problems = new List<string>();

        var plan = Plan(new VideoRow { Prompt = "  A lighthouse at dusk ", Duration = duration, AspectRatio = ratio, GenerateAudio = false }, model, problems);

        Assert.Empty(problems);
        Assert.NotNull(plan);
        Assert.Equal(VideoModes.TextToVideo, plan.Mode);
        Assert.Equal(model.EndpointFor(VideoModes.TextToVideo), plan.EndpointId);
        Assert.Equal("A lighthouse at dusk", plan.Prompt);
        Assert.Equal("A lighthouse at dusk", (string?)plan.Input["prompt"]);
        Assert.Equal(duration.ToString(CultureInfo.InvariantCulture), (string?)plan.Input["duration"]); // fal takes the length as a string
        Assert.Equal(ratio, (string?)plan.Input["aspect_ratio"]);
        Assert.False((bool)plan.Input["generate_audio"]!);
        Assert.Null(plan.Input[model.ImageInput!]);
        Assert.Empty(plan.Uploads);
        Assert.Equal(duration, plan.DurationSeconds);
        var expected = CostCalculator.Estimate(model, new CostQuery { Mode = VideoModes.TextToVideo, DurationSeconds = duration, GenerateAudio = false });
        Assert.NotNull(expected);
        Assert.NotNull(plan.Cost);
        Assert.Equal(expected.TotalUsd, plan.Cost.TotalUsd);
        Assert.True(plan.Cost.TotalUsd > 0);
        Assert.Contains(plan.EndpointId, plan.Describe("Row 1"));
    }

    [Fact]
    public void A_row_without_a_duration_sends_none_and_is_priced_at_the_models_default()
    {
        var model = Versatile;
        var problems = new List<string>();

        var plan = Plan(new VideoRow { Prompt = "Waves" }, model, problems);

        Assert.Empty(problems);
        Assert.NotNull(plan);
        Assert.False(plan.Input.ContainsKey("duration"));
        Assert.Equal(model.DefaultDuration, plan.DurationSeconds);
        Assert.Equal(CostCalculator.Estimate(model, new CostQuery { Mode = VideoModes.TextToVideo, DurationSeconds = model.DefaultDuration })!.TotalUsd,
            plan.Cost!.TotalUsd);
    }

    [Fact]
    public void An_image_to_video_row_with_local_files_plans_uploads_whose_urls_replace_the_placeholders()
    {
        var model = Versatile;
        var start = NewFile("start.png");
        NewFile("end.webp");
        var problems = new List<string>();

        var plan = Plan(new VideoRow { Prompt = "The cat wakes", StartImage = "start.png", EndImage = "end.webp" }, model, problems);

        Assert.Empty(problems);
        Assert.NotNull(plan);
        Assert.Equal(VideoModes.ImageToVideo, plan.Mode);
        Assert.Equal(model.EndpointFor(VideoModes.ImageToVideo), plan.EndpointId);
        Assert.Equal(2, plan.Uploads.Count);
        Assert.Equal(Path.GetFullPath(start), plan.Uploads[0].Path);
        Assert.Equal(Path.Combine(Path.GetFullPath(_folder), "end.webp"), plan.Uploads[1].Path);
        Assert.Equal(plan.Uploads[0].Placeholder, (string?)plan.Input[model.ImageInput!]);
        Assert.Equal(plan.Uploads[1].Placeholder, (string?)plan.Input[model.EndImageInput!]);

        var url = new Uri("https://v3.fal.media/files/start.png");
        plan.ResolveUpload(plan.Uploads[0], url);
        Assert.Equal(url.ToString(), (string?)plan.Input[model.ImageInput!]);
        Assert.Equal(plan.Uploads[1].Placeholder, (string?)plan.Input[model.EndImageInput!]);
    }

    [Fact]
    public void An_image_url_is_passed_through_without_an_upload()
    {
        var model = Versatile;
        var problems = new List<string>();

        var plan = Plan(new VideoRow { Prompt = "Pan left", StartImage = "https://example.com/a.jpg" }, model, problems);

        Assert.Empty(problems);
        Assert.NotNull(plan);
        Assert.Empty(plan.Uploads);
        Assert.Equal("https://example.com/a.jpg", (string?)plan.Input[model.ImageInput!]);
    }

    [Fact]
    public void An_unknown_a_retired_and_another_familys_model_are_refused_by_name()
    {
        var problems = new List<string>();
        Assert.Null(ModelResolver.Resolve("no-such-model", null, Versatile.Name, Catalog, problems, out _));
        var unknown = Assert.Single(problems);
        Assert.Contains("'no-such-model'", unknown);
        Assert.All(Catalog.Models.Where(m => !m.IsRetired), m => Assert.Contains(m.Name, unknown));

        var retired = Catalog.Models.FirstOrDefault(m => m.IsRetired);
        if (retired is not null)
        {
            problems.Clear();
            Assert.Null(ModelResolver.Resolve(retired.Name, null, Versatile.Name, Catalog, problems, out _));
            Assert.Contains("retired", Assert.Single(problems));
        }

        var other = Catalog.Models.First(m => !m.IsRetired && m.Family != Versatile.Family);
        problems.Clear();
        Assert.Null(ModelResolver.Resolve(other.Name, Versatile.Family, Versatile.Name, Catalog, problems, out _));
        Assert.Contains($"is a {other.Family} model, not {Versatile.Family}", Assert.Single(problems));

        problems.Clear();
        Assert.Same(Versatile, ModelResolver.Resolve("", Versatile.Family, Versatile.Name, Catalog, problems, out _));
        var endpoint = Versatile.EndpointFor(VideoModes.ImageToVideo)!;
        Assert.Same(Versatile, ModelResolver.Resolve(endpoint, null, Versatile.Name, Catalog, problems, out var mode));
        Assert.Equal(VideoModes.ImageToVideo, mode);
        Assert.Empty(problems);
    }

    [Fact]
    public void A_duration_the_model_does_not_offer_is_a_problem_naming_the_allowed_ones()
    {
        var model = Versatile;
        var missing = Enumerable.Range(1, model.Durations.Max() + 1).First(d => !model.Durations.Contains(d));
        var problems = new List<string>();

        var plan = Plan(new VideoRow { Prompt = "Too long", Duration = missing }, model, problems);

        var problem = Assert.Single(problems);
        Assert.Contains($"Duration {missing} is not allowed for {model.Name}", problem);
        Assert.Contains(model.Durations.Min().ToString(CultureInfo.InvariantCulture), problem);
        Assert.False(plan!.Input.ContainsKey("duration"));

        var fixedLength = Catalog.Models.FirstOrDefault(m => !m.IsRetired && !m.Accepts("duration") && m.EndpointFor(VideoModes.TextToVideo) is not null);
        if (fixedLength is not null)
        {
            problems.Clear();
            Plan(new VideoRow { Prompt = "Any length", Duration = model.Durations[0] }, fixedLength, problems);
            Assert.Contains("Duration is not an input of " + fixedLength.Name, Assert.Single(problems));
        }
    }

    [Fact]
    public void Element_limits_are_problems_before_anything_is_sent()
    {
        var model = WithElements;
        NewFile("start.png");
        var images = Enumerable.Range(1, 4).Select(i => NewFile($"ref{i}.png")).ToList();
        var problems = new List<string>();

        // Four reference images where 1 to 3 are allowed.
        Plan(new VideoRow { Prompt = "@Element1 walks", StartImage = "start.png", Elements = [new ElementSpec(images[0], images, null, null)] }, model, problems);
        Assert.Contains(problems, p => p.Contains("4 ReferenceImages; allowed: 1 to 3", StringComparison.Ordinal));

        // Neither an image set nor a video.
        problems.Clear();
        Plan(new VideoRow { Prompt = "@Element1 walks", StartImage = "start.png", Elements = [new ElementSpec(null, [], null, null)] }, model, problems);
        Assert.Contains(problems, p => p.StartsWith("Element 1: give either FrontalImage", StringComparison.Ordinal));

        // The prompt names an element that was not given.
        problems.Clear();
        Plan(new VideoRow { Prompt = "@Element1 meets @Element2", StartImage = "start.png", Elements = [new ElementSpec(images[0], [images[1]], null, null)] }, model, problems);
        Assert.Contains("Prompt names @Element2 but 1 element(s) were given", Assert.Single(problems));

        // A valid element: two uploads besides the start image, in the input where fal expects them.
        problems.Clear();
        var plan = Plan(new VideoRow { Prompt = "@Element1 walks", StartImage = "start.png", Elements = [new ElementSpec(images[0], [images[1]], null, null)] }, model, problems);
        Assert.Empty(problems);
        Assert.Equal(3, plan!.Uploads.Count);
        var element = Assert.IsType<JsonObject>(Assert.Single(plan.Input["elements"]!.AsArray()));
        Assert.Equal(plan.Uploads[1].Placeholder, (string?)element["frontal_image_url"]);
        Assert.Equal(plan.Uploads[2].Placeholder, (string?)element["reference_image_urls"]![0]);
        Assert.Equal(CostCalculator.Estimate(model, new CostQuery { Mode = VideoModes.ImageToVideo, DurationSeconds = model.DefaultDuration, Elements = true })!.TotalUsd,
            plan.Cost!.TotalUsd);

        // Elements on text-to-video.
        problems.Clear();
        Plan(new VideoRow { Prompt = "@Element1 walks", Elements = [new ElementSpec(images[0], [images[1]], null, null)] }, model, problems);
        Assert.Contains(problems, p => p.StartsWith("Element is not an input of " + model.EndpointFor(VideoModes.TextToVideo), StringComparison.Ordinal));
    }

    [Fact]
    public void Shots_must_add_up_to_the_multi_shot_range()
    {
        var model = Catalog.Models.First(m => !m.IsRetired && m.MultiShot && m.EndpointFor(VideoModes.TextToVideo) is not null);
        var problems = new List<string>();

        Plan(new VideoRow { Shots = [new ShotSpec("One", 8), new ShotSpec("Two", 8)] }, model, problems);
        Assert.Contains("Shot durations add up to 16 s", Assert.Single(problems));

        problems.Clear();
        var plan = Plan(new VideoRow { Shots = [new ShotSpec("One", 4), new ShotSpec("Two", 5)] }, model, problems);
        Assert.Empty(problems);
        Assert.Equal(9, plan!.DurationSeconds);
        Assert.Equal(2, plan.Input["multi_prompt"]!.AsArray().Count);
        Assert.False(plan.Input.ContainsKey("prompt"));
    }

    [Fact]
    public void The_idempotency_key_is_stable_for_a_row_and_changes_with_any_field_or_file()
    {
        var model = Versatile;
        var file = NewFile("start.png");
        var row = new VideoRow { Id = "r1", Prompt = "Same row", StartImage = "start.png", Duration = model.Durations[0] };
        string Key(VideoRow r, string? id = "r1")
        {
            var problems = new List<string>();
            var plan = Plan(r, model, problems);
            Assert.Empty(problems);
            return plan!.ComputeIdempotencyKey(id);
        }

        var key = Key(row);
        Assert.Equal(key, Key(row));
        Assert.Equal(key, Key(row with { }));
        Assert.NotEqual(key, Key(row with { Prompt = "Same row!" }));
        Assert.NotEqual(key, Key(row with { Duration = model.Durations[1] }));
        Assert.NotEqual(key, Key(row, "r2"));
        Assert.NotEqual(key, Key(row with { StartImage = "https://example.com/start.png" }));

        // The file stands as its path, size and time, not as the storage URL it gets on upload: a changed file is a new request.
        File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(-5));
        var touched = Key(row);
        Assert.NotEqual(key, touched);
        Assert.Equal(touched, Key(row));
    }

    [Fact]
    public void The_cheapest_router_picks_a_model_that_meets_every_requirement_and_nothing_able_is_cheaper()
    {
        foreach (var need in new[] { "audio", "multi-shot", "elements", "end-image", "4k", "10s" })
        {
            var problems = new List<string>();
            var row = new VideoRow { Prompt = "Routed", StartImage = need == "elements" ? "https://example.com/a.png" : null };
            var chosen = CheapestRouter.Choose(row, [need], Catalog, problems, out var reason);

            Assert.Empty(problems);
            Assert.NotNull(chosen);
            Assert.False(chosen.IsRetired);
            var mode = row.StartImage is null ? VideoModes.TextToVideo : VideoModes.ImageToVideo;
            Assert.NotNull(chosen.EndpointFor(mode));
            Assert.Contains(chosen.Name, reason);
            if (need == "4k") Assert.True(chosen.ResolutionLines >= 2160);
            else if (need == "10s") Assert.Contains(10, chosen.Durations);
            else Assert.Contains(need, chosen.Features);

            var price = PriceFor(chosen, mode, need);
            foreach (var other in Catalog.Models.Where(m => !m.IsRetired && m.EndpointFor(mode) is not null && Meets(m, need)))
            {
                if (PriceFor(other, mode, need) is { } cheaper)
                    Assert.True(price <= cheaper, $"{need}: {other.Name} at {cheaper} is cheaper than {chosen.Name} at {price}");
            }
        }
    }

    [Fact]
    public void The_cheapest_router_refuses_unknown_and_unmeetable_requirements()
    {
        var problems = new List<string>();
        Assert.Null(CheapestRouter.Choose(new VideoRow { Prompt = "x" }, ["teleport"], Catalog, problems, out _));
        Assert.Contains("Require 'teleport' is not known", Assert.Single(problems));

        // A length no active model offers, found in the catalog.
        var seconds = Enumerable.Range(1, 1000).First(d => !Catalog.Models.Any(m => !m.IsRetired && m.Durations.Contains(d)));
        problems.Clear();
        Assert.Null(CheapestRouter.Choose(new VideoRow { Prompt = "x" }, [$"{seconds}s"], Catalog, problems, out _));
        var problem = Assert.Single(problems);
        Assert.StartsWith("No active catalog model with a published price can do text-to-video", problem);
        Assert.Contains($"at {seconds} s", problem);

        // Two requirements no active text-to-video model meets together, when the catalog has such a pair.
        var words = CheapestRouter.Requirements.Where(w => !w.Contains("-to-")).ToList();
        var pair = words.SelectMany(a => words.Where(b => string.CompareOrdinal(a, b) < 0).Select(b => (a, b)))
            .FirstOrDefault(p => !Catalog.Models.Any(m => !m.IsRetired && m.EndpointFor(VideoModes.TextToVideo) is not null && Meets(m, p.a) && Meets(m, p.b)));
        if (pair.a is null) return;
        problems.Clear();
        Assert.Null(CheapestRouter.Choose(new VideoRow { Prompt = "x" }, [pair.a, pair.b], Catalog, problems, out _));
        Assert.StartsWith("No active catalog model with a published price can do text-to-video", Assert.Single(problems));
    }

    private static bool Meets(VideoModel m, string need) => need switch
    {
        "4k" => m.ResolutionLines >= 2160,
        "1080p" => m.ResolutionLines >= 1080,
        "768p" => m.ResolutionLines >= 768,
        "720p" => m.ResolutionLines >= 720,
        "10s" => m.Accepts("duration") && m.Durations.Contains(10),
        _ => m.Features.Contains(need),
    };

    // Priced as the router prices a choice: the requested length (or the model's default), audio on when required.
    private static decimal? PriceFor(VideoModel m, string mode, string need) => CostCalculator.Estimate(m, new CostQuery
    {
        Mode = mode,
        DurationSeconds = m.Durations.Length > 0 ? (need == "10s" ? 10 : null) : null,
        GenerateAudio = need == "audio" ? true : m.SupportsAudio ? false : null,
        Elements = need == "elements",
    })?.CostPerClipUsd;
}
