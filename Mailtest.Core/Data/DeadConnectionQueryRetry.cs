using System.Data;
using System.Data.Common;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Mailtest.Core.Data;

/// <summary>
/// PostgreSQL's execution strategy: a read whose pooled connection turns out to have died with the server (a
/// restart or failover between two requests) runs once more, on a new connection, instead of failing for whoever
/// came first after the restart. Npgsql hands out pooled connections without a round trip to check them, and
/// empties the pool when it finds one broken: the second attempt gets a live connection.
/// <para>
/// Only a LINQ query (a read: raw SQL may write, <c>DELETE … RETURNING</c>) that opened its connection itself,
/// outside a transaction, and failed because that connection was gone. A write whose connection broke may or may
/// not have committed, so SaveChanges, ExecuteUpdate/Delete and raw SQL fail as before (answered "try again").
/// </para>
/// </summary>
internal sealed class DeadConnectionQueryRetry(ExecutionStrategyDependencies dependencies) : IExecutionStrategy
{
    /// <summary>Set on the exception of a failed LINQ query's command (<see cref="ReadMarker"/>).</summary>
    private const string FailedReadKey = "Mailtest.FailedRead";
    private const string AdminShutdown = "57P01", CrashShutdown = "57P02";

    /// <summary>The interceptor that tells this strategy which failed commands were reads (EF says so per command).</summary>
    public static readonly IInterceptor ReadMarker = new FailedReadMarker();

    // False: this is no general retrying strategy (EF would then buffer every query's rows and refuse user transactions).
    public bool RetriesOnFailure => false;

    public TResult Execute<TState, TResult>(TState state, Func<DbContext, TState, TResult> operation,
        Func<DbContext, TState, ExecutionResult<TResult>>? verifySucceeded)
    {
        var context = dependencies.CurrentContext.Context;
        if (!MayRetry(context)) return operation(context, state);
        using (var attempt = new Attempt(context.Database.GetDbConnection()))
        {
            try { return operation(context, state); }
            catch (Exception error) when (attempt.DiedWithServer(error)) { }
        }
        return operation(context, state);
    }

    public async Task<TResult> ExecuteAsync<TState, TResult>(TState state, Func<DbContext, TState, CancellationToken, Task<TResult>> operation,
        Func<DbContext, TState, CancellationToken, Task<ExecutionResult<TResult>>>? verifySucceeded, CancellationToken cancellationToken = default)
    {
        var context = dependencies.CurrentContext.Context;
        if (!MayRetry(context)) return await operation(context, state, cancellationToken);
        using (var attempt = new Attempt(context.Database.GetDbConnection()))
        {
            try { return await operation(context, state, cancellationToken); }
            catch (Exception error) when (attempt.DiedWithServer(error)) { }
        }
        return await operation(context, state, cancellationToken);
    }

    /// <summary>The connection closed: the operation opens its own; no transaction: nothing else is lost with it.</summary>
    private static bool MayRetry(DbContext context) =>
        context.Database.CurrentTransaction is null && context.Database.GetDbConnection().State == ConnectionState.Closed;

    /// <summary>One attempt's connection: whether it was opened (the pool gave one) before the query failed.</summary>
    private sealed class Attempt : IDisposable
    {
        private readonly DbConnection _connection;
        private bool _opened;

        public Attempt(DbConnection connection)
        {
            _connection = connection;
            _connection.StateChange += Changed;
        }

        private void Changed(object? sender, StateChangeEventArgs change) => _opened |= change.CurrentState == ConnectionState.Open;

        /// <summary>
        /// A read failed on a connection it had been given: the connection was cut (the socket), or the server said it
        /// was going away (a fast shutdown tells each connection; an immediate one may, or just closes it).
        /// Not a failure to connect (the server is down: a second attempt would only wait as long again).
        /// </summary>
        public bool DiedWithServer(Exception error) =>
            _opened && error.Data[FailedReadKey] is true
            && error is PostgresException { SqlState: AdminShutdown or CrashShutdown } or NpgsqlException { InnerException: IOException or SocketException };

        public void Dispose() => _connection.StateChange -= Changed;
    }

    private sealed class FailedReadMarker : DbCommandInterceptor
    {
        public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Mark(eventData);

        public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            Mark(eventData);
            return Task.CompletedTask;
        }

        private static void Mark(CommandErrorEventData eventData)
        {
            if (eventData.CommandSource == CommandSource.LinqQuery) eventData.Exception.Data[FailedReadKey] = true;
        }
    }
}
