namespace Mailtest.Tests.Messages;

/// <summary>Messages as real clients send them.</summary>
internal static class SampleMail
{
    public static string Plain(string subject, string body = "Hello there.", string from = "Shop <shop@example.com>", string to = "Alice <alice@example.com>", string? cc = null) =>
        $"From: {from}\r\nTo: {to}\r\n" + (cc is null ? "" : $"Cc: {cc}\r\n") +
        $"Subject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.com>\r\nDate: Tue, 24 Nov 2026 06:00:00 +0000\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";

    /// <summary>HTML with an inline image (cid:) and a PDF attachment.</summary>
    public static string WithAttachments(string subject) =>
        "From: Odoo <odoo@shop.example>\r\nTo: bob@example.com\r\nCc: Carol <carol@example.com>\r\nReply-To: support@shop.example\r\n" +
        $"Subject: {subject}\r\nMessage-ID: <invoice-42@shop.example>\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
        "--outer\r\nContent-Type: multipart/related; boundary=\"inner\"\r\n\r\n" +
        "--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
        "<html><head><style>p{color:red}</style></head><body><p>Your <b>invoice</b> INV/2026/0042 is ready.</p><img src=\"cid:logo@shop\"></body></html>\r\n" +
        "--inner\r\nContent-Type: image/png\r\nContent-ID: <logo@shop>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Convert.ToBase64String(new byte[300]) + "\r\n" +
        "--inner--\r\n" +
        "--outer\r\nContent-Type: application/pdf; name=\"INV-2026-0042.pdf\"\r\nContent-Disposition: attachment; filename=\"INV-2026-0042.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Convert.ToBase64String(Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray(), Base64FormattingOptions.InsertLineBreaks) + "\r\n" +
        "--outer--\r\n";
}
