using FalVideo.Fal;

namespace FalVideo.Core.Tests.Http;

/// <summary>A download whose end the transfer cannot prove, over this runtime's own HTTP stack.</summary>
// Creates the process-wide client (or its handler, which sets TLS on .NET Framework): it runs with the other shared-client tests.
[Collection(nameof(SharedHttpCollection))]
public sealed class DownloadEndTests
{
    [Fact]
    public async Task A_close_delimited_body_cut_short_is_not_saved_over_the_real_stack()
    {
        // HTTP/1.1 with neither Content-Length nor chunked encoding: the body ends when the server closes, so a cut
        // connection looks like a finished file.
        using var server = new LoopbackServer(async (stream, _, stop) =>
        {
            var head = LoopbackServer.Head("200 OK", "Content-Type: video/mp4", "Connection: close");
            await stream.WriteAsync(head, 0, head.Length, stop).ConfigureAwait(false);
            var part = new byte[10_000];
            await stream.WriteAsync(part, 0, part.Length, stop).ConfigureAwait(false);
        });
        var folder = Path.Combine(Path.GetTempPath(), "falvideo-cut-" + Guid.NewGuid().ToString("N"));
        var target = Path.Combine(folder, "cut.mp4");
        using var client = new FalQueueClient(new FalClientOptions { MaxRetries = 0 });
        try
        {
            var ex = await Assert.ThrowsAsync<FalDownloadException>(() => client.DownloadFileAsync(new Uri(server.BaseUrl, "cut.mp4"), target));

            Assert.Contains("cannot be verified", ex.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(target));
            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
