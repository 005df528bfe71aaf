using FalVideo.Emulator.Faults;
using Microsoft.AspNetCore.Builder;

namespace FalVideo.Emulator;

/// <summary>A started emulator. Dispose it (or call <see cref="StopAsync()"/>) to free the port.</summary>
public sealed class RunningEmulator : IAsyncDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly EmulatorOptions options;
    private WebApplication? app;
    private int disposed;

    internal RunningEmulator(WebApplication app, Uri baseUrl, EmulatorState state, EmulatorOptions options)
    {
        this.app = app;
        BaseUrl = baseUrl;
        State = state;
        this.options = options;
    }

    /// <summary>Scheme, host and the port actually bound, e.g. <c>http://127.0.0.1:41234/</c>; use it in place of
    /// <c>https://queue.fal.run</c> and <c>https://rest.fal.ai</c>. It stays the same across restarts.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Live counters and job snapshots of this emulator, kept across restarts.</summary>
    public EmulatorState State { get; }

    /// <summary>Scripted faults and per-route request counts (the same object as <see cref="EmulatorState.Faults"/>).</summary>
    public FaultInjector Faults => State.Faults;

    /// <summary>True while the emulator accepts connections.</summary>
    public bool IsListening => Volatile.Read(ref app) is not null;

    /// <summary>Stops listening; open status streams end. The jobs, uploads and faults are kept, and
    /// <see cref="StartAgainAsync"/> serves them again on the same port. Safe to call more than once.</summary>
    public Task StopAsync() => StopAsync(TimeSpan.FromSeconds(5));

    /// <summary>
    /// Stops like a crashed server: connections still open after <paramref name="grace"/> (status streams, slow
    /// answers) are cut. Jobs keep their timeline meanwhile, as fal's keep running when a client can't reach it.
    /// </summary>
    /// <param name="grace">How long open requests may finish; <see cref="TimeSpan.Zero"/> cuts them at once.</param>
    public async Task StopAsync(TimeSpan grace)
    {
        await gate.WaitAsync();
        try
        {
            if (app is not { } running) return;
            Volatile.Write(ref app, null);
            using var cut = new CancellationTokenSource(grace);
            try
            {
                await running.StopAsync(cut.Token);
            }
            catch (OperationCanceledException)
            {
                // The grace period ended; Kestrel has aborted what was still open.
            }
            await running.DisposeAsync();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Listens again on <see cref="BaseUrl"/>'s port with the same jobs, uploads, faults and counters.</summary>
    /// <exception cref="IOException">The port was taken meanwhile.</exception>
    /// <exception cref="ObjectDisposedException">The emulator was disposed.</exception>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        await gate.WaitAsync(ct);
        try
        {
            if (app is not null) return;
            var again = new EmulatorOptions
            {
                Urls = BaseUrl.GetLeftPart(UriPartial.Authority),
                JobSeconds = options.JobSeconds,
                Concurrency = options.Concurrency,
                RequiredApiKey = options.RequiredApiKey,
                MaxUploadBytes = options.MaxUploadBytes,
                Verbose = options.Verbose,
                TimeProvider = options.TimeProvider,
            };
            Volatile.Write(ref app, await EmulatorServer.StartAppAsync(again, State, ct));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Simulates a server restart: cuts every connection, stays down for <paramref name="downtime"/> (clients
    /// get "connection refused"), then listens again on the same port with the same state.</summary>
    public async Task RestartAsync(TimeSpan downtime, CancellationToken ct = default)
    {
        await StopAsync(TimeSpan.Zero);
        await Task.Delay(downtime, ct);
        await StartAgainAsync(ct);
    }

    /// <summary>Stops listening for good (open requests get up to 5 s) and frees the port.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        await StopAsync();
        gate.Dispose();
    }
}
