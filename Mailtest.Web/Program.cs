using Mailtest.Web.Admin;
using Mailtest.Web.Hosting;

// One executable: `admin ...` runs the admin command line, anything else starts the server.
if (AdminCommandLine.IsInvocation(args))
    return await AdminCommandLine.RunAsync(args);

var app = MailtestHost.Build(MailtestHost.CreateBuilder(args));
await app.Services.MigrateDatabaseAsync();
await app.RunAsync();
return 0;
