using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Api;

/// <summary>The opaque <c>cursor</c> of the messages API: the keyset position of the last message of a page.</summary>
public static class MessageCursorText
{
    public static string? Format(MessageCursor? cursor) => cursor is null ? null
        : Base64Url.EncodeToString(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{cursor.ReceivedUtc.Ticks}.{cursor.Id:N}")));

    /// <summary>Null for no cursor; refuses one this API did not hand out.</summary>
    public static MessageCursor? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            var parts = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(text)).Split('.');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks <= DateTime.MaxValue.Ticks && Guid.TryParseExact(parts[1], "N", out var id))
                return new MessageCursor(new DateTime(ticks, DateTimeKind.Utc), id);
        }
        catch (FormatException) { }
        throw new TenancyException("The cursor is not one this API handed out; pass the nextCursor of the previous page.");
    }
}
