using Microsoft.AspNetCore.Builder;

namespace FalVideo.Emulator;

/// <summary>A started emulator. Dispose it (or call <see cref="StopAsync"/>) to free the port.</summary>
public sealed class RunningEmulator : IAsyncDisposable
{
    private readonly WebApplication app;
    private int stopped;
    private int disposed;

    internal RunningEmulator(WebApplication app, Uri baseUrl, EmulatorState state)
    {
        this.app = app;
        BaseUrl = baseUrl;
        State = state;
    }

    /// <summary>Scheme, host and the port actually bound, e.g. <c>http://127.0.0.1:41234/</c>; use it in place of
    /// <c>https://queue.fal.run</c> and <c>https://rest.fal.ai</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Live counters and job snapshots of this emulator.</summary>
    public EmulatorState State { get; }

    /// <summary>Stops listening; open status streams end. Safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 0) await app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Interlocked.Exchange(ref disposed, 1) == 0) await app.DisposeAsync();
    }
}
