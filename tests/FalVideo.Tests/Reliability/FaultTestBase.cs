using System.Management.Automation;
using System.Management.Automation.Runspaces;
using FalVideo.Emulator;
using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// One emulator, one PowerShell session (the built module, a temp journal) and one temp folder per test, with
/// retries made fast (50 ms base delay) so bursts of faults cost milliseconds. Faults are scripted through
/// <see cref="RunningEmulator.Faults"/>; <see cref="Tally"/> checks the three promises of the fault suite.
/// </summary>
public abstract class FaultTestBase : IAsyncLifetime
{
    /// <summary>Size of the emulator's sample video, the only correct size of a saved file.</summary>
    public static readonly long VideoBytes = new FileInfo(Path.Combine(RepoPaths.Root, "src", "FalVideo.Emulator", "assets", "sample.mp4")).Length;

    protected RunningEmulator Emulator { get; private set; } = null!;
    protected PowerShellHost Ps { get; private set; } = null!;
    protected string Temp { get; } = Directory.CreateTempSubdirectory("falvideo-faults-").FullName;
    protected string OutDir => Path.Combine(Temp, "out");

    /// <summary>The emulator's settings; instant jobs unless a test says otherwise.</summary>
    protected virtual EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0" };

    /// <summary>The session's retry and timeout settings.</summary>
    protected virtual string SessionSettings => "Set-FalConfiguration -MaxRetries 3 -RetryBaseDelay 0.05 -RequestTimeout 5";

    /// <summary>The key the session sends.</summary>
    protected virtual string ApiKey => "test-key-0123456789";

    public virtual async Task InitializeAsync()
    {
        Emulator = await EmulatorServer.StartAsync(EmulatorOptions);
        Ps = new PowerShellHost(Emulator.BaseUrl, ApiKey);
        Ps.Run(SessionSettings).ThrowIfErrors();
    }

    public virtual async Task DisposeAsync()
    {
        Ps.Dispose();
        await Emulator.DisposeAsync();
        try { Directory.Delete(Temp, true); } catch (IOException) { }
    }

    protected ArmedFault Inject(FaultRule rule) => Emulator.Faults.Add(rule);

    /// <summary>PowerShell that makes <paramref name="count"/> CSV-like rows with unique prompts (Id r1…rN).</summary>
    protected static string Rows(int count, string tag, string extra = "") =>
        $"(1..{count} | ForEach-Object {{ [pscustomobject]@{{ Id = \"r$_\"; Prompt = \"{tag} $_ {extra}\".Trim(); Duration = '3' }} }})";

    /// <summary>The README's batch: rows → New-KlingVideo → Wait-FalJob → Save-FalVideo into <see cref="OutDir"/>.</summary>
    protected PsResult RunBatch(int count, string tag, string extra = "", string? script = null) =>
        Ps.Run(script ?? $"{Rows(count, tag, extra)} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);

    /// <summary>The session's journal as the module reads it.</summary>
    protected IReadOnlyList<FalJob> Journal(List<string>? warnings = null) => new JobJournal(Ps.JournalPath).ReadJobs(w => warnings?.Add(w));

    /// <summary>Counts what the emulator accepted against the journal and the files on disk.</summary>
    /// <param name="savedExpected">Whether every accepted job with a request id should have been saved by now.</param>
    protected Tally Count(bool savedExpected = true) => Tally.Of(Emulator, Journal(), Temp, OutDir, savedExpected);

    /// <summary>The session's runspace, for pipelines started with BeginInvoke (interrupted, restarted).</summary>
    protected Runspace Runspace => (Runspace)Ps.Run("[runspace]::DefaultRunspace").Output.Single().BaseObject;

    /// <summary>Starts a script without waiting; the caller ends it with EndInvoke or Stop.</summary>
    protected (PowerShell Shell, IAsyncResult Handle, PSDataCollection<PSObject> Output) Begin(string script, params object?[] args)
    {
        var shell = PowerShell.Create();
        shell.Runspace = Runspace;
        shell.AddScript(script);
        foreach (var a in args) shell.AddArgument(a);
        var output = new PSDataCollection<PSObject>();
        return (shell, shell.BeginInvoke<PSObject, PSObject>(null, output), output);
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails after <paramref name="seconds"/>.</summary>
    protected static async Task Until(Func<bool> condition, string what, double seconds = 20)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new Xunit.Sdk.XunitException($"Timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }

    protected static string Ids(PsResult r) => string.Join(" | ", r.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
}

/// <summary>
/// The fault suite's three promises, counted: every submission the emulator accepted is in the journal (by request id,
/// or as an ambiguous entry with the same input), none was accepted twice (each row's input is unique), and no partial
/// file exists (no <c>*.part</c>/<c>*.tmp</c>, every video has the right size), plus every accepted job that has a
/// request id saved exactly once when that is expected.
/// </summary>
public sealed record Tally(int Accepted, int Duplicates, int MissingFromJournal, int AmbiguousRecorded, int NotSaved, int SavedTwice, int PartialFiles, int WrongSize)
{
    public static Tally Of(RunningEmulator emulator, IReadOnlyList<FalJob> journal, string root, string outDir, bool savedExpected)
    {
        var jobs = emulator.State.Jobs;
        var byId = journal.Where(j => j.RequestId.Length > 0).ToDictionary(j => j.RequestId);
        var ambiguousInputs = journal.Where(j => j.RequestId.Length == 0 && j.Status == FalJobStatus.Unknown).Select(j => j.Input).ToList();
        var missing = 0;
        var ambiguous = 0;
        foreach (var job in jobs)
        {
            if (byId.ContainsKey(job.RequestId)) continue;
            if (ambiguousInputs.Remove(job.Input)) ambiguous++;
            else missing++;
        }
        var videos = Directory.Exists(outDir) ? Directory.GetFiles(outDir, "*.mp4", SearchOption.AllDirectories) : [];
        var notSaved = 0;
        var savedTwice = 0;
        foreach (var job in jobs.Where(j => j.Succeeded && byId.ContainsKey(j.RequestId)))
        {
            var copies = videos.Count(v => Path.GetFileName(v).Contains(job.RequestId[..8], StringComparison.Ordinal));
            if (copies == 0 && savedExpected) notSaved++;
            if (copies > 1) savedTwice++;
        }
        var partial = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Count(f => f.EndsWith(".part", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
        var wrongSize = videos.Count(v => new FileInfo(v).Length != FaultTestBase.VideoBytes);
        return new Tally(jobs.Count, jobs.Count - jobs.Select(j => j.Input).Distinct().Count(), missing, ambiguous, notSaved, savedTwice, partial, wrongSize);
    }

    /// <summary>What was lost, in words: "nothing" when every promise held.</summary>
    public string Lost
    {
        get
        {
            var problems = new List<string>();
            if (MissingFromJournal > 0) problems.Add($"{MissingFromJournal} accepted job(s) missing from the journal");
            if (Duplicates > 0) problems.Add($"{Duplicates} duplicate submission(s)");
            if (NotSaved > 0) problems.Add($"{NotSaved} finished job(s) not saved");
            if (SavedTwice > 0) problems.Add($"{SavedTwice} job(s) saved twice");
            if (PartialFiles > 0) problems.Add($"{PartialFiles} partial file(s) left");
            if (WrongSize > 0) problems.Add($"{WrongSize} file(s) of the wrong size under a final name");
            return problems.Count == 0 ? "nothing" : string.Join("; ", problems);
        }
    }

    /// <summary>Asserts every promise; <paramref name="accepted"/> is how many submissions the emulator must have.</summary>
    public void AssertNothingLost(int accepted)
    {
        Assert.Equal(accepted, Accepted);
        Assert.Equal(0, Duplicates);
        Assert.Equal(0, MissingFromJournal);
        Assert.Equal(0, NotSaved);
        Assert.Equal(0, SavedTwice);
        Assert.Equal(0, PartialFiles);
        Assert.Equal(0, WrongSize);
        Assert.Equal("nothing", Lost);
    }
}
