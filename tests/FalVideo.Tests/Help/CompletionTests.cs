using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Help;

/// <summary>Tab completion through the engine's own TabExpansion2, as a user pressing Tab gets it.</summary>
public sealed class CompletionTests : IDisposable
{
    private readonly PowerShellHost _ps = new(emulator: null);

    public void Dispose() => _ps.Dispose();

    private sealed record Match(string Text, string ListItem, string ToolTip);

    private List<Match> Complete(string input)
    {
        var r = _ps.Run("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches", input);
        r.ThrowIfErrors();
        return r.Output.Select(o => new Match(
            (string)o.Properties["CompletionText"].Value, (string)o.Properties["ListItemText"].Value, (string)o.Properties["ToolTip"].Value)).ToList();
    }

    [Fact]
    public void Model_on_New_KlingVideo_lists_Kling_models_and_endpoints_only()
    {
        var items = Complete("New-KlingVideo -Model ").Select(m => m.ListItem).ToList();
        Assert.Contains("kling-v3-pro", items);
        Assert.Contains("fal-ai/kling-video/v3/pro/text-to-video", items);
        Assert.DoesNotContain(items, i => i.Contains("hailuo", StringComparison.OrdinalIgnoreCase) || i.Contains("minimax", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(items, i => i.Contains("sora", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Model_completion_narrows_by_prefix_and_quotes_endpoint_ids()
    {
        var matches = Complete("New-KlingVideo -Model kling-v3-s").Select(m => m.Text).ToList();
        Assert.Contains("kling-v3-standard", matches);
        Assert.All(matches, m => Assert.StartsWith("kling-v3-s", m));
        var ids = Complete("New-HailuoVideo -Model fal-ai/minimax/hailuo-2.3/st");
        Assert.Contains(ids, m => m.Text == "'fal-ai/minimax/hailuo-2.3/standard/text-to-video'");
    }

    [Fact]
    public void Duration_follows_the_model_on_the_command_line()
    {
        Assert.Equal(["6", "10"], Complete("New-HailuoVideo -Model hailuo-2.3-standard -Duration ").Select(m => m.Text));
        Assert.Equal(["5", "10"], Complete("New-KlingVideo -Model kling-2.5-turbo-pro -Duration ").Select(m => m.Text));
        var kling = Complete("New-KlingVideo -Duration ").Select(m => m.Text).ToList(); // the default model, kling-v3-pro
        Assert.Equal(Enumerable.Range(3, 13).Select(d => d.ToString()), kling);
    }

    [Fact]
    public void AspectRatio_lists_the_model_ratios_quoted()
    {
        var matches = Complete("New-KlingVideo -AspectRatio ");
        Assert.Equal(["16:9", "9:16", "1:1"], matches.Select(m => m.ListItem));
        Assert.Equal("'16:9'", matches[0].Text); // a bare 16:9 would not parse as one argument
        Assert.Equal(["'9:16'"], Complete("New-KlingVideo -AspectRatio 9").Select(m => m.Text));
    }

    [Theory]
    [InlineData("Get-FalJob")]
    [InlineData("Wait-FalJob")]
    [InlineData("Stop-FalJob")]
    [InlineData("Save-FalVideo")]
    public void RequestId_lists_the_journal_jobs_newest_first_with_model_status_and_prompt(string cmdlet)
    {
        var journal = new JobJournal(_ps.JournalPath);
        var now = DateTimeOffset.UtcNow;
        journal.Append("submitted", Job("11111111-aaaa-4000-8000-000000000001", "kling-v3-pro", "fal-ai/kling-video/v3/pro/text-to-video",
            "A ceramic bowl on a potter's wheel, spinning slowly under warm studio light", now.AddMinutes(-10)));
        journal.Append("submitted", Job("22222222-bbbb-4000-8000-000000000002", "hailuo-2.3-pro", "fal-ai/minimax/hailuo-2.3/pro/text-to-video",
            "A lantern floating on a still pond at dusk", now.AddMinutes(-5)));
        var done = Job("11111111-aaaa-4000-8000-000000000001", "kling-v3-pro", "fal-ai/kling-video/v3/pro/text-to-video", "", now.AddMinutes(-10));
        done.Status = FalJobStatus.Completed;
        journal.Append("status", done);

        var matches = Complete($"{cmdlet} -RequestId ");
        Assert.Equal(["22222222-bbbb-4000-8000-000000000002", "11111111-aaaa-4000-8000-000000000001"], matches.Select(m => m.Text));
        Assert.Equal("hailuo-2.3-pro, InQueue: A lantern floating on a still pond at dusk", matches[0].ToolTip);
        Assert.StartsWith("kling-v3-pro, Completed: A ceramic bowl on a potter's wheel, spinning", matches[1].ToolTip);
        Assert.EndsWith("…", matches[1].ToolTip); // long prompts are cut

        Assert.Equal(["11111111-aaaa-4000-8000-000000000001"], Complete($"{cmdlet} -RequestId 111").Select(m => m.Text));
        Assert.Equal(["22222222-bbbb-4000-8000-000000000002"],
            Complete($"{cmdlet} -EndpointId fal-ai/minimax/hailuo-2.3/pro/text-to-video -RequestId ").Select(m => m.Text));
    }

    [Fact]
    public void RequestId_offers_nothing_and_no_error_without_a_journal()
    {
        Assert.False(File.Exists(_ps.JournalPath));
        Assert.Empty(Complete("Get-FalJob -RequestId "));
    }

    private static FalJob Job(string id, string model, string endpoint, string prompt, DateTimeOffset at) => new()
    {
        RequestId = id, Model = model, EndpointId = endpoint, Prompt = prompt, Status = FalJobStatus.InQueue, SubmittedAt = at,
        Mode = "text-to-video",
    };
}
