namespace Mailtest.Core.Messages;

/// <summary>What a search looks at in one message: its summary columns and its search text.</summary>
/// <param name="Text">The message's <see cref="MessageSearchEntry.Text"/> (subject, senders, recipients, body).</param>
public sealed record SearchCandidate(
    string EnvelopeFrom, string EnvelopeTo, string? From, string? To, string? Cc, string? Subject,
    bool IsRead, int AttachmentCount, DateTime ReceivedUtc, string Text, string? Tags);

/// <summary>
/// A <see cref="SearchQuery"/> evaluated against one message in memory, with the meaning
/// <see cref="MessageSearchFilter"/> gives it in the database (case-insensitive substrings, every term
/// must hold). Wait-for-message uses it on a message the moment it is stored, because the full-text
/// index is brought up to date a fraction of a second after the commit; SearchMatchAgreementContract
/// holds the two to the same answers.
/// </summary>
public static class MessageSearchMatch
{
    public static bool Matches(this SearchQuery query, SearchCandidate message) =>
        query.Terms.All(term => Holds(term, message) != term.Negated);

    private static bool Holds(SearchTerm term, SearchCandidate m) => term switch
    {
        TextTerm { Field: SearchField.Anywhere } t => Contains(m.Text, t.Value),
        TextTerm { Field: SearchField.From } t => Contains(m.EnvelopeFrom, t.Value) || Contains(m.From, t.Value),
        TextTerm { Field: SearchField.To } t => Contains(m.EnvelopeTo, t.Value) || Contains(m.To, t.Value) || Contains(m.Cc, t.Value),
        TextTerm { Field: SearchField.Subject } t => Contains(m.Subject, t.Value),
        TagTerm t => MessageTags.Has(m.Tags, t.Name),
        FlagTerm { Flag: SearchFlag.Unread } => !m.IsRead,
        FlagTerm { Flag: SearchFlag.Read } => m.IsRead,
        FlagTerm { Flag: SearchFlag.HasAttachment } => m.AttachmentCount > 0,
        DateTerm { IsBefore: true } d => m.ReceivedUtc < d.StartUtc,
        DateTerm d => m.ReceivedUtc >= d.StartUtc,
        _ => throw new ArgumentOutOfRangeException(nameof(term), term, "Unknown search term."),
    };

    private static bool Contains(string? text, string value) => (text ?? "").Contains(value, StringComparison.OrdinalIgnoreCase);
}
