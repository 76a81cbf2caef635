using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Messages;

namespace Mailtest.Tests.Messages;

[TestCategory(Needs.Unit)]
public sealed class SearchQueryTests
{
    [Fact]
    public void Empty_or_blank_input_is_an_empty_query()
    {
        Assert.True(SearchQuery.Parse(null).IsEmpty);
        Assert.True(SearchQuery.Parse("   \t ").IsEmpty);
    }

    [Fact]
    public void Words_and_quoted_phrases_are_text_terms()
    {
        var query = SearchQuery.Parse("invoice  \"password reset\" ready");

        Assert.Equal<SearchTerm>(
            [new TextTerm(SearchField.Anywhere, "invoice"), new TextTerm(SearchField.Anywhere, "password reset"), new TextTerm(SearchField.Anywhere, "ready")],
            query.Terms);
    }

    [Theory]
    [InlineData("from:shop@example.com", SearchField.From, "shop@example.com")]
    [InlineData("FROM:Shop", SearchField.From, "Shop")]
    [InlineData("to:bob", SearchField.To, "bob")]
    [InlineData("subject:\"weekly digest\"", SearchField.Subject, "weekly digest")]
    public void Field_filters_take_a_word_or_a_phrase(string input, SearchField field, string value)
    {
        Assert.Equal(new TextTerm(field, value), Assert.Single(SearchQuery.Parse(input).Terms));
    }

    [Fact]
    public void Tag_takes_one_whole_tag_cleaned_as_Mailpit_cleans_tags_and_nothing_left_is_text()
    {
        Assert.Equal<SearchTerm>(
            [new TagTerm("orders"), new TagTerm("password reset", Negated: true), new TagTerm("qa"), new TextTerm(SearchField.Anywhere, "tag:!!")],
            SearchQuery.Parse("TAG:orders -tag:\"password   reset\" tag:q/a tag:!!").Terms);
    }

    [Theory]
    [InlineData("is:unread", SearchFlag.Unread)]
    [InlineData("is:read", SearchFlag.Read)]
    [InlineData("has:attachment", SearchFlag.HasAttachment)]
    [InlineData("has:attachments", SearchFlag.HasAttachment)]
    [InlineData("IS:UNREAD", SearchFlag.Unread)]
    public void Flags(string input, SearchFlag flag)
    {
        Assert.Equal(new FlagTerm(flag), Assert.Single(SearchQuery.Parse(input).Terms));
    }

    [Fact]
    public void Dates_are_days_in_utc()
    {
        var terms = SearchQuery.Parse("after:2026-01-31 before:2026-02-15").Terms;

        var after = Assert.IsType<DateTerm>(terms[0]);
        var before = Assert.IsType<DateTerm>(terms[1]);
        Assert.False(after.IsBefore);
        Assert.True(before.IsBefore);
        Assert.Equal(new DateTime(2026, 1, 31, 0, 0, 0, DateTimeKind.Utc), after.StartUtc);
        Assert.Equal(new DateOnly(2026, 2, 15), before.Date);
    }

    [Fact]
    public void A_leading_dash_negates_any_term()
    {
        var terms = SearchQuery.Parse("-spam -from:news -\"out of office\" -is:read -has:attachment -before:2026-01-01").Terms;

        Assert.All(terms, t => Assert.True(t.Negated));
        Assert.Equal(new TextTerm(SearchField.Anywhere, "spam", true), terms[0]);
        Assert.Equal(new TextTerm(SearchField.From, "news", true), terms[1]);
        Assert.Equal(new TextTerm(SearchField.Anywhere, "out of office", true), terms[2]);
        Assert.Equal(new FlagTerm(SearchFlag.Read, true), terms[3]);
        Assert.Equal(new FlagTerm(SearchFlag.HasAttachment, true), terms[4]);
        Assert.True(Assert.IsType<DateTerm>(terms[5]).IsBefore);
    }

    [Fact]
    public void A_dash_alone_or_inside_a_word_is_text()
    {
        var terms = SearchQuery.Parse("re-send - x").Terms;

        Assert.Equal<SearchTerm>([new TextTerm(SearchField.Anywhere, "re-send"), new TextTerm(SearchField.Anywhere, "-"), new TextTerm(SearchField.Anywhere, "x")], terms);
    }

    [Theory]
    [InlineData("is:starred", "is:starred")]
    [InlineData("before:tomorrow", "before:tomorrow")]
    [InlineData("after:2026-13-01", "after:2026-13-01")]
    [InlineData("https://shop.example/reset", "https://shop.example/reset")]
    [InlineData("label:\"big deal\"", "label:\"big deal\"")]
    public void Unknown_filters_are_searched_as_typed(string input, string text)
    {
        Assert.Equal(new TextTerm(SearchField.Anywhere, text), Assert.Single(SearchQuery.Parse(input).Terms));
    }

    [Fact]
    public void An_unclosed_quote_runs_to_the_end_and_empty_filters_are_dropped()
    {
        Assert.Equal(new TextTerm(SearchField.Anywhere, "never closed"), Assert.Single(SearchQuery.Parse("\"never closed").Terms));
        Assert.Empty(SearchQuery.Parse("from: \"\"").Terms);
    }

    [Fact]
    public void A_pasted_wall_of_text_is_cut_to_the_first_terms()
    {
        var query = SearchQuery.Parse(string.Join(' ', Enumerable.Range(0, 500).Select(i => $"word{i}")));

        Assert.Equal(SearchQuery.MaxTerms, query.Terms.Count);
        Assert.Equal(new TextTerm(SearchField.Anywhere, "word0"), query.Terms[0]);
    }
}
