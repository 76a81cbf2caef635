using System.Globalization;
using System.Text;
using MimeKit;

namespace Mailtest.Bench.Ingest;

/// <summary>
/// The two bodies the ingest comparison sends, each about 10 KB as multipart/alternative (text + HTML),
/// and different in every message of a pool (so nothing can be deduplicated):
/// <list type="bullet">
/// <item><c>realistic</c>: an invoice as an ERP sends it: boilerplate, a table of line items from a
/// product list, amounts, payment terms.</item>
/// <item><c>random</c>: words of random letters, so almost every trigram is new (the worst case for a
/// trigram search index).</item>
/// </list>
/// </summary>
public static class IngestBodies
{
    public const string Realistic = "realistic";
    public const string Random = "random";

    private static readonly string[] Products =
    [
        "Office chair ergonomic", "Standing desk 160x80", "Monitor arm dual", "USB-C docking station", "Wireless keyboard",
        "Laser printer toner", "A4 paper box (5 reams)", "Whiteboard markers", "Conference phone", "Noise cancelling headset",
        "Laptop stand aluminium", "Cable management tray", "Desk lamp LED", "Filing cabinet 3 drawers", "Coffee beans 1 kg",
        "Water dispenser rental", "Cleaning service (monthly)", "Software licence (annual)", "Support hours", "Consulting day",
        "Shipping and handling", "Installation on site", "Extended warranty 3 years", "Training session", "Webcam 4K",
    ];

    private static readonly string[] Customers =
    [
        "Azure Interior", "Deco Addict", "Gemini Furniture", "Lumber Inc", "Ready Mat", "The Jackson Group", "Wood Corner",
        "Brandon Freeman", "Colleen Diaz", "Nicole Ford", "Oscar Morgan", "Toni Jimenez",
    ];

    /// <summary><paramref name="count"/> different messages of the given kind.</summary>
    public static IReadOnlyList<MimeMessage> Pool(string kind, int count)
    {
        var random = new Random(42);
        return [.. Enumerable.Range(0, count).Select(i => kind switch
        {
            Realistic => Invoice(random, i),
            Random => RandomWords(random, i),
            _ => throw new ArgumentException($"Unknown body kind {kind}; use {Realistic} or {Random}."),
        })];
    }

    /// <summary>The same messages as <see cref="Pool"/>, as the .eml bytes the SMTP client sends (for the in-process benchmarks).</summary>
    public static byte[][] EmlPool(string kind, int count) => [.. Pool(kind, count).Select(message =>
    {
        using var eml = new MemoryStream();
        message.WriteTo(eml);
        return eml.ToArray();
    })];

    private static MimeMessage Invoice(Random random, int index)
    {
        var customer = Customers[random.Next(Customers.Length)];
        var number = $"INV/2026/{index + 1:D5}";
        var lines = Enumerable.Range(0, 28).Select(_ => (Product: Products[random.Next(Products.Length)], Quantity: random.Next(1, 20), Price: random.Next(500, 250_000) / 100m)).ToList();
        var total = lines.Sum(l => l.Quantity * l.Price);
        var text = new StringBuilder();
        text.AppendLine($"Dear {customer},").AppendLine();
        text.AppendLine($"Here is your invoice {number} amounting to {total.ToString("N2", CultureInfo.InvariantCulture)} EUR from My Company (San Francisco).");
        text.AppendLine("Please remit payment at your earliest convenience. Please use the following communication for your payment: " + number).AppendLine();
        foreach (var (product, quantity, price) in lines)
            text.AppendLine($"{product,-32} {quantity,4} x {price.ToString("N2", CultureInfo.InvariantCulture),10} = {(quantity * price).ToString("N2", CultureInfo.InvariantCulture),12}");
        text.AppendLine().AppendLine($"Total: {total.ToString("N2", CultureInfo.InvariantCulture)} EUR").AppendLine();
        text.AppendLine("Payment terms: 30 days. Late payments are subject to an interest of 1% per month. Bank: BE71 0961 2345 6769, BIC GKCCBEBB.");
        text.AppendLine("Do not hesitate to contact us if you have any questions.").AppendLine().AppendLine("--").AppendLine("Mitchell Admin, My Company (San Francisco), 250 Executive Park Blvd, Suite 3400, San Francisco CA 94134");

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{font-family:Arial,Helvetica,sans-serif;font-size:13px;color:#454748}")
            .Append("table.o_invoice{border-collapse:collapse;width:100%}table.o_invoice td,table.o_invoice th{border-bottom:1px solid #dee2e6;padding:6px 8px;text-align:left}")
            .Append(".o_total{font-weight:bold;text-align:right}.o_footer{color:#8f8f8f;font-size:11px;margin-top:24px}</style></head><body>");
        html.Append($"<div style=\"margin:0px;padding:0px;\"><p style=\"margin:0px;padding:0px;font-size:13px;\">Dear {customer},<br/><br/>");
        html.Append($"Here is your invoice <strong>{number}</strong> amounting to <strong>{total.ToString("N2", CultureInfo.InvariantCulture)} EUR</strong> from My Company (San Francisco).<br/>");
        html.Append($"Please remit payment at your earliest convenience.<br/>Please use the following communication for your payment: <strong>{number}</strong>.<br/><br/></p></div>");
        html.Append("<table class=\"o_invoice\"><thead><tr><th>Description</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr></thead><tbody>");
        foreach (var (product, quantity, price) in lines)
            html.Append($"<tr><td><span style=\"font-weight:normal\">{product}</span></td><td>{quantity}.00 Units</td><td>{price.ToString("N2", CultureInfo.InvariantCulture)}&nbsp;€</td><td class=\"o_total\">{(quantity * price).ToString("N2", CultureInfo.InvariantCulture)}&nbsp;€</td></tr>");
        html.Append($"</tbody></table><p class=\"o_total\">Total: {total.ToString("N2", CultureInfo.InvariantCulture)}&nbsp;€</p>");
        html.Append("<p>Payment terms: 30 days. Late payments are subject to an interest of 1% per month.<br/>Bank: BE71 0961 2345 6769, BIC GKCCBEBB.</p>");
        html.Append("<p>Do not hesitate to contact us if you have any questions.</p><div class=\"o_footer\">Mitchell Admin<br/>My Company (San Francisco)<br/>250 Executive Park Blvd, Suite 3400<br/>San Francisco CA 94134<br/>")
            .Append("<a href=\"https://www.example.com\" style=\"color:#875A7B;\">www.example.com</a> | <a href=\"mailto:info@example.com\" style=\"color:#875A7B;\">info@example.com</a></div>");
        html.Append("<div style=\"color:#8f8f8f;font-size:10px;\">Powered by <a target=\"_blank\" href=\"https://www.odoo.com\" style=\"color:#875A7B;\">Odoo</a></div></body></html>");
        return Message($"{customer} <invoices@bench.example>", $"My Company (San Francisco) Invoice (Ref {number})", text.ToString(), html.ToString());
    }

    private static MimeMessage RandomWords(Random random, int index)
    {
        var words = new StringBuilder();
        while (words.Length < 4800)
        {
            var length = random.Next(3, 11);
            for (var i = 0; i < length; i++)
                words.Append((char)('a' + random.Next(26)));
            words.Append(words.Length % 80 < 10 ? '\n' : ' ');
        }
        var text = words.ToString();
        var html = "<html><body><p>" + text.Replace("\n", "</p>\n<p>") + "</p></body></html>";
        return Message("Sender <sender@bench.example>", $"Random words {index}", text, html);
    }

    private static MimeMessage Message(string to, string subject, string text, string html)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("My Company <noreply@bench.example>"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new MultipartAlternative
        {
            new TextPart("plain") { Text = text },
            new TextPart("html") { Text = html },
        };
        return message;
    }
}
