using System.Linq.Expressions;
using System.Text.Json;
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
    /// The messages that satisfy every term, within <paramref name="scope"/> (the caller's environments
    /// and the page cursor); null when a free-text term matches nothing at all, so the caller answers
    /// at once instead of walking the environment.
    /// </summary>
    public static async Task<IQueryable<CapturedMessage>?> ApplyAsync(MailtestDbContext db, Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>> scope,
        SearchQuery search, CancellationToken cancellationToken)
    {
        var predicates = new List<Expression<Func<CapturedMessage, bool>>>();
        List<Guid>? drivingMatches = null;
        foreach (var term in search.Terms)
        {
            if (term is TextTerm { Field: SearchField.Anywhere } text)
            {
                var match = await FullTextAsync(db, scope(db.Messages.AsNoTracking()), text.Value, cancellationToken);
                if (match is null)
                {
                    if (!term.Negated) return null; // a word found nowhere: no message can match
                    continue;                       // "-word" for a word found nowhere: every message does
                }
                predicates.Add(term.Negated ? Not(match.Predicate) : match.Predicate);
                if (!term.Negated && match.Matches is { } matches && (drivingMatches is null || matches.Count < drivingMatches.Count))
                    drivingMatches = matches;
                continue;
            }
            var predicate = term switch
            {
                TextTerm field => FieldContains(field.Field, ContainsPattern(field.Value), db.IsSqlite),
                TagTerm tag => HasTag(tag.Name, db.IsSqlite),
                FlagTerm { Flag: SearchFlag.Unread } => m => !m.IsRead,
                FlagTerm { Flag: SearchFlag.Read } => m => m.IsRead,
                FlagTerm { Flag: SearchFlag.HasAttachment } => m => m.AttachmentCount > 0,
                DateTerm { IsBefore: true } date => Before(date.StartUtc),
                DateTerm date => After(date.StartUtc),
                _ => throw new ArgumentOutOfRangeException(nameof(search), term, "Unknown search term."),
            };
            predicates.Add(term.Negated ? Not(predicate) : predicate);
        }
        // SQLite's planner, left alone, walks the environment's index newest first and tests each row
        // against the match list (a whole environment for a rare word); CROSS JOIN makes the few
        // matches drive instead. PostgreSQL's planner finds that order from its statistics.
        var source = drivingMatches is not null && db.IsSqlite ? DrivenBy(db, drivingMatches) : db.Messages;
        var messages = scope(source.AsNoTracking());
        foreach (var predicate in predicates) messages = messages.Where(predicate);
        return messages;
    }

    private static IQueryable<CapturedMessage> DrivenBy(MailtestDbContext db, List<Guid> messageIds)
    {
        // Upper-case text: how EF Core stores a Guid in SQLite.
        var json = JsonSerializer.Serialize(messageIds.Select(id => id.ToString().ToUpperInvariant()));
        return db.Messages.FromSql($"""SELECT m.* FROM json_each({json}) AS i CROSS JOIN "Messages" AS m ON m."Id" = i.value""");
    }

    private static Expression<Func<CapturedMessage, bool>> Before(DateTime start) => m => m.ReceivedUtc < start;
    private static Expression<Func<CapturedMessage, bool>> After(DateTime start) => m => m.ReceivedUtc >= start;

    /// <summary>How a free-text term is answered: a predicate, and for a rare term the ids of its matches (at most <see cref="CommonTermMatches"/>), which can drive the query.</summary>
    private sealed record FullTextMatch(Expression<Func<CapturedMessage, bool>> Predicate, List<Guid>? Matches);

    /// <summary>
    /// A free-text term, driven the cheap way round. Found in no message: null, answered at once. Rare:
    /// the index gathers its matches (at most a couple of thousand) and they drive the query. Common:
    /// the environment is walked newest first and each message's text tested, which fills a page after
    /// a few dozen rows, where gathering every match first would cost hundreds of milliseconds.
    /// </summary>
    private static Task<FullTextMatch?> FullTextAsync(MailtestDbContext db, IQueryable<CapturedMessage> scoped, string value, CancellationToken cancellationToken) =>
        db.IsSqlite ? SqliteFullTextAsync(db, value, cancellationToken) : PostgresFullTextAsync(db, scoped, value, cancellationToken);

    private static async Task<FullTextMatch?> SqliteFullTextAsync(MailtestDbContext db, string value, CancellationToken cancellationToken)
    {
        var pattern = ContainsPattern(value);
        var walk = new FullTextMatch(m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.Like(e.Text, pattern, Escape)), null);
        var trigrams = TrigramQuery(value);
        if (trigrams is null) return walk; // under three characters: the trigram index cannot help
        // Candidates from the index alone (rows holding every trigram of the term, whatever their
        // order: detail=none keeps no positions), without reading any text; then each candidate's
        // text decides. Past CommonTermMatches candidates the term is common: walk instead.
        var candidates = await db.Database.SqlQuery<long>(
                $"""SELECT rowid AS "Value" FROM "MessageSearchIndex" WHERE "MessageSearchIndex" MATCH {trigrams} LIMIT {CommonTermMatches + 1}""")
            .ToListAsync(cancellationToken);
        if (candidates.Count == 0) return null;
        if (candidates.Count > CommonTermMatches) return walk;
        var matches = await db.MessageSearchEntries.Where(e => candidates.Contains(e.Id) && EF.Functions.Like(e.Text, pattern, Escape))
            .Select(e => e.MessageId).ToListAsync(cancellationToken);
        return matches.Count == 0 ? null : new FullTextMatch(m => matches.Contains(m.Id), matches);
    }

    /// <summary>An FTS5 query for rows holding every trigram of <paramref name="value"/> (null under three characters).</summary>
    private static string? TrigramQuery(string value)
    {
        var characters = value.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (characters.Length < 3) return null;
        var trigrams = Enumerable.Range(0, characters.Length - 2)
            .Select(i => string.Concat(characters[i], characters[i + 1], characters[i + 2]))
            .Distinct()
            .Select(t => "\"" + t.Replace("\"", "\"\"") + "\"");
        return string.Join(" AND ", trigrams);
    }

    private static async Task<FullTextMatch?> PostgresFullTextAsync(MailtestDbContext db, IQueryable<CapturedMessage> scoped, string value, CancellationToken cancellationToken)
    {
        var pattern = ContainsPattern(value);
        // The newest-first walk: the text as a scalar subquery per message. Written as EXISTS, PostgreSQL
        // turns it into a join, misjudges how many rows match, and scans every search entry instead.
        Expression<Func<CapturedMessage, bool>> walkPredicate = m =>
            EF.Functions.ILike(db.MessageSearchEntries.Where(e => e.MessageId == m.Id).Select(e => e.Text).FirstOrDefault() ?? "", pattern, Escape);
        var walk = new FullTextMatch(walkPredicate, null);
        // How common is the term here? Test the newest rows of these environments (cheap, and the very
        // walk a common term needs anyway): a trigram index scan cannot stop early, so asking the
        // index first about a word found in most messages would cost as much as answering from it.
        var newest = scoped.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Take(ProbeRows);
        if (await newest.CountAsync(cancellationToken) < ProbeRows) return walk; // few messages: walking them all is cheap
        if (await newest.Where(walkPredicate).CountAsync(cancellationToken) >= ProbeRows / CommonTermDivisor) return walk;
        // Rare here: the trigram index gathers its matches (none: answered at once).
        var matches = await db.MessageSearchEntries.Where(e => EF.Functions.ILike(e.Text, pattern, Escape))
            .Select(e => e.MessageId).Take(CommonTermMatches + 1).ToListAsync(cancellationToken);
        if (matches.Count == 0) return null;
        if (matches.Count > CommonTermMatches) return walk;
        return new FullTextMatch(m => matches.Contains(m.Id), matches);
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

    /// <summary>One whole item of the comma-separated <see cref="CapturedMessage.Tags"/>, ignoring case (tags are ASCII, see <see cref="MessageTags"/>).</summary>
    internal static Expression<Func<CapturedMessage, bool>> HasTag(string tag, bool sqlite)
    {
        var pattern = ContainsPattern(MessageTags.Separator + tag + MessageTags.Separator);
        return sqlite
            ? m => EF.Functions.Like("," + (m.Tags ?? "") + ",", pattern, Escape)
            : m => EF.Functions.ILike("," + (m.Tags ?? "") + ",", pattern, Escape);
    }

    private const string Escape = "\\";

    /// <summary>From this many index matches (SQLite: candidates) on, a term counts as common (see <see cref="FullTextAsync"/>).</summary>
    private const int CommonTermMatches = 2000;

    /// <summary>PostgreSQL: how many of the newest messages the probe tests, and the share of them
    /// (one in <see cref="CommonTermDivisor"/>) from which a term counts as common.</summary>
    private const int ProbeRows = 1000;
    private const int CommonTermDivisor = 20;

    private static string ContainsPattern(string value) =>
        "%" + value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    private static Expression<Func<CapturedMessage, bool>> Not(Expression<Func<CapturedMessage, bool>> predicate) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(Expression.Not(predicate.Body), predicate.Parameters);
}
