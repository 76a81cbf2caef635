namespace Mailtest.Web.Hosting;

/// <summary>
/// The headers every response carries: pages, API answers, static files, errors. A response that
/// already set its own Content-Security-Policy keeps it (the preview documents and message parts
/// carry a stricter, script-free one).
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// The policy the dashboard runs under. Blazor Server and MudBlazor need no inline or evaluated
    /// script: scripts come from this site only; MudBlazor sets inline styles, so styles may be inline;
    /// the circuit's WebSocket is same-origin ('self' covers ws:/wss: of this host); the preview frame is
    /// served from this site; nobody else may frame us.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'";

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                if (!headers.ContainsKey("Content-Security-Policy")) headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                // For browsers that do not understand frame-ancestors.
                headers.XFrameOptions = "SAMEORIGIN";
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }
}
