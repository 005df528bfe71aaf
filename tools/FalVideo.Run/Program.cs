using System.Management.Automation;
using System.Management.Automation.Runspaces;
using FalVideo.Emulator;

// Usage: FalVideo.Run [--emulator] [--job-seconds N] <script.ps1> [script arguments...]
// Imports the built module (artifacts/module/FalVideo) and runs the script in a hosted PowerShell 7.6 engine.
// With --emulator, a local fal emulator is started on a free loopback port and the session points at it.
// Without it, the module's environment variables apply (FALVIDEO_BASE_URL, FAL_KEY, FALVIDEO_JOURNAL), which is how
// the fault tests run a script as a child process against an emulator of their own.
//        FalVideo.Run --render-reliability <folder of fault records> <out.md>
// Writes the fault table (docs/reliability.md) from the records the reliability tests left (one JSON file per fault).
if (args is ["--render-reliability", var recordsFolder, var markdownFile])
    return RenderReliability(recordsFolder, markdownFile);
var argsList = args.ToList();
var useEmulator = argsList.Remove("--emulator");
double jobSeconds = 0;
var js = argsList.IndexOf("--job-seconds");
if (js >= 0) { jobSeconds = double.Parse(argsList[js + 1], System.Globalization.CultureInfo.InvariantCulture); argsList.RemoveRange(js, 2); }
if (argsList.Count == 0)
{
    Console.Error.WriteLine("usage: dotnet run --project tools/FalVideo.Run -- [--emulator] [--job-seconds N] <script.ps1> [args...]");
    return 2;
}
var script = Path.GetFullPath(argsList[0]);
var root = FindRoot();
var manifest = Path.Combine(root, "artifacts", "module", "FalVideo", "FalVideo.psd1");

RunningEmulator? emulator = null;
if (useEmulator)
{
    emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = jobSeconds });
    Console.WriteLine($"fal emulator listening on {emulator.BaseUrl}");
}

var iss = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(new FalVideo.Run.TextHost(Console.Out), iss);
runspace.Open();
using (var setup = PowerShell.Create())
{
    setup.Runspace = runspace;
    setup.AddScript("Import-Module $args[0] -ErrorAction Stop; if ($args[1]) { Set-FalConfiguration -BaseUrl $args[1] -ApiKey 'emulator-key' }")
         .AddArgument(manifest).AddArgument(emulator?.BaseUrl.ToString());
    setup.Invoke();
}
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddCommand(script);
foreach (var a in argsList.Skip(1)) ps.AddArgument(a);
ps.AddCommand("Out-String").AddParameter("Stream").AddParameter("Width", 120);

// Stream everything as it happens: output lines, errors, warnings (no console host here, so print them ourselves).
var output = new PSDataCollection<PSObject>();
output.DataAdded += (_, e) => Console.WriteLine(output[e.Index]);
ps.Streams.Error.DataAdded += (_, e) => Console.Error.WriteLine($"ERROR: {ps.Streams.Error[e.Index]}");
ps.Streams.Warning.DataAdded += (_, e) => Console.Error.WriteLine($"WARNING: {ps.Streams.Warning[e.Index]}");
ps.Streams.Information.DataAdded += (_, e) => Console.WriteLine(ps.Streams.Information[e.Index]);

Console.CancelKeyPress += (_, e) => { e.Cancel = true; ps.BeginStop(null, null); };
var failed = false;
try { ps.Invoke(null, output); failed = ps.HadErrors; }
catch (RuntimeException ex) { Console.Error.WriteLine(ex.ErrorRecord?.ToString() ?? ex.Message); failed = true; }
if (emulator is not null) await emulator.DisposeAsync();
return failed ? 1 : 0;

// One row per fault record ({"order", "fault", "happened", "lost", "test"}), in the tests' order.
static int RenderReliability(string folder, string markdownFile)
{
    var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.json") : [];
    if (files.Length == 0)
    {
        Console.Error.WriteLine($"No fault records in {folder}; run the tests first.");
        return 1;
    }
    var rows = files
        .Select(f => System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).RootElement)
        .Select(r => (Order: r.TryGetProperty("order", out var o) ? o.GetInt32() : int.MaxValue, Fault: Text(r, "fault"),
            Happened: Text(r, "happened"), Lost: Text(r, "lost"), Test: Text(r, "test")))
        .OrderBy(r => r.Order).ThenBy(r => r.Fault, StringComparer.Ordinal)
        .ToList();
    var text = new System.Text.StringBuilder()
        .AppendLine("# Reliability: faults injected and what they cost")
        .AppendLine()
        .AppendLine("Generated from the last test run (`bash test.sh`): each fault test in `tests/FalVideo.Tests/Reliability` injects")
        .AppendLine("its fault through the local fal emulator (or kills, restarts, interrupts), asserts that no accepted job is lost,")
        .AppendLine("nothing is submitted twice and no partial file is left, and records what it measured in")
        .AppendLine("`artifacts/reliability/<fault>.json`; `FalVideo.Run --render-reliability` turns those records into this table.")
        .AppendLine("Do not edit it by hand.")
        .AppendLine()
        .AppendLine("| fault | what happened | what was lost |")
        .AppendLine("|---|---|---|");
    foreach (var row in rows) text.AppendLine($"| {Cell(row.Fault)} | {Cell(row.Happened)} | {Cell(row.Lost)} |");
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(markdownFile))!);
    File.WriteAllText(markdownFile, text.ToString().Replace("\r\n", "\n"));
    Console.WriteLine($"{markdownFile}: {rows.Count} faults");
    return 0;

    static string Text(System.Text.Json.JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString()! : "";

    static string Cell(string text) => text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "FalVideo.sln"))) return dir.FullName;
    throw new InvalidOperationException("FalVideo.sln not found");
}
