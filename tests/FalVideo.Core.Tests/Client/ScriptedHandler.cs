using System.Net;
using System.Text;

namespace FalVideo.Core.Tests.Client;

/// <summary>Status codes .NET Framework's <see cref="HttpStatusCode"/> has no name for.</summary>
internal static class StatusCodes
{
    public const HttpStatusCode UnprocessableEntity = (HttpStatusCode)422;
    public const HttpStatusCode TooManyRequests = (HttpStatusCode)429;
}

/// <summary>One request as the handler saw it.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Url, IReadOnlyDictionary<string, string> Headers, string? Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A stub <see cref="HttpMessageHandler"/> that answers from a script, in order, and records every request.
/// An unscripted request fails the test loudly instead of hanging.
/// </summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly object _gate = new();

    public List<RecordedRequest> Requests { get; } = [];

    public int Remaining
    {
        get
        {
            lock (_gate)
            {
                return _script.Count;
            }
        }
    }

    public ScriptedHandler Respond(
        HttpStatusCode status, string? body = null, string contentType = "application/json", params (string Name, string Value)[] headers)
    {
        return Then((_, _) =>
        {
            var response = new HttpResponseMessage(status);
            if (body is not null)
            {
                response.Content = new StringContent(body, Encoding.UTF8);
                response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
            }

            foreach (var (name, value) in headers)
            {
                if (!response.Headers.TryAddWithoutValidation(name, value))
                {
                    response.Content ??= new ByteArrayContent([]);
                    response.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }

            return Task.FromResult(response);
        });
    }

    public ScriptedHandler RespondBytes(HttpStatusCode status, byte[] body, string contentType = "application/octet-stream")
    {
        return Then((_, _) =>
        {
            var response = new HttpResponseMessage(status) { Content = new ByteArrayContent(body) };
            response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
            return Task.FromResult(response);
        });
    }

    public ScriptedHandler Throw(Exception exception) => Then((_, _) => Task.FromException<HttpResponseMessage>(exception));

    /// <summary>Never answers; only the client's own timeout or cancellation ends the wait.</summary>
    public ScriptedHandler Hang() => Then(async (_, ct) =>
    {
        await Task.Delay(Timeout.Infinite, ct);
        throw new InvalidOperationException("unreachable");
    });

    public ScriptedHandler Then(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> step)
    {
        lock (_gate)
        {
            _script.Enqueue(step);
        }

        return this;
    }

    public int Count(HttpMethod method)
    {
        lock (_gate)
        {
            return Requests.Count(r => r.Method == method);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in request.Headers)
        {
            headers[header.Key] = string.Join(",", header.Value);
        }

        string? body = null;
        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers)
            {
                headers[header.Key] = string.Join(",", header.Value);
            }

            body = await request.Content.ReadAsStringAsync(cancellationToken);
        }

        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>? step;
        lock (_gate)
        {
            Requests.Add(new RecordedRequest(request.Method, request.RequestUri!, headers, body));
            _script.TryDequeue(out step);
        }

        if (step is null)
        {
            throw new InvalidOperationException($"Unscripted request: {request.Method} {request.RequestUri}");
        }

        var response = await step(request, cancellationToken);
        response.RequestMessage = request;
        return response;
    }
}
