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
                var match = await FullTextAsync(db, scope, text.Value, cancellationToken);
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
    /// A free-text term, driven the cheap way round. Found in no message (of these environments): null,
    /// answered at once. Rare: the index gathers its matches (at most a couple of thousand) and they
    /// drive the query. Common: the environment is walked newest first and each message's text tested,
    /// which fills a page after a few dozen rows, where gathering every match first would cost hundreds
    /// of milliseconds.
    /// </summary>
    private static Task<FullTextMatch?> FullTextAsync(MailtestDbContext db, Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>> scope, string value, CancellationToken cancellationToken) =>
        db.IsSqlite ? SqliteFullTextAsync(db, scope, value, cancellationToken) : PostgresFullTextAsync(db, scope(db.Messages.AsNoTracking()), value, cancellationToken);

    private static async Task<FullTextMatch?> SqliteFullTextAsync(MailtestDbContext db, Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>> scope, string value, CancellationToken cancellationToken)
    {
        var pattern = ContainsPattern(value);
        var walk = new FullTextMatch(m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.Like(e.Text, pattern, Escape)), null);
        var trigrams = SearchTrigrams.MatchQuery(value);
        if (trigrams is null) return walk; // no piece of three characters between spaces: the trigram index cannot help
        var candidates = await IndexCandidatesAsync(CommonTermMatches);
        if (candidates.Count == 0) return null;
        // Rare: the matches drive the query.
        if (candidates.Count <= CommonTermMatches) return await DrivenByMatchesAsync(db.MessageSearchEntries.Where(e => EF.Parameter(candidates).Contains(e.Id)));
        if (await CommonHereAsync(scope(db.Messages.AsNoTracking()), walk.Predicate, cancellationToken)) return walk;
        // Common elsewhere, rare or absent here: which of the candidates are in these environments
        // decides (index lookups, no text read). None: answered at once. Few: they drive the query.
        // Many: the walk, reading a message's text only when the index names it.
        candidates = await IndexCandidatesAsync(PrefilterCandidates);
        if (candidates.Count > PrefilterCandidates) return walk;
        var json = JsonSerializer.Serialize(candidates);
        var candidatesHere = await scope(db.Messages.FromSql($"""
                SELECT m.* FROM json_each({json}) AS i CROSS JOIN "MessageSearchEntries" AS e ON e."Id" = i.value CROSS JOIN "Messages" AS m ON m."Id" = e."MessageId"
                """).AsNoTracking())
            .Select(m => m.Id).Take(CommonTermMatches + 1).ToListAsync(cancellationToken);
        if (candidatesHere.Count == 0) return null;
        if (candidatesHere.Count <= CommonTermMatches) return await DrivenByMatchesAsync(db.MessageSearchEntries.Where(e => EF.Parameter(candidatesHere).Contains(e.MessageId)));
        return new FullTextMatch(m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Parameter(candidates).Contains(e.Id) && EF.Functions.Like(e.Text, pattern, Escape)), null);

        // Candidates from the index alone (rows holding every trigram of the term's whitespace-free
        // pieces, whatever their order and place: the index keeps no positions), without reading any
        // text; at most limit + 1. LIKE on the stored text decides.
        Task<List<long>> IndexCandidatesAsync(int limit) => db.Database.SqlQuery<long>(
                $"""SELECT rowid AS "Value" FROM "MessageSearchIndex" WHERE "MessageSearchIndex" MATCH {trigrams} LIMIT {limit + 1}""")
            .ToListAsync(cancellationToken);

        // Each candidate's text decides; the matches (none: null) drive the query.
        async Task<FullTextMatch?> DrivenByMatchesAsync(IQueryable<MessageSearchEntry> candidateEntries)
        {
            var matches = await candidateEntries.Where(e => EF.Functions.Like(e.Text, pattern, Escape)).Select(e => e.MessageId).ToListAsync(cancellationToken);
            // One JSON (SQLite) or array (PostgreSQL) parameter: a list spelled out as constants is new SQL, planned again, every time.
            return matches.Count == 0 ? null : new FullTextMatch(m => EF.Parameter(matches).Contains(m.Id), matches);
        }
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
        if (await CommonHereAsync(scoped, walkPredicate, cancellationToken)) return walk;
        // Rare here: the trigram index gathers its matches in these environments (none: answered at
        // once, however common the term is elsewhere).
        var matches = await (from e in db.MessageSearchEntries.Where(e => EF.Functions.ILike(e.Text, pattern, Escape))
                             join m in scoped on e.MessageId equals m.Id
                             select m.Id).Take(CommonTermMatches + 1).ToListAsync(cancellationToken);
        if (matches.Count == 0) return null;
        if (matches.Count > CommonTermMatches) return walk;
        return new FullTextMatch(m => EF.Parameter(matches).Contains(m.Id), matches);
    }

    /// <summary>
    /// Whether a term is common in these environments: found in at least one in <see cref="CommonTermDivisor"/>
    /// of their newest <see cref="ProbeRows"/> messages (then the newest-first walk fills a page within
    /// a few thousand rows), or they hold fewer messages than that (walking them all is cheap).
    /// </summary>
    private static async Task<bool> CommonHereAsync(IQueryable<CapturedMessage> scoped, Expression<Func<CapturedMessage, bool>> walkPredicate, CancellationToken cancellationToken)
    {
        var newest = scoped.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Take(ProbeRows);
        const int enough = ProbeRows / CommonTermDivisor;
        // Stops at the enough-th match: a common term costs a few dozen rows here.
        if (await newest.Where(walkPredicate).Take(enough).CountAsync(cancellationToken) >= enough) return true;
        return await newest.CountAsync(cancellationToken) < ProbeRows;
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

    /// <summary>SQLite: up to this many candidates, the walk checks the candidate list before reading a message's text.</summary>
    private const int PrefilterCandidates = 50_000;

    /// <summary>How many of the newest messages the probe of <see cref="CommonHereAsync"/> tests, and the share
    /// of them (one in <see cref="CommonTermDivisor"/>) from which a term counts as common here.</summary>
    private const int ProbeRows = 1000;
    private const int CommonTermDivisor = 200;

    private static string ContainsPattern(string value) =>
        "%" + value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    private static Expression<Func<CapturedMessage, bool>> Not(Expression<Func<CapturedMessage, bool>> predicate) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(Expression.Not(predicate.Body), predicate.Parameters);
}
