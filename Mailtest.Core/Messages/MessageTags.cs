using System.Text;

namespace Mailtest.Core.Messages;

/// <summary>
/// Mailpit's tag rules, in one place: a message's tags come from its <c>X-Tags</c> header
/// (comma-separated) or are set through the API; each tag keeps only <c>a-z A-Z 0-9 - _ .</c> and
/// single spaces, trimmed (anything else is dropped, as Mailpit does); tags are distinct ignoring
/// case (the first spelling wins) and sorted. Stored on <see cref="CapturedMessage.Tags"/> joined by
/// commas, which no tag can contain, so <c>tag:</c> is an exact match of one comma-separated item.
/// </summary>
public static class MessageTags
{
    public const char Separator = ',';

    /// <summary>A header's comma-separated tags (every <c>X-Tags</c> header of the message), cleaned.</summary>
    public static IReadOnlyList<string> FromHeaders(IEnumerable<string> headerValues) =>
        Normalize(headerValues.SelectMany(v => v.Split(Separator)));

    /// <summary>Cleaned, distinct ignoring case, sorted; empty ones dropped.</summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string?> tags) =>
        [.. tags.Select(Clean).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Only letters, digits, <c>-</c>, <c>_</c>, <c>.</c> and single inner spaces (Mailpit's set); empty when nothing is left.</summary>
    public static string Clean(string? tag)
    {
        var cleaned = new StringBuilder(tag?.Length ?? 0);
        foreach (var c in tag ?? "")
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') cleaned.Append(c);
            else if (c == ' ' && cleaned.Length > 0 && cleaned[^1] != ' ') cleaned.Append(' ');
        }
        return cleaned.ToString().TrimEnd();
    }

    /// <summary>The stored form: null for no tags.</summary>
    public static string? Join(IReadOnlyCollection<string> normalized) => normalized.Count == 0 ? null : string.Join(Separator, normalized);

    /// <summary>The stored form read back.</summary>
    public static IReadOnlyList<string> Split(string? stored) =>
        string.IsNullOrEmpty(stored) ? [] : stored.Split(Separator, StringSplitOptions.RemoveEmptyEntries);

    public static bool Has(string? stored, string tag) => Split(stored).Contains(tag, StringComparer.OrdinalIgnoreCase);
}
