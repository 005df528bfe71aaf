using FalVideo.Fal;

namespace FalVideo.Core.Tests.Client;

/// <summary>Shared set-up: a client against a loopback base with tiny delays, a log sink and the scripted handler.</summary>
internal sealed class TestClient : IDisposable
{
    public const string KeyId = "key-id-1234abcd";
    public const string KeySecret = "secret-5678efgh";
    public const string Key = KeyId + ":" + KeySecret;
    public const string Queue = "http://127.0.0.1:8787";
    public const string Rest = "http://127.0.0.1:8788";
    public const string Kling = "fal-ai/kling-video/v3/pro/text-to-video";

    private readonly HttpClient _http;

    public TestClient(Action<FalClientOptions>? configure = null)
    {
        Options = new FalClientOptions
        {
            QueueBaseUrl = new Uri(Queue),
            RestBaseUrl = new Uri(Rest),
            ApiKey = Key,
            RequestTimeout = TimeSpan.FromSeconds(10),
            MaxRetries = 3,
            RetryBaseDelay = TimeSpan.FromMilliseconds(2),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            MinPollInterval = TimeSpan.FromMilliseconds(1),
            MaxPollInterval = TimeSpan.FromMilliseconds(4),
            Log = line =>
            {
                lock (Log)
                {
                    Log.Add(line);
                }
            },
        };
        configure?.Invoke(Options);
        _http = new HttpClient(Handler);
        Client = new FalQueueClient(Options, _http);
    }

    public ScriptedHandler Handler { get; } = new();

    public FalClientOptions Options { get; }

    public FalQueueClient Client { get; }

    public List<string> Log { get; } = [];

    public static FalRequestHandle Handle(string requestId = "req-1", string endpoint = Kling) =>
        FalRequestHandle.FromIds(endpoint, requestId, new Uri(Queue));

    public void Dispose()
    {
        Client.Dispose();
        _http.Dispose();
    }
}
