using FalVideo.Emulator;
using FalVideo.Tests.Emulator;

namespace FalVideo.Tests.Reliability;

/// <summary>An emulator of the test class's own (fault rules and counters are per emulator) and a client with a key.</summary>
public abstract class EmulatorControlTestBase : IAsyncLifetime
{
    /// <summary>The emulator, started before each test.</summary>
    protected RunningEmulator _emulator = null!;

    /// <summary>A client of <see cref="_emulator"/>.</summary>
    protected HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        _http = EmulatorFixture.CreateClient(_emulator, "any-key");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
    }
}
