using System.Text;
using Microsoft.Data.Sqlite;

namespace Mailtest.Core.Messages;

/// <summary>
/// What the SQLite full-text index holds for a message, and how a search term asks it. The index only
/// names candidates; every candidate's stored text is checked with <c>LIKE</c> afterwards
/// (<see cref="MessageSearchFilter"/>), so the index may hold anything that contains every trigram a
/// true match's term asks for. It holds the <b>distinct trigrams found within each whitespace-free
/// run of the lower-cased text</b>, each once, as a word of FTS5's cheap <c>ascii</c> tokenizer
/// (the trigram's three characters and two <see cref="Spread"/> characters).
/// A term asks for the trigrams within its own whitespace-free pieces: wherever the term occurs
/// (case aside), each of its pieces lies inside one of the text's runs, so its trigrams are all there.
/// <para>
/// Why not FTS5's trigram tokenizer over the text: it folds the case of every character and hashes
/// every position of a 10 KB body (spaces included, repeats included); computing the distinct
/// in-word trigrams here first measured ~2× cheaper per random-word message (docs/benchmarks.md).
/// </para>
/// </summary>
public static class SearchTrigrams
{
    /// <summary>
    /// <see cref="IndexText"/> as a SQL function, for the statements that fill the index from the stored
    /// text (the ingest writer's index step, and the migration that rebuilds the index): added to a
    /// connection by <see cref="AddSqlFunction"/>.
    /// </summary>
    public const string SqlFunction = "mailtest_search_trigrams";

    public static void AddSqlFunction(SqliteConnection connection) =>
        connection.CreateFunction<string, string>(SqlFunction, IndexText, isDeterministic: true);

    /// <summary>
    /// The index's text for <paramref name="text"/>: its distinct in-word trigrams, lower-cased, as
    /// space-separated words (see <see cref="Word"/>), in the order they first occur.
    /// <para>
    /// Runs on every captured message's SMTP session (and for every row the index step recomputes), so it
    /// is written as one pass over the characters with table lookups for ASCII, reusing its set and buffer
    /// per thread; <see cref="Trigrams"/> + <see cref="AppendWord"/> are the same rule spelled out (what
    /// <see cref="MatchQuery"/> uses), and a test holds the two to the same output.
    /// </para>
    /// </summary>
    public static string IndexText(string text)
    {
        var seen = t_seen ??= new HashSet<ulong>();
        seen.Clear(); // already empty unless a call on this thread failed half-way
        var buffer = t_buffer ??= new char[4096];
        var length = 0;
        int first = 0, second = 0; // the previous two lower-cased code points of the current run
        var run = 0;
        for (var i = 0; i < text.Length;)
        {
            int lower;
            var c = text[i];
            if (c < 0x80)
            {
                i++;
                lower = AsciiLower[c];
                if (lower < 0) { run = 0; continue; } // whitespace
            }
            else
            {
                Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var consumed); // a lone surrogate becomes U+FFFD, as EnumerateRunes does
                i += consumed;
                if (Rune.IsWhiteSpace(rune)) { run = 0; continue; }
                lower = Rune.ToLowerInvariant(rune).Value;
            }
            var key = ((ulong)(uint)first << 42) | ((ulong)(uint)second << 21) | (uint)lower; // Key, without building runes
            if (++run >= 3 && seen.Add(key))
            {
                if (buffer.Length - length < 16) // a word is at most 3 × 2 chars, 2 spread chars and a space
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                    t_buffer = buffer;
                }
                if (length > 0) buffer[length++] = ' ';
                length = Put(buffer, length, first);
                length = Put(buffer, length, second);
                length = Put(buffer, length, lower);
                var spread = Spread(key);
                buffer[length++] = spread.First;
                buffer[length++] = spread.Second;
            }
            first = second;
            second = lower;
        }
        var result = new string(buffer, 0, length);
        // One huge body does not pin its set and buffer on this thread.
        if (seen.Count > MaxKeptTrigrams) t_seen = null; else seen.Clear();
        if (buffer.Length > MaxKeptBufferChars) t_buffer = null;
        return result;

        static int Put(char[] buffer, int at, int codePoint)
        {
            if (codePoint < 0x80)
                buffer[at++] = AsciiWordChar[codePoint];
            else
                at += new Rune(codePoint).EncodeToUtf16(buffer.AsSpan(at));
            return at;
        }
    }

    [ThreadStatic] private static HashSet<ulong>? t_seen;
    [ThreadStatic] private static char[]? t_buffer;
    private const int MaxKeptBufferChars = 256 * 1024, MaxKeptTrigrams = 32 * 1024;

    /// <summary>ASCII character → its lower-cased code point (<see cref="Rune.ToLowerInvariant"/>), or −1 for whitespace (<see cref="Rune.IsWhiteSpace"/>).</summary>
    private static readonly int[] AsciiLower = [.. Enumerable.Range(0, 0x80).Select(c => Rune.IsWhiteSpace(new Rune(c)) ? -1 : Rune.ToLowerInvariant(new Rune(c)).Value)];

    /// <summary>ASCII code point → the character <see cref="AppendWord"/> writes for it.</summary>
    private static readonly char[] AsciiWordChar = [.. Enumerable.Range(0, 0x80).Select(c => char.IsAsciiLetterOrDigit((char)c) ? (char)c : (char)(PrivateUseStart + c))];

    /// <summary>
    /// An FTS5 query for the rows holding every trigram of <paramref name="term"/>'s whitespace-free
    /// pieces; null when no piece has three characters (the index cannot help then).
    /// </summary>
    public static string? MatchQuery(string term)
    {
        var words = Trigrams(term).Distinct().Select(t => "\"" + Word(t) + "\"").ToList();
        return words.Count == 0 ? null : string.Join(" AND ", words);
    }

    private static ulong Key((Rune First, Rune Second, Rune Third) t) => // code points have 21 bits
        ((ulong)(uint)t.First.Value << 42) | ((ulong)(uint)t.Second.Value << 21) | (uint)t.Third.Value;

    /// <summary>
    /// The two characters that end a trigram's word, mixed from the whole trigram (its <see cref="Key"/>;
    /// MurmurHash3's 64-bit finalizer). FTS5 gathers a transaction's words in a hash table whose function
    /// spreads short words poorly: the 17,576 trigrams of lower-case letters fall on 1,792 of its slots, so
    /// each word written walked a chain of ~10 others comparing bytes, ~40 % of an index step's CPU on a
    /// random-word body. With these two characters they spread as well as random keys would (~1.3 words per
    /// slot), and an index step costs ~40 % less per such message (docs/benchmarks.md). Letters and digits
    /// only, lower-case: the <c>ascii</c> tokenizer keeps them inside the word as they are. The index file
    /// records this format (<see cref="SearchIndexFile"/>): an index built with other words is rebuilt.
    /// </summary>
    internal static (char First, char Second) Spread(ulong key)
    {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdUL;
        key ^= key >> 33;
        key *= 0xc4ceb9fe1a85ec53UL;
        key ^= key >> 33;
        return (SpreadCharacters[(int)(key % 36)], SpreadCharacters[(int)((key >> 8) % 36)]);
    }

    private const string SpreadCharacters = "0123456789abcdefghijklmnopqrstuvwxyz";

    /// <summary>Every trigram (with repeats) within the whitespace-free runs of <paramref name="text"/>, lower-cased.</summary>
    private static IEnumerable<(Rune, Rune, Rune)> Trigrams(string text)
    {
        Rune first = default, second = default;
        var run = 0; // characters of the current whitespace-free run seen so far
        foreach (var character in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(character))
            {
                run = 0;
                continue;
            }
            var lower = Rune.ToLowerInvariant(character);
            if (++run >= 3) yield return (first, second, lower);
            first = second;
            second = lower;
        }
    }

    /// <summary>
    /// A trigram as one word of the <c>ascii</c> tokenizer, which splits at every ASCII character but
    /// letters and digits: those are moved to the private-use area (U+E000 + code), which it keeps
    /// inside words like any non-ASCII character; then its two <see cref="Spread"/> characters. Which word a trigram becomes matters only for
    /// speed (the same rule builds the index and the query; LIKE decides), so a text that really
    /// holds such private-use characters gets a few more candidates, never fewer.
    /// </summary>
    private static string Word((Rune, Rune, Rune) trigram)
    {
        var word = new StringBuilder(9);
        AppendWord(word, trigram);
        return word.ToString();
    }

    private static void AppendWord(StringBuilder words, (Rune First, Rune Second, Rune Third) trigram)
    {
        Append(words, trigram.First);
        Append(words, trigram.Second);
        Append(words, trigram.Third);
        var (first, second) = Spread(Key(trigram));
        words.Append(first).Append(second);

        static void Append(StringBuilder words, Rune character)
        {
            if (character.Value >= 0x80 || char.IsAsciiLetterOrDigit((char)character.Value))
                words.Append(character);
            else
                words.Append((char)(PrivateUseStart + character.Value));
        }
    }

    private const int PrivateUseStart = 0xE000;
}
