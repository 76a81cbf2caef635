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
    /// <summary>
    /// The messages of <paramref name="messages"/> (already confined to the caller's environments and
    /// the page cursor) that satisfy every term; null when a full-text term matches nothing at all,
    /// so the caller answers at once instead of walking the environment.
    /// </summary>
    public static async Task<IQueryable<CapturedMessage>?> ApplyAsync(IQueryable<CapturedMessage> messages, SearchQuery search, MailtestDbContext db, CancellationToken cancellationToken)
    {
        var scoped = messages;
        foreach (var term in search.Terms)
        {
            Expression<Func<CapturedMessage, bool>>? predicate = term switch
            {
                TextTerm { Field: SearchField.Anywhere } text => await FullTextAsync(db, scoped, text.Value, cancellationToken),
                TextTerm text => FieldContains(text.Field, ContainsPattern(text.Value), db.IsSqlite),
                FlagTerm { Flag: SearchFlag.Unread } => m => !m.IsRead,
                FlagTerm { Flag: SearchFlag.Read } => m => m.IsRead,
                FlagTerm { Flag: SearchFlag.HasAttachment } => m => m.AttachmentCount > 0,
                DateTerm { IsBefore: true } date => Before(date.StartUtc),
                DateTerm date => After(date.StartUtc),
                _ => throw new ArgumentOutOfRangeException(nameof(search), term, "Unknown search term."),
            };
            if (predicate is null)
            {
                if (!term.Negated) return null; // a word found nowhere: no message can match
                continue;                       // "-word" for a word found nowhere: every message does
            }
            messages = messages.Where(term.Negated ? Not(predicate) : predicate);
        }
        return messages;
    }

    private static Expression<Func<CapturedMessage, bool>> Before(DateTime start) => m => m.ReceivedUtc < start;
    private static Expression<Func<CapturedMessage, bool>> After(DateTime start) => m => m.ReceivedUtc >= start;

    /// <summary>
    /// A free-text term, driven the cheap way round. A term found in no message: null, answered at once.
    /// A rare term: the index matches drive the query (a few hundred rows sorted by date). A common one:
    /// the environment is walked newest first and each message's text tested, which fills a page after
    /// a few dozen rows, where gathering every match first would cost hundreds of milliseconds.
    /// </summary>
    private static Task<Expression<Func<CapturedMessage, bool>>?> FullTextAsync(MailtestDbContext db, IQueryable<CapturedMessage> scoped, string value, CancellationToken cancellationToken) =>
        db.IsSqlite ? SqliteFullTextAsync(db, value, cancellationToken) : PostgresFullTextAsync(db, scoped, value, cancellationToken);

    private static async Task<Expression<Func<CapturedMessage, bool>>?> SqliteFullTextAsync(MailtestDbContext db, string value, CancellationToken cancellationToken)
    {
        var textPattern = ContainsPattern(value);
        Expression<Func<CapturedMessage, bool>> walk = m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.Like(e.Text, textPattern, Escape));
        // FTS5's trigram tokenizer answers LIKE from its index only without an ESCAPE clause, and
        // only for three characters or more: anything else is tested row by row.
        if (NeedsEscape(value) || value.Length < 3) return walk;
        var indexPattern = $"%{value}%";
        var rowIds = await db.MessageSearchIndex.Where(r => EF.Functions.Like(r.Text, indexPattern))
            .Select(r => r.RowId).Take(CommonTermMatches + 1).ToListAsync(cancellationToken);
        if (rowIds.Count == 0) return null;
        if (rowIds.Count > CommonTermMatches) return walk;
        var ids = await db.MessageSearchEntries.Where(e => rowIds.Contains(e.Id)).Select(e => e.MessageId).ToListAsync(cancellationToken);
        return m => ids.Contains(m.Id);
    }

    private static async Task<Expression<Func<CapturedMessage, bool>>?> PostgresFullTextAsync(MailtestDbContext db, IQueryable<CapturedMessage> scoped, string value, CancellationToken cancellationToken)
    {
        var pattern = ContainsPattern(value);
        // `Text || ''` keeps PostgreSQL off the trigram index: this is the newest-first walk.
        Expression<Func<CapturedMessage, bool>> walk = m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.ILike(e.Text + "", pattern, Escape));
        // How common is the term here? Test the newest rows of these environments (cheap, and it is
        // the very walk a common term needs anyway). PostgreSQL cannot stop a trigram index scan
        // early, so asking the index first would cost as much as answering from it.
        var newest = scoped.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Take(ProbeRows);
        if (await newest.CountAsync(cancellationToken) < ProbeRows) return walk; // few messages: walking them all is cheap
        if (await newest.Where(walk).CountAsync(cancellationToken) >= ProbeRows / CommonTermDivisor) return walk;
        // Rare here: the trigram index gathers its matches (none: answered at once).
        var matching = db.MessageSearchEntries.Where(e => EF.Functions.ILike(e.Text, pattern, Escape)).Select(e => e.MessageId);
        if (!await matching.AnyAsync(cancellationToken)) return null;
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

    /// <summary>SQLite: from this many index matches on, a term counts as common (see <see cref="FullTextAsync"/>).</summary>
    private const int CommonTermMatches = 2000;

    /// <summary>PostgreSQL: how many of the newest messages the probe tests, and the share of them
    /// (one in <see cref="CommonTermDivisor"/>) from which a term counts as common.</summary>
    private const int ProbeRows = 1000;
    private const int CommonTermDivisor = 20;

    private static bool NeedsEscape(string value) => value.AsSpan().IndexOfAny('%', '_', '\\') >= 0;

    private static string ContainsPattern(string value) =>
        "%" + value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    private static Expression<Func<CapturedMessage, bool>> Not(Expression<Func<CapturedMessage, bool>> predicate) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(Expression.Not(predicate.Body), predicate.Parameters);
}
