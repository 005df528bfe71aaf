using System.Diagnostics;

namespace FalVideo.Emulator.Media;

/// <summary>
/// A read-only view of another stream that hands out at most a given number of bytes per second, measured from its
/// first read: the CDN route's per-connection cap (<see cref="EmulatorOptions.CdnBytesPerSecondPerConnection"/>).
/// Seeking is passed through, so Range requests still work; the pace counts the bytes actually read.
/// </summary>
internal sealed class PacedStream : Stream
{
    // Reads are cut to this share of a second's bytes, so a response is sent in an even flow rather than in bursts of
    // the server's whole copy buffer followed by long pauses.
    private const int SlicesPerSecond = 20;

    private readonly Stream _inner;
    private readonly long _bytesPerSecond;
    private readonly int _slice;
    private readonly Stopwatch _clock = new();
    private long _sent;

    /// <param name="inner">The file's stream; disposed with this one.</param>
    /// <param name="bytesPerSecond">The cap, in bytes per second.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytesPerSecond"/> is 0 or less.</exception>
    public PacedStream(Stream inner, long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        _inner = inner;
        _bytesPerSecond = bytesPerSecond;
        _slice = (int)Math.Clamp(bytesPerSecond / SlicesPerSecond, 1, 1 << 20);
    }

    public override bool CanRead => true;
    public override bool CanSeek => _inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_clock.IsRunning) _clock.Start();
        // The bytes already sent may not be ahead of the allowed pace; wait until they are not.
        var due = TimeSpan.FromSeconds(_sent / (double)_bytesPerSecond) - _clock.Elapsed;
        if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken).ConfigureAwait(false);
        var n = await _inner.ReadAsync(buffer[..Math.Min(buffer.Length, _slice)], cancellationToken).ConfigureAwait(false);
        _sent += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
