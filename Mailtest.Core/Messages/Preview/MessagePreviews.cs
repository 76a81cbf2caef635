using Microsoft.Extensions.Caching.Memory;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// The one way to look inside a captured message. Opening a message for a preview means its panel,
/// then its frame document, then each inline image, each a request of its own: the raw message is
/// decrypted and parsed once for all of them and kept for a few seconds in a small cache bounded in
/// bytes. Every call still reads the summary row with the caller's environments, so the cache never
/// answers for a message the caller may not read, nor one deleted meanwhile.
/// </summary>
public sealed class MessagePreviews(IMessageStore store, MessagePreviewRenderer renderer) : IDisposable
{
    /// <summary>How long one parse serves an open preview.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);

    /// <summary>Raw bytes the cache holds at most; a larger message is parsed per request instead.</summary>
    public const long CacheBytes = 64 * 1024 * 1024;

    private readonly MemoryCache _parsed = new(new MemoryCacheOptions { SizeLimit = CacheBytes });
    private readonly Lock _gate = new();
    private long _rawOpens;
    private long _parses;

    /// <summary>How many times a raw message was opened (decrypted) for a preview (tests and diagnostics).</summary>
    public long RawOpenCount => Interlocked.Read(ref _rawOpens);

    /// <summary>How many times a raw message was parsed for a preview (tests and diagnostics).</summary>
    public long ParseCount => Interlocked.Read(ref _parses);

    /// <summary>The message, or null when it is not in one of <paramref name="environmentIds"/> (the caller's readable environments).</summary>
    public async Task<OpenedMessage?> OpenAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        if (environmentIds.Count == 0 || await store.GetAsync(messageId, environmentIds, cancellationToken) is not { } summary) return null;
        return await OpenAsync(summary, cancellationToken);
    }

    /// <summary>The message behind a summary the caller has just read with its own access check; null when it was deleted meanwhile.</summary>
    public async Task<OpenedMessage?> OpenAsync(CapturedMessage summary, CancellationToken cancellationToken = default)
    {
        var parsed = await ParsedAsync(summary).WaitAsync(cancellationToken);
        return parsed is null ? null : new OpenedMessage(summary, parsed, renderer);
    }

    private Task<ParsedMessage?> ParsedAsync(CapturedMessage summary)
    {
        Lazy<Task<ParsedMessage?>> parse;
        lock (_gate)
        {
            parse = _parsed.GetOrCreate(summary.Id, entry =>
            {
                entry.Size = Math.Max(1, summary.Size);
                entry.AbsoluteExpirationRelativeToNow = CacheLifetime;
                return new Lazy<Task<ParsedMessage?>>(() => ParseAsync(summary));
            })!;
        }
        return parse.Value;
    }

    // Shared by every request waiting for it, so it runs to the end whoever asked first.
    private async Task<ParsedMessage?> ParseAsync(CapturedMessage summary)
    {
        try
        {
            Interlocked.Increment(ref _rawOpens);
            await using var raw = await store.OpenRawAsync(summary.Id, [summary.EnvironmentId]);
            if (raw is null)
            {
                _parsed.Remove(summary.Id); // deleted meanwhile: nothing to keep
                return null;
            }
            var parsed = await ParsedMessage.ReadAsync(raw, summary.Size, CancellationToken.None);
            Interlocked.Increment(ref _parses);
            return parsed;
        }
        catch
        {
            _parsed.Remove(summary.Id); // the next request tries again
            throw;
        }
    }

    public void Dispose() => _parsed.Dispose();
}
