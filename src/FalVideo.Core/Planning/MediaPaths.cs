namespace FalVideo.Planning;

/// <summary>
/// Turns the local media path a row gives (a start image, a motion video, an element's file) into a full file-system
/// path. Core knows only a base folder: a relative path is taken against it. The PowerShell module passes a resolver
/// that resolves as every PowerShell path does (<c>~</c>, the current location, PSDrives such as <c>acc:/bowl.png</c>)
/// on the pipeline thread. A string converts to a <see cref="MediaPaths"/> rooted at that folder.
/// </summary>
public sealed class MediaPaths
{
    private readonly string _baseDirectory;
    private readonly Func<string, MediaPathResult>? _resolve;

    /// <summary>Paths relative to <paramref name="baseDirectory"/> (a full file-system path).</summary>
    public MediaPaths(string baseDirectory) => _baseDirectory = baseDirectory;

    /// <summary>Paths resolved by <paramref name="resolve"/>: given the text of a path (trimmed, never an http(s) URL), it
    /// returns the full file-system path, or the reason there is none (a provider other than the file system, an unknown
    /// drive). It is called on the thread that plans the row.</summary>
    public MediaPaths(Func<string, MediaPathResult> resolve)
    {
        _baseDirectory = "";
        _resolve = resolve ?? throw new ArgumentNullException(nameof(resolve));
    }

    /// <summary>Paths relative to the folder <paramref name="baseDirectory"/>.</summary>
    public static implicit operator MediaPaths(string baseDirectory) => new(baseDirectory);

    /// <summary>The full file-system path of <paramref name="text"/> (trimmed, not an http(s) URL), or the reason there is
    /// none. Never throws for a bad path: a path <see cref="Path.GetFullPath(string)"/> refuses is a reason too.</summary>
    public MediaPathResult Resolve(string text)
    {
        if (_resolve is not null) return _resolve(text);
        try { return MediaPathResult.Found(Path.GetFullPath(Path.Combine(_baseDirectory, text))); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return MediaPathResult.Refused(ex.Message);
        }
    }
}

/// <summary>What <see cref="MediaPaths.Resolve"/> found: a full file-system path, or why there is none.</summary>
public readonly struct MediaPathResult
{
    private MediaPathResult(string? path, string? problem, bool otherProvider) => (Path, Problem, IsOtherProvider) = (path, problem, otherProvider);

    /// <summary>The full file-system path (the file may not exist); null when <see cref="Problem"/> says why not.</summary>
    public string? Path { get; }

    /// <summary>Why the text names no file-system path, as the end of a sentence ("is on the Environment provider; …"); null when found.</summary>
    public string? Problem { get; }

    /// <summary>True when the text names an item of a store other than the file system (a PowerShell drive of the
    /// Environment, Variable or Registry provider…): certainly meant as a path, yet nothing that can be uploaded.</summary>
    public bool IsOtherProvider { get; }

    /// <summary>A resolved path.</summary>
    public static MediaPathResult Found(string path) => new(path, null, false);

    /// <summary>No path, for <paramref name="problem"/>; <paramref name="otherProvider"/> when the text names an item
    /// outside the file system.</summary>
    public static MediaPathResult Refused(string problem, bool otherProvider = false) => new(null, problem, otherProvider);
}
