namespace Mailtest.Core.Messages.Mailbox;

/// <summary>
/// A message as an API path names it: its id, or <c>latest</c> — the newest message matching the
/// request's search (or the newest of all). Mailpit's clients use <c>latest</c> the same way.
/// </summary>
public readonly record struct MessageRef(Guid? Id)
{
    public const string LatestName = "latest";

    public static readonly MessageRef Latest = new(null);

    public bool IsLatest => Id is null;

    public static bool TryParse(string? text, out MessageRef reference)
    {
        if (string.Equals(text, LatestName, StringComparison.OrdinalIgnoreCase)) { reference = Latest; return true; }
        if (Guid.TryParse(text, out var id)) { reference = new MessageRef(id); return true; }
        reference = default;
        return false;
    }

    public override string ToString() => Id?.ToString() ?? LatestName;
}
