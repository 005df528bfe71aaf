namespace FalVideo.Emulator.Media;

/// <summary>
/// The MP4 every successful job returns: 2 s, 320x180, H.264 + AAC, faststart, made once with ffmpeg
/// (see README.md) and embedded, so ffmpeg is not needed at run time.
/// </summary>
internal static class SampleVideo
{
    public const string FileName = "output.mp4";
    public const string ContentType = "video/mp4";

    private static readonly Lazy<byte[]> Embedded = new(() =>
    {
        using var stream = typeof(SampleVideo).Assembly.GetManifestResourceStream("FalVideo.Emulator.sample.mp4")
            ?? throw new InvalidOperationException("The embedded sample.mp4 is missing from the emulator assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static byte[] Bytes => Embedded.Value;

    /// <summary>
    /// The sample as a stream of <paramref name="length"/> bytes: the MP4, then zero bytes up to the length. The zeros
    /// are produced as they are read, so a video of hundreds of megabytes costs no memory. (To an MP4 reader they
    /// are one trailing box of unknown type that runs to the end of the file, which readers skip.)
    /// </summary>
    /// <param name="length">The total size; at most the sample's own size gives just the sample.</param>
    public static Stream Open(long length) =>
        length <= Bytes.Length ? new MemoryStream(Bytes, writable: false) : new PaddedStream(Bytes, length);

    /// <summary>A read-only, seekable stream: a prefix from memory, then zeros to a fixed length.</summary>
    private sealed class PaddedStream(byte[] head, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
            var span = buffer[..n];
            var fromHead = (int)Math.Clamp(head.Length - _position, 0, n);
            if (fromHead > 0) head.AsSpan((int)_position, fromHead).CopyTo(span);
            span[fromHead..].Clear();
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
