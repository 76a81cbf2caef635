using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// Readable text from an HTML mail, for the Plain tab when the mail has no text part: block elements
/// become lines, list items get a dash, links keep their target in brackets, scripts and styles vanish.
/// </summary>
public static partial class HtmlToText
{
    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "blockquote", "pre",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tr", "hr", "address", "center", "dl", "dt", "dd", "figure",
    };

    private static readonly HashSet<string> Invisible = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "head", "title", "template", "noscript", "iframe", "object", "svg",
    };

    public static string Convert(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        var text = new StringBuilder();
        Append(document.Body ?? (INode)document, text);
        var lines = text.ToString().Split('\n').Select(l => Spaces().Replace(l, " ").Trim());
        return BlankLines().Replace(string.Join('\n', lines), "\n\n").Trim();
    }

    private static void Append(INode node, StringBuilder text)
    {
        foreach (var child in node.ChildNodes)
        {
            switch (child)
            {
                case IText t:
                    text.Append(Whitespace().Replace(t.Data, " "));
                    break;
                case IElement e when Invisible.Contains(e.LocalName):
                    break;
                case IElement { LocalName: "br" }:
                    text.Append('\n');
                    break;
                case IElement { LocalName: "td" or "th" } cell:
                    Append(cell, text);
                    text.Append('\t');
                    break;
                case IElement { LocalName: "img" } image when !string.IsNullOrWhiteSpace(image.GetAttribute("alt")):
                    text.Append('[').Append(image.GetAttribute("alt")!.Trim()).Append(']');
                    break;
                case IElement { LocalName: "a" } link:
                    var before = text.Length;
                    Append(link, text);
                    var href = link.GetAttribute("href");
                    var label = text.ToString(before, text.Length - before).Trim();
                    if (!string.IsNullOrWhiteSpace(href) && !href.StartsWith('#') && label != href.Trim() && !href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
                        text.Append(" (").Append(href.Trim()).Append(')');
                    break;
                case IElement e when Blocks.Contains(e.LocalName):
                    text.Append('\n');
                    if (e.LocalName == "li") text.Append("- ");
                    Append(e, text);
                    if (e.LocalName != "li") text.Append('\n');
                    if (e.LocalName is "p" or "h1" or "h2" or "h3" or "h4" or "h5" or "h6" or "table" or "blockquote") text.Append('\n');
                    break;
                case IElement e:
                    Append(e, text);
                    break;
            }
        }
    }

    [GeneratedRegex(@"[ \t\r\f\v\u00a0]+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();
}
