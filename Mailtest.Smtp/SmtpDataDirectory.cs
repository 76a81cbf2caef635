using Microsoft.Extensions.Configuration;

namespace Mailtest.Smtp;

/// <summary>
/// The installation's data directory (<c>Mailtest:Data:Directory</c>, default <c>data</c>, relative to
/// the working directory like Core resolves it). Read from configuration because the engine cannot
/// reference Mailtest.Core.
/// </summary>
internal sealed class SmtpDataDirectory(IConfiguration configuration)
{
    public const string ConfigurationKey = "Mailtest:Data:Directory";

    public string Path { get; } = System.IO.Path.GetFullPath(configuration[ConfigurationKey] is { Length: > 0 } configured ? configured : "data");
}
