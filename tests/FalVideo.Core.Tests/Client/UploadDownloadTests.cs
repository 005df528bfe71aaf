using System.Net;
using System.Text.Json.Nodes;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public sealed class UploadDownloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("falvideo-client-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Upload_reports_the_bytes_sent_up_to_the_file_size()
    {
        using var t = new TestClient();
        var path = Path.Combine(_dir, "clip.mp4");
        var bytes = new byte[300_000];
        new Random(7).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);
        t.Handler.Respond(HttpStatusCode.OK, """
                {"upload_url":"http://127.0.0.1:8789/upload/clip?signature=s","file_url":"https://v3.fal.media/files/clip.mp4"}
                """)
            .Respond(HttpStatusCode.OK);
        var reports = new List<(long Sent, long Total)>();

        await t.Client.UploadFileAsync(path, null, (sent, total) => { lock (reports) reports.Add((sent, total)); });

        Assert.True(reports.Count >= 2, $"{reports.Count} progress reports");
        Assert.Equal((0L, (long)bytes.Length), reports[0]);
        Assert.Equal((long)bytes.Length, reports[^1].Sent);
        Assert.All(reports, r => Assert.Equal(bytes.Length, r.Total));
        Assert.Equal(reports.Select(r => r.Sent).Order(), reports.Select(r => r.Sent));
        Assert.Equal(HttpMethod.Put, t.Handler.Requests[1].Method);
    }

    [Fact]
    public async Task Upload_initiates_with_auth_then_puts_without_auth()
    {
        using var t = new TestClient();
        var path = Path.Combine(_dir, "frame.PNG");
        await File.WriteAllBytesAsync(path, [1, 2, 3, 4, 5]);
        t.Handler.Respond(HttpStatusCode.OK, """
                {"upload_url":"http://127.0.0.1:8789/upload/abc?signature=s3cr3t","file_url":"https://v3.fal.media/files/abc/frame.png"}
                """)
            .Respond(HttpStatusCode.OK);

        var url = await t.Client.UploadFileAsync(path);

        Assert.Equal("https://v3.fal.media/files/abc/frame.png", url.AbsoluteUri);
        var initiate = t.Handler.Requests[0];
        Assert.Equal(HttpMethod.Post, initiate.Method);
        Assert.Equal("http://127.0.0.1:8788/storage/upload/initiate?storage_type=fal-cdn-v3", initiate.Url.AbsoluteUri);
        Assert.Equal("Key " + TestClient.Key, initiate.Header("Authorization"));
        var body = JsonNode.Parse(initiate.Body!)!;
        Assert.Equal("image/png", body["content_type"]!.GetValue<string>());
        Assert.Equal("frame.PNG", body["file_name"]!.GetValue<string>());

        var put = t.Handler.Requests[1];
        Assert.Equal(HttpMethod.Put, put.Method);
        Assert.Equal("http://127.0.0.1:8789/upload/abc?signature=s3cr3t", put.Url.AbsoluteUri);
        Assert.Null(put.Header("Authorization"));
        Assert.Equal("image/png", put.Header("Content-Type"));
        Assert.Equal("5", put.Header("Content-Length"));
        Assert.DoesNotContain(t.Log, l => l.Contains("s3cr3t", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a.jpg", "image/jpeg")]
    [InlineData("a.jpeg", "image/jpeg")]
    [InlineData("a.webp", "image/webp")]
    [InlineData("a.gif", "image/gif")]
    [InlineData("a.avif", "image/avif")]
    [InlineData("a.mp4", "video/mp4")]
    [InlineData("a.mov", "video/quicktime")]
    [InlineData("a.webm", "video/webm")]
    [InlineData("a.bin", "application/octet-stream")]
    public void Content_type_comes_from_the_extension(string name, string expected)
    {
        Assert.Equal(expected, FalContentTypes.FromFileName(name));
    }

    [Fact]
    public async Task Upload_put_is_retried_with_the_whole_file()
    {
        using var t = new TestClient();
        var path = Path.Combine(_dir, "clip.mp4");
        await File.WriteAllTextAsync(path, "video-bytes");
        t.Handler.Respond(HttpStatusCode.OK, """{"upload_url":"http://127.0.0.1:8789/u","file_url":"https://v3.fal.media/f.mp4"}""")
            .Respond(HttpStatusCode.ServiceUnavailable)
            .Respond(HttpStatusCode.OK);

        await t.Client.UploadFileAsync(path);

        Assert.Equal(2, t.Handler.Count(HttpMethod.Put));
        Assert.All(t.Handler.Requests.Where(r => r.Method == HttpMethod.Put), r => Assert.Equal("video-bytes", r.Body));
    }

    [Fact]
    public async Task Upload_of_a_missing_file_sends_nothing()
    {
        using var t = new TestClient();

        await Assert.ThrowsAsync<FileNotFoundException>(() => t.Client.UploadFileAsync(Path.Combine(_dir, "none.png")));
        Assert.Empty(t.Handler.Requests);
    }

    [Fact]
    public async Task Download_streams_to_the_target_without_auth()
    {
        using var t = new TestClient();
        var bytes = Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray();
        t.Handler.RespondBytes(HttpStatusCode.OK, bytes, "video/mp4");
        var target = Path.Combine(_dir, "sub", "out.mp4");
        var reports = new List<(long Done, long? Total)>();

        var written = await t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:8790/files/out.mp4"), target, bytes.Length, (d, total) => reports.Add((d, total)));

        Assert.Equal(bytes.Length, written);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
        Assert.Null(t.Handler.Requests.Single().Header("Authorization"));
        Assert.Equal((bytes.Length, (long?)bytes.Length), reports[^1]);
        Assert.Equal(["out.mp4"], Directory.GetFiles(Path.GetDirectoryName(target)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Download_size_mismatch_leaves_no_file_under_the_final_name()
    {
        using var t = new TestClient();
        t.Handler.RespondBytes(HttpStatusCode.OK, new byte[1000]);
        var target = Path.Combine(_dir, "short.mp4");

        var error = await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:8790/short.mp4"), target, expectedSize: 2000));

        Assert.Equal("FalDownloadFailed", error.ErrorId);
        Assert.Contains("1000", error.Message);
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task Download_larger_than_expected_fails_and_keeps_an_existing_target()
    {
        using var t = new TestClient();
        t.Handler.RespondBytes(HttpStatusCode.OK, new byte[5000]);
        var target = Path.Combine(_dir, "keep.mp4");
        await File.WriteAllTextAsync(target, "old");

        await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:8790/keep.mp4"), target, expectedSize: 10));

        Assert.Equal("old", await File.ReadAllTextAsync(target));
        Assert.Equal(["keep.mp4"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Download_is_retried_and_replaces_an_existing_file()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.BadGateway).RespondBytes(HttpStatusCode.OK, [9, 8, 7]);
        var target = Path.Combine(_dir, "again.mp4");
        await File.WriteAllTextAsync(target, "old");

        var written = await t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:8790/again.mp4"), target);

        Assert.Equal(3, written);
        Assert.Equal([9, 8, 7], await File.ReadAllBytesAsync(target));
        Assert.Equal(2, t.Handler.Requests.Count);
    }

    [Fact]
    public async Task Download_404_is_a_download_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.NotFound, "gone", "text/plain");
        var target = Path.Combine(_dir, "gone.mp4");

        var error = await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:8790/gone.mp4?token=abc"), target));

        Assert.Equal(404, error.StatusCode);
        Assert.DoesNotContain("token=abc", error.Message);
        Assert.Single(t.Handler.Requests);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Download_over_plain_http_to_a_remote_host_is_refused()
    {
        using var t = new TestClient();

        await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://cdn.example/x.mp4"), Path.Combine(_dir, "x.mp4")));
        Assert.Empty(t.Handler.Requests);
    }

    [Fact]
    public async Task Download_needs_no_key()
    {
        var handler = new ScriptedHandler().RespondBytes(HttpStatusCode.OK, [1]);
        using var client = new FalQueueClient(new FalClientOptions(), new HttpClient(handler));

        var written = await client.DownloadFileAsync(new Uri("http://localhost:8790/a.mp4"), Path.Combine(_dir, "a.mp4"));

        Assert.Equal(1, written);
    }
}
