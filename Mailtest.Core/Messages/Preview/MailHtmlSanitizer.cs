using AngleSharp.Dom;
using Ganss.Xss;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// The one HtmlSanitizer configuration for captured mail. Mail HTML is hostile: no scripts, no event
/// handlers, no forms, no frames, no meta refresh, no base, no media, no remote style sheets or fonts;
/// inline styles and style blocks stay so templates look as designed. Every URL left in the document
/// passes through <see cref="MailUrlRewriter"/>, which decides what the preview may load.
/// </summary>
public static class MailHtmlSanitizer
{
    private static readonly string[] RemovedTags =
    [
        // forms and controls: nothing to submit, nothing that looks like a login box
        "form", "input", "button", "textarea", "select", "option", "optgroup", "datalist", "keygen", "output", "fieldset", "legend", "label", "meter", "progress",
        // media fetch on their own
        "audio", "video", "source", "track",
    ];

    private static readonly HtmlSanitizerOptions Options = BuildOptions();

    /// <summary>A sanitizer with the mail configuration whose URLs go through <paramref name="rewriter"/>.</summary>
    public static HtmlSanitizer Create(MailUrlRewriter rewriter)
    {
        var sanitizer = new HtmlSanitizer(Options);
        sanitizer.FilterUrl += (_, e) => e.SanitizedUrl = e.SanitizedUrl is null ? null : rewriter.Rewrite(e.Tag, e.OriginalUrl);
        sanitizer.PostProcessNode += (_, e) =>
        {
            // Links open outside the preview, without telling the target where they came from.
            if (e.Node is IElement { LocalName: "a" or "area" } link && link.HasAttribute("href"))
            {
                link.SetAttribute("target", "_blank");
                link.SetAttribute("rel", "noopener noreferrer");
            }
        };
        return sanitizer;
    }

    private static HtmlSanitizerOptions BuildOptions()
    {
        var tags = new HashSet<string>(HtmlSanitizerDefaults.AllowedTags, StringComparer.OrdinalIgnoreCase);
        tags.ExceptWith(RemovedTags);
        tags.UnionWith(["html", "head", "body", "style", "title", "center", "font"]);

        var attributes = new HashSet<string>(HtmlSanitizerDefaults.AllowedAttributes, StringComparer.OrdinalIgnoreCase);
        // `ping` and `formaction` would make requests of their own; `action` belongs to the removed forms.
        attributes.ExceptWith(["ping", "formaction", "action", "srcdoc"]);
        attributes.UnionWith(["class", "bgcolor", "background", "align", "valign", "width", "height", "border", "cellpadding", "cellspacing", "color", "face", "size", "target", "rel"]);

        var uriAttributes = new HashSet<string>(HtmlSanitizerDefaults.UriAttributes, StringComparer.OrdinalIgnoreCase) { "background" };

        return new HtmlSanitizerOptions
        {
            AllowedTags = tags,
            AllowedAttributes = attributes,
            UriAttributes = uriAttributes,
            UriListAttributes = new HashSet<string>(HtmlSanitizerDefaults.UriListAttributes, StringComparer.OrdinalIgnoreCase),
            AllowedCssProperties = new HashSet<string>(HtmlSanitizerDefaults.AllowedCssProperties, StringComparer.OrdinalIgnoreCase),
            // @import and @font-face would load remote resources; media queries keep responsive templates working.
            AllowedAtRules = new HashSet<AngleSharp.Css.Dom.CssRuleType>([AngleSharp.Css.Dom.CssRuleType.Style, AngleSharp.Css.Dom.CssRuleType.Media]),
            AllowedSchemes = new HashSet<string>(["http", "https", "mailto", "cid", "data"], StringComparer.OrdinalIgnoreCase),
            AllowDataAttributes = false,
        };
    }
}
