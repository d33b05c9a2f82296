using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>
/// The one mapping from an infer failure to what a client gets. Inputs ONNX Runtime itself refuses are hard to
/// reach through HTTP once the reader checks shapes and symbolic dimensions, so the mapping is checked here with
/// the messages ONNX Runtime writes.
/// </summary>
public sealed class OpenInferenceServerTests
{
    [Fact]
    public void Inputs_ONNX_Runtime_refuses_are_400_without_its_source_paths()
    {
        var (server, _) = Create();

        var (status, message) = server.Describe(new OnnxRuntimeException(OnnxRuntimeErrorCode.InvalidArgument,
            "Model 'm': run failed: [ErrorCode:InvalidArgument] Non-zero status code returned while running Add node. Name:'add' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:560 void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 2 by 3"), "m");

        Assert.Equal(400, status);
        Assert.StartsWith("Model 'm' refused the inputs: Model 'm': run failed: [ErrorCode:InvalidArgument] Non-zero status code returned while running Add node. Name:'add' Status Message: … void onnxruntime::BroadcastIterator::Append", message);
        Assert.EndsWith("Attempting to broadcast an axis by a dimension other than 1. 2 by 3", message);
    }

    [Fact]
    public void Any_other_failure_is_a_500_with_no_details_logged_once_with_them()
    {
        var (server, logs) = Create();

        var (status, message) = server.Describe(new InvalidCastException("secret at /home/app/models/m.onnx"), "m");

        Assert.Equal(500, status);
        Assert.Equal("Model 'm' failed on the server; the server log has the details.", message);
        var logged = Assert.Single(logs);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.IsType<InvalidCastException>(logged.Exception);
    }

    [Theory]
    [InlineData(typeof(TimeoutException), 504)]
    [InlineData(typeof(OperationCanceledException), 504)]
    [InlineData(typeof(ObjectDisposedException), 503)]
    public void Passing_conditions_are_named_and_not_logged(Type type, int expected)
    {
        var (server, logs) = Create();
        var error = type == typeof(ObjectDisposedException) ? new ObjectDisposedException("session") : (Exception)Activator.CreateInstance(type)!;

        var (status, _) = server.Describe(error, "m");

        Assert.Equal(expected, status);
        Assert.Empty(logs);
    }

    private static (OpenInferenceServer Server, ConcurrentQueue<(LogLevel Level, Exception? Exception)> Logs) Create()
    {
        var logs = new ConcurrentQueue<(LogLevel, Exception?)>();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(new Collector(logs)))
            .AddOpenInferenceProtocol()
            .BuildServiceProvider();
        return (services.GetRequiredService<OpenInferenceServer>(), logs);
    }

    private sealed class Collector(ConcurrentQueue<(LogLevel, Exception?)> logs) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => logs.Enqueue((logLevel, exception));

        public void Dispose()
        {
        }
    }
}
