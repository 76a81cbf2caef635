using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Messages;

/// <summary>
/// Mailpit's tags on each database provider: read from X-Tags by the batch writer of the provider,
/// searched with tag:, listed, set, renamed and deleted through <see cref="EnvironmentMailbox"/>,
/// one environment at a time, with the live event open inboxes read again on.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class MessageTagsTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Tags_from_X_Tags_are_stored_searched_set_renamed_and_deleted_within_one_environment(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string?> { ["Mailtest:Data:Provider"] = provider.ToString() };
        if (provider == DatabaseProvider.Postgres)
            settings["Mailtest:Data:ConnectionString"] = await postgres.CreateDatabaseAsync("tags");
        await using var host = await MailtestTestHost.StartAsync(settings);
        var world = await SandboxWorld.CreateAsync(host);
        var caller = new Caller(world.OwnerUser.Id, world.OwnerUser.Email, false);
        var mailbox = host.Services.GetRequiredService<EnvironmentMailbox>();
        var other = await host.Services.GetRequiredService<TenancyAdministration>().CreateEnvironmentAsync(world.ProjectId, "dev", EnvironmentKind.Development);

        var tagged = new MimeMessage();
        tagged.From.Add(MailboxAddress.Parse("shop@example.com"));
        tagged.To.Add(MailboxAddress.Parse("alice@example.com"));
        tagged.Subject = "Tagged";
        tagged.Headers.Add("X-Tags", " Orders, seed ,orders, q/a!,, ");
        tagged.Body = new TextPart("plain") { Text = "Hello." };
        await world.SendAsync(tagged);
        var untagged = new MimeMessage();
        untagged.From.Add(MailboxAddress.Parse("shop@example.com"));
        untagged.To.Add(MailboxAddress.Parse("bob@example.com"));
        untagged.Subject = "Untagged";
        untagged.Body = new TextPart("plain") { Text = "Hello." };
        await world.SendAsync(untagged);
        var theirs = await host.Services.GetRequiredService<MessageInjection>().InjectAsync(caller, other.Id,
            new ComposedMessage(new ComposedAddress("shop@example.com"), [new ComposedAddress("carol@example.com")], Subject: "Theirs", Text: "Hi", Tags: ["seed"]), ct);
        async Task<IReadOnlyList<string>> SubjectsAsync(string search) =>
            [.. (await mailbox.ListAsync(caller, world.EnvironmentId, search, null, 50, ct)).Items.Select(m => m.Subject!)];

        // Stored at ingest with Mailpit's rules, and searched as whole tags ignoring case.
        var taggedItem = Assert.Single((await mailbox.ListAsync(caller, world.EnvironmentId, "tag:seed", null, 50, ct)).Items);
        Assert.Equal(["Orders", "qa", "seed"], taggedItem.Tags);
        Assert.Equal(["Tagged"], await SubjectsAsync("tag:ORDERS"));
        Assert.Empty(await SubjectsAsync("tag:see"));
        Assert.Equal(["Untagged"], await SubjectsAsync("-tag:seed"));
        Assert.Equal([new EnvironmentTag("Orders", 1), new EnvironmentTag("qa", 1), new EnvironmentTag("seed", 1)],
            await mailbox.ListTagsAsync(caller, world.EnvironmentId, ct));

        var changed = new TaskCompletionSource();
        await using var subscription = host.Services.GetRequiredService<MessageEvents>().Subscribe([world.EnvironmentId], (e, _) =>
        {
            if (e is MessagesChanged) changed.TrySetResult();
            return Task.CompletedTask;
        });
        var untaggedId = (await mailbox.ListAsync(caller, world.EnvironmentId, "subject:Untagged", null, 1, ct)).Items.Single().Id;
        // Another environment's message among the ids is not touched.
        Assert.Equal(1, await mailbox.SetTagsAsync(caller, world.EnvironmentId, [untaggedId, theirs], ["seed", "new", "NEW"], ct));
        await changed.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(["Tagged", "Untagged"], (await SubjectsAsync("tag:seed")).Order());

        Assert.Equal(2, await mailbox.RenameTagAsync(caller, world.EnvironmentId, "SEED", "shipped", ct));
        Assert.Equal([new EnvironmentTag("new", 1), new EnvironmentTag("Orders", 1), new EnvironmentTag("qa", 1), new EnvironmentTag("shipped", 2)],
            await mailbox.ListTagsAsync(caller, world.EnvironmentId, ct));
        await Assert.ThrowsAsync<NotFoundException>(() => mailbox.RenameTagAsync(caller, world.EnvironmentId, "seed", "x", ct));

        Assert.Equal(2, await mailbox.DeleteTagAsync(caller, world.EnvironmentId, "shipped", ct));
        Assert.Equal(0, await mailbox.DeleteTagAsync(caller, world.EnvironmentId, "shipped", ct));
        Assert.Equal(["new"], (await mailbox.GetAsync(caller, world.EnvironmentId, new MessageRef(untaggedId), null, ct)).Tags is { } stored ? MessageTags.Split(stored) : []);
        Assert.Equal(2, (await mailbox.ListAsync(caller, world.EnvironmentId, null, null, 50, ct)).Total);

        Assert.Equal([new EnvironmentTag("seed", 1)], await mailbox.ListTagsAsync(caller, other.Id, ct));
        Assert.Equal("seed", (await mailbox.GetAsync(caller, other.Id, new MessageRef(theirs), null, ct)).Tags);
    }
}
