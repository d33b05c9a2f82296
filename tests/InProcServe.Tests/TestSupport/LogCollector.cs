using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace InProcServe.Tests.TestSupport;

/// <summary>Collects what a host logs, for tests that check a message was written: <c>builder.Logging.AddProvider(collector)</c>.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> entries = new();

    /// <summary>The entries of event <paramref name="eventId"/>, in the order they were written.</summary>
    internal IReadOnlyList<LogEntry> Events(int eventId) => entries.Where(e => e.EventId.Id == eventId).ToList();

    /// <summary>Every entry at <paramref name="level"/> or above.</summary>
    internal IReadOnlyList<LogEntry> AtLeast(LogLevel level) => entries.Where(e => e.Level >= level).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(entries, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<LogEntry> entries, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

/// <summary>One message a <see cref="LogCollector"/> received.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);
