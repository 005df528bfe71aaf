using System.Globalization;

namespace FalVideo.Benchmark;

/// <summary>A job-length profile: how many rows, and how long each emulated job runs once started.</summary>
/// <param name="Name"><c>instant</c> or <c>long</c>.</param>
/// <param name="Rows">Jobs submitted by every contender.</param>
/// <param name="JobSeconds">The emulator's <c>--job-seconds</c>.</param>
public sealed record BenchmarkProfile(string Name, int Rows, double JobSeconds);

/// <summary>The three contenders, in the order they run and are printed.</summary>
public enum Contender
{
    /// <summary><c>Import-Csv rows.csv | New-KlingVideo | Wait-FalJob</c> in real pwsh (<c>pwsh -NoProfile -File</c>).</summary>
    FalVideo,

    /// <summary>fal's official <c>@fal-ai/client</c> on Node.js (<c>tests/js/bench-official.mjs</c>).</summary>
    Official,

    /// <summary>A bare <see cref="HttpClient"/> loop: submit, poll status, fetch result.</summary>
    Floor,
}

/// <summary>Command-line options of the benchmark driver.</summary>
public sealed class BenchmarkOptions
{
    /// <summary>The help text.</summary>
    public const string Usage = """
        FalVideo benchmark: FalVideo vs fal's official JS client vs a bare HttpClient floor, against the local fal emulator.

        dotnet run -c Release --project bench/FalVideo.Benchmark -- [options]
          --profile <p>           instant, long, both (default), memory, cmdlets, steady, scale, store, download,
                                  shared, issue12 (steady, scale, store, download) or all; several with commas
                                  shared: issue 15's targets for the PostgreSQL store (a throw-away cluster on
                                  loopback): a 1,000-row batch with it against the embedded store, and
                                  Get-FalJob -Status InQueue,InProgress over --store-jobs jobs in it
                                  memory: Save-FalVideo of one large video, and a 10,000-job pipeline (peak memory)
                                  cmdlets: Import-Module cold/warm, Measure-VideoCost over 100,000 rows, and where
                                  the time of 1,000 instant jobs goes in the hosted engine
          --rows <n>              rows of the instant profile (default 1000); with one --profile, that profile's rows
          --long-rows <n>         rows of the long profile (default 100)
          --job-seconds <s>       job length of the long profile (default 3, i.e. a 60 s job scaled down)
          --concurrency <n>       emulator jobs running at once (default 40)
          --contenders <list>     comma-separated: falvideo,official,floor (default all three)
          --official-mode <m>     polling (the client's default, 500 ms) or streaming (default polling)
          --official-poll-ms <n>  pollInterval for the official client (default: the client's own, 500 ms)
          --floor-parallel <n>    requests the floor keeps in flight (default 32)
          --floor-poll-ms <n>     the floor's status poll interval (default 1000)
          --repeat <n>            runs per contender and profile; the run with the median wall time is shown (default 3)
          --warm-up <n>           instant jobs run through each fresh emulator, then reset, before the contender (default 200)
          --timeout <s>           longest run of one contender before it is killed (default 900)
          --engine <e>            for the children that are this program (the floor, the memory and cmdlets checks):
                                  precompiled (default): from a ReadyToRun publish of this program (made on first
                                  use, about a minute), the PowerShell engine precompiled as in an installed pwsh;
                                  il: from this build, the engine compiled by the JIT as it runs. The FalVideo
                                  contender is always real pwsh (--pwsh)
          --pwsh <p>              the pwsh of the FalVideo contender and every real-pwsh check: precompiled
                                  (default): the pinned pwsh (.config/dotnet-tools.json) copied and compiled
                                  ReadyToRun with crossgen2 as an installed pwsh is (made on first use, about half
                                  a minute); tool: the pinned PowerShell dotnet tool as it is (IL only, so the
                                  engine is compiled by the JIT while measured). FALVIDEO_PWSH names another pwsh
                                  and wins over both
          --video-mb <n>          size of the video the memory profile saves (default 500)
          --pipeline-rows <n>     jobs in the memory profile's one pipeline (default 10000)
          --cost-rows <n>         rows Measure-VideoCost prices in the cmdlets profile (default 100000)
          --overhead-rows <n>     instant jobs the cmdlets profile's time breakdown runs (default 1000)
          --steady-rows <n>       rows per batch of the steady and idempotency checks (default 1000)
          --steady-batches <n>    timed batches after the first in the steady check (default 5)
          --footprint-rows <n>    the small batch that sets the scale check's footprint (default 100)
          --scale-rows <n>        jobs of the scale check's first pipeline (default 10000)
          --scale-big-rows <n>    jobs of its second pipeline (default 100000)
          --store-jobs <n>        past jobs seeded into the store and shared profiles' stores (default 1000000)
          --store-small-jobs <n>  the store it is compared with (default 1000)
          --rerun-rows <n>        rows of the finished CSV the store profile re-runs (default 10000)
          --idempotency-pairs <n> batches with and without -Force, each (default 5)
          --download-videos <n>   videos of the download profile (default 200)
          --download-mb <n>       size of each, MiB (default 8)
          --download-parallel <n> FalVideo's -ThrottleLimit and the floor's downloads in flight (default 8)
          --official-download-parallel <n>  the official client's downloads at once (default 1, as its docs fetch)
          --cdn-mb-per-second <n> the emulator CDN's cap per connection, MiB/s (default 32)
          --out <file>            where the Markdown report goes (default bench/results/latest.md)
          --no-save               print only; write no report file
        """;

    /// <summary>The job-length profiles to run, in order.</summary>
    public List<BenchmarkProfile> Profiles { get; } = [];

    /// <summary>Run the memory checks (<c>--profile memory</c>).</summary>
    public bool RunMemory { get; private set; }

    /// <summary>Run the cmdlet checks (<c>--profile cmdlets</c>).</summary>
    public bool RunCmdlets { get; private set; }

    /// <summary>Size of the video the memory profile saves, in MiB.</summary>
    public int VideoMb { get; private set; } = 500;

    /// <summary>Jobs in the memory profile's one pipeline.</summary>
    public int PipelineRows { get; private set; } = 10_000;

    /// <summary>Rows Measure-VideoCost prices in the cmdlets profile.</summary>
    public int CostRows { get; private set; } = 100_000;

    /// <summary>Instant jobs of the cmdlets profile's time breakdown.</summary>
    public int OverheadRows { get; private set; } = 1000;

    /// <summary>Run issue 12's steady-state check (<c>--profile steady</c>).</summary>
    public bool RunSteady { get; private set; }

    /// <summary>Run issue 12's memory-at-scale check (<c>--profile scale</c>).</summary>
    public bool RunScale { get; private set; }

    /// <summary>Run issue 12's job store checks (<c>--profile store</c>).</summary>
    public bool RunStore { get; private set; }

    /// <summary>Run issue 12's download profile (<c>--profile download</c>).</summary>
    public bool RunDownload { get; private set; }

    /// <summary>Run issue 15's shared (PostgreSQL) store checks (<c>--profile shared</c>).</summary>
    public bool RunShared { get; private set; }

    /// <summary>Any of issue 12's own profiles runs.</summary>
    public bool RunIssue12 => RunSteady || RunScale || RunStore || RunDownload;

    /// <summary>Rows per batch of the steady and idempotency checks.</summary>
    public int SteadyRows { get; private set; } = 1000;

    /// <summary>Timed batches after the first in the steady check.</summary>
    public int SteadyBatches { get; private set; } = 5;

    /// <summary>Rows of the small batch after which the scale check reads the engine's footprint.</summary>
    public int FootprintRows { get; private set; } = 100;

    /// <summary>Jobs of the scale check's first pipeline.</summary>
    public int ScaleRows { get; private set; } = 10_000;

    /// <summary>Jobs of the scale check's second pipeline, whose peak is compared with the first's.</summary>
    public int ScaleBigRows { get; private set; } = 100_000;

    /// <summary>Completed past jobs seeded into the store profile's store.</summary>
    public int StoreJobs { get; private set; } = 1_000_000;

    /// <summary>Past jobs of the store the query's memory is compared with.</summary>
    public int StoreSmallJobs { get; private set; } = 1000;

    /// <summary>Rows of the finished CSV the store profile runs again.</summary>
    public int RerunRows { get; private set; } = 10_000;

    /// <summary>Batches with and without <c>-Force</c>, each, in the idempotency check.</summary>
    public int IdempotencyPairs { get; private set; } = 5;

    /// <summary>Videos of the download profile.</summary>
    public int DownloadVideos { get; private set; } = 200;

    /// <summary>Size of each video of the download profile, in MiB.</summary>
    public int DownloadMb { get; private set; } = 8;

    /// <summary>FalVideo's <c>-ThrottleLimit</c> (when the build has it) and the floor's downloads in flight.</summary>
    public int DownloadParallel { get; private set; } = 8;

    /// <summary>The official client's downloads at once: 1 by default, as its docs fetch one result's URL.</summary>
    public int OfficialDownloadParallel { get; private set; } = 1;

    /// <summary>The emulator CDN's cap per connection in the download profile, in bytes per second.</summary>
    public long CdnBytesPerSecond { get; private set; } = 32L * 1024 * 1024;

    /// <summary>The contenders to run, in order.</summary>
    public List<Contender> Contenders { get; } = [Contender.FalVideo, Contender.Official, Contender.Floor];

    /// <summary>Emulator <c>--concurrency</c>.</summary>
    public int Concurrency { get; private set; } = 40;

    /// <summary><c>polling</c> or <c>streaming</c>, passed to <c>fal.queue.subscribeToStatus</c>.</summary>
    public string OfficialMode { get; private set; } = "polling";

    /// <summary>The official client's <c>pollInterval</c>, or null for its default.</summary>
    public int? OfficialPollMs { get; private set; }

    /// <summary>Requests the floor keeps in flight.</summary>
    public int FloorParallel { get; private set; } = 32;

    /// <summary>The floor's status poll interval.</summary>
    public int FloorPollMs { get; private set; } = 1000;

    /// <summary>Runs per contender and profile; the median one is reported.</summary>
    public int Repeat { get; private set; } = 3;

    /// <summary>Jobs the driver runs through each fresh emulator before resetting it.</summary>
    public int WarmUpJobs { get; private set; } = 200;

    /// <summary>Per-contender time limit.</summary>
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(900);

    /// <summary>Report file, or null with <c>--no-save</c>.</summary>
    public string? OutputPath { get; private set; } = "bench/results/latest.md";

    /// <summary>
    /// <c>precompiled</c> (default): the child processes that host PowerShell run from a ReadyToRun publish of this
    /// program, so the engine's assemblies are precompiled as in an installed pwsh (whose release builds are published
    /// ReadyToRun); the Microsoft.PowerShell.SDK package ships them as IL only. <c>il</c>: the children run this build
    /// as it is, and the JIT compiles the engine during the measurement.
    /// </summary>
    public string Engine { get; private set; } = "precompiled";

    /// <summary>
    /// The pwsh of every real-pwsh figure (the FalVideo contender, the issue 12 and issue 15 checks):
    /// <c>precompiled</c> (default), the pinned pwsh compiled ReadyToRun as an installed pwsh is
    /// (<see cref="PrecompiledPwsh"/>); <c>tool</c>, the pinned PowerShell dotnet tool as it is (IL only).
    /// <c>FALVIDEO_PWSH</c>, when set, names the pwsh instead of either.
    /// </summary>
    public string PwshKind { get; private set; } = "precompiled";

    /// <summary><c>--help</c> was given.</summary>
    public bool ShowHelp { get; private set; }

    /// <summary>The arguments as given, for the report's command line.</summary>
    public IReadOnlyList<string> RawArgs { get; private set; } = [];

    /// <summary>Parses the driver's arguments.</summary>
    /// <exception cref="ArgumentException">An unknown option or a bad value.</exception>
    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions { RawArgs = args };
        string profile = "both";
        int? rows = null, longRows = null;
        double? jobSeconds = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int(int min) => ParseInt(args[i], Value(), min);
            switch (args[i])
            {
                case "--profile": profile = Value(); break;
                case "--rows": rows = Int(1); break;
                case "--long-rows": longRows = Int(1); break;
                case "--job-seconds":
                    var name = args[i];
                    jobSeconds = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0
                        ? s : throw new ArgumentException($"{name} needs a number of seconds ≥ 0.");
                    break;
                case "--concurrency": o.Concurrency = Int(1); break;
                case "--contenders": o.SetContenders(Value()); break;
                case "--official-mode":
                    o.OfficialMode = Value() is "polling" or "streaming" ? args[i] : throw new ArgumentException("--official-mode is polling or streaming.");
                    break;
                case "--official-poll-ms": o.OfficialPollMs = Int(1); break;
                case "--floor-parallel": o.FloorParallel = Int(1); break;
                case "--floor-poll-ms": o.FloorPollMs = Int(1); break;
                case "--repeat": o.Repeat = Int(1); break;
                case "--warm-up": o.WarmUpJobs = Int(0); break;
                case "--timeout": o.Timeout = TimeSpan.FromSeconds(Int(1)); break;
                case "--video-mb": o.VideoMb = Int(1); break;
                case "--pipeline-rows": o.PipelineRows = Int(1); break;
                case "--cost-rows": o.CostRows = Int(1); break;
                case "--overhead-rows": o.OverheadRows = Int(1); break;
                case "--pwsh":
                    o.PwshKind = Value() is "precompiled" or "tool" ? args[i] : throw new ArgumentException("--pwsh is precompiled or tool.");
                    break;
                case "--engine":
                    o.Engine = Value() is "precompiled" or "il" ? args[i] : throw new ArgumentException("--engine is precompiled or il.");
                    break;
                case "--steady-rows": o.SteadyRows = Int(1); break;
                case "--steady-batches": o.SteadyBatches = Int(1); break;
                case "--footprint-rows": o.FootprintRows = Int(1); break;
                case "--scale-rows": o.ScaleRows = Int(1); break;
                case "--scale-big-rows": o.ScaleBigRows = Int(1); break;
                case "--store-jobs": o.StoreJobs = Int(1); break;
                case "--store-small-jobs": o.StoreSmallJobs = Int(1); break;
                case "--rerun-rows": o.RerunRows = Int(1); break;
                case "--idempotency-pairs": o.IdempotencyPairs = Int(1); break;
                case "--download-videos": o.DownloadVideos = Int(1); break;
                case "--download-mb": o.DownloadMb = Int(1); break;
                case "--download-parallel": o.DownloadParallel = Int(1); break;
                case "--official-download-parallel": o.OfficialDownloadParallel = Int(1); break;
                case "--cdn-mb-per-second": o.CdnBytesPerSecond = Int(1) * 1024L * 1024; break;
                case "--out": o.OutputPath = Value(); break;
                case "--no-save": o.OutputPath = null; break;
                case "-h" or "--help" or "-?": o.ShowHelp = true; break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }

        var names = profile.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .SelectMany(p => p switch
            {
                "both" => new[] { "instant", "long" },
                "issue12" => new[] { "steady", "scale", "store", "download" },
                "all" => new[] { "instant", "long", "memory", "cmdlets", "steady", "scale", "store", "download", "shared" },
                "instant" or "long" or "memory" or "cmdlets" or "steady" or "scale" or "store" or "download" or "shared" => new[] { p },
                _ => throw new ArgumentException("--profile is instant, long, both, memory, cmdlets, steady, scale, store, download, shared, issue12 or all (several with commas)."),
            })
            .Distinct().ToList();
        var single = names.Count(n => n is "instant" or "long") == 1;
        if (names.Contains("instant"))
        {
            if (jobSeconds is > 0 && !names.Contains("long"))
                throw new ArgumentException("Instant jobs take 0 s; for longer jobs use --profile long --job-seconds N.");
            o.Profiles.Add(new("instant", rows ?? 1000, 0));
        }
        if (names.Contains("long"))
        {
            o.Profiles.Add(new("long", (single ? rows : null) ?? longRows ?? 100, jobSeconds ?? 3));
        }
        o.RunMemory = names.Contains("memory");
        o.RunCmdlets = names.Contains("cmdlets");
        o.RunSteady = names.Contains("steady");
        o.RunScale = names.Contains("scale");
        o.RunStore = names.Contains("store");
        o.RunDownload = names.Contains("download");
        o.RunShared = names.Contains("shared");
        return o;
    }

    private void SetContenders(string list)
    {
        Contenders.Clear();
        foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var c = name.ToLowerInvariant() switch
            {
                "falvideo" => Contender.FalVideo,
                "official" => Contender.Official,
                "floor" => Contender.Floor,
                _ => throw new ArgumentException($"Unknown contender {name}; use falvideo, official, floor."),
            };
            if (!Contenders.Contains(c)) Contenders.Add(c);
        }
        if (Contenders.Count == 0) throw new ArgumentException("--contenders names none.");
        // Always print in the same order, whatever order they were named in.
        Contenders.Sort();
    }

    private static int ParseInt(string option, string value, int min) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n : throw new ArgumentException($"{option} needs a whole number ≥ {min}.");
}
