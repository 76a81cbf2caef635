namespace Mailtest.Smtp.Protocol;

/// <summary>The engine's own replies (RFC 5321 codes with RFC 3463 enhanced status codes); those a backend
/// also returns come from <see cref="SmtpStandardReplies"/>.</summary>
internal static class SmtpReplies
{
    public static readonly SmtpReply Ok = new(250, "2.0.0", "Ok");
    public static readonly SmtpReply SenderOk = new(250, "2.1.0", "Sender ok");
    public static readonly SmtpReply RecipientOk = new(250, "2.1.5", "Recipient ok");
    public static readonly SmtpReply Reset = new(250, "2.0.0", "Reset ok");
    public static readonly SmtpReply CannotVerify = new(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply Bye = new(221, "2.0.0", "Bye");
    public static readonly SmtpReply ReadyForTls = new(220, "2.0.0", "Ready to start TLS");
    public static readonly SmtpReply AuthSucceeded = new(235, "2.7.0", "Authentication successful");
    public static readonly SmtpReply StartMailInput = new(354, "", "End data with <CR><LF>.<CR><LF>");

    public static readonly SmtpReply UnknownCommand = new(500, "5.5.1", "Unrecognized command");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.6", "Line too long");
    public static readonly SmtpReply SyntaxError = new(501, "5.5.4", "Syntax error in parameters or arguments");
    public static readonly SmtpReply NoParametersAllowed = new(501, "5.5.4", "Syntax error: no parameters allowed");
    public static readonly SmtpReply DomainRequired = new(501, "5.5.4", "Syntax error: a domain or address literal is required");
    public static readonly SmtpReply InvalidAddress = new(501, "5.1.7", "Syntax error in mailbox address");
    public static readonly SmtpReply ParameterNotSupported = new(555, "5.5.4", "Parameter not recognized or not implemented");
    public static readonly SmtpReply InternationalAddressNeedsSmtpUtf8 = new(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter");
    public static readonly SmtpReply AuthCancelled = new(501, "5.7.0", "Authentication cancelled");
    public static readonly SmtpReply CannotDecodeResponse = new(501, "5.5.2", "Cannot decode response");
    public static readonly SmtpReply UnsupportedMechanism = new(504, "5.5.4", "Unrecognized authentication type");
    public static readonly SmtpReply AlreadyAuthenticated = new(503, "5.5.1", "Already authenticated");
    public static readonly SmtpReply AlreadySecure = new(503, "5.5.1", "TLS already active");
    public static readonly SmtpReply AuthenticationRequired = new(530, "5.7.0", "Authentication required");
    public static readonly SmtpReply StartTlsFirst = new(530, "5.7.0", "Must issue a STARTTLS command first");
    public static readonly SmtpReply AuthenticationFailed = SmtpStandardReplies.AuthenticationFailed;
    public static readonly SmtpReply TlsNotAvailable = new(454, "4.7.0", "TLS not available due to temporary reason");
    public static readonly SmtpReply MessageTooBig = SmtpStandardReplies.MessageTooBig;
    public static readonly SmtpReply TooManyRecipients = new(452, "4.5.3", "Too many recipients");
    public static readonly SmtpReply TemporaryAuthenticationFailure = new(454, "4.7.0", "Temporary authentication failure");
    public static readonly SmtpReply LocalError = new(451, "4.3.0", "Local error in processing, try again later");
    public static readonly SmtpReply DeliveryFailed = SmtpStandardReplies.StorageFailed;
    /// <summary>Writing the spool failed because its disk is full (ENOSPC) or over quota (EDQUOT).</summary>
    public static readonly SmtpReply SpoolDiskFull = new(451, "4.3.0", "Mailtest's disk is full, so the message was not stored; try again later");
    /// <summary>Writing the spool failed for another reason (a disk error).</summary>
    public static readonly SmtpReply SpoolWriteFailed = new(451, "4.3.0", "Mailtest could not write the message to its disk; try again later");

    public static readonly SmtpReply Banned = new(421, "4.7.0", "Too many failed logins from your address, try again later");
    public static readonly SmtpReply TooManyConnections = new(421, "4.7.0", "Too many connections from your address");
    public static readonly SmtpReply ServerFull = new(421, "4.3.2", "Too many connections to this server right now, try again later");
    /// <summary>The product could not answer whether this connection may proceed (a bug or an outage).</summary>
    public static readonly SmtpReply ConnectionCheckFailed = new(421, "4.3.0", "Mailtest cannot take connections right now, try again later");
    public static readonly SmtpReply ShuttingDown = SmtpStandardReplies.ShuttingDown;
    public static readonly SmtpReply CommandTimeout = new(421, "4.4.2", "Command timeout, closing connection");
    public static readonly SmtpReply DataTimeout = new(421, "4.4.2", "DATA timeout, closing connection");
    public static readonly SmtpReply SessionTimeout = new(421, "4.4.2", "Session timeout, closing connection");

    public static SmtpReply BadSequence(string detail) => new(503, "5.5.1", $"Bad sequence of commands: {detail}");
}
