using System.Text.Json.Serialization;

namespace Mailtest.Core.Tenancy;

/// <summary>An organization's plan; the limits of each live in <see cref="PlanOptions"/>. Written by name in JSON.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Plan>))]
public enum Plan
{
    Free = 0,
    Starter = 1,
    Pro = 2,
    Agency = 3,
}
