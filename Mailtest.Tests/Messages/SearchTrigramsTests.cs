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
        Assert.Equal(["abc", "bcd"], words);
        Assert.Null(SearchTrigrams.MatchQuery("ab cd e"));
        Assert.Equal("\"abc\" AND \"bcd\"", SearchTrigrams.MatchQuery("ABCD ab"));
    }

    [Fact]
    public void Punctuation_stays_inside_a_word_of_the_ascii_tokenizer()
    {
        // The ascii tokenizer splits at ASCII punctuation: "7-q" must reach it as one word, not two.
        var word = Assert.Single(SearchTrigrams.IndexText("7-q").Split(' '));
        Assert.Equal(3, word.Length);
        Assert.All(word, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c >= 0x80, $"U+{(int)c:X4} would split the word"));
        Assert.NotEqual(SearchTrigrams.IndexText("7-q"), SearchTrigrams.IndexText("7.q"));
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
