using System.Net;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Mailtest.Core.Messages.Mailbox;

public sealed record ComposedAddress(string Email, string? Name = null);

/// <param name="Content">The decoded bytes.</param>
/// <param name="ContentId">Set for an inline part that the HTML refers to as <c>cid:</c>.</param>
public sealed record ComposedAttachment(string FileName, string ContentType, byte[] Content, string? ContentId = null);

/// <summary>A message described field by field (Mailpit's <c>send</c> shape), for seeding test data.</summary>
public sealed record ComposedMessage(
    ComposedAddress From, IReadOnlyList<ComposedAddress> To, IReadOnlyList<ComposedAddress>? Cc = null, IReadOnlyList<ComposedAddress>? Bcc = null,
    IReadOnlyList<ComposedAddress>? ReplyTo = null, string? Subject = null, string? Text = null, string? Html = null,
    IReadOnlyList<ComposedAttachment>? Attachments = null, IReadOnlyDictionary<string, string>? Headers = null, IReadOnlyList<string>? Tags = null);

/// <summary>
/// Adds a message to an environment without SMTP — for seeding test data — through the same
/// <see cref="MessageIngest"/> as SMTP: same parsing, sealing, batching writer and live event, the
/// plan's message size limit and the organization's quota. Needs <see cref="MailAccess.Change"/>.
/// </summary>
public sealed class MessageInjection(
    AccessRules access, MessageIngest ingest, OrganizationUsage usage, IOptions<PlanOptions> plans, IOptions<DataOptions> data)
{
    /// <summary>Stores a raw .eml; the envelope is read from its From/Sender and To/Cc/Bcc headers.</summary>
    public async Task<Guid> InjectRawAsync(Caller caller, Guid environmentId, Stream eml, CancellationToken cancellationToken = default)
    {
        var (organizationId, limits) = await RequireAsync(caller, environmentId, cancellationToken);
        var path = await SpoolAsync(eml, limits.MaxMessageBytes, cancellationToken);
        try
        {
            MimeMessage message;
            try { message = await MimeMessage.LoadAsync(path, cancellationToken); }
            catch (FormatException) { throw new TenancyException("The body is not an RFC 5322 message (.eml)."); }
            using var _ = message; // MimeKit's messages have finalizers (see MimeSummary.ReadAsync)
            var sender = (message.Sender ?? message.From.Mailboxes.FirstOrDefault())?.Address ?? "";
            var recipients = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).Select(m => m.Address).Distinct().ToList();
            if (recipients.Count == 0)
                throw new TenancyException("The message names no recipient: give it a To, Cc or Bcc header.");
            return await StoreAsync(organizationId, environmentId, limits, sender, recipients, path, cancellationToken);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Builds a MIME message from its fields (text and/or HTML, attachments, extra headers) and stores it.</summary>
    public async Task<Guid> InjectAsync(Caller caller, Guid environmentId, ComposedMessage composed, CancellationToken cancellationToken = default)
    {
        var (organizationId, limits) = await RequireAsync(caller, environmentId, cancellationToken);
        using var message = Compose(composed);
        var recipients = composed.To.Concat(composed.Cc ?? []).Concat(composed.Bcc ?? []).Select(a => a.Email).Distinct().ToList();
        using var buffer = new MemoryStream();
        await message.WriteToAsync(buffer, cancellationToken);
        buffer.Position = 0;
        var path = await SpoolAsync(buffer, limits.MaxMessageBytes, cancellationToken);
        try { return await StoreAsync(organizationId, environmentId, limits, composed.From.Email, recipients, path, cancellationToken); }
        finally { File.Delete(path); }
    }

    /// <summary>The MIME message for <paramref name="composed"/>; Bcc goes to the envelope only, as with SMTP.</summary>
    public static MimeMessage Compose(ComposedMessage composed)
    {
        if (string.IsNullOrWhiteSpace(composed.From?.Email))
            throw new TenancyException("Give the message a sender: \"from\": { \"email\": \"app@example.com\" }.");
        if (composed.To.Count + (composed.Cc?.Count ?? 0) + (composed.Bcc?.Count ?? 0) == 0)
            throw new TenancyException("Give the message at least one recipient in to, cc or bcc.");
        var message = new MimeMessage();
        message.From.Add(Address(composed.From));
        message.To.AddRange(composed.To.Select(Address));
        message.Cc.AddRange((composed.Cc ?? []).Select(Address));
        message.ReplyTo.AddRange((composed.ReplyTo ?? []).Select(Address));
        message.Subject = composed.Subject ?? "";
        message.Date = DateTimeOffset.UtcNow;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("mailtest.local");
        foreach (var (name, value) in composed.Headers ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrWhiteSpace(name) || name.Any(c => c <= ' ' || c == ':' || c > '~'))
                throw new TenancyException($"'{name}' is not a valid header name.");
            message.Headers.Add(name, value);
        }
        if (composed.Tags is { Count: > 0 } tags)
            message.Headers.Add("X-Tags", string.Join(", ", tags));

        var body = new BodyBuilder { TextBody = composed.Text, HtmlBody = composed.Html };
        foreach (var attachment in composed.Attachments ?? [])
        {
            if (!ContentType.TryParse(attachment.ContentType ?? "application/octet-stream", out var type))
                throw new TenancyException($"'{attachment.ContentType}' is not a valid content type.");
            var part = attachment.ContentId is { Length: > 0 }
                ? body.LinkedResources.Add(attachment.FileName, attachment.Content, type)
                : body.Attachments.Add(attachment.FileName, attachment.Content, type);
            if (attachment.ContentId is { Length: > 0 } contentId) part.ContentId = contentId.Trim('<', '>');
        }
        message.Body = body.ToMessageBody();
        return message;
    }

    private static MailboxAddress Address(ComposedAddress address)
    {
        if (!MailboxAddress.TryParse(address.Email, out var parsed) || !parsed.Address.Contains('@'))
            throw new TenancyException($"'{address.Email}' is not an email address.");
        parsed.Name = address.Name ?? parsed.Name;
        return parsed;
    }

    private async Task<(Guid OrganizationId, PlanLimits Limits)> RequireAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken)
    {
        var environment = await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var organization = environment.Project!.Organization!;
        var limits = plans.Value.For(organization.Plan);
        if (!limits.MailtestAvailable)
            throw new AccessDeniedException("Mailtest is not available on the Free plan; upgrade to Starter, Pro or Agency.");
        return (organization.Id, limits);
    }

    private async Task<Guid> StoreAsync(Guid organizationId, Guid environmentId, PlanLimits limits, string sender, IReadOnlyList<string> recipients, string path, CancellationToken cancellationToken)
    {
        var used = await usage.GetAsync(organizationId, cancellationToken);
        if (used.MessageCount >= limits.MessageCap || used.Bytes + new FileInfo(path).Length > limits.StorageCapBytes)
            throw new RefusalException(HttpStatusCode.InsufficientStorage, "Your organization's message or storage quota is full; delete messages or upgrade the plan.");
        return await ingest.IngestAsync(new IngestRequest(organizationId, environmentId, sender, recipients, SpooledMessage.FromFile(path)), cancellationToken);
    }

    /// <summary>Copies the message to a private file, refusing it as soon as it passes the plan's size limit.</summary>
    private async Task<string> SpoolAsync(Stream source, long maxBytes, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(data.Value.FullDirectory, "inject");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, Guid.NewGuid().ToString("N") + ".eml");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // mail is private
        try
        {
            await using var file = new FileStream(path, options);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > maxBytes)
                    throw new RefusalException(HttpStatusCode.RequestEntityTooLarge, $"The message is larger than your plan's limit of {maxBytes / (1024 * 1024)} MB.");
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            if (total == 0) throw new TenancyException("Send the message: a JSON body, or a raw .eml with Content-Type: message/rfc822.");
            return path;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
