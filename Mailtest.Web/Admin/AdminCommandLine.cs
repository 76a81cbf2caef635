namespace Mailtest.Web.Admin;

/// <summary>The admin command line: <c>mailtest admin ...</c> for unattended installs and scripts.</summary>
public static class AdminCommandLine
{
    public static bool IsInvocation(string[] args) => args.Length > 0 && args[0] == "admin";

    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("usage: admin <org|project|env|user|member|credentials|messages|token> ... [--json]");
        return Task.FromResult(2);
    }
}
