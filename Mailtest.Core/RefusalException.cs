using System.Net;

namespace Mailtest.Core;

/// <summary>
/// Mailtest refuses what was asked, and says why: the one refusal type. It carries the HTTP status
/// it maps to and a sentence a person can act on (its <see cref="Exception.Message"/>, never a
/// connection string or a secret). The API maps it once (problem details), the UI once (the
/// sentence), the admin command line once (stderr, exit code 1). Throw a subclass when callers
/// need to tell it apart, or this type with a status.
/// </summary>
public class RefusalException(HttpStatusCode status, string message, string? title = null, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>A short title for problem details; null for the status's own reason phrase.</summary>
    public string? Title { get; } = title;
}
