using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace FalVideo.PowerShell.Waiting;

/// <summary>
/// The Save-FalVideo commands running in a pipeline, so the commands upstream (<c>New-KlingVideo -Wait | Save-FalVideo</c>,
/// <c>... | Wait-FalJob | Save-FalVideo</c>) record where each job's video is to be saved from the start: on the row's
/// write-ahead and submitted entries, or a <c>save_requested</c> entry when a wait starts following the job. Save-FalVideo
/// downloads one video after another on the pipeline thread, which holds up every job behind it; without this, a kill
/// during those downloads would leave paid jobs with no record that their save was asked for, or where.
/// </summary>
/// <remarks>
/// Save-FalVideo registers in BeginProcessing (which runs for every command of a pipeline before any record flows)
/// and leaves when it is disposed. Commands are matched by runspace and history id, which all commands of one
/// top-level statement share; a script's statements run one after another, so a finished one has left.
/// </remarks>
internal static class SaveIntents
{
    private static readonly ConcurrentDictionary<(Guid Runspace, long History), string?> s_open = new();

    /// <summary>Registers a Save-FalVideo; <paramref name="directory"/> is its -Directory, or null when not given.</summary>
    public static object? Register(PSCmdlet save, string? directory)
    {
        if (KeyOf(save) is not { } key) return null;
        s_open[key] = directory;
        return key;
    }

    /// <summary>Removes what <see cref="Register"/> returned.</summary>
    public static void Leave(object? registration)
    {
        if (registration is ValueTuple<Guid, long> key) s_open.TryRemove(key, out _);
    }

    /// <summary>True when a Save-FalVideo runs in <paramref name="cmdlet"/>'s statement; <paramref name="directory"/> is
    /// its -Directory (null: each job's recorded folder, else the current location).</summary>
    public static bool TryFind(PSCmdlet cmdlet, out string? directory)
    {
        directory = null;
        return KeyOf(cmdlet) is { } key && s_open.TryGetValue(key, out directory);
    }

    /// <summary>The folder a Save-FalVideo in <paramref name="cmdlet"/>'s statement saves new jobs to (its -Directory,
    /// else the current location), or null when there is none. Pipeline thread only.</summary>
    public static string? FolderFor(PSCmdlet cmdlet) =>
        TryFind(cmdlet, out var directory) ? directory ?? cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath : null;

    private static (Guid, long)? KeyOf(PSCmdlet cmdlet) =>
        Runspace.DefaultRunspace is { } runspace ? (runspace.InstanceId, cmdlet.MyInvocation.HistoryId) : null;
}
