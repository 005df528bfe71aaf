using System.Collections.Concurrent;

namespace FalVideo.Emulator.Media;

/// <summary>A file announced by <c>POST /storage/upload/initiate</c>; <see cref="Bytes"/> is null until its PUT arrives.</summary>
internal sealed class Upload(string token, string fileName, string contentType)
{
    public string Token { get; } = token;
    public string FileName { get; } = fileName;
    public string ContentType { get; set; } = contentType;
    public byte[]? Bytes { get; set; }
}

/// <summary>
/// Uploads held in memory: the emulator is for rehearsals and tests, and each file is capped by
/// <see cref="EmulatorOptions.MaxUploadBytes"/>. Thread-safe.
/// </summary>
internal sealed class UploadStore
{
    private readonly ConcurrentDictionary<string, Upload> uploads = new(StringComparer.Ordinal);
    private int completed;

    public int CompletedCount => Volatile.Read(ref completed);

    public Upload Initiate(string fileName, string contentType)
    {
        var upload = new Upload(Guid.NewGuid().ToString("N"), fileName, contentType);
        uploads[upload.Token] = upload;
        return upload;
    }

    public Upload? Find(string token) => uploads.TryGetValue(token, out var upload) ? upload : null;

    public void Complete(Upload upload, byte[] bytes, string? contentType)
    {
        lock (upload)
        {
            if (upload.Bytes is null) Interlocked.Increment(ref completed);
            // Readers do not lock: the type is set first so a reader that sees the bytes also sees their type.
            if (!string.IsNullOrWhiteSpace(contentType)) upload.ContentType = contentType;
            upload.Bytes = bytes;
        }
    }

    public void Clear()
    {
        uploads.Clear();
        Volatile.Write(ref completed, 0);
    }
}
