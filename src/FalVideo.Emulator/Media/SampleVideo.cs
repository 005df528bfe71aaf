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
}
