using System.Text.Json.Nodes;
using FalVideo.Catalog;
using FalVideo.Planning;

namespace FalVideo.Core.Tests.Planning;

/// <summary>
/// The whole Kling and Hailuo surface in the shipped catalog (MODELS.md): names after fal's endpoint ids with the old ones
/// as aliases, every endpoint id resolving, "price unknown" where fal publishes none, the v3 pro image-to-video price
/// conflict recorded, motion control priced by the reference video's length, and the limits fal documents.
/// </summary>
public sealed class CatalogSurfaceTests : IDisposable
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Default;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"falvideo-surface-{Guid.NewGuid():N}");

    public CatalogSurfaceTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    private static VideoModel Model(string name) => Catalog.Find(name) ?? throw new InvalidOperationException($"{name} is not in the catalog");

    /// <summary>The endpoint ids of MODELS.md's table "On fal, not yet in the catalog" (found 2026-11-30), written out.</summary>
    public static readonly string[] NewEndpoints =
    [
        "fal-ai/kling-video/v3/turbo/pro/text-to-video", "fal-ai/kling-video/v3/turbo/pro/image-to-video",
        "fal-ai/kling-video/v3/turbo/standard/text-to-video", "fal-ai/kling-video/v3/turbo/standard/image-to-video",
        "fal-ai/kling-video/o3/standard/text-to-video", "fal-ai/kling-video/o3/standard/image-to-video",
        "fal-ai/kling-video/o3/standard/reference-to-video", "fal-ai/kling-video/o3/pro/reference-to-video", "fal-ai/kling-video/o3/4k/reference-to-video",
        "fal-ai/kling-video/o3/standard/video-to-video/edit", "fal-ai/kling-video/o3/pro/video-to-video/edit",
        "fal-ai/kling-video/o3/standard/video-to-video/reference", "fal-ai/kling-video/o3/pro/video-to-video/reference",
        "fal-ai/kling-video/o1/image-to-video", "fal-ai/kling-video/o1/standard/image-to-video",
        "fal-ai/kling-video/o1/reference-to-video", "fal-ai/kling-video/o1/standard/reference-to-video",
        "fal-ai/kling-video/o1/video-to-video/edit", "fal-ai/kling-video/o1/video-to-video/reference",
        "fal-ai/kling-video/o1/standard/video-to-video/edit", "fal-ai/kling-video/o1/standard/video-to-video/reference",
        "fal-ai/kling-video/v2.6/pro/text-to-video", "fal-ai/kling-video/v2.6/pro/image-to-video",
        "fal-ai/kling-video/v2.6/pro/motion-control", "fal-ai/kling-video/v2.6/standard/motion-control",
        "fal-ai/kling-video/v2.5-turbo/standard/image-to-video", "fal-ai/kling-video/v2.1/standard/image-to-video",
        "fal-ai/kling-video/v2.1/master/text-to-video", "fal-ai/kling-video/v2.1/master/image-to-video",
        "fal-ai/kling-video/v2/master/text-to-video", "fal-ai/kling-video/v2/master/image-to-video",
        "fal-ai/kling-video/lipsync/audio-to-video", "fal-ai/kling-video/lipsync/text-to-video",
        "fal-ai/kling-video/ai-avatar/v2/pro", "fal-ai/kling-video/ai-avatar/v2/standard", "fal-ai/kling-video/create-voice",
        "fal-ai/kling-video/video-to-audio",
        "fal-ai/minimax/hailuo-02/standard/text-to-video", "fal-ai/minimax/hailuo-02/pro/text-to-video", "fal-ai/minimax/hailuo-02/pro/image-to-video",
        "fal-ai/minimax/hailuo-02-fast/image-to-video",
        "fal-ai/minimax/video-01", "fal-ai/minimax/video-01/image-to-video", "fal-ai/minimax/video-01-live", "fal-ai/minimax/video-01-live/image-to-video",
        "fal-ai/minimax/video-01-director", "fal-ai/minimax/video-01-director/image-to-video",
    ];

    [Fact]
    public void Every_new_endpoint_id_resolves_to_a_catalog_model_with_a_price_or_a_source_saying_why_not()
    {
        foreach (var id in NewEndpoints)
        {
            var model = Catalog.Find(id, out var mode);
            Assert.True(model is not null, $"{id} is not in the catalog");
            Assert.Equal(id, model!.EndpointFor(mode!));
            Assert.False(string.IsNullOrWhiteSpace(model.PriceSource), $"{model.Name} has no price source");
            var estimate = CostCalculator.Estimate(model, new CostQuery { Mode = mode, DurationSeconds = model.DefaultDuration ?? 5 });
            if (estimate is null) Assert.Contains("not published", model.PriceSource);   // "price unknown", never a guess
            else Assert.Contains("fal.ai", model.PriceSource);
            if (model.Prices.Length == 0) Assert.Equal(VideoModel.UnknownPrice, model.PriceSummary);
        }
    }

    [Fact]
    public void Names_follow_fal_endpoint_ids_and_the_old_names_stay_as_aliases()
    {
        Assert.Same(Model("kling-v2.5-turbo-pro"), Catalog.Find("kling-2.5-turbo-pro"));
        Assert.Same(Model("kling-v2.1-pro"), Catalog.Find("KLING-2.1-PRO"));
        Assert.Same(Model("minimax-video-01-subject-reference"), Catalog.Find("hailuo-subject-reference"));
        Assert.Equal("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", Model("kling-2.5-turbo-pro").EndpointFor(VideoModes.TextToVideo));
        // Each name is its endpoint id's path, the mode left out: fal-ai/kling-video/v2.5-turbo/pro/text-to-video -> kling-v2.5-turbo-pro,
        // fal-ai/minimax/hailuo-2.3/pro/... -> hailuo-2.3-pro, fal-ai/minimax/video-01-live -> minimax-video-01-live.
        foreach (var m in Catalog.Models.Where(m => !m.IsRetired))
        {
            var mode = m.Modes[0];
            var path = m.EndpointFor(mode)!;
            if (mode is VideoModes.TextToVideo or VideoModes.ImageToVideo && path.EndsWith("/" + mode)) path = path[..^(mode.Length + 1)];
            var expected = path.StartsWith("fal-ai/kling-video/") ? "kling-" + path["fal-ai/kling-video/".Length..]
                : path.StartsWith("fal-ai/minimax/video-01") ? "minimax-" + path["fal-ai/minimax/".Length..]
                : path["fal-ai/minimax/".Length..];
            Assert.Equal(expected.Replace('/', '-'), m.Name);
        }
        // An override may name the old name: it applies to the model.
        var overridden = Catalog.WithPriceOverrides("""{ "kling-2.5-turbo-pro": { "prices": [ { "when": {}, "usdPerSecond": 0.05 } ] } }""");
        Assert.Equal(0.25m, CostCalculator.Estimate(overridden.Find("kling-v2.5-turbo-pro")!, new CostQuery { DurationSeconds = 5 })!.TotalUsd);
    }

    [Fact]
    public void The_v3_pro_image_to_video_price_conflict_names_both_pages_and_the_rules_an_override_settles()
    {
        var v3 = Model("kling-v3-pro");
        Assert.Contains("fal.ai/models/fal-ai/kling-video/v3/pro/image-to-video/playground", v3.PriceNote);
        Assert.Contains("fal.ai/models/fal-ai/kling-video/v3/pro/image-to-video/llms.txt", v3.PriceNote);
        var disputed = v3.Prices.Where(p => p.Id is not null).ToList();
        Assert.Equal(3, disputed.Count);
        Assert.All(disputed, p => Assert.StartsWith("kling-v3-pro/i2v-elements-", p.Id));
        // Without elements the playground's price; with elements the higher one.
        Assert.Equal(0.168m * 5, CostCalculator.Estimate(v3, new CostQuery { Mode = VideoModes.ImageToVideo, DurationSeconds = 5, GenerateAudio = true })!.TotalUsd);
        Assert.Equal(0.336m * 5, CostCalculator.Estimate(v3, new CostQuery { Mode = VideoModes.ImageToVideo, DurationSeconds = 5, GenerateAudio = true, Elements = true })!.TotalUsd);
    }

    [Fact]
    public void Prices_can_depend_on_the_mode_and_lip_sync_bills_in_five_second_steps()
    {
        var turbo = Model("kling-v3-turbo-standard");
        Assert.Equal(0.112m * 6, CostCalculator.Estimate(turbo, new CostQuery { Mode = VideoModes.ImageToVideo, DurationSeconds = 6 })!.TotalUsd);
        Assert.Null(CostCalculator.Estimate(turbo, new CostQuery { Mode = VideoModes.TextToVideo, DurationSeconds = 6 }));

        var lipsync = Model("kling-lipsync-audio-to-video");
        var seven = CostCalculator.Estimate(lipsync, new CostQuery { DurationSeconds = 7 })!;
        Assert.Equal(10, seven.BilledSeconds);
        Assert.Equal(0.14m, seven.TotalUsd);
        Assert.Equal(0.07m, CostCalculator.Estimate(lipsync, new CostQuery { DurationSeconds = 5 })!.TotalUsd);
        Assert.Null(CostCalculator.Estimate(lipsync, new CostQuery()));   // no length, no maximum published: unknown, not a guess
    }

    [Fact]
    public void Motion_control_is_priced_at_its_most_by_orientation_when_the_reference_length_is_unknown()
    {
        var motion = Model("kling-v3-pro-motion-control");
        var perSecond = motion.Prices.Single().UsdPerSecond!.Value;
        var image = CostCalculator.Estimate(motion, new CostQuery { Mode = VideoModes.MotionControl, CharacterOrientation = "image" })!;
        Assert.True(image.IsUpperBound);
        Assert.Equal(10, image.BilledSeconds);
        Assert.Equal(perSecond * 10, image.TotalUsd);
        var video = CostCalculator.Estimate(motion, new CostQuery { Mode = VideoModes.MotionControl, CharacterOrientation = "video" })!;
        Assert.Equal(30, video.BilledSeconds);
        var known = CostCalculator.Estimate(motion, new CostQuery { Mode = VideoModes.MotionControl, CharacterOrientation = "video", DurationSeconds = 7 })!;
        Assert.False(known.IsUpperBound);
        Assert.Equal(perSecond * 7, known.TotalUsd);
    }

    private static string SampleVideo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "src", "FalVideo.Emulator", "assets", "sample.mp4");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("src/FalVideo.Emulator/assets/sample.mp4 not found above the test folder");
    }

    [Fact]
    public void Motion_control_reads_a_local_reference_video_length_and_refuses_one_too_long_for_the_orientation()
    {
        var motion = Model("kling-v3-pro-motion-control");
        var image = Path.Combine(_folder, "still.png");
        File.WriteAllBytes(image, [0x89, 0x50, 0x4E, 0x47]);
        var video = Path.Combine(_folder, "moves.mp4");
        File.Copy(SampleVideo(), video);
        var seconds = MediaDuration.TryGetSeconds(video);
        var row = new VideoRow { StartImage = image, MotionVideo = video, CharacterOrientation = "image" };
        var problems = new List<string>();
        var plan = VideoRequestPlanner.Plan(row, motion, null, Catalog, _folder, problems)!;
        Assert.Empty(problems);
        if (seconds is null)
        {
            // No ffprobe here: priced at the most the orientation allows, and -WhatIf says so.
            Assert.True(plan.Cost!.IsUpperBound);
            Assert.Contains("at most 10 s", plan.Describe("Input"));
            return;
        }
        Assert.Equal(2.0, seconds!.Value, 1);     // the emulator's sample clip is 2 s long
        Assert.False(plan.Cost!.IsUpperBound);
        Assert.Equal(2, plan.DurationSeconds);
        Assert.Equal(motion.Prices.Single().UsdPerSecond!.Value * 2, plan.Cost.TotalUsd);
        Assert.Contains("2 s (the reference video's length, read from the file)", plan.Describe("Input"));

        // A reference the caller says is 12 s is too long for orientation image (10 s at most).
        problems.Clear();
        VideoRequestPlanner.Plan(row with { VideoSeconds = 12 }, motion, null, Catalog, _folder, problems);
        Assert.Contains(problems, p => p.StartsWith("MotionVideo is 12 s long; allowed: at most 10 s with CharacterOrientation image"));
    }

    [Fact]
    public void A_url_reference_video_is_not_downloaded_and_the_estimate_is_the_most_it_can_cost()
    {
        var motion = Model("kling-v3-pro-motion-control");
        var problems = new List<string>();
        var plan = VideoRequestPlanner.Plan(new VideoRow
        {
            StartImage = "https://example.com/a.png", MotionVideo = "https://example.com/m.mp4", CharacterOrientation = "video",
        }, motion, null, Catalog, _folder, problems)!;
        Assert.Empty(problems);
        Assert.True(plan.Cost!.IsUpperBound);
        Assert.Null(plan.DurationSeconds);
        Assert.Contains($"estimated at most {(motion.Prices.Single().UsdPerSecond!.Value * 30).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} USD", plan.Describe("Row 3"));
        Assert.Contains("at most 30 s", plan.Describe("Row 3"));
    }

    [Fact]
    public void Shot_type_elements_with_video_negative_prompt_and_shot_count_are_checked_as_fal_documents_them()
    {
        var v3 = Model("kling-v3-pro");
        var problems = new List<string>();
        var two = new[]
        {
            new ElementSpec(null, [], "https://example.com/a.mp4", null),
            new ElementSpec(null, [], "https://example.com/b.mp4", null),
        };
        VideoRequestPlanner.Plan(new VideoRow
        {
            Prompt = "@Element1 meets @Element2", StartImage = "https://example.com/s.png", Elements = two,
            ShotType = "cinematic", NegativePrompt = new string('x', 2501),
        }, v3, null, Catalog, _folder, problems);
        Assert.Contains(problems, p => p == "Element: 2 elements have a Video (elements 1, 2); allowed: at most one element with a video per request.");
        Assert.Contains(problems, p => p == "ShotType 'cinematic' is not allowed; allowed: customize, intelligent.");
        Assert.Contains(problems, p => p.StartsWith("NegativePrompt is 2501 characters; allowed: at most 2500"));

        problems.Clear();
        var plan = VideoRequestPlanner.Plan(new VideoRow { Prompt = "Harbour", ShotType = "Intelligent", NegativePrompt = new string('x', 2500) }, v3, null, Catalog, _folder, problems)!;
        Assert.Empty(problems);
        Assert.Equal("intelligent", plan.Input["shot_type"]!.GetValue<string>());

        // Kling v3 Turbo takes 1-6 shots (fal-js).
        var turbo = Model("kling-v3-turbo-pro");
        problems.Clear();
        var seven = Enumerable.Range(1, 7).Select(i => new ShotSpec($"shot {i}", 2)).ToList();
        VideoRequestPlanner.Plan(new VideoRow { Shots = seven }, turbo, null, Catalog, _folder, problems);
        Assert.Contains(problems, p => p.StartsWith("Shot: 7 shots; allowed: at most 6 on kling-v3-turbo-pro"));
    }

    [Fact]
    public void Modes_the_cmdlets_have_no_inputs_for_point_to_Invoke_FalModel()
    {
        var edit = Model("kling-o3-pro-video-to-video-edit");
        var problems = new List<string>();
        Assert.Null(VideoRequestPlanner.Plan(new VideoRow { Prompt = "Make it snow" }, edit, null, Catalog, _folder, problems));
        Assert.Contains("Invoke-FalModel -Endpoint fal-ai/kling-video/o3/pro/video-to-video/edit", Assert.Single(problems));
    }

    [Fact]
    public void The_router_sends_a_row_only_to_a_model_that_takes_its_own_values()
    {
        // -Require 10s with a 6 s row: a model offering both, sent at 6 s.
        var problems = new List<string>();
        var chosen = CheapestRouter.Choose(new VideoRow { Prompt = "Rain", Duration = 6 }, ["10s"], Catalog, _folder, problems, out _, out var plan);
        Assert.Empty(problems);
        Assert.NotNull(chosen);
        Assert.Contains(6, chosen!.Durations);
        Assert.Contains(10, chosen.Durations);
        Assert.Equal("6", plan!.Input["duration"]!.GetValue<string>());
        foreach (var other in Catalog.Models.Where(m => !m.IsRetired && m.EndpointFor(VideoModes.TextToVideo) is not null
                                                        && m.Durations.Contains(6) && m.Durations.Contains(10)))
        {
            var price = CostCalculator.Estimate(other, new CostQuery { Mode = VideoModes.TextToVideo, DurationSeconds = 6, GenerateAudio = other.Accepts("generate_audio") ? false : null });
            if (price is not null) Assert.True(plan.Cost!.TotalUsd <= price.TotalUsd, $"{other.Name} at {price.TotalUsd} is cheaper than {chosen.Name}");
        }

        // Without a Duration of its own, the row is sent at the required length.
        problems.Clear();
        CheapestRouter.Choose(new VideoRow { Prompt = "Rain" }, ["10s"], Catalog, _folder, problems, out _, out plan);
        Assert.Empty(problems);
        Assert.Equal("10", plan!.Input["duration"]!.GetValue<string>());

        // A negative prompt goes only to a model that takes one.
        problems.Clear();
        var withNegative = CheapestRouter.Choose(new VideoRow { Prompt = "Rain", NegativePrompt = "people" }, [], Catalog, _folder, problems, out _, out plan);
        Assert.True(withNegative!.Accepts("negative_prompt"));
        Assert.Equal("people", plan!.Input["negative_prompt"]!.GetValue<string>());
    }

    [Fact]
    public void The_router_refuses_a_row_that_turns_audio_off_when_audio_is_required()
    {
        var problems = new List<string>();
        Assert.Null(CheapestRouter.Choose(new VideoRow { Prompt = "Rain", GenerateAudio = false }, ["audio"], Catalog, _folder, problems, out _, out var plan));
        Assert.Null(plan);
        Assert.StartsWith("GenerateAudio is false, but -Require audio asks for a model with audio", Assert.Single(problems));
    }
}
