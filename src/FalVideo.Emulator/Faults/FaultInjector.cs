using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Faults;

/// <summary>A rule once added: its id and how often it has fired. Thread-safe.</summary>
public sealed class ArmedFault
{
    private int skipLeft;
    private int fired;
    private long bytesSent;
    private int clientGaveUp;

    internal ArmedFault(int id, FaultRule rule)
    {
        Id = id;
        Rule = rule;
        skipLeft = rule.Skip;
    }

    /// <summary>Number given by the injector, in the order rules were added.</summary>
    public int Id { get; }

    /// <summary>The rule.</summary>
    public FaultRule Rule { get; }

    /// <summary>Requests this rule has caught so far.</summary>
    public int Fired => Volatile.Read(ref fired);

    /// <summary>Body bytes the emulator wrote for the requests this rule caught, counted by the actions that shape the
    /// body as it goes out (<see cref="FaultAction.Trickle"/>, <see cref="FaultAction.EndlessSseLine"/>,
    /// <see cref="FaultAction.TruncateNoLength"/>); 0 for the others. Bytes still in socket buffers when a client hangs
    /// up are included.</summary>
    public long BytesSent => Interlocked.Read(ref bytesSent);

    /// <summary>Requests caught by this rule whose client hung up before the emulator had finished answering.</summary>
    public int ClientGaveUp => Volatile.Read(ref clientGaveUp);

    internal void AddBytesSent(long count) => Interlocked.Add(ref bytesSent, count);

    internal void CountClientGaveUp() => Interlocked.Increment(ref clientGaveUp);

    /// <summary>True once the rule has caught <see cref="FaultRule.Times"/> requests.</summary>
    public bool Spent => Fired >= Rule.Times;

    /// <summary>Decides, under the injector's lock, whether this rule takes a matching request.</summary>
    internal bool Take()
    {
        if (skipLeft > 0)
        {
            skipLeft--;
            return false;
        }
        fired++;
        return true;
    }

    internal JsonObject ToJson()
    {
        var json = Rule.ToJson();
        json["id"] = Id;
        json["fired"] = Fired;
        if (Rule.Action is FaultAction.Trickle or FaultAction.EndlessSseLine or FaultAction.TruncateNoLength)
        {
            json["bytes_sent"] = BytesSent;
            json["client_gave_up"] = ClientGaveUp;
        }
        return json;
    }
}

/// <summary>
/// The emulator's scripted faults (429 storms, 5xx bursts, dropped connections, malformed bodies, slow answers) and a
/// count of requests per <see cref="FaultRoute"/>, so tests can check what a client did (e.g. that it never sent a
/// cancel, or sent a result request only once). Rules are tried in the order they were added; the first unspent rule
/// that matches a request decides. Control: <c>POST/GET/DELETE /_emulator/faults</c> or this object
/// (<see cref="RunningEmulator.Faults"/>). Survives <see cref="RunningEmulator.RestartAsync"/>; thread-safe.
/// </summary>
public sealed class FaultInjector
{
    private readonly object gate = new();
    private readonly List<ArmedFault> rules = [];
    private readonly int[] seen = new int[Enum.GetValues<FaultRoute>().Length];
    private int nextId = 1;

    /// <summary>Adds a rule after the existing ones.</summary>
    /// <exception cref="ArgumentException">The rule is invalid (see <see cref="FaultRule.Validate"/>).</exception>
    public ArmedFault Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        lock (gate)
        {
            var armed = new ArmedFault(nextId++, rule);
            rules.Add(armed);
            return armed;
        }
    }

    /// <summary>Removes every rule (the request counts stay).</summary>
    public void Clear()
    {
        lock (gate) rules.Clear();
    }

    /// <summary>The rules added and not cleared, spent or not.</summary>
    public IReadOnlyList<ArmedFault> Rules
    {
        get { lock (gate) return rules.ToArray(); }
    }

    /// <summary>Requests received for <paramref name="route"/> since the emulator started, faulted or not.</summary>
    public int RequestsTo(FaultRoute route) => Volatile.Read(ref seen[(int)route]);

    /// <summary>Requests caught by a rule so far, over all rules (cleared ones included).</summary>
    public int Injected => Volatile.Read(ref injected);

    private int injected;

    /// <summary>Counts the request and returns the rule that catches it, or null.</summary>
    internal ArmedFault? Next(FaultRoute route, string path)
    {
        Interlocked.Increment(ref seen[(int)route]);
        lock (gate)
        {
            foreach (var armed in rules)
            {
                if (armed.Spent || armed.Rule.Route != route) continue;
                if (armed.Rule.PathContains is { } part && !path.Contains(part, StringComparison.Ordinal)) continue;
                if (!armed.Take()) return null;
                Interlocked.Increment(ref injected);
                return armed;
            }
        }
        return null;
    }

    /// <summary>Which route a request is, by method and path; null for the emulator's own control routes.</summary>
    internal static FaultRoute? Classify(HttpRequest request)
    {
        var path = request.Path.Value ?? "/";
        var method = request.Method;
        if (path.StartsWith("/_emulator/", StringComparison.Ordinal)) return null;
        if (path.StartsWith("/storage/upload/initiate", StringComparison.Ordinal)) return FaultRoute.UploadInitiate;
        if (path.StartsWith("/storage/upload/", StringComparison.Ordinal)) return HttpMethods.IsPut(method) ? FaultRoute.UploadPut : null;
        if (path.StartsWith("/cdn/", StringComparison.Ordinal)) return FaultRoute.Download;
        if (path.Contains("/requests/", StringComparison.Ordinal))
        {
            if (path.EndsWith("/status/stream", StringComparison.Ordinal)) return FaultRoute.Stream;
            if (path.EndsWith("/status", StringComparison.Ordinal)) return FaultRoute.Status;
            if (path.EndsWith("/cancel", StringComparison.Ordinal)) return FaultRoute.Cancel;
            return HttpMethods.IsGet(method) ? FaultRoute.Result : null;
        }
        return HttpMethods.IsPost(method) ? FaultRoute.Submit : null;
    }

    internal JsonObject ToJson()
    {
        var counts = new JsonObject();
        foreach (var route in Enum.GetValues<FaultRoute>()) counts[FaultRule.NameOf(route)] = RequestsTo(route);
        return new JsonObject
        {
            ["rules"] = new JsonArray(Rules.Select(r => (JsonNode)r.ToJson()).ToArray()),
            ["injected"] = Injected,
            ["requests"] = counts,
        };
    }
}
