using System.Buffers;
using System.Text;

namespace Mailtest.Smtp.Protocol;

/// <summary>
/// Parses one command line (without its CRLF) into an <see cref="SmtpCommand"/>. One method per
/// grammar rule of RFC 5321 §4.1.2, extended by RFC 6531 (UTF-8 in addresses) and RFC 1870/6152
/// (MAIL parameters). Lenient where real clients are sloppy (spaces after <c>FROM:</c>), strict
/// where it matters (paths, parameters).
/// </summary>
internal static class SmtpCommandParser
{
    private const byte Space = (byte)' ';
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly (string Name, SmtpVerb Verb)[] Verbs =
    [
        ("HELO", SmtpVerb.Helo), ("EHLO", SmtpVerb.Ehlo), ("STARTTLS", SmtpVerb.StartTls), ("AUTH", SmtpVerb.Auth),
        ("MAIL", SmtpVerb.Mail), ("RCPT", SmtpVerb.Rcpt), ("DATA", SmtpVerb.Data), ("RSET", SmtpVerb.Rset),
        ("NOOP", SmtpVerb.Noop), ("VRFY", SmtpVerb.Vrfy), ("QUIT", SmtpVerb.Quit),
    ];

    public static SmtpCommand Parse(ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(line);
        var verb = ReadVerb(ref reader);
        return verb switch
        {
            SmtpVerb.Unknown => new UnknownCommand(),
            SmtpVerb.Helo or SmtpVerb.Ehlo => ParseHelo(ref reader, verb),
            SmtpVerb.Mail => ParseMail(ref reader),
            SmtpVerb.Rcpt => ParseRcpt(ref reader),
            SmtpVerb.Auth => ParseAuth(ref reader),
            SmtpVerb.Vrfy => ParseVrfy(ref reader),
            SmtpVerb.Noop => new BareCommand(verb), // NOOP [ SP String ]: the string is ignored
            _ => ParseBare(ref reader, verb),
        };
    }

    /// <summary>verb = the command keyword, case-insensitive, followed by SP or the end of the line.</summary>
    private static SmtpVerb ReadVerb(ref SequenceReader<byte> reader)
    {
        Span<byte> keyword = stackalloc byte[8];
        var length = 0;
        while (reader.TryPeek(out var b) && b != Space)
        {
            if (length == keyword.Length || !IsAlpha(b))
                return SmtpVerb.Unknown;
            keyword[length++] = (byte)(b & ~0x20); // upper-case ASCII letter
            reader.Advance(1);
        }
        var text = Encoding.ASCII.GetString(keyword[..length]);
        foreach (var (name, verb) in Verbs)
            if (name == text)
                return verb;
        return SmtpVerb.Unknown;
    }

    /// <summary><c>ehlo = "EHLO" SP ( Domain / address-literal )</c>; the argument is kept as sent.</summary>
    private static SmtpCommand ParseHelo(ref SequenceReader<byte> reader, SmtpVerb verb)
    {
        SkipSpaces(ref reader);
        var start = reader.Position;
        while (reader.TryPeek(out var b) && b != Space && b > 0x20 && b != 0x7F)
            reader.Advance(1);
        var domain = reader.Sequence.Slice(start, reader.Position);
        SkipSpaces(ref reader);
        if (domain.IsEmpty || !reader.End || !TryDecode(domain, out var text))
            return new MalformedCommand(verb, SmtpReplies.DomainRequired);
        return new HeloCommand(verb, text);
    }

    /// <summary><c>mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]</c>.</summary>
    private static SmtpCommand ParseMail(ref SequenceReader<byte> reader)
    {
        if (!TryReadKeywordColon(ref reader, "FROM:"u8))
            return new MalformedCommand(SmtpVerb.Mail, SmtpReplies.SyntaxError);
        SmtpAddress path;
        if (reader.IsNext("<>"u8, advancePast: true))
            path = SmtpAddress.Null;
        else if (!TryReadPath(ref reader, out path))
            return new MalformedCommand(SmtpVerb.Mail, SmtpReplies.InvalidAddress);

        long? size = null;
        var smtpUtf8 = false;
        while (TryReadParameter(ref reader, out var keyword, out var value, out var malformed))
        {
            switch (keyword)
            {
                case "SIZE" when value is not null && long.TryParse(value, System.Globalization.NumberStyles.None, null, out var declared):
                    size = declared;
                    break;
                case "BODY" when value is not null && (value.Equals("7BIT", StringComparison.OrdinalIgnoreCase) || value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase)):
                    break;
                case "SMTPUTF8" when value is null:
                    smtpUtf8 = true;
                    break;
                case "AUTH" when value is not null: // RFC 4954 §5: the submitter's identity; we know it from AUTH already
                    break;
                case "SIZE" or "BODY" or "SMTPUTF8" or "AUTH":
                    return new MalformedCommand(SmtpVerb.Mail, SmtpReplies.SyntaxError);
                default:
                    return new MalformedCommand(SmtpVerb.Mail, SmtpReplies.ParameterNotSupported);
            }
        }
        if (!reader.End)
            return new MalformedCommand(SmtpVerb.Mail, SmtpReplies.SyntaxError);
        return new MailCommand(path, size, smtpUtf8);
    }

    /// <summary><c>rcpt = "RCPT TO:" ( "&lt;Postmaster@" Domain "&gt;" / "&lt;Postmaster&gt;" / Forward-path ) [SP Rcpt-parameters]</c>.</summary>
    private static SmtpCommand ParseRcpt(ref SequenceReader<byte> reader)
    {
        if (!TryReadKeywordColon(ref reader, "TO:"u8))
            return new MalformedCommand(SmtpVerb.Rcpt, SmtpReplies.SyntaxError);
        SmtpAddress path;
        if (reader.IsNext("<Postmaster>"u8, advancePast: false) || reader.IsNext("<postmaster>"u8, advancePast: false))
        {
            reader.Advance("<Postmaster>".Length);
            path = new SmtpAddress("Postmaster", false);
        }
        else if (!TryReadPath(ref reader, out path))
            return new MalformedCommand(SmtpVerb.Rcpt, SmtpReplies.InvalidAddress);

        if (TryReadParameter(ref reader, out _, out _, out _))
            return new MalformedCommand(SmtpVerb.Rcpt, SmtpReplies.ParameterNotSupported); // no RCPT extension is advertised
        if (!reader.End)
            return new MalformedCommand(SmtpVerb.Rcpt, SmtpReplies.SyntaxError);
        return new RcptCommand(path);
    }

    /// <summary><c>auth = "AUTH" SP sasl-mech [SP initial-response]</c> (RFC 4954 §4).</summary>
    private static SmtpCommand ParseAuth(ref SequenceReader<byte> reader)
    {
        if (!reader.IsNext(Space, advancePast: true))
            return new MalformedCommand(SmtpVerb.Auth, SmtpReplies.SyntaxError);
        var mechanism = ReadToken(ref reader);
        if (mechanism is null || mechanism.Length > 20)
            return new MalformedCommand(SmtpVerb.Auth, SmtpReplies.SyntaxError);
        string? initial = null;
        if (reader.IsNext(Space, advancePast: true))
        {
            initial = ReadToken(ref reader);
            if (initial is null)
                return new MalformedCommand(SmtpVerb.Auth, SmtpReplies.SyntaxError);
        }
        SkipSpaces(ref reader);
        if (!reader.End)
            return new MalformedCommand(SmtpVerb.Auth, SmtpReplies.SyntaxError);
        return new AuthCommand(mechanism.ToUpperInvariant(), initial);
    }

    /// <summary><c>vrfy = "VRFY" SP String</c>.</summary>
    private static SmtpCommand ParseVrfy(ref SequenceReader<byte> reader)
    {
        SkipSpaces(ref reader);
        var rest = reader.UnreadSequence;
        if (rest.IsEmpty || !TryDecode(rest, out var argument))
            return new MalformedCommand(SmtpVerb.Vrfy, SmtpReplies.SyntaxError);
        return new VrfyCommand(argument);
    }

    private static SmtpCommand ParseBare(ref SequenceReader<byte> reader, SmtpVerb verb)
    {
        SkipSpaces(ref reader);
        return reader.End ? new BareCommand(verb) : new MalformedCommand(verb, SmtpReplies.NoParametersAllowed);
    }

    /// <summary><c>SP "FROM:"</c> / <c>SP "TO:"</c>, case-insensitive; spaces around the colon are tolerated.</summary>
    private static bool TryReadKeywordColon(ref SequenceReader<byte> reader, ReadOnlySpan<byte> keyword)
    {
        if (!reader.IsNext(Space, advancePast: true))
            return false;
        foreach (var expected in keyword)
        {
            if (!reader.TryRead(out var b))
                return false;
            if (IsAlpha(expected) ? (b & ~0x20) != expected : b != expected)
                return false;
        }
        SkipSpaces(ref reader);
        return true;
    }

    /// <summary><c>Path = "&lt;" [ A-d-l ":" ] Mailbox "&gt;"</c>; a source route is read and ignored (RFC 5321 §4.1.2).</summary>
    private static bool TryReadPath(ref SequenceReader<byte> reader, out SmtpAddress address)
    {
        address = default;
        if (!reader.IsNext((byte)'<', advancePast: true))
            return false;
        if (reader.IsNext((byte)'@', advancePast: false))
        {
            // A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain
            do
            {
                reader.Advance(1);
                if (!TryReadDomain(ref reader))
                    return false;
            } while (reader.IsNext((byte)',', advancePast: true) && reader.IsNext((byte)'@', advancePast: false));
            if (!reader.IsNext((byte)':', advancePast: true))
                return false;
        }
        var start = reader.Position;
        if (!TryReadMailbox(ref reader))
            return false;
        var mailbox = reader.Sequence.Slice(start, reader.Position);
        if (!reader.IsNext((byte)'>', advancePast: true) || !TryDecode(mailbox, out var value))
            return false;
        address = new SmtpAddress(value, HasNonAscii(mailbox));
        return true;
    }

    /// <summary><c>Mailbox = Local-part "@" ( Domain / address-literal )</c>.</summary>
    private static bool TryReadMailbox(ref SequenceReader<byte> reader) =>
        TryReadLocalPart(ref reader)
        && reader.IsNext((byte)'@', advancePast: true)
        && (reader.IsNext((byte)'[', advancePast: false) ? TryReadAddressLiteral(ref reader) : TryReadDomain(ref reader));

    /// <summary><c>Local-part = Dot-string / Quoted-string</c>.</summary>
    private static bool TryReadLocalPart(ref SequenceReader<byte> reader) =>
        reader.IsNext((byte)'"', advancePast: false) ? TryReadQuotedString(ref reader) : TryReadDotString(ref reader);

    /// <summary><c>Dot-string = Atom *("." Atom)</c>.</summary>
    private static bool TryReadDotString(ref SequenceReader<byte> reader)
    {
        if (!TryReadAtom(ref reader))
            return false;
        while (reader.IsNext((byte)'.', advancePast: true))
            if (!TryReadAtom(ref reader))
                return false;
        return true;
    }

    /// <summary><c>Atom = 1*atext</c>, where RFC 6531 adds UTF-8 non-ASCII to atext.</summary>
    private static bool TryReadAtom(ref SequenceReader<byte> reader)
    {
        var count = 0;
        while (reader.TryPeek(out var b) && IsAtext(b))
        {
            reader.Advance(1);
            count++;
        }
        return count > 0;
    }

    /// <summary><c>Quoted-string = DQUOTE *QcontentSMTP DQUOTE</c>.</summary>
    private static bool TryReadQuotedString(ref SequenceReader<byte> reader)
    {
        reader.Advance(1);
        while (reader.TryRead(out var b))
        {
            if (b == '"')
                return true;
            if (b == '\\')
            {
                // quoted-pairSMTP = %d92 %d32-126
                if (!reader.TryRead(out var escaped) || escaped is < 32 or > 126)
                    return false;
            }
            else if (b < 32 || b == 127)
                return false;
        }
        return false;
    }

    /// <summary><c>Domain = sub-domain *("." sub-domain)</c>; <c>sub-domain = Let-dig [Ldh-str]</c> (or a U-label).</summary>
    private static bool TryReadDomain(ref SequenceReader<byte> reader)
    {
        do
        {
            var count = 0;
            while (reader.TryPeek(out var b) && (IsAlphaDigit(b) || b == '-' || b >= 0x80))
            {
                reader.Advance(1);
                count++;
            }
            if (count == 0)
                return false;
        } while (reader.IsNext((byte)'.', advancePast: true));
        return true;
    }

    /// <summary><c>address-literal = "[" ( IPv4 / IPv6 / General-address-literal ) "]"</c>, checked as dcontent.</summary>
    private static bool TryReadAddressLiteral(ref SequenceReader<byte> reader)
    {
        reader.Advance(1);
        var count = 0;
        while (reader.TryRead(out var b))
        {
            if (b == ']')
                return count > 0;
            if (b is < 33 or > 126 || b == '[' || b == '\\')
                return false;
            count++;
        }
        return false;
    }

    /// <summary><c>esmtp-param = esmtp-keyword ["=" esmtp-value]</c>, preceded by SP. False when none follows.</summary>
    private static bool TryReadParameter(ref SequenceReader<byte> reader, out string keyword, out string? value, out bool malformed)
    {
        keyword = "";
        value = null;
        malformed = false;
        if (!reader.IsNext(Space, advancePast: false))
            return false;
        SkipSpaces(ref reader);
        if (reader.End)
            return false;
        var start = reader.Position;
        while (reader.TryPeek(out var b) && (IsAlphaDigit(b) || b == '-'))
            reader.Advance(1);
        keyword = Encoding.ASCII.GetString(reader.Sequence.Slice(start, reader.Position)).ToUpperInvariant();
        if (reader.IsNext((byte)'=', advancePast: true))
        {
            var valueStart = reader.Position;
            while (reader.TryPeek(out var b) && b > 32 && b != '=' && b != 127)
                reader.Advance(1);
            var raw = reader.Sequence.Slice(valueStart, reader.Position);
            if (raw.IsEmpty || !TryDecode(raw, out var decoded))
                malformed = true;
            else
                value = decoded;
        }
        if (keyword.Length == 0 || malformed)
        {
            keyword = "";
            malformed = true;
        }
        return true;
    }

    /// <summary>A run of printable ASCII up to SP or the end.</summary>
    private static string? ReadToken(ref SequenceReader<byte> reader)
    {
        var start = reader.Position;
        while (reader.TryPeek(out var b) && b is > 32 and < 127)
            reader.Advance(1);
        var token = reader.Sequence.Slice(start, reader.Position);
        return token.IsEmpty ? null : Encoding.ASCII.GetString(token);
    }

    private static void SkipSpaces(ref SequenceReader<byte> reader) => reader.AdvancePast(Space);

    private static bool TryDecode(ReadOnlySequence<byte> bytes, out string text)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            return !text.Any(char.IsControl);
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }

    private static bool HasNonAscii(ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
            if (segment.Span.ContainsAnyExceptInRange((byte)0, (byte)0x7F))
                return true;
        return false;
    }

    private static bool IsAlpha(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z';
    private static bool IsAlphaDigit(byte b) => IsAlpha(b) || b is >= (byte)'0' and <= (byte)'9';

    /// <summary>RFC 5322 atext plus UTF-8 non-ASCII (RFC 6531 §3.3).</summary>
    private static bool IsAtext(byte b) => IsAlphaDigit(b) || b >= 0x80 || "!#$%&'*+-/=?^_`{|}~"u8.Contains(b);
}
