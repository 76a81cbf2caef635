using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Mailtest.Tests.Infrastructure;

/// <summary>Waiting for a page to be at a URL.</summary>
public static class PageUrls
{
    /// <summary>
    /// Until the page's URL matches <paramref name="url"/> (within <paramref name="within"/>, 30 s by default, Playwright's own).
    /// Not <c>IPage.WaitForURLAsync</c>: in Playwright for .NET it reads the URL, then starts listening for navigations,
    /// while the driver's events arrive on another thread, so a navigation that lands in between is missed and it waits
    /// out its timeout on a page already there. Blazor navigates after a server round trip, so under load that happened
    /// (LifecycleBrowserTests after Create: 1 run in 16 at load 18). The assertion polls the URL in the driver instead.
    /// </summary>
    public static Task UntilAtAsync(this IPage page, Regex url, TimeSpan? within = null) =>
        Assertions.Expect(page).ToHaveURLAsync(url, new() { Timeout = (float)(within ?? TimeSpan.FromSeconds(30)).TotalMilliseconds });
}
