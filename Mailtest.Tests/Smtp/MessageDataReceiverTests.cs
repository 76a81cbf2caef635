using Mailtest.Tests.Infrastructure;
using System.IO.Pipelines;
using System.Text;
using Mailtest.Smtp.Spool;

namespace Mailtest.Tests.Smtp;

/// <summary>The DATA receiver alone, over a pipe: whatever way the bytes are split across reads, the spool gets the same message.</summary>
[TestCategory(Needs.Unit)]
public sealed class MessageDataReceiverTests
{
    private static async Task<(string Stored, DataOutcome Outcome, string After)> ReceiveAsync(string wire, int pieceSize, long limit = 10_000_000)
    {
        var pipe = new Pipe();
        var bytes = Encoding.UTF8.GetBytes(wire);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < bytes.Length; i += pieceSize)
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(pieceSize, bytes.Length - i)));
            await pipe.Writer.CompleteAsync();
        });
        var receiver = new MessageDataReceiver(() => pipe.Reader.ReadAsync(), pipe.Reader, limit);
        using var spool = new MemoryStream();
        var outcome = await receiver.ReceiveAsync(spool);
        await writer;
        var rest = new StringBuilder();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            rest.Append(Encoding.UTF8.GetString(result.Buffer));
            pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        return (Encoding.UTF8.GetString(spool.ToArray()), outcome, rest.ToString());
    }

    public static TheoryData<int> PieceSizes => [1, 2, 3, 7, 4096, 1 << 20];

    [Theory]
    [MemberData(nameof(PieceSizes))]
    public async Task Unstuffs_normalises_bare_LF_and_stops_at_the_final_dot_however_the_bytes_arrive(int pieceSize)
    {
        var (stored, outcome, after) = await ReceiveAsync("Subject: x\r\n\r\n..leading dot\nbare LF\r\nCR\rinside\r\n.\r\nQUIT\r\n", pieceSize);
        Assert.Equal("Subject: x\r\n\r\n.leading dot\r\nbare LF\r\nCR\rinside\r\n", stored);
        Assert.Equal(stored.Length, outcome.Size);
        Assert.False(outcome.ConnectionClosed);
        Assert.Equal("QUIT\r\n", after); // a pipelined command behind the dot is left for the session
    }

    [Theory]
    [InlineData(3)] // (single bytes add nothing here that 3-byte splits do not cover, at 200,000 reads)
    [InlineData(4096)]
    [InlineData(1 << 20)]
    public async Task A_line_longer_than_a_chunk_is_kept_byte_for_byte(int pieceSize)
    {
        var line = string.Concat(Enumerable.Range(0, MessageDataReceiver.ChunkBytes / 5).Select(i => $"{i % 10000:D4}|"));
        var (stored, outcome, _) = await ReceiveAsync($"a\r\n{line}x{line}\n.\n", pieceSize);
        Assert.Equal($"a\r\n{line}x{line}\r\n", stored);
        Assert.False(outcome.TooLarge);
    }

    [Fact]
    public async Task Past_the_limit_nothing_more_is_stored_but_the_dot_is_still_found()
    {
        var (stored, outcome, after) = await ReceiveAsync(new string('x', 5000) + "\r\n.\r\nNOOP\r\n", 100, limit: 1000);
        Assert.True(outcome.TooLarge);
        Assert.Equal("", stored);
        Assert.Equal("NOOP\r\n", after);
    }

    [Fact]
    public async Task A_client_leaving_mid_message_is_reported()
    {
        var (_, outcome, _) = await ReceiveAsync("Subject: half\r\n.", 4);
        Assert.True(outcome.ConnectionClosed);
    }
}
