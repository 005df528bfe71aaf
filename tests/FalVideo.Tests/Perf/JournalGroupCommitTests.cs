using System.Text.Json;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Emulator;

namespace FalVideo.Tests.Perf;

/// <summary>
/// Correctness of what the performance work changed (no timing here: that is the benchmark's job): the journal's
/// group commit, batched appends, and the emulator's large generated video.
/// </summary>
public sealed class JournalGroupCommitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("falvideo-perf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FalJob Job(string id) => new()
    {
        RequestId = id,
        EndpointId = EmulatorFixture.KlingT2V,
        Model = "kling-v3-pro",
        Status = FalJobStatus.InQueue,
        Prompt = $"prompt of {id} " + new string('x', 300),
        Input = "{\"prompt\":\"p\"}",
    };

    [Fact]
    public async Task Many_concurrent_appends_are_all_written_as_whole_lines_exactly_once()
    {
        var journal = new JobJournal(Path.Combine(_dir, "journal.jsonl"));
        // Several JobJournal objects for one file share its group commit, as the cmdlets' per-call objects do.
        var tasks = Enumerable.Range(0, 400).Select(i => Task.Run(() =>
            i % 3 == 0 ? new JobJournal(journal.FilePath).AppendAsync("submitted", Job($"r{i}"))
            : i % 3 == 1 ? journal.AppendAsync("status", Job($"r{i}"))
            : Task.Run(() => journal.Append("submitting", Job($"r{i}"))))).ToList();
        await Task.WhenAll(tasks);

        var lines = File.ReadAllLines(journal.FilePath);
        Assert.Equal(400, lines.Length);
        var ids = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("request_id").GetString()).ToHashSet();
        Assert.Equal(400, ids.Count);
        Assert.Equal(400, journal.ReadJobs().Count);
    }

    [Fact]
    public void Captured_entries_keep_the_state_of_their_moment_and_are_appended_in_order()
    {
        var journal = new JobJournal(Path.Combine(_dir, "journal.jsonl"));
        var job = Job("x");
        job.Status = FalJobStatus.InProgress;
        var running = JobJournal.Capture("status", job);
        job.Status = FalJobStatus.Completed;
        var done = JobJournal.Capture("status", job);
        journal.AppendMany([running, done]);

        var statuses = File.ReadAllLines(journal.FilePath)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetString()).ToList();
        Assert.Equal(new[] { "InProgress", "Completed" }, statuses);
        Assert.False(JobJournal.MustReachDisk("status"));
        Assert.False(JobJournal.MustReachDisk("error"));
        Assert.True(JobJournal.MustReachDisk("submitted"));
        Assert.True(JobJournal.MustReachDisk(JobJournal.SubmittingEntry));
    }

    [Fact]
    public async Task An_unwritable_journal_fails_every_waiting_append()
    {
        var blocker = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(blocker, "");
        var journal = new JobJournal(Path.Combine(blocker, "journal.jsonl"));
        var appends = Enumerable.Range(0, 5).Select(i => Task.Run(() => journal.AppendAsync("submitted", Job($"r{i}")))).ToList();
        foreach (var append in appends) await Assert.ThrowsAnyAsync<IOException>(() => append);
    }
}

/// <summary>The emulator's <c>[emulator:video-mb=N]</c> marker: a large video, streamed, with its true size.</summary>
public sealed class LargeVideoMarkerTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task The_marker_makes_a_video_of_that_size_with_the_sample_first_and_working_ranges()
    {
        var (status, submitted) = await fixture.SubmitAsync(EmulatorFixture.KlingT2V,
            """{"prompt":"[emulator:video-mb=3] a big one","duration":"5","generate_audio":false}""");
        Assert.Equal(200, status);
        using var result = await fixture.Http.GetAsync(submitted.GetProperty("response_url").GetString());
        var video = (await EmulatorFixture.BodyAsync(result)).GetProperty("video");
        Assert.Equal(3 * 1024 * 1024, video.GetProperty("file_size").GetInt64());

        using var anonymous = new HttpClient();
        using var download = await anonymous.GetAsync(video.GetProperty("url").GetString(), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(3 * 1024 * 1024, download.Content.Headers.ContentLength);
        var bytes = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(3 * 1024 * 1024, bytes.Length);
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4));
        Assert.All(bytes[^1000..], b => Assert.Equal(0, b));

        using var range = new HttpRequestMessage(HttpMethod.Get, video.GetProperty("url").GetString());
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(10, 19);
        using var partial = await anonymous.SendAsync(range);
        Assert.Equal(System.Net.HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[10..20], await partial.Content.ReadAsByteArrayAsync());
    }
}
