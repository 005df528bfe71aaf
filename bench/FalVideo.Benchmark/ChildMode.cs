using System.Globalization;

namespace FalVideo.Benchmark;

/// <summary>
/// <c>FalVideo.Benchmark --child floor --base-url URL --rows N [--parallel N] [--poll-ms N]</c>: the floor contender's
/// run, started by the driver as its own process. Prints a <see cref="ChildReport"/> line. (The FalVideo contender is
/// real pwsh, <see cref="FalVideoContender"/>.)
/// <c>--child save-video|pipeline|cmdlets|overhead|first-job [--base-url URL] --rows N [--video-mb N]</c>: one resource check
/// (<see cref="ResourceChecks"/>); prints a <see cref="FigureReport"/> line.
/// <c>--child download-floor --base-url URL --rows N --parallel N --dir DIR</c>: the download profile's floor
/// (<see cref="DownloadFloor"/>); prints a <see cref="FigureReport"/> line.
/// </summary>
internal static class ChildMode
{
    public const string Flag = "--child";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0) return Fail("--child needs floor or a check.");
        var kind = args[0];
        string? baseUrl = null;
        int rows = 0, parallel = 32, pollMs = 1000, videoMb = 500;
        string? dir = null;
        for (var i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--base-url": baseUrl = Value(); break;
                case "--rows": rows = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--parallel": parallel = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--poll-ms": pollMs = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--video-mb": videoMb = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--dir": dir = Value(); break;
                default: return Fail($"Unknown child option {args[i]}.");
            }
        }
        if (kind is "save-video" or "pipeline" or "cmdlets" or "overhead" or "first-job")
        {
            try
            {
                var figures = ResourceChecks.RunChild(kind, baseUrl is null ? null : new Uri(baseUrl), rows, videoMb);
                figures.Print();
                return figures["errors"] is 0 or double.NaN ? 0 : 1;
            }
            catch (Exception e)
            {
                return Fail(e.ToString());
            }
        }
        if (baseUrl is null || rows < 1) return Fail("--child needs --base-url and --rows.");

        if (kind == "download-floor")
        {
            try
            {
                var figures = await DownloadFloor.RunAsync(new Uri(baseUrl), rows, parallel, dir ?? throw new ArgumentException("download-floor needs --dir."));
                figures.Print();
                return figures["files"] == rows ? 0 : 1;
            }
            catch (Exception e)
            {
                return Fail(e.ToString());
            }
        }

        try
        {
            var report = kind switch
            {
                "floor" => await FloorContender.RunAsync(new Uri(baseUrl), rows, parallel, TimeSpan.FromMilliseconds(pollMs)),
                _ => throw new ArgumentException($"Unknown contender {kind}."),
            };
            report.Print();
            return report.Completed == rows ? 0 : 1;
        }
        catch (Exception e)
        {
            return Fail(e.ToString());
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
