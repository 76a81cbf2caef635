using Mailtest.Tests.Infrastructure;
using System.Text.Json.Nodes;
using Mailtest.Core.Odoo;

namespace Mailtest.Tests.Odoo;

[TestCategory(Needs.Unit)]
public sealed class MailServerRowsJsonTests
{
    [Fact]
    public void The_snapshot_JSON_keeps_types_bytea_and_NULL_and_reads_back_exactly()
    {
        MailServerColumn[] columns =
        [
            new("id", "integer", false, true), new("name", "character varying", false, false), new("active", "boolean", true, true),
            new("max_email_size", "double precision", true, false), new("smtp_ssl_certificate", "bytea", true, false),
            new("from_filter", "character varying", true, false), new("create_date", "timestamp without time zone", true, false),
        ];
        var row = new MailServerRow(new Dictionary<string, string?>
        {
            ["id"] = "7", ["name"] = "Sales \"EU\"", ["active"] = "false", ["max_email_size"] = "0.1",
            ["smtp_ssl_certificate"] = @"\x00ff10", ["from_filter"] = null, ["create_date"] = "2024-02-29 23:59:59.999999",
        });

        var json = new MailServerRows(columns, [row]).ToJson();

        var stored = JsonNode.Parse(json)!["rows"]![0]!;
        Assert.Equal(7, stored["id"]!.GetValue<long>());
        Assert.False(stored["active"]!.GetValue<bool>());
        Assert.Equal(0.1, stored["max_email_size"]!.GetValue<double>());
        Assert.Equal(Convert.ToBase64String([0x00, 0xff, 0x10]), stored["smtp_ssl_certificate"]!.GetValue<string>());
        Assert.Null(stored["from_filter"]);
        Assert.True(stored.AsObject().ContainsKey("from_filter"));
        var back = MailServerRows.FromJson(json);
        Assert.Equal(columns.Select(c => (c.Name, c.Type)), back.Columns.Select(c => (c.Name, c.Type)));
        Assert.Equal(row.Values, back.Rows.Single().Values);
    }
}
