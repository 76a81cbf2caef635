using System.Text.RegularExpressions;
using Mailtest.Tests.Infrastructure;

namespace Mailtest.Tests.Shape;

/// <summary>
/// Core's capabilities depend one way: the lifecycle (Capture) drives Odoo, not the reverse; Tenancy
/// writes callers into the audit log, which knows nothing of tenancy. Read from the sources, so a
/// change that brings a cycle back fails here with the file that did it.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class NamespaceDependencyTests
{
    [Theory]
    [InlineData("Odoo", "Capture")]
    [InlineData("Audit", "Tenancy")]
    public void A_capability_does_not_reach_back_into_the_one_that_uses_it(string folder, string forbidden)
    {
        var core = Path.Combine(RepositoryRoot(), "Mailtest.Core");
        var reference = new Regex($@"\bMailtest\.Core\.{forbidden}\b|(?<![\w.]){forbidden}\.[A-Z]");

        var offenders = Directory.EnumerateFiles(Path.Combine(core, folder), "*.cs", SearchOption.AllDirectories)
            .Where(file => File.ReadLines(file).Any(line => !IsComment(line) && reference.IsMatch(line)))
            .Select(file => Path.GetRelativePath(core, file));

        Assert.Empty(offenders);
    }

    private static bool IsComment(string line) => line.TrimStart().StartsWith("//", StringComparison.Ordinal);

    /// <summary>The checkout this test assembly was built from (the folder holding Mailtest.sln).</summary>
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Mailtest.sln"))) return directory.FullName;
        throw new InvalidOperationException($"No Mailtest.sln above {AppContext.BaseDirectory}.");
    }
}
