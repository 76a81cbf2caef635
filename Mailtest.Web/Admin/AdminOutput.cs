using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mailtest.Web.Admin;

/// <summary>Writes a verb's result: one JSON document with <c>--json</c>, a short line for people otherwise.</summary>
public sealed class AdminOutput(Stream stdout, bool json)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public bool IsJson => json;

    public async Task WriteAsync(object result, string humanLine, CancellationToken cancellationToken)
    {
        var text = json ? JsonSerializer.Serialize(result, JsonOptions) : humanLine;
        await WriteTextAsync(text + "\n", cancellationToken);
    }

    public async Task WriteTextAsync(string text, CancellationToken cancellationToken)
    {
        await stdout.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await stdout.FlushAsync(cancellationToken);
    }

    /// <summary>Bytes as they are (an original .eml).</summary>
    public async Task WriteRawAsync(Stream content, CancellationToken cancellationToken)
    {
        await content.CopyToAsync(stdout, cancellationToken);
        await stdout.FlushAsync(cancellationToken);
    }
}
