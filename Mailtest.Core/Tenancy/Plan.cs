namespace Mailtest.Core.Tenancy;

/// <summary>An organization's plan; the limits of each live in <see cref="PlanOptions"/>.</summary>
public enum Plan
{
    Free = 0,
    Starter = 1,
    Pro = 2,
    Agency = 3,
}
