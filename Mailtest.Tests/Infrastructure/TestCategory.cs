using System.Reflection;
using Xunit.v3;

namespace Mailtest.Tests.Infrastructure;

/// <summary>What a test class needs besides this process; the heaviest need names it.</summary>
public enum Needs
{
    /// <summary>Nothing: in-memory pipes, temp files, SQLite, bUnit. The inner loop: <c>--filter-trait Category=Unit</c>.</summary>
    Unit,
    /// <summary>A real host listening on a port (Kestrel HTTP or SMTP), or another process (Python, the built app).</summary>
    Host,
    /// <summary>The PostgreSQL cluster the test run starts.</summary>
    Postgres,
    /// <summary>Chromium, through Playwright.</summary>
    Browser,
}

/// <summary>
/// Every test class says what it needs, as the trait <c>Category</c> (Unit, Host, Postgres or Browser),
/// so a developer can run a part: <c>dotnet test --project Mailtest.Tests -- --filter-trait Category=Unit</c>.
/// <see cref="TestCategoryTests"/> fails a class that forgets it.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TestCategoryAttribute(Needs needs) : Attribute, ITraitAttribute
{
    public const string Trait = "Category";

    public Needs Needs { get; } = needs;

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() => [new(Trait, Needs.ToString())];
}

[TestCategory(Needs.Unit)]
public sealed class TestCategoryTests
{
    private static readonly Type[] TestClasses = [.. typeof(TestCategoryTests).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && t.GetMethods().Any(m => m.GetCustomAttribute<FactAttribute>() is not null))];

    [Fact]
    public void Every_test_class_names_what_it_needs()
    {
        Assert.NotEmpty(TestClasses);
        Assert.Empty(TestClasses.Where(t => t.GetCustomAttribute<TestCategoryAttribute>() is null).Select(t => t.FullName));
    }

    [Fact]
    public void A_class_given_the_database_cluster_or_the_browser_is_not_in_a_lighter_category()
    {
        var wrong = TestClasses
            .Select(t => (Type: t, Declared: t.GetCustomAttribute<TestCategoryAttribute>()?.Needs, Least: LeastNeeds(t)))
            .Where(c => c.Declared < c.Least)
            .Select(c => $"{c.Type.Name} is {c.Declared} but needs {c.Least}");
        Assert.Empty(wrong);
    }

    /// <summary>What the constructor and the class fixtures show the class needs (one level into a fixture's own constructor).</summary>
    private static Needs LeastNeeds(Type type)
    {
        var fixtures = type.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IClassFixture<>))
            .Select(i => i.GetGenericArguments()[0]);
        var given = type.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType)
            .Concat(fixtures)
            .SelectMany(t => t.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType).Append(t))
            .ToHashSet();
        return given.Contains(typeof(ChromiumBrowser)) ? Needs.Browser
            : given.Contains(typeof(PostgresServer)) ? Needs.Postgres
            : Needs.Unit;
    }
}
