using System.Text.Json;
using System.Text.Json.Serialization;

namespace FalVideo.PowerShell.Settings;

/// <summary>
/// Settings saved by <c>Set-FalConfiguration -Save</c> for later sessions: the lowest precedence after the built-in
/// defaults (parameter &gt; session &gt; environment variables &gt; this file, the order the AWS and Azure CLIs use).
/// File: <c>FALVIDEO_CONFIG</c>, else <c>FalVideo/config.json</c> under the user's configuration folder
/// (<c>~/.config</c> on Linux and macOS, <c>%APPDATA%</c> on Windows). JSON; the API key is never saved.
/// </summary>
public sealed class SavedConfiguration
{
    /// <summary>Environment variable naming the saved configuration file.</summary>
    public const string PathVariable = "FALVIDEO_CONFIG";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static (string Path, DateTime Stamp, SavedConfiguration Value)? s_cache;

    /// <summary>Queue base URL.</summary>
    [JsonPropertyName("queueUrl")] public Uri? QueueUrl { get; set; }
    /// <summary>REST/storage base URL.</summary>
    [JsonPropertyName("restUrl")] public Uri? RestUrl { get; set; }
    /// <summary>Per-HTTP-attempt timeout, seconds.</summary>
    [JsonPropertyName("requestTimeoutSeconds")] public double? RequestTimeoutSeconds { get; set; }
    /// <summary>Retries of retry-safe calls.</summary>
    [JsonPropertyName("maxRetries")] public int? MaxRetries { get; set; }
    /// <summary>First retry delay, seconds.</summary>
    [JsonPropertyName("retryBaseDelaySeconds")] public double? RetryBaseDelaySeconds { get; set; }
    /// <summary>Seconds a download may receive no byte.</summary>
    [JsonPropertyName("downloadIdleTimeoutSeconds")] public double? DownloadIdleTimeoutSeconds { get; set; }
    /// <summary>Lowest average download rate, bytes per second.</summary>
    [JsonPropertyName("downloadMinBytesPerSecond")] public long? DownloadMinBytesPerSecond { get; set; }
    /// <summary>Job journal file.</summary>
    [JsonPropertyName("journalPath")] public string? JournalPath { get; set; }
    /// <summary>Price override file.</summary>
    [JsonPropertyName("priceOverridePath")] public string? PriceOverridePath { get; set; }

    /// <summary>Where the file is (whether or not it exists).</summary>
    public static string FilePath =>
        Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } p
            ? Path.GetFullPath(p)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                "FalVideo", "config.json");

    /// <summary>The saved settings, or null when there is no file. A file that can't be read is ignored with <paramref name="warn"/>.</summary>
    public static SavedConfiguration? Load(Action<string>? warn = null)
    {
        var path = FilePath;
        if (!File.Exists(path)) return null;
        var stamp = File.GetLastWriteTimeUtc(path);
        if (s_cache is { } c && c.Path == path && c.Stamp == stamp) return c.Value;
        try
        {
            var value = JsonSerializer.Deserialize<SavedConfiguration>(File.ReadAllText(path), s_json) ?? new SavedConfiguration();
            s_cache = (path, stamp, value);
            return value;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            warn?.Invoke($"The saved FalVideo configuration {path} could not be read and is ignored: {ex.Message}");
            return null;
        }
    }

    /// <summary>Writes <paramref name="value"/> (never a key: this type has no field for one), replacing the file atomically.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static string Save(SavedConfiguration value)
    {
        var path = FilePath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(value, s_json));
        File.Move(temp, path, overwrite: true);
        s_cache = null;
        return path;
    }
}
