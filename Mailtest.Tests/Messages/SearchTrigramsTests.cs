using System.Text;
using Mailtest.Core.Messages;
using Mailtest.Tests.Infrastructure;

namespace Mailtest.Tests.Messages;

/// <summary>
/// The SQLite index holds <see cref="SearchTrigrams.IndexText"/> and is asked <see cref="SearchTrigrams.MatchQuery"/>;
/// LIKE then decides among the candidates. So every word a term asks for must be among the words
/// indexed for any text that holds the term (ASCII case aside, as LIKE): otherwise a true match is lost.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SearchTrigramsTests
{
    private const string Alphabet = "abcXYZ  \t\r\n-_.,:%\"'()<>@/éÉüßœ€中文😀\u00a0\ue010";

    [Fact]
    public void Every_word_a_term_asks_for_is_indexed_for_every_text_that_holds_the_term()
    {
        var random = new Random(20261126);
        for (var sample = 0; sample < 5_000; sample++)
        {
            var text = RandomText(random, random.Next(0, 60));
            var indexed = IndexedWords(SearchTrigrams.IndexText(text));
            var start = random.Next(0, text.Length + 1);
            var term = text.Substring(start, random.Next(0, text.Length - start + 1));
            if (char.IsLowSurrogate(term.FirstOrDefault()) || char.IsHighSurrogate(term.LastOrDefault())) continue; // half a character
            term = ChangeAsciiCase(term, random);

            var query = SearchTrigrams.MatchQuery(term);
            if (query is null)
            {
                Assert.DoesNotContain(term.Split((char[]?)null), piece => piece.EnumerateRunes().Count() >= 3);
                continue;
            }
            foreach (var asked in query.Split(" AND "))
                Assert.True(indexed.Contains(asked.Trim('"')), $"'{term}' asks for {asked}, which is not indexed for '{text}'");
        }
    }

    [Fact]
    public void The_index_holds_each_in_word_trigram_once_lower_cased_and_none_across_whitespace()
    {
        var words = SearchTrigrams.IndexText("Abcd abcd ABCD\tbcd x y").Split(' ');
        Assert.Equal(["abc", "bcd"], words.Select(word => word[..3]));
        Assert.Null(SearchTrigrams.MatchQuery("ab cd e"));
        Assert.Equal(string.Join(" AND ", words.Select(word => $"\"{word}\"")), SearchTrigrams.MatchQuery("ABCD ab"));
    }

    [Fact]
    public void Each_word_ends_in_two_lower_case_letters_or_digits_mixed_from_its_trigram()
    {
        // What FTS5's hash table needs to spread the words (see SearchTrigrams.Spread); the ascii tokenizer keeps them as they are.
        var words = SearchTrigrams.IndexText(string.Join(' ', Enumerable.Range(0, 26 * 26).Select(i => $"{(char)('a' + i / 26)}{(char)('a' + i % 26)}q"))).Split(' ');
        Assert.Equal(26 * 26, words.Length);
        Assert.All(words, word => Assert.True(word.Length == 5 && word[3..].All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)), word));
        Assert.True(words.Select(word => word[3..]).Distinct().Count() > 500, "the ends hardly vary with the trigram");
    }

    [Fact]
    public void Punctuation_stays_inside_a_word_of_the_ascii_tokenizer()
    {
        // The ascii tokenizer splits at ASCII punctuation: "7-q" must reach it as one word, not two.
        var word = Assert.Single(SearchTrigrams.IndexText("7-q").Split(' '));
        Assert.Equal(5, word.Length);
        Assert.All(word, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c >= 0x80, $"U+{(int)c:X4} would split the word"));
        Assert.NotEqual(SearchTrigrams.IndexText("7-q"), SearchTrigrams.IndexText("7.q"));
    }

    [Fact]
    public void The_index_text_is_each_distinct_in_word_trigram_in_order_of_first_occurrence()
    {
        // IndexText is a hand-written single pass (it runs on every captured message); this is its rule spelled
        // out plainly. Stored indexes were built by the rule, so the two must agree to the character.
        var random = new Random(20261127);
        var texts = new List<string>
        {
            "", "ab", "abc", "a\u00a0bcd\u2003efg", "\ud83d\ude00\ud83d\ude01\ud83d\ude02 x", "lone \ud800 high and \udc00 low surrogates",
            "İSTANBUL ΣΊΣΥΦΟΣ Straße ǅemal", string.Concat(Enumerable.Repeat("Invoice INV/2026/00042 — 1,234.50 EUR\r\n", 300)),
        };
        for (var sample = 0; sample < 3_000; sample++)
            texts.Add(RandomText(random, random.Next(0, sample < 2_900 ? 80 : 20_000)));
        texts.Add(new string(Enumerable.Range(0, 40_000).Select(_ => (char)random.Next(0, 0x10000)).ToArray())); // anything UTF-16 can hold

        foreach (var text in texts)
            Assert.Equal(IndexTextByTheRule(text), SearchTrigrams.IndexText(text));
    }

    private static string IndexTextByTheRule(string text)
    {
        var words = new List<string>();
        var seen = new HashSet<string>();
        var run = new List<Rune>(); // the current whitespace-free run, lower-cased
        foreach (var character in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(character))
            {
                run.Clear();
                continue;
            }
            run.Add(Rune.ToLowerInvariant(character));
            if (run.Count < 3) continue;
            // Distinct by characters (a trigram's first three characters may stand for two: "-" and U+E02D both become U+E02D).
            var trigram = run.GetRange(run.Count - 3, 3);
            if (!seen.Add(string.Concat(trigram))) continue;
            words.Add(string.Concat(trigram.Select(r => r.Value < 0x80 && !char.IsAsciiLetterOrDigit((char)r.Value) ? ((char)(0xE000 + r.Value)).ToString() : r.ToString()))
                + Spread(((ulong)(uint)trigram[0].Value << 42) | ((ulong)(uint)trigram[1].Value << 21) | (uint)trigram[2].Value));
        }
        return string.Join(' ', words);
    }

    /// <summary>Two characters from MurmurHash3's 64-bit finalizer of the trigram's code points, 21 bits each.</summary>
    private static string Spread(ulong key)
    {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdUL;
        key ^= key >> 33;
        key *= 0xc4ceb9fe1a85ec53UL;
        key ^= key >> 33;
        const string Characters = "0123456789abcdefghijklmnopqrstuvwxyz";
        return $"{Characters[(int)(key % 36)]}{Characters[(int)((key >> 8) % 36)]}";
    }

    private static HashSet<string> IndexedWords(string indexText) => [.. indexText.Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    private static string RandomText(Random random, int length)
    {
        var runes = Alphabet.EnumerateRunes().ToArray();
        return string.Concat(Enumerable.Range(0, length).Select(_ => runes[random.Next(runes.Length)].ToString()));
    }

    /// <summary>What SQLite's LIKE ignores: the case of ASCII letters.</summary>
    private static string ChangeAsciiCase(string term, Random random) =>
        string.Concat(term.Select(c => char.IsAsciiLetter(c) && random.Next(2) == 0 ? (char)(c ^ 0x20) : c));
}
