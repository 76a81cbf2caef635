using Mailtest.Smtp;
using Mailtest.Smtp.Spool;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailtest.Tests.Smtp;

/// <summary>
/// The spool's memory: a small message is held in memory and leaves no file; a large one holds at most
/// <see cref="SpooledMessage.InMemoryLimitBytes"/> before it goes to a file; and all sessions together
/// hold no more than the budget, past which even a small message goes to a file.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class MessageSpoolMemoryTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"mailtest-spool-memory-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }

    private MessageSpool Spool(long budget) => new(
        Microsoft.Extensions.Options.Options.Create(new SmtpOptions { SpoolMemoryBytes = budget }),
        new SmtpDataDirectory(new ConfigurationBuilder().AddInMemoryCollection([new(SmtpDataDirectory.ConfigurationKey, _data)]).Build()),
        NullLogger<MessageSpool>.Instance);

    private string[] SpoolFiles(MessageSpool spool) => Directory.GetFiles(spool.Directory, "*.eml.spool");

    private static byte[] Bytes(int count, int seed) => [.. Enumerable.Range(0, count).Select(i => (byte)(i * 31 + seed))];

    private static async Task<byte[]> ReadAllAsync(SpooledMessage message)
    {
        await using var read = message.OpenRead();
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task A_small_message_is_held_in_memory_without_a_file_and_gives_its_memory_back()
    {
        using var spool = Spool(budget: 1024 * 1024);
        var sent = Bytes(10_000, 1);
        await using var arriving = spool.Begin();
        await arriving.WriteAsync(sent.AsMemory(0, 4_000));
        await arriving.WriteAsync(sent.AsMemory(4_000));
        Assert.Empty(SpoolFiles(spool));
        using (var message = arriving.Complete())
        {
            Assert.Null(message.FilePath);
            Assert.Equal(sent.Length, message.Length);
            Assert.Equal(sent, await ReadAllAsync(message));
            Assert.True(spool.MemoryHeld > 0);
        }
        Assert.Equal(0, spool.MemoryHeld);
        Assert.Empty(SpoolFiles(spool));
    }

    [Fact]
    public async Task A_large_message_holds_at_most_the_in_memory_limit_then_goes_to_a_file_deleted_on_release()
    {
        using var spool = Spool(budget: 1024 * 1024);
        var sent = Bytes(3 * 1024 * 1024 + 17, 2);
        long mostHeld = 0;
        await using var arriving = spool.Begin();
        for (var offset = 0; offset < sent.Length; offset += 64 * 1024) // as the DATA receiver writes: chunks of 64 KB
        {
            await arriving.WriteAsync(sent.AsMemory(offset, Math.Min(64 * 1024, sent.Length - offset)));
            mostHeld = Math.Max(mostHeld, spool.MemoryHeld);
        }
        Assert.InRange(mostHeld, 1, SpooledMessage.InMemoryLimitBytes);
        Assert.Equal(0, spool.MemoryHeld); // given back when the message went to the file
        using var message = arriving.Complete();
        Assert.NotNull(message.FilePath);
        Assert.Equal(sent, await ReadAllAsync(message));
        message.Dispose();
        Assert.Empty(SpoolFiles(spool));
    }

    [Fact]
    public async Task Past_the_shared_budget_even_a_small_message_goes_to_a_file()
    {
        using var spool = Spool(budget: 64 * 1024);
        await using var first = spool.Begin();
        await first.WriteAsync(Bytes(40_000, 3)); // holds 64 KB of the budget (buffers grow in powers of two)
        await using var second = spool.Begin();
        var small = Bytes(1_000, 4);
        await second.WriteAsync(small);
        Assert.True(second.Spilled);
        Assert.Single(SpoolFiles(spool));
        using (var message = second.Complete())
            Assert.Equal(small, await ReadAllAsync(message));
        Assert.Empty(SpoolFiles(spool));
        first.Complete().Dispose();
        Assert.Equal(0, spool.MemoryHeld);
    }

    [Fact]
    public async Task A_message_abandoned_mid_DATA_leaves_neither_memory_held_nor_a_file()
    {
        using var spool = Spool(budget: 1024 * 1024);
        await using (var small = spool.Begin())
            await small.WriteAsync(Bytes(1_000, 5));
        await using (var large = spool.Begin())
            await large.WriteAsync(Bytes(SpooledMessage.InMemoryLimitBytes + 1, 6));
        Assert.Equal(0, spool.MemoryHeld);
        Assert.Empty(SpoolFiles(spool));
    }
}
