using System.Linq.Expressions;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;

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
    /// The messages of <paramref name="environmentIds"/> that satisfy every term, narrowed further by
    /// <paramref name="narrow"/> (a page cursor, a time window); null when a term matches nothing at
    /// all, so the caller answers at once instead of walking the environment.
    /// </summary>
    public static async Task<IQueryable<CapturedMessage>?> ApplyAsync(MailtestDbContext db, IReadOnlyCollection<Guid> environmentIds,
        Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>>? narrow, SearchQuery search, CancellationToken cancellationToken)
    {
        IQueryable<CapturedMessage> scope(IQueryable<CapturedMessage> messages)
        {
            messages = InEnvironments(messages, environmentIds);
            return narrow is null ? messages : narrow(messages);
        }
        var predicates = new List<Expression<Func<CapturedMessage, bool>>>();
        FullTextMatch? driving = null; // the term with the fewest matches, which drives the query on SQLite
        foreach (var term in search.Terms)
        {
            // Free text on both databases; on PostgreSQL the field filters too (the trigram index over
            // the search text, which holds the subject and every address, narrows them down).
            if (term is TextTerm text && (text.Field == SearchField.Anywhere || !db.IsSqlite))
            {
                var match = db.IsSqlite
                    ? await SqliteFullTextAsync(db, scope, text.Value, cancellationToken)
                    : await PostgresTextAsync(db, environmentIds, scope(db.Messages.AsNoTracking()), text, cancellationToken);
                if (match is null)
                {
                    if (!term.Negated) return null; // a value found nowhere: no message can match
                    continue;                       // "-word" for a value found nowhere: every message does
                }
                predicates.Add(term.Negated ? Not(match.Predicate) : match.Predicate);
                if (!term.Negated && match.Matches is { } matches && (driving is null || matches.Count < driving.Matches!.Count))
                    driving = match;
                continue;
            }
            var predicate = term switch
            {
                TextTerm field => SqliteFieldContains(field.Field, ContainsPattern(field.Value)),
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
        if (!db.IsSqlite) driving = null;
        var messages = scope((driving is null ? db.Messages : DrivenBy(db, driving.Matches!)).AsNoTracking());
        // The driving matches are the source itself: testing each row against them again would only repeat it.
        foreach (var predicate in predicates)
            if (predicate != driving?.Predicate) messages = messages.Where(predicate);
        return messages;
    }

    /// <summary>
    /// The messages of these environments. One environment (the usual inbox): equality, so PostgreSQL
    /// walks the (environment, time) index newest first; <c>= ANY(array)</c> cannot give that order.
    /// </summary>
    private static IQueryable<CapturedMessage> InEnvironments(IQueryable<CapturedMessage> messages, IReadOnlyCollection<Guid> environmentIds)
    {
        if (environmentIds.Count != 1) return messages.Where(m => environmentIds.Contains(m.EnvironmentId));
        var environmentId = environmentIds.First();
        return messages.Where(m => m.EnvironmentId == environmentId);
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
    /// A free-text term, driven the cheap way round, decided in the order <see cref="PostgresTextAsync"/>
    /// uses. Found in no message at all: null, answered at once (one index row tells). Common here: the
    /// environment is walked newest first and each message's text tested, which fills a page after a
    /// few dozen rows, where gathering every match first would cost hundreds of milliseconds. Rare here:
    /// the index gathers its candidates (at most a couple of thousand) and their matches drive the query.
    /// </summary>
    private static async Task<FullTextMatch?> SqliteFullTextAsync(MailtestDbContext db, Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>> scope, string value, CancellationToken cancellationToken)
    {
        var pattern = ContainsPattern(value);
        var walk = new FullTextMatch(m => db.MessageSearchEntries.Any(e => e.MessageId == m.Id && EF.Functions.Like(e.Text, pattern, Escape)), null);
        var trigrams = SearchTrigrams.MatchQuery(value);
        if (trigrams is null) return walk; // no piece of three characters between spaces: the trigram index cannot help
        if ((await IndexCandidatesAsync(0)).Count == 0) return null;
        // Before the index is asked how many candidates there are: for a word in 1 % of a million
        // messages, its first 2,001 candidates take the index's lists of common trigrams over 200,000
        // rows (11-20 ms), more than the whole walk then costs; the probe answers in a few hundred rows.
        if (await CommonHereAsync(scope(db.Messages.AsNoTracking()), walk.Predicate, cancellationToken)) return walk;
        var candidates = await IndexCandidatesAsync(PrefilterCandidates);
        // Rare: the matches drive the query.
        if (candidates.Count <= CommonTermMatches) return await DrivenByMatchesAsync(db.MessageSearchEntries.Where(e => EF.Parameter(candidates).Contains(e.Id)));
        // Common elsewhere, rare or absent here: which of the candidates are in these environments
        // decides (index lookups, no text read). None: answered at once. Few: they drive the query.
        // Many: the walk, reading a message's text only when the index names it.
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
        // text; at most limit + 1. LIKE on the stored text decides. The index is the attached file
        // "search" (SearchIndexFile.Schema); rows not indexed yet are not candidates.
        Task<List<long>> IndexCandidatesAsync(int limit) => db.Database.SqlQuery<long>(
                $"""SELECT i.rowid AS "Value" FROM "search"."MessageSearchIndex" AS i WHERE i."MessageSearchIndex" MATCH {trigrams} LIMIT {limit + 1}""")
            .ToListAsync(cancellationToken);

        // Each candidate's text decides; the matches (none: null) drive the query.
        async Task<FullTextMatch?> DrivenByMatchesAsync(IQueryable<MessageSearchEntry> candidateEntries)
        {
            var matches = await candidateEntries.Where(e => EF.Functions.Like(e.Text, pattern, Escape)).Select(e => e.MessageId).ToListAsync(cancellationToken);
            // One JSON (SQLite) or array (PostgreSQL) parameter: a list spelled out as constants is new SQL, planned again, every time.
            return matches.Count == 0 ? null : new FullTextMatch(m => EF.Parameter(matches).Contains(m.Id), matches);
        }
    }

    /// <summary>
    /// A text term on PostgreSQL, free text or a field filter, decided the same way (see
    /// <see cref="SqliteFullTextAsync"/> for the tiers): common here, the walk; rare here, the trigram
    /// index names the candidates within these environments; none, answered at once.
    /// </summary>
    private static async Task<FullTextMatch?> PostgresTextAsync(MailtestDbContext db, IReadOnlyCollection<Guid> environmentIds, IQueryable<CapturedMessage> scoped,
        TextTerm term, CancellationToken cancellationToken)
    {
        var holds = PostgresHolds(term.Value);
        var exact = term.Field switch
        {
            // The search text as a scalar subquery per message. Written as EXISTS, PostgreSQL turns it
            // into a join, misjudges how many rows match, and scans every search entry instead.
            SearchField.Anywhere => AnyHolds<CapturedMessage>(holds, m => db.MessageSearchEntries.Where(e => e.MessageId == m.Id).Select(e => e.Text).FirstOrDefault() ?? ""),
            SearchField.From => AnyHolds<CapturedMessage>(holds, m => m.EnvelopeFrom, m => m.From ?? ""),
            SearchField.To => AnyHolds<CapturedMessage>(holds, m => m.EnvelopeTo, m => m.To ?? "", m => m.Cc ?? ""),
            SearchField.Subject => AnyHolds<CapturedMessage>(holds, m => m.Subject ?? ""),
            _ => throw new ArgumentOutOfRangeException(nameof(term), term.Field, "Not a text field."),
        };
        var walk = new FullTextMatch(exact, null);
        // pg_trgm finds no trigram in a value without three letters or digits in a row ("ab", "a.b"):
        // the index would read all of itself.
        if (!TrigramIndexCanNarrow(term.Value)) return walk;
        // How common is the term here? Test the newest rows of these environments (cheap, and the very
        // walk a common term needs anyway): a trigram index scan cannot stop early, so asking the
        // index first about a word found in most messages would cost as much as answering from it.
        // A field filter tests a few short columns per row, a tenth of what reading the search text
        // costs: its walk still fills a page quickly when the probe finds it in 1 of 1,000 messages.
        if (await CommonHereAsync(scoped, exact, cancellationToken, term.Field == SearchField.Anywhere ? ProbeRows : FieldProbeRows)) return walk;
        // Rare here: the index names the candidates in these environments only (the environment is a
        // key of the same GIN index), so a word found thousands of times elsewhere costs nothing here.
        // The search text holds the subject and every address: its candidates include every match of
        // a field filter, and the field itself decides among them.
        // ILIKE is what the trigram index answers; the exact test decides (for non-ASCII values the same).
        var pattern = ContainsPattern(term.Value);
        var entries = db.MessageSearchEntries.Where(e => EF.Functions.ILike(e.Text, pattern, Escape)).Where(AnyHolds<MessageSearchEntry>(holds, e => e.Text));
        if (environmentIds.Count == 1)
        {
            var environmentId = environmentIds.First();
            entries = entries.Where(e => EF.Property<Guid>(e, MessageSearchEntryConfiguration.EnvironmentId) == environmentId);
        }
        else entries = entries.Where(e => environmentIds.Contains(EF.Property<Guid>(e, MessageSearchEntryConfiguration.EnvironmentId)));
        var candidates = await entries.Select(e => e.MessageId).Take(CommonTermMatches + 1).ToListAsync(cancellationToken);
        if (candidates.Count == 0) return null;
        if (candidates.Count > CommonTermMatches) return walk;
        // One array parameter: a list spelled out as constants is new SQL, planned again, every time.
        Expression<Func<CapturedMessage, bool>> among = m => EF.Parameter(candidates).Contains(m.Id);
        return term.Field == SearchField.Anywhere ? new FullTextMatch(among, candidates) : new FullTextMatch(And(among, exact), null);
    }

    /// <summary>
    /// PostgreSQL's test that a text holds <paramref name="value"/>, ignoring case. A value of ASCII
    /// characters only is looked for in the text folded to lower case byte by byte (COLLATE "C", then
    /// strpos): the answer SQLite's LIKE and the in-memory match give, and about 3.5 times cheaper than
    /// ILIKE, which converts every character through the locale (the walk's main cost). PostgreSQL also
    /// estimates it to hold for a third of the rows, where it estimates <c>ILIKE '%refund%'</c> at 0.03 %
    /// and, for a field filter, then sorts the whole environment instead of walking it newest first.
    /// Any other value: ILIKE.
    /// </summary>
    private static Expression<Func<string, bool>> PostgresHolds(string value)
    {
        if (!Ascii.IsValid(value))
        {
            var pattern = ContainsPattern(value);
            return text => EF.Functions.ILike(text, pattern, Escape);
        }
        var lower = value.ToLowerInvariant();
        // IndexOf: strpos, which PostgreSQL cannot estimate (a third); Contains would be LIKE again.
        return text => EF.Functions.Collate(text, "C").ToLower().IndexOf(lower) >= 0;
    }

    /// <summary>Whether <paramref name="holds"/> is true of any of <paramref name="texts"/> (columns of one row).</summary>
    private static Expression<Func<T, bool>> AnyHolds<T>(Expression<Func<string, bool>> holds, params Expression<Func<T, string>>[] texts)
    {
        var row = texts[0].Parameters[0];
        var tests = texts.Select(text => ReplacingExpressionVisitor.Replace(holds.Parameters[0], ReplacingExpressionVisitor.Replace(text.Parameters[0], row, text.Body), holds.Body));
        return Expression.Lambda<Func<T, bool>>(tests.Aggregate(Expression.OrElse), row);
    }

    private static bool TrigramIndexCanNarrow(string value)
    {
        var run = 0;
        foreach (var rune in value.EnumerateRunes())
            if ((run = Rune.IsLetterOrDigit(rune) ? run + 1 : 0) == 3) return true;
        return false;
    }

    /// <summary>
    /// Whether a term is common in these environments: found in at least <see cref="CommonInProbe"/> of
    /// their newest <paramref name="probeRows"/> messages (one in 200 of the default <see cref="ProbeRows"/>:
    /// then the newest-first walk fills a page within a few thousand rows), or they hold fewer messages
    /// than that (walking them all is cheap).
    /// </summary>
    private static async Task<bool> CommonHereAsync(IQueryable<CapturedMessage> scoped, Expression<Func<CapturedMessage, bool>> walkPredicate, CancellationToken cancellationToken,
        int probeRows = ProbeRows)
    {
        var newest = scoped.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Take(probeRows);
        // Stops at the last match it needs: a common term costs a few dozen rows here.
        if (await newest.Where(walkPredicate).Take(CommonInProbe).CountAsync(cancellationToken) >= CommonInProbe) return true;
        return await newest.CountAsync(cancellationToken) < probeRows;
    }

    // SQLite's LIKE ignores case (ASCII).
    private static Expression<Func<CapturedMessage, bool>> SqliteFieldContains(SearchField field, string pattern) => field switch
    {
        SearchField.From => m => EF.Functions.Like(m.EnvelopeFrom, pattern, Escape) || EF.Functions.Like(m.From ?? "", pattern, Escape),
        SearchField.To => m => EF.Functions.Like(m.EnvelopeTo, pattern, Escape) || EF.Functions.Like(m.To ?? "", pattern, Escape) || EF.Functions.Like(m.Cc ?? "", pattern, Escape),
        SearchField.Subject => m => EF.Functions.Like(m.Subject ?? "", pattern, Escape),
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

    /// <summary>From this many index matches (SQLite: candidates) on, a term counts as common (see <see cref="SqliteFullTextAsync"/>).</summary>
    private const int CommonTermMatches = 2000;

    /// <summary>SQLite: up to this many candidates, the walk checks the candidate list before reading a message's text.</summary>
    private const int PrefilterCandidates = 50_000;

    /// <summary>How many of the newest messages the probe of <see cref="CommonHereAsync"/> tests (for a
    /// PostgreSQL field filter, <see cref="FieldProbeRows"/>), and how many of them must match for a term
    /// to count as common here.</summary>
    private const int ProbeRows = 1000;
    private const int FieldProbeRows = 5000;
    private const int CommonInProbe = 5;

    private static string ContainsPattern(string value) =>
        "%" + value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    private static Expression<Func<CapturedMessage, bool>> Not(Expression<Func<CapturedMessage, bool>> predicate) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(Expression.Not(predicate.Body), predicate.Parameters);

    private static Expression<Func<CapturedMessage, bool>> And(Expression<Func<CapturedMessage, bool>> left, Expression<Func<CapturedMessage, bool>> right) =>
        Expression.Lambda<Func<CapturedMessage, bool>>(
            Expression.AndAlso(left.Body, ReplacingExpressionVisitor.Replace(right.Parameters[0], left.Parameters[0], right.Body)), left.Parameters);
}
