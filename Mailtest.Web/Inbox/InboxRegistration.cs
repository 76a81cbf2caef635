namespace Mailtest.Web.Inbox;

/// <summary>The inbox: preview documents, attachment downloads, the image proxy.</summary>
public static class InboxRegistration
{
    public static WebApplicationBuilder AddInbox(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapInbox(this WebApplication app) => app;
}
