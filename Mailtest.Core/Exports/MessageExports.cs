using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Exports;

/// <summary>What the page and the API show of an export; <paramref name="Link"/> (site-relative) once it is ready.</summary>
public sealed record ExportStatus(
    Guid Id, Guid OrganizationId, Guid? EnvironmentId, ExportState State, int TotalMessages, int ExportedMessages,
    long SizeBytes, DateTime RequestedUtc, DateTime? CompletedUtc, DateTime? ExpiresUtc, string? Link, string? Error);

/// <summary>
/// "Download all as .zip": asks for an export (needs <c>project.mailtest.view</c> on what it includes),
/// reports its progress, and hands the finished file to its requester only. The zip is written by
/// <see cref="MessageExportJob"/>.
/// </summary>
public sealed class MessageExports(
    IDbContextFactory<MailtestDbContext> dbFactory,
    AccessRules access,
    AuditLog audit,
    ExportLinkSigner signer,
    ExportFiles files,
    IExportQueue queue,
    TimeProvider clock)
{
    public async Task<ExportStatus> RequestForEnvironmentAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestView, cancellationToken);
        return await CreateAsync(caller, environment.Project!.OrganizationId, environmentId, $"environment {environment.Name}", cancellationToken);
    }

    public async Task<ExportStatus> RequestForOrganizationAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        var readable = (await access.ViewableEnvironmentsAsync(caller, cancellationToken)).Where(e => e.Project!.OrganizationId == organizationId).ToList();
        if (readable.Count == 0)
            throw new NotFoundException("There is no such organization, or you may not read the mail of any of its environments.");
        return await CreateAsync(caller, organizationId, null, $"organization {readable[0].Project!.Organization!.Name} ({readable.Count} environments)", cancellationToken);
    }

    /// <exception cref="NotFoundException">No such export, or not the caller's.</exception>
    public async Task<ExportStatus> GetAsync(Caller caller, Guid exportId, CancellationToken cancellationToken = default) =>
        StatusOf(await RequireOwnAsync(caller, exportId, cancellationToken));

    /// <summary>The caller's exports, newest first.</summary>
    public async Task<IReadOnlyList<ExportStatus>> ListAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var exports = await db.MessageExports.AsNoTracking().Where(e => e.RequestedByUserId == caller.UserId)
            .OrderByDescending(e => e.RequestedUtc).Take(20).ToListAsync(cancellationToken);
        return exports.Select(StatusOf).ToList();
    }

    /// <summary>
    /// The zip behind a signed link: the signature must be valid and unexpired, and the caller must be
    /// the requester (the link alone, forwarded or leaked, opens nothing).
    /// </summary>
    public async Task<(string Path, string FileName)> OpenDownloadAsync(Caller caller, Guid exportId, string? expires, string? signature, CancellationToken cancellationToken = default)
    {
        if (!signer.IsValid(exportId, expires, signature))
            throw new ExportLinkExpiredException("This download link has expired or is not valid; ask for a new export.");
        var export = await RequireOwnAsync(caller, exportId, cancellationToken);
        if (export.State != ExportState.Ready || !File.Exists(files.PathOf(export.Id)))
            throw new ExportLinkExpiredException("This export is no longer available; ask for a new export.");
        return (files.PathOf(export.Id), $"mailtest-export-{export.RequestedUtc:yyyy-MM-dd}-{export.Id.ToString("N")[..8]}.zip");
    }

    /// <summary>Deletes the files of exports whose link has expired (the hourly sweep).</summary>
    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var expired = await db.MessageExports.Where(e => (e.State == ExportState.Ready || e.State == ExportState.Failed) && e.ExpiresUtc <= now)
            .ToListAsync(cancellationToken);
        foreach (var export in expired)
        {
            files.Delete(export.Id);
            export.State = ExportState.Expired;
        }
        await db.SaveChangesAsync(cancellationToken);
        return expired.Count;
    }

    public string LinkOf(MessageExport export) => signer.Link(export.Id, export.ExpiresUtc!.Value);

    private async Task<ExportStatus> CreateAsync(Caller caller, Guid organizationId, Guid? environmentId, string what, CancellationToken cancellationToken)
    {
        var export = new MessageExport
        {
            OrganizationId = organizationId, EnvironmentId = environmentId, RequestedByUserId = caller.UserId,
            RequestedByEmail = caller.Email, RequestedUtc = clock.GetUtcNow().UtcDateTime, State = ExportState.Queued,
        };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.MessageExports.Add(export);
            await db.SaveChangesAsync(cancellationToken);
        }
        await audit.RecordAsync(caller, AuditActions.ExportRequest, organizationId, environmentId, $"Export of {what}", cancellationToken);
        await queue.EnqueueAsync(export.Id, cancellationToken);
        return StatusOf(export);
    }

    private async Task<MessageExport> RequireOwnAsync(Caller caller, Guid exportId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.MessageExports.AsNoTracking().SingleOrDefaultAsync(e => e.Id == exportId && e.RequestedByUserId == caller.UserId, cancellationToken)
            ?? throw new NotFoundException("There is no such export, or it is not yours.");
    }

    private ExportStatus StatusOf(MessageExport e) => new(
        e.Id, e.OrganizationId, e.EnvironmentId, e.State, e.TotalMessages, e.ExportedMessages, e.SizeBytes, e.RequestedUtc,
        e.CompletedUtc, e.ExpiresUtc, e.State == ExportState.Ready ? LinkOf(e) : null, e.Error);
}

/// <summary>A download link that no longer opens anything (HTTP 410).</summary>
public sealed class ExportLinkExpiredException(string message) : Exception(message);

/// <summary>Where export jobs are started (Quartz in the host).</summary>
public interface IExportQueue
{
    Task EnqueueAsync(Guid exportId, CancellationToken cancellationToken);
}

/// <summary>
/// The zip files, under the data directory's <c>exports</c> folder. Exports at rest are not encrypted:
/// the folder and the files are created readable by the service's own user only (0700 / 0600).
/// </summary>
public sealed class ExportFiles(IOptions<DataOptions> data)
{
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode OwnerOnlyDirectory = OwnerOnlyFile | UnixFileMode.UserExecute;

    public string Directory
    {
        get
        {
            var directory = Path.Combine(data.Value.FullDirectory, "exports");
            if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(directory);
            else System.IO.Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            return directory;
        }
    }

    public string PathOf(Guid exportId) => Path.Combine(Directory, $"{exportId:N}.zip");

    public FileStream Create(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.ReadWrite, Options = FileOptions.Asynchronous, BufferSize = 64 * 1024 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
        return new FileStream(path, options);
    }

    public void Delete(Guid exportId)
    {
        var path = PathOf(exportId);
        File.Delete(path);
        File.Delete(path + ".partial");
    }
}
