namespace FalVideo.Emulator.Webhooks;

/// <summary>One POST of a webhook to its receiver, as the emulator made it.</summary>
/// <param name="RequestId">The request the delivery is about.</param>
/// <param name="Url">The <c>fal_webhook</c> URL.</param>
/// <param name="Attempt">1 for the first delivery, 2 for the first retry, and so on.</param>
/// <param name="StatusCode">The receiver's HTTP status; null when it could not be reached or did not answer in time.</param>
/// <param name="Body">The body sent.</param>
/// <param name="At">When it was sent (the emulator's clock, UTC).</param>
public sealed record WebhookAttempt(string RequestId, Uri Url, int Attempt, int? StatusCode, string Body, DateTimeOffset At)
{
    /// <summary>True when the receiver answered 2xx: fal makes no further attempt.</summary>
    public bool Delivered => StatusCode is >= 200 and < 300;
}

/// <summary>
/// The webhooks waiting for their job to finish or for their next retry, and every attempt made. Kept in
/// <see cref="EmulatorState"/>, so a restart of the emulator keeps them; <see cref="WebhookDelivery"/> sends them.
/// </summary>
internal sealed class WebhookOutbox
{
    private readonly object _gate = new();
    private readonly List<Pending> _pending = [];
    private readonly List<WebhookAttempt> _attempts = [];

    /// <summary>A webhook of one job, due once the job has completed and <see cref="NextAttemptAt"/> has passed.</summary>
    internal sealed class Pending(string requestId, string appId, Uri url, string baseUrl)
    {
        public string RequestId { get; } = requestId;
        public string AppId { get; } = appId;
        public Uri Url { get; } = url;
        /// <summary>The emulator's base URL as the submitter saw it: the video URL in the payload is on it.</summary>
        public string BaseUrl { get; } = baseUrl;
        public int Attempts { get; set; }
        public DateTimeOffset NextAttemptAt { get; set; } = DateTimeOffset.MinValue;
    }

    public void Add(string requestId, string appId, Uri url, string baseUrl)
    {
        lock (_gate) _pending.Add(new Pending(requestId, appId, url, baseUrl));
    }

    public Pending[] Due(DateTimeOffset now)
    {
        lock (_gate) return _pending.Where(p => p.NextAttemptAt <= now).ToArray();
    }

    public void Remove(Pending pending)
    {
        lock (_gate) _pending.Remove(pending);
    }

    public void Record(WebhookAttempt attempt)
    {
        lock (_gate) _attempts.Add(attempt);
    }

    public int PendingCount
    {
        get { lock (_gate) return _pending.Count; }
    }

    public IReadOnlyList<WebhookAttempt> Attempts
    {
        get { lock (_gate) return _attempts.ToArray(); }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _pending.Clear();
            _attempts.Clear();
        }
    }
}
