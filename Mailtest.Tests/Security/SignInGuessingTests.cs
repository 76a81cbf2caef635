using Mailtest.Core.Audit;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Accounts;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Smtp.Fakes;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Security;

/// <summary>
/// Sign-in tells nobody who has an account and hands nobody a way to lock someone out, over real HTTP.
/// The host believes X-Forwarded-For from loopback (a configured proxy), so each session can come
/// from an address of its own.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class SignInGuessingTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private readonly CountingPasswordHasher _hasher = new();
    private MailtestTestHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await MailtestTestHost.StartAsync(
            new Dictionary<string, string?> { ["Mailtest:Web:KnownProxies:0"] = "127.0.0.1" },
            builder =>
            {
                builder.Services.AddSingleton<IPasswordHasher<UserAccount>>(_hasher);
                // The throttle's clock stands still: an address's wait cannot run out between two requests
                // of a slow test run (the wait is what is asserted, not how long it lasts).
                builder.Services.AddSingleton(new SignInThrottle(new ManualTimeProvider()));
            });

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The real hasher, counting how many passwords it checks.</summary>
    private sealed class CountingPasswordHasher : IPasswordHasher<UserAccount>
    {
        private readonly PasswordHasher<UserAccount> _real = new();
        private int _verifications;
        public int Verifications => Volatile.Read(ref _verifications);
        public string HashPassword(UserAccount user, string password) => _real.HashPassword(user, password);
        public PasswordVerificationResult VerifyHashedPassword(UserAccount user, string hashedPassword, string providedPassword)
        {
            Interlocked.Increment(ref _verifications);
            return _real.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    private async Task<string> NewUserAsync()
    {
        var email = $"user-{Guid.NewGuid():N}@example.test";
        await _host.Services.GetRequiredService<TenancyAdministration>().CreateUserAsync(email, Password, isPlatformAdmin: false);
        return email;
    }

    private BrowserlessSession From(string address)
    {
        var session = new BrowserlessSession(_host.WebAddress);
        session.Http.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return session;
    }

    [Fact]
    public async Task An_unknown_email_costs_the_same_password_check_as_a_known_one_and_reads_the_same()
    {
        var known = await NewUserAsync();
        using var session = From("198.51.100.20");

        var before = _hasher.Verifications;
        var wrongPassword = await session.SignInAsync(known, "not the password");
        var afterKnown = _hasher.Verifications;
        var unknownEmail = await session.SignInAsync($"nobody-{Guid.NewGuid():N}@example.test", "not the password");
        var afterUnknown = _hasher.Verifications;

        Assert.Equal(1, afterKnown - before);
        Assert.Equal(1, afterUnknown - afterKnown);
        Assert.Equal(wrongPassword.Headers.Location, unknownEmail.Headers.Location);
    }

    [Fact]
    public async Task A_stranger_guessing_is_throttled_by_address_but_cannot_lock_the_owner_out()
    {
        var email = await NewUserAsync();
        using var stranger = From("203.0.113.9");
        using var owner = From("198.51.100.7");

        for (var attempt = 0; attempt <= SignInThrottle.FreeFailures; attempt++)
            Assert.Contains("error=invalid", (await stranger.SignInAsync(email, $"guess {attempt}")).Headers.Location!.OriginalString);

        // The stranger's address now waits, even with the right password...
        var throttled = await stranger.SignInAsync(email, Password);
        Assert.Contains("error=throttled", throttled.Headers.Location!.OriginalString);
        var page = await (await stranger.Http.GetAsync(throttled.Headers.Location)).Content.ReadAsStringAsync();
        Assert.Contains("Too many failed sign-ins from your address: wait", page);
        // ...while the owner, from their own address, signs in.
        Assert.Equal("/", (await owner.SignInAsync(email, Password)).Headers.Location!.OriginalString);

        var audit = await _host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignInThrottled && e.Actor == email && e.RemoteAddress == "203.0.113.9");
        Assert.Equal(SignInThrottle.FreeFailures + 1, audit.Items.Count(e => e.Action == AuditActions.SignInFailed && e.Actor == email && e.RemoteAddress == "203.0.113.9"));
    }
}
