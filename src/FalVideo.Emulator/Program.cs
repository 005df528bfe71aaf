using System.Globalization;
using FalVideo.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

const string Usage = """
    FalVideo fal.ai emulator: fal's queue, storage and CDN on one local port, no credits spent.

    dotnet run --project src/FalVideo.Emulator -- [options]
      --urls <url>            address to bind (default http://127.0.0.1:8787; port 0 picks a free one)
      --job-seconds <s>       run time of each job once started (default 0 = instant)
      --concurrency <n>       jobs IN_PROGRESS at once; others wait IN_QUEUE (default 2)
      --api-key <key>         accept only this key (default: any non-empty key)
      --admin-key <key>       the only key billing events (/v1/models/billing-events) accept (default: any key)
      --max-upload-mb <n>     largest upload (default 100)
      --video-mb <n>          size of every job's video on the CDN route (default: the 24 KB sample)
      --cdn-bytes-per-second-per-connection <n>
                              cap each CDN download connection at n bytes/s (default: no cap)
      --private-outputs       refuse unsigned CDN downloads (403); POST /v1/storage/files/sign signs them
      --webhook-retry-seconds <s>
                              wait between retries of a webhook its receiver refused (default 5)
      --verbose               log every request
    """;

var options = new EmulatorOptions();
try
{
    for (var i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--urls": options.Urls = Value(); break;
            case "--job-seconds": options.JobSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--concurrency": options.Concurrency = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--api-key": options.RequiredApiKey = Value(); break;
            case "--admin-key": options.AdminApiKey = Value(); break;
            case "--max-upload-mb": options.MaxUploadBytes = long.Parse(Value(), CultureInfo.InvariantCulture) * 1024 * 1024; break;
            case "--video-mb": options.VideoBytes = long.Parse(Value(), CultureInfo.InvariantCulture) * 1024 * 1024; break;
            case "--cdn-bytes-per-second-per-connection": options.CdnBytesPerSecondPerConnection = long.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--private-outputs": options.PrivateOutputs = true; break;
            case "--webhook-retry-seconds": options.WebhookRetrySeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--verbose": options.Verbose = true; break;
            case "-h" or "--help" or "-?":
                Console.WriteLine(Usage);
                return 0;
            default: throw new ArgumentException($"Unknown option {args[i]}.");
        }
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}

WebApplication built;
try
{
    // Our own flags are parsed above; none of them is meant for ASP.NET Core's configuration.
    built = EmulatorServer.Build(options, []);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
await using var app = built;
try
{
    await app.StartAsync();
}
catch (IOException e)
{
    Console.Error.WriteLine($"Cannot listen on {options.Urls}: {e.Message}");
    return 1;
}
var baseUrl = EmulatorServer.BoundAddress(app).ToString().TrimEnd('/');
Console.WriteLine($"""
    FalVideo emulator listening on {baseUrl}
      jobs run {options.JobSeconds.ToString(CultureInfo.InvariantCulture)} s each, {options.Concurrency} at a time; {(options.RequiredApiKey is null ? "any API key is accepted" : "only the --api-key key is accepted")}
      point the module at it:   $env:FALVIDEO_BASE_URL = '{baseUrl}'
      counters:                 {baseUrl}/_emulator/stats
    Press Ctrl+C to stop.
    """);
await app.WaitForShutdownAsync();
return 0;
