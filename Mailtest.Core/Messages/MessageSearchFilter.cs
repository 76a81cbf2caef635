using System.Linq.Expressions;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Messages;

/// <summary>
/// Turns a <see cref="SearchQuery"/> into WHERE clauses. Free text goes through the full-text index
/// (SQLite FTS5 trigram, PostgreSQL pg_trgm with ILIKE): case-insensitive substrings. Field filters
/// (from:, to:, subject:) are case-insensitive substrings of the summary columns, evaluated only on
/// the environment's rows.
/// </summary>
internal static class MessageSearchFilter
{
    public static async Task<IQueryable<CapturedMessage>> ApplyAsync(IQueryable<CapturedMessage> messages, SearchQuery search, MailtestDbContext db, CancellationToken cancellationToken)
    {
        foreach (var term in search.Terms)
        {
            var predicate = term switch
            {
                TextTerm { Field: SearchField.Anywhere } text => await FullTextAsync(db, text.Value, cancellationToken),
                TextTerm text => FieldContains(text.Field, ContainsPattern(text.Value), db.IsSqlite),
                FlagTerm { Flag: SearchFlag.Unread } => m => !m.IsRead,
                FlagTerm { Flag: SearchFlag.Read } => m => m.IsRead,
                FlagTerm { Flag: SearchFlag.HasAttachment } => m => m.AttachmentCount > 0,
                DateTerm { IsBefore: true } date => Before(date.StartUtc),
                DateTerm date => After(date.StartUtc),
                _ => throw new ArgumentOutOfRangeException(nameof(search), term, "Unknown search term."),
            };
            messages = messages.Where(term.Negated ? Not(predicate) : predicate);
        }
        return messages;
    }

    private static Expression<Func<CapturedMessage, bool>> Before(DateTime start) => m => m.ReceivedUtc < start;
    private static Expression<Func<CapturedMessage, bool>> After(DateTime start) => m => m.ReceivedUtc >= start;

    private static async Task<Expression<Func<CapturedMessage, bool>>> FullTextAsync(MailtestDbContext db, string value, CancellationToken cancellationToken)
    {
        IQueryable<Guid> matching;
        if (db.IsSqlite)
        {
            // FTS5's trigram tokenizer answers LIKE from its index, but only without an ESCAPE clause.
            var pattern = NeedsEscape(value) ? ContainsPattern(value) : $"%{value}%";
            var rows = NeedsEscape(value)
                ? db.MessageSearchIndex.Where(r => EF.Functions.Like(r.Text, pattern, Escape))
                : db.MessageSearchIndex.Where(r => EF.Functions.Like(r.Text, pattern));
            // A term found in thousands of messages: gathering every match before sorting by date costs
            // hundreds of milliseconds, while walking the environment's messages newest first finds a
            // page of matches after a few dozen rows. A rare term: the index is the fast way.
            if (await rows.Select(r => r.RowId).Take(CommonTermMatches).CountAsync(cancellationToken) >= CommonTermMatches)
            {
                var textPattern = ContainsPattern(value);
                return m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.Like(e.Text, textPattern, Escape));
            }
            var rowIds = rows.Select(r => r.RowId);
            matching = db.MessageSearchEntries.Where(e => rowIds.Contains(e.Id)).Select(e => e.MessageId);
        }
        else
        {
            var pattern = ContainsPattern(value);
            matching = db.MessageSearchEntries.Where(e => EF.Functions.ILike(e.Text, pattern, Escape)).Select(e => e.MessageId);
        }
        return m => matching.Contains(m.Id);
    }

    private static Expression<Func<CapturedMessage, bool>> FieldContains(SearchField field, string pattern, bool sqlite) => (field, sqlite) switch
    {
        // SQLite's LIKE ignores case (ASCII); PostgreSQL needs ILIKE.
        (SearchField.From, true) => m => EF.Functions.Like(m.EnvelopeFrom, pattern, Escape) || EF.Functions.Like(m.From ?? "", pattern, Escape),
        (SearchField.From, false) => m => EF.Functions.ILike(m.EnvelopeFrom, pattern, Escape) || EF.Functions.ILike(m.From ?? "", pattern, Escape),
        (SearchField.To, true) => m => EF.Functions.Like(m.EnvelopeTo, pattern, Escape) || EF.Functions.Like(m.To ?? "", pattern, Escape) || EF.Functions.Like(m.Cc ?? "", pattern, Escape),
        (SearchField.To, false) => m => EF.Functions.ILike(m.EnvelopeTo, pattern, Escape) || EF.Functions.ILike(m.To ?? "", pattern, Escape) || EF.Functions.ILike(m.Cc ?? "", pattern, Escape),
        (SearchField.Subject, true) => m => EF.Functions.Like(m.Subject ?? "", pattern, Escape),
        (SearchField.Subject, false) => m => EF.Functions.ILike(m.Subject ?? "", pattern, Escape),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "Not a field filter."),
    };

    private const string Escape = "\\";

    /// <summary>From this many index matches on, a term counts as common (see <see cref="FullTextAsync"/>).</summary>
    private const int CommonTermMatches = 2000;

    private static bool NeedsEscape(string value) => value.AsSpan().IndexOfAny('%', '_', '\\') >= 0;

    private static string ContainsPattern(string value) =>
        "%" + value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    private static Expression<Func<CapturedMessage, bool>> Not(Expression<Func<CapturedMessage, bool>> predicate) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(Expression.Not(predicate.Body), predicate.Parameters);
}
