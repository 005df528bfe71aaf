namespace FalVideo.Fal;

/// <summary>
/// A read-only wrapper that fails once one server-sent event grows past a byte limit. <see cref="System.Net.ServerSentEvents.SseParser"/>
/// holds a whole line in memory before it hands anything out, so a server that sends one endless line would otherwise grow
/// the process without bound; counting here stops it at the limit, whatever the parser buffers. An event ends at a blank
/// line (CR, LF or CRLF), as the SSE format defines it.
/// </summary>
internal sealed class SseEventLimitStream(Stream inner, int maxEventBytes) : ReadOnlyWrapperStream(inner)
{
    /// <summary>Largest single read passed on: the parser asks for ever larger reads as its line grows, and a read is
    /// only counted once it is done, so this bounds how far past the limit one read can go.</summary>
    private const int MaxReadBytes = 64 * 1024;

    private long _eventBytes;
    private bool _lineEmpty = true;
    private bool _afterCarriageReturn;

#if NET8_0_OR_GREATER
    /// <exception cref="FalProtocolException">The current event passed the limit.</exception>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await Inner.ReadAsync(buffer[..Math.Min(buffer.Length, MaxReadBytes)], cancellationToken).ConfigureAwait(false);
        Count(buffer.Span[..read]);
        return read;
    }

    public override ValueTask DisposeAsync() => Inner.DisposeAsync();
#endif

    /// <exception cref="FalProtocolException">The current event passed the limit.</exception>
    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var read = await Inner.ReadAsync(buffer, offset, Math.Min(count, MaxReadBytes), cancellationToken).ConfigureAwait(false);
        Count(buffer.AsSpan(offset, read));
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = Inner.Read(buffer, offset, Math.Min(count, MaxReadBytes));
        Count(buffer.AsSpan(offset, read));
        return read;
    }

    private void Count(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b == (byte)'\n' && _afterCarriageReturn)
            {
                // The LF of a CRLF: the CR already ended the line.
                _afterCarriageReturn = false;
                continue;
            }

            _afterCarriageReturn = b == (byte)'\r';
            if (b is (byte)'\r' or (byte)'\n')
            {
                if (_lineEmpty)
                {
                    _eventBytes = 0;
                }

                _lineEmpty = true;
                continue;
            }

            _lineEmpty = false;
            if (++_eventBytes > maxEventBytes)
            {
                throw new FalProtocolException(
                    $"A status stream event is larger than {maxEventBytes / (1024 * 1024)} MB; refusing to read it into memory.");
            }
        }
    }
}
