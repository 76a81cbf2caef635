namespace Mailtest.Web.Admin;

/// <summary>Wrong arguments: the command line prints the usage line and exits with 2.</summary>
public sealed class AdminUsageException(string message) : Exception(message);

/// <summary>
/// <c>admin NOUN VERB positional... [--option value] [--flag]</c>, split once. Options and flags
/// that the verb does not know are refused; <c>--Section:Key=value</c> pairs are host configuration.
/// </summary>
public sealed class AdminArguments
{
    private static readonly HashSet<string> Flags = ["json", "platform-admin"];

    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public string Noun { get; }
    public string Verb { get; }
    public IReadOnlyList<string> Positionals { get; }
    /// <summary>Configuration for the host, e.g. <c>--Mailtest:Data:Provider=Postgres</c>.</summary>
    public IReadOnlyList<string> HostArguments { get; }
    public bool Json => _flags.Contains("json");

    public AdminArguments(string[] args)
    {
        var positionals = new List<string>();
        var hostArguments = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2) { positionals.Add(arg); continue; }
            var name = arg[2..];
            if (name.Contains(':') && name.Contains('=')) { hostArguments.Add(arg); continue; }
            if (Flags.Contains(name)) { _flags.Add(name); continue; }
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new AdminUsageException($"--{name} needs a value.");
            _options[name] = args[++i];
        }
        if (positionals.Count < 2) throw new AdminUsageException("Name what to do, e.g. `admin org create NAME --plan Starter`.");
        Noun = positionals[0];
        Verb = positionals[1];
        Positionals = positionals[2..];
        HostArguments = hostArguments;
    }

    public string? Option(string name) => _options.GetValueOrDefault(name);

    public string RequiredOption(string name) => Option(name) ?? throw new AdminUsageException($"--{name} is required.");

    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>Refuses arguments the verb does not take.</summary>
    public void Expect(int positionals, params string[] allowedOptions)
    {
        if (Positionals.Count != positionals)
            throw new AdminUsageException($"`{Noun} {Verb}` takes {positionals} argument(s), got {Positionals.Count}.");
        var unknown = _options.Keys.Where(k => k != "data-dir" && !allowedOptions.Contains(k))
            .Concat(_flags.Where(f => f != "json" && !allowedOptions.Contains(f))).ToList();
        if (unknown.Count > 0)
            throw new AdminUsageException($"`{Noun} {Verb}` does not take --{string.Join(", --", unknown)}.");
    }

    public Guid IdAt(int index, string what) =>
        Guid.TryParse(Positionals[index], out var id) ? id : throw new AdminUsageException($"{what} must be an id (a GUID), got '{Positionals[index]}'.");

    public static TEnum ParseEnum<TEnum>(string value, string option) where TEnum : struct, Enum =>
        Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new AdminUsageException($"--{option} must be one of {string.Join("|", Enum.GetNames<TEnum>())}, got '{value}'.");
}
