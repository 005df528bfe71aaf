namespace FalVideo.Fal;

/// <summary>
/// A read-only wrapper that fails a read when no byte arrives for a while. Long transfers (SSE streams that
/// last minutes, large downloads) cannot have an overall per-attempt timeout, but a silent connection must
/// still be noticed: fal sends an SSE keep-alive every 15 s (PROTOCOL.md "Status stream (SSE)").
/// </summary>
internal sealed class IdleTimeoutStream(Stream inner, TimeSpan idleTimeout) : ReadOnlyWrapperStream(inner)
{
#if NET8_0_OR_GREATER
    /// <exception cref="TimeoutException">No byte arrived within the idle timeout.</exception>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(ReadIdleAsync(token => Inner.ReadAsync(buffer, token).AsTask(), cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask DisposeAsync() => Inner.DisposeAsync();
#else
    // .NET Framework's streams have no Memory<byte> overloads; HttpClient and the download loop call this one there.
    /// <exception cref="TimeoutException">No byte arrived within the idle timeout.</exception>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadIdleAsync(token => Inner.ReadAsync(buffer, offset, count, token), cancellationToken);
#endif

    private async Task<int> ReadIdleAsync(Func<CancellationToken, Task<int>> read, CancellationToken cancellationToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
#if NETFRAMEWORK
        // .NET Framework's response streams ignore the token once a read has begun: closing the stream ends the read.
        using var abort = idle.Token.Register(static s => ((Stream)s!).Dispose(), Inner);
#endif
        try
        {
            return await read(idle.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (idle.IsCancellationRequested
            && ex is OperationCanceledException or ObjectDisposedException or IOException or System.Net.WebException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"No data was received for {idleTimeout.TotalSeconds:0.###} seconds.", ex);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
}
