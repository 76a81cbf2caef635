using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Exports;

/// <summary>
/// Writes an export's zip: one <c>.eml</c> per message (byte for byte what was captured) in a folder
/// per environment, and <c>manifest.json</c> with the summaries. Streams: messages are read a page at
/// a time and copied one by one, the manifest goes to a side file first, so memory does not grow with
/// the size of the export. Progress is saved every <see cref="ProgressEvery"/> messages.
/// </summary>
public sealed class MessageExportWriter(IDbContextFactory<MailtestDbContext> dbFactory, IMessageStore store, ExportFiles files)
{
    private const int PageSize = 200;
    private const int ProgressEvery = 25;

    /// <summary>Writes the zip of <paramref name="environments"/> and returns its size in bytes.</summary>
    public async Task<long> WriteAsync(MessageExport export, IReadOnlyList<ProjectEnvironment> environments, CancellationToken cancellationToken)
    {
        var ids = environments.Select(e => e.Id).ToList();
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            export.TotalMessages = await db.Messages.CountAsync(m => ids.Contains(m.EnvironmentId), cancellationToken);
        await SaveProgressAsync(export, ExportState.Running, cancellationToken);

        var path = files.PathOf(export.Id);
        var partial = path + ".partial";
        var manifestPath = path + ".manifest";
        try
        {
            await using (var zipFile = files.Create(partial))
            await using (var manifestFile = files.Create(manifestPath))
            {
                await using (var zip = new ZipArchive(zipFile, ZipArchiveMode.Create, leaveOpen: true))
                {
                    await using (var manifest = new Utf8JsonWriter(manifestFile, new JsonWriterOptions { Indented = true }))
                    {
                        manifest.WriteStartObject();
                        manifest.WriteString("exportId", export.Id);
                        manifest.WriteString("requestedUtc", export.RequestedUtc);
                        manifest.WriteStartArray("messages");
                        var folders = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                        foreach (var environment in environments)
                            await WriteEnvironmentAsync(zip, manifest, export, environment, UniqueFolder(folders, environment), cancellationToken);
                        manifest.WriteEndArray();
                        manifest.WriteEndObject();
                    }
                    manifestFile.Position = 0;
                    var entry = zip.CreateEntry("manifest.json", CompressionLevel.Optimal);
                    await using var manifestEntry = await entry.OpenAsync(cancellationToken);
                    await manifestFile.CopyToAsync(manifestEntry, cancellationToken);
                }
            }
            File.Move(partial, path, overwrite: true);
            return new FileInfo(path).Length;
        }
        finally
        {
            File.Delete(manifestPath);
            File.Delete(partial);
        }
    }

    private async Task WriteEnvironmentAsync(ZipArchive zip, Utf8JsonWriter manifest, MessageExport export, ProjectEnvironment environment, string folder, CancellationToken cancellationToken)
    {
        MessageCursor? after = null;
        do
        {
            var page = await store.ListAsync(new MessageListQuery([environment.Id], null, after, PageSize), cancellationToken);
            foreach (var message in page.Items)
            {
                // Deleted since the page was read (purge, clearing): skip it.
                await using var raw = await store.OpenRawAsync(message.Id, [environment.Id], cancellationToken);
                if (raw is null) continue;
                var name = $"{folder}/{message.ReceivedUtc:yyyyMMdd-HHmmss}-{message.Id:N}.eml";
                var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
                entry.LastWriteTime = new DateTimeOffset(message.ReceivedUtc, TimeSpan.Zero);
                await using (var target = await entry.OpenAsync(cancellationToken))
                    await raw.CopyToAsync(target, cancellationToken);
                WriteSummary(manifest, message, environment, name);
                export.ExportedMessages++;
                if (export.ExportedMessages % ProgressEvery == 0)
                    await SaveProgressAsync(export, ExportState.Running, cancellationToken);
            }
            await manifest.FlushAsync(cancellationToken);
            after = page.Next;
        } while (after is not null);
    }

    private static void WriteSummary(Utf8JsonWriter manifest, MessageListItem message, ProjectEnvironment environment, string file)
    {
        manifest.WriteStartObject();
        manifest.WriteString("file", file);
        manifest.WriteString("id", message.Id);
        manifest.WriteString("environmentId", environment.Id);
        manifest.WriteString("environment", environment.Name);
        manifest.WriteString("project", environment.Project?.Name);
        manifest.WriteString("receivedUtc", message.ReceivedUtc);
        manifest.WriteString("envelopeFrom", message.EnvelopeFrom);
        manifest.WriteString("envelopeTo", message.EnvelopeTo);
        manifest.WriteString("from", message.From);
        manifest.WriteString("to", message.To);
        manifest.WriteString("subject", message.Subject);
        manifest.WriteNumber("size", message.Size);
        manifest.WriteNumber("attachmentCount", message.AttachmentCount);
        manifest.WriteBoolean("isRead", message.IsRead);
        manifest.WriteEndObject();
    }

    /// <summary>"project-environment", safe in a zip path and unique within the export.</summary>
    private static string UniqueFolder(HashSet<string> taken, ProjectEnvironment environment)
    {
        var raw = environment.Project is { } project ? $"{project.Name}-{environment.Name}" : environment.Name;
        var safe = new StringBuilder();
        foreach (var c in raw)
            safe.Append(char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        var folder = safe.ToString().Trim('.', '_');
        if (folder.Length == 0) folder = "environment";
        var candidate = folder;
        for (var n = 2; !taken.Add(candidate); n++) candidate = $"{folder}-{n}";
        return candidate;
    }

    private async Task SaveProgressAsync(MessageExport export, ExportState state, CancellationToken cancellationToken)
    {
        export.State = state;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.MessageExports.Where(e => e.Id == export.Id).ExecuteUpdateAsync(s => s
            .SetProperty(e => e.State, state)
            .SetProperty(e => e.TotalMessages, export.TotalMessages)
            .SetProperty(e => e.ExportedMessages, export.ExportedMessages), cancellationToken);
    }
}
