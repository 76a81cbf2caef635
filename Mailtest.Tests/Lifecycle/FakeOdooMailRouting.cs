using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;

namespace Mailtest.Tests.Lifecycle;

/// <summary>
/// Stands in for an Odoo database: remembers the login written into it, and can be told to fail
/// (a transient Odoo outage) to drive a rotation into "stuck".
/// </summary>
public sealed class FakeOdooMailRouting : IOdooMailRouting
{
    private readonly Dictionary<Guid, OdooSmtpLogin?> _logins = [];

    public bool FailNextCalls { get; set; }
    public IReadOnlyList<string> TemplatesWithExplicitServer { get; set; } = [];
    /// <summary>Runs inside RotateAsync, before it succeeds or fails: lets a test look at the world mid-rotation.</summary>
    public Func<ProjectEnvironment, Task>? DuringRotate { get; set; }
    public List<string> Calls { get; } = [];

    public OdooSmtpLogin? LoginOf(Guid environmentId) { lock (_logins) return _logins.GetValueOrDefault(environmentId); }

    public Task<OdooInspection> InspectAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        Record("inspect", environment);
        var version = environment.OdooVersion ?? 17;
        return Task.FromResult(new OdooInspection(version, OdooRoutingApproaches.For(version), 2, 1, TemplatesWithExplicitServer));
    }

    public Task EnableAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken)
    {
        Record("enable", environment);
        ThrowIfFailing();
        lock (_logins) _logins[environment.Id] = login;
        return Task.CompletedTask;
    }

    public async Task RotateAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken)
    {
        Record("rotate", environment);
        if (DuringRotate is { } during) await during(environment);
        ThrowIfFailing();
        lock (_logins) _logins[environment.Id] = login;
    }

    public Task DisableAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        Record("disable", environment);
        ThrowIfFailing();
        lock (_logins) _logins[environment.Id] = null;
        return Task.CompletedTask;
    }

    public Task<OdooTamperCheck> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken) =>
        Task.FromResult(new OdooTamperCheck(OdooTamperStatus.Intact, null));

    private void Record(string call, ProjectEnvironment environment) { lock (Calls) Calls.Add($"{call}:{environment.Id}"); }

    private void ThrowIfFailing()
    {
        if (FailNextCalls) throw new OdooRoutingException("The Odoo database did not answer (connection refused).");
    }
}
