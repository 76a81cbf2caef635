using System.Globalization;
using System.Text;

namespace Mailtest.Core.Messages;

/// <summary>Which text a search term looks in.</summary>
public enum SearchField
{
    /// <summary>The full-text index: subject, sender, recipients and body.</summary>
    Anywhere = 0,
    /// <summary>The From header and the envelope sender.</summary>
    From = 1,
    /// <summary>To, Cc and the envelope recipients (so Bcc recipients match).</summary>
    To = 2,
    Subject = 3,
}

public enum SearchFlag
{
    Unread = 0,
    Read = 1,
    HasAttachment = 2,
}

/// <summary>One term of the search box; <see cref="Negated"/> when written with a leading <c>-</c>.</summary>
public abstract record SearchTerm(bool Negated);

/// <summary>A case-insensitive substring of <see cref="Field"/> (a word, or a "quoted phrase").</summary>
public sealed record TextTerm(SearchField Field, string Value, bool Negated = false) : SearchTerm(Negated);

public sealed record FlagTerm(SearchFlag Flag, bool Negated = false) : SearchTerm(Negated);

/// <summary><c>tag:name</c>: the message has this tag (one whole tag, ignoring case; see <see cref="MessageTags"/>).</summary>
public sealed record TagTerm(string Name, bool Negated = false) : SearchTerm(Negated);

/// <summary><c>before:yyyy-mm-dd</c> (received before that day began, UTC) or <c>after:</c> (received after it began).</summary>
public sealed record DateTerm(bool IsBefore, DateOnly Date, bool Negated = false) : SearchTerm(Negated)
{
    public DateTime StartUtc => Date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
}

/// <summary>
/// The search box, parsed (Mailpit's syntax): plain words and <c>"quoted phrases"</c>,
/// <c>from:</c>, <c>to:</c>, <c>subject:</c> (each takes a word or a quoted phrase),
/// <c>tag:</c> (a word or a quoted phrase, one whole tag), <c>is:unread</c>, <c>is:read</c>, <c>has:attachment</c>, <c>before:</c>/<c>after:</c> with
/// <c>yyyy-mm-dd</c>, and <c>-</c> in front of any term to negate it. Every term must hold. Anything
/// that is not a known filter (<c>is:starred</c>, <c>before:soon</c>) is searched as text, so no
/// input is refused.
/// </summary>
public sealed record SearchQuery(IReadOnlyList<SearchTerm> Terms)
{
    public static readonly SearchQuery Empty = new([]);

    /// <summary>Terms beyond this many are ignored: each is a clause, and a pasted page of text must not become a query planner's problem.</summary>
    public const int MaxTerms = 20;

    public bool IsEmpty => Terms.Count == 0;

    public static SearchQuery Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Empty;
        var terms = new List<SearchTerm>();
        var position = 0;
        while (position < text.Length && terms.Count < MaxTerms)
        {
            if (char.IsWhiteSpace(text[position])) { position++; continue; }
            var negated = text[position] == '-' && position + 1 < text.Length && !char.IsWhiteSpace(text[position + 1]);
            if (negated) position++;
            var (prefix, value, quoted) = ReadToken(text, ref position);
            var term = ToTerm(prefix, value, quoted, negated);
            if (term is not null) terms.Add(term);
        }
        return new SearchQuery(terms);
    }

    /// <summary>Reads <c>word</c>, <c>"a phrase"</c>, <c>prefix:word</c> or <c>prefix:"a phrase"</c>.</summary>
    private static (string? Prefix, string Value, bool Quoted) ReadToken(string text, ref int position)
    {
        string? prefix = null;
        if (text[position] != '"')
        {
            var colon = -1;
            for (var i = position; i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '"'; i++)
                if (text[i] == ':') { colon = i; break; }
            if (colon > position)
            {
                prefix = text[position..colon].ToLowerInvariant();
                position = colon + 1;
            }
        }
        if (position < text.Length && text[position] == '"')
        {
            var close = text.IndexOf('"', position + 1);
            var end = close < 0 ? text.Length : close;
            var phrase = text[(position + 1)..end];
            position = close < 0 ? text.Length : close + 1;
            return (prefix, phrase, true);
        }
        var start = position;
        while (position < text.Length && !char.IsWhiteSpace(text[position])) position++;
        return (prefix, text[start..position], false);
    }

    private static SearchTerm? ToTerm(string? prefix, string value, bool quoted, bool negated)
    {
        switch (prefix)
        {
            case null:
                return value.Length == 0 ? null : new TextTerm(SearchField.Anywhere, value, negated);
            case "from" or "to" or "subject":
                if (value.Length == 0) return null;
                var field = prefix switch { "from" => SearchField.From, "to" => SearchField.To, _ => SearchField.Subject };
                return new TextTerm(field, value, negated);
            case "tag" when MessageTags.Clean(value) is { Length: > 0 } tag:
                return new TagTerm(tag, negated);
            case "is" when !quoted && value.Equals("unread", StringComparison.OrdinalIgnoreCase):
                return new FlagTerm(SearchFlag.Unread, negated);
            case "is" when !quoted && value.Equals("read", StringComparison.OrdinalIgnoreCase):
                return new FlagTerm(SearchFlag.Read, negated);
            case "has" when !quoted && (value.Equals("attachment", StringComparison.OrdinalIgnoreCase) || value.Equals("attachments", StringComparison.OrdinalIgnoreCase)):
                return new FlagTerm(SearchFlag.HasAttachment, negated);
            case "before" or "after" when DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date):
                return new DateTerm(prefix == "before", date, negated);
            default:
                // Not a filter we know: search for what was typed, as typed.
                var whole = quoted ? $"{prefix}:\"{value}\"" : $"{prefix}:{value}";
                return new TextTerm(SearchField.Anywhere, whole, negated);
        }
    }

    public override string ToString()
    {
        var builder = new StringBuilder();
        foreach (var term in Terms)
        {
            if (builder.Length > 0) builder.Append(' ');
            if (term.Negated) builder.Append('-');
            builder.Append(term switch
            {
                TextTerm t => $"{t.Field}:\"{t.Value}\"",
                FlagTerm f => f.Flag.ToString(),
                TagTerm t => $"tag:\"{t.Name}\"",
                DateTerm d => $"{(d.IsBefore ? "before" : "after")}:{d.Date:yyyy-MM-dd}",
                _ => term.ToString(),
            });
        }
        return builder.ToString();
    }
}
