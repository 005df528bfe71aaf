using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace FalVideo.Tests.Webhooks;

/// <summary>One POST the receiver got: its headers (any case) and its body exactly as sent.</summary>
public sealed record ReceivedWebhook(IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A webhook receiver on a free loopback port (HttpListener): records every POST and answers each with the next of the
/// status codes it was given, then 200.
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Channel<ReceivedWebhook> _received = Channel.CreateUnbounded<ReceivedWebhook>();
    private readonly Queue<int> _answers;

    public WebhookReceiver(params int[] answers)
    {
        _answers = new Queue<int>(answers);
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = new Uri($"http://127.0.0.1:{port}/fal/webhook/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _ = ServeAsync();
    }

    /// <summary>Where to point <c>fal_webhook</c>.</summary>
    public Uri Url { get; }

    /// <summary>The next POST received, waiting up to <paramref name="timeout"/>.</summary>
    public async Task<ReceivedWebhook> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { return await _received.Reader.ReadAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"No webhook reached {Url} within {timeout.TotalSeconds} s."); }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using (var reader = new StreamReader(context.Request.InputStream, context.Request.ContentEncoding))
            {
                var body = await reader.ReadToEndAsync();
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (string? name in context.Request.Headers.AllKeys)
                {
                    if (name is not null) headers[name] = context.Request.Headers[name] ?? "";
                }
                int code;
                lock (_answers) code = _answers.Count > 0 ? _answers.Dequeue() : 200;
                _received.Writer.TryWrite(new ReceivedWebhook(headers, body));
                context.Response.StatusCode = code;
                context.Response.Close();
            }
        }
    }

    public void Dispose()
    {
        try { _listener.Stop(); } catch (ObjectDisposedException) { }
        _listener.Close();
    }
}
