using System.Net;
using FalVideo.Emulator;
using FalVideo.Tests.Module;
using Xunit;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// Private outputs (an account whose new files are <c>forbid</c>): the emulator refuses unsigned CDN downloads and
/// serves fal's storage sign API; Save-FalVideo signs the refused URL, downloads it once more, and says so in -Verbose
/// with the key masked.
/// </summary>
public sealed class PrivateOutputTests : IAsyncLifetime
{
    private const string Key = "private-key-0123456789";
    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;
    private readonly string _temp = Directory.CreateTempSubdirectory("falvideo-private-").FullName;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", PrivateOutputs = true });
        _ps = new PowerShellHost(_emulator.BaseUrl, Key);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        try { Directory.Delete(_temp, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Save_FalVideo_signs_a_refused_private_output_and_downloads_it()
    {
        var r = _ps.Run("New-KlingVideo 'a private lighthouse' -Wait | Save-FalVideo -Directory $args[0] -Verbose", _temp);

        Assert.True(r.Errors.Count == 0 && r.Terminating is null, string.Join("; ", r.Errors.Select(e => e.ToString())) + r.Terminating);
        var file = new FileInfo((string)Assert.Single(r.Output).Properties["Path"].Value);
        var job = _emulator.State.Jobs.Single();
        Assert.True(file.Length > 1000, $"saved {file.Length} bytes");

        // The plain download was refused, then one signed URL fetched it.
        Assert.Equal(1, _emulator.State.PrivateOutputs.Refused);
        Assert.Equal(1, _emulator.State.PrivateOutputs.Signed);
        var said = Assert.Single(r.Verbose, v => v.Contains("fal's storage sign API", StringComparison.Ordinal));
        Assert.Contains("was refused (HTTP 403): the output is private", said);
        Assert.Contains("/v1/storage/files/sign, Authorization: Key ***", said);
        Assert.DoesNotContain(r.Verbose, v => v.Contains(Key, StringComparison.Ordinal) || v.Contains("fal_token=", StringComparison.Ordinal));

        // Without a signature the CDN still refuses the file.
        using var http = new HttpClient();
        using var plain = await http.GetAsync(VideoUrl(job.RequestId));
        Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
    }

    [Fact]
    public void A_sign_API_that_refuses_leaves_both_answers_in_the_error_and_no_file()
    {
        _ps.Run("New-KlingVideo 'another private one' -Wait | Export-Clixml $args[0]", Path.Combine(_temp, "job.xml")).ThrowIfErrors();
        using (var http = EmulatorFixture.CreateClient(_emulator, null))
        {
            var rule = """{"route": "submit", "status": 403, "body": "{\"detail\": \"Missing permission assets:read\"}", "path_contains": "/v1/storage/files/sign"}""";
            using var armed = http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody(rule)).GetAwaiter().GetResult();
            Assert.True(armed.IsSuccessStatusCode, armed.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        }

        var r = _ps.Run("Import-Clixml $args[0] | Save-FalVideo -Directory $args[1]", Path.Combine(_temp, "job.xml"), Path.Combine(_temp, "out"));

        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalDownloadFailed", error.FullyQualifiedErrorId);
        Assert.Contains("HTTP 403", error.ToString());
        Assert.Contains("signing its URL failed too", error.ToString());
        Assert.Contains("Missing permission assets:read", error.ToString());
        Assert.False(Directory.Exists(Path.Combine(_temp, "out")) && Directory.GetFiles(Path.Combine(_temp, "out"), "*.mp4").Length > 0);
        Assert.Equal(0, _emulator.State.PrivateOutputs.Signed);
    }

    private string VideoUrl(string requestId) => $"{_emulator.BaseUrl.ToString().TrimEnd('/')}/cdn/{requestId}/output.mp4";
}
