using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mailtest.Core.Odoo;

/// <summary>
/// A copy of <c>ir_mail_server</c> rows, every column, exact. In memory each value is PostgreSQL's own
/// text form (lossless for every type, cast back with the column's type on restore); stored as JSON
/// with the column types and natural JSON values: numbers, booleans, strings, base64 for bytea, null.
/// </summary>
internal sealed class MailServerRows
{
    public MailServerRows(IReadOnlyList<MailServerColumn> columns, IReadOnlyList<MailServerRow> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    public IReadOnlyList<MailServerColumn> Columns { get; }
    public IReadOnlyList<MailServerRow> Rows { get; }

    public MailServerRow? Find(long id) => Rows.FirstOrDefault(r => r.Id == id);

    public string ToJson()
    {
        var columns = new JsonObject();
        foreach (var column in Columns) columns[column.Name] = column.Type;
        var rows = new JsonArray();
        foreach (var row in Rows)
        {
            var values = new JsonObject();
            foreach (var column in Columns)
                values[column.Name] = ToJsonValue(column.Type, row[column.Name]);
            rows.Add(values);
        }
        return new JsonObject { ["columns"] = columns, ["rows"] = rows }.ToJsonString();
    }

    public static MailServerRows FromJson(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        var columns = root["columns"]!.AsObject()
            .Select(c => new MailServerColumn(c.Key, c.Value!.GetValue<string>(), IsNullable: true, HasDefault: false))
            .ToList();
        var rows = root["rows"]!.AsArray()
            .Select(r => new MailServerRow(columns.ToDictionary(c => c.Name, c => FromJsonValue(c.Type, r![c.Name]))))
            .ToList();
        return new MailServerRows(columns, rows);
    }

    private static JsonNode? ToJsonValue(string type, string? text)
    {
        if (text is null) return null;
        switch (type)
        {
            case "integer" or "bigint" or "smallint":
                return JsonValue.Create(long.Parse(text, CultureInfo.InvariantCulture));
            case "boolean":
                return JsonValue.Create(text == "true");
            case "double precision" or "real"
                when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number):
                return JsonValue.Create(number);
            case "bytea":
                return JsonValue.Create(Convert.ToBase64String(Convert.FromHexString(text.AsSpan(2))));
            default:
                return JsonValue.Create(text);
        }
    }

    private static string? FromJsonValue(string type, JsonNode? node)
    {
        if (node is null) return null;
        return type switch
        {
            "boolean" => node.GetValue<bool>() ? "true" : "false",
            "bytea" => @"\x" + Convert.ToHexStringLower(Convert.FromBase64String(node.GetValue<string>())),
            // Numbers keep the exact text they were written with (shortest round-trip for doubles).
            _ when node.GetValueKind() == JsonValueKind.Number => node.ToJsonString(),
            _ => node.GetValue<string>(),
        };
    }
}

/// <summary>One row: column name → PostgreSQL text value (null for NULL).</summary>
internal sealed class MailServerRow(IReadOnlyDictionary<string, string?> values)
{
    public IReadOnlyDictionary<string, string?> Values { get; } = values;

    public long Id => long.Parse(Values["id"]!, CultureInfo.InvariantCulture);
    public string Name => Values.GetValueOrDefault("name") ?? "";
    public bool Active => Values.GetValueOrDefault("active") == "true";

    public string? this[string column] => Values.GetValueOrDefault(column);

    public bool SameValuesAs(MailServerRow other, IEnumerable<MailServerColumn> columns) =>
        columns.All(c => this[c.Name] == other[c.Name]);

    public MailServerRow With(IReadOnlyDictionary<string, string?> changes)
    {
        var values = new Dictionary<string, string?>(Values);
        foreach (var (column, value) in changes) values[column] = value;
        return new MailServerRow(values);
    }

    /// <summary>Never the values: they hold Odoo's SMTP passwords.</summary>
    public override string ToString() => $"ir_mail_server {Id} '{Name}'";
}
