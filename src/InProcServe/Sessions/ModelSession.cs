using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using InProcServe.Tensors;
using Microsoft.ML.OnnxRuntime;
using Ort = Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// A loaded ONNX model: its signature, and runs over tensors you provide. The untyped layer that typed
/// models and the batcher build on.
/// </summary>
/// <remarks>
/// Thread safety: any number of threads may call Run at once. <see cref="Dispose"/> may be called while
/// runs are in flight: they finish, the native session is released after the last one returns, and
/// later calls throw <see cref="ObjectDisposedException"/>.
/// Runs go through ONNX Runtime's official managed API, whose untyped Run allocates its own name and value
/// arrays (a few hundred bytes); typed runners bind their batch memory once and allocate nothing per run.
/// </remarks>
public sealed class ModelSession : IDisposable, IBatchTarget
{
    /// <summary>Inputs or outputs up to this count are tracked on the stack during a run.</summary>
    private const int StackLimit = 16;

    private readonly InferenceSession session;
    private readonly CallGuard guard;
    private readonly FrozenDictionary<string, int> inputIndex;
    private readonly FrozenDictionary<string, int> outputIndex;
    private readonly string[] allOutputNames;
    private readonly string runFailed;

    private ModelSession(InferenceSession session, SharedWeights? weights, string name, ExecutionProvider executionProvider)
    {
        this.session = session;
        Name = name;
        ExecutionProvider = executionProvider;
        runFailed = $"Model '{name}': Run failed";
        Inputs = SessionReader.ReadSignature(session.InputNames, session.InputMetadata);
        Outputs = SessionReader.ReadSignature(session.OutputNames, session.OutputMetadata);
        Metadata = OrtErrors.Run(() => SessionReader.ReadMetadata(session.ModelMetadata), $"Model '{name}': reading its metadata");
        inputIndex = Inputs.Select((info, i) => KeyValuePair.Create(info.Name, i)).ToFrozenDictionary(StringComparer.Ordinal);
        outputIndex = Outputs.Select((info, i) => KeyValuePair.Create(info.Name, i)).ToFrozenDictionary(StringComparer.Ordinal);
        allOutputNames = Outputs.Select(o => o.Name).ToArray();
        // Last, once nothing above can throw: from here on the guard owns the session and its share of the weights.
        guard = new CallGuard(session, weights is null ? null : weights.Release);
    }

    /// <summary>The model's name in messages: <see cref="ModelSessionOptions.Name"/>, or derived from the file name.</summary>
    public string Name { get; }

    /// <summary>The inputs a run must provide, in model order.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>The outputs a run can produce, in model order.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>What the model file says about itself.</summary>
    public ModelMetadata Metadata { get; }

    /// <summary>
    /// The execution provider the session was created with (<see cref="ModelSessionOptions.ExecutionProvider"/>);
    /// a session exists only if ONNX Runtime accepted it. Nodes it can't run are on the CPU.
    /// </summary>
    public ExecutionProvider ExecutionProvider { get; }

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    internal bool IsDisposed => guard.IsDisposeRequested;

    /// <summary>Loads a model file.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="options">How to create the session. Default: null, the defaults of <see cref="ModelSessionOptions"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime could not load the model (corrupt file, unsupported operator, …).</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid value.</exception>
    /// <exception cref="NotSupportedException">The loaded ONNX Runtime can't run the execution provider asked for; the message names its providers and what to do.</exception>
    /// <exception cref="DllNotFoundException">The native ONNX Runtime library could not be loaded.</exception>
    public static ModelSession Load(string path, ModelSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModelSessionOptions();
        var name = options.Name ?? Path.GetFileNameWithoutExtension(path);
        options.Validate(name);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"Model '{name}': the model file '{fullPath}' does not exist.", fullPath);
        }

        // A fresh optimized copy is loaded as is, skipping the optimization it already went through.
        var cache = options.OptimizedModelPath is { } cachePath ? Path.GetFullPath(cachePath) : null;
        var useCache = cache is not null && File.Exists(cache) && File.GetLastWriteTimeUtc(cache) >= File.GetLastWriteTimeUtc(fullPath);
        var source = useCache ? cache! : fullPath;

        // The source, not the model file: an optimized copy may hold other data under the same initializer names.
        return Create(options, name, useCache ? GraphOptimizationLevel.None : options.GraphOptimization, useCache ? null : cache,
            () => options.ShareWeights ? SharedWeights.AcquireFile(source) : null,
            (sessionOptions, weights) => weights is null ? new InferenceSession(source, sessionOptions) : new InferenceSession(source, sessionOptions, weights.Container),
            $"Model '{name}': loading '{source}' failed");
    }

    /// <summary>Loads a model from its bytes (an ONNX protobuf), for models embedded in an assembly or fetched at run time.</summary>
    /// <param name="model">The model file's contents; not needed after this returns.</param>
    /// <param name="options">
    /// How to create the session. Default: null, the defaults of <see cref="ModelSessionOptions"/>.
    /// <see cref="ModelSessionOptions.OptimizedModelPath"/>, when set, is only written.
    /// </param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime could not load the model.</exception>
    /// <exception cref="ArgumentException">The bytes are empty or an option is invalid.</exception>
    /// <exception cref="NotSupportedException">The loaded ONNX Runtime can't run the execution provider asked for; the message names its providers and what to do.</exception>
    public static ModelSession Load(ReadOnlySpan<byte> model, ModelSessionOptions? options = null)
    {
        options ??= new ModelSessionOptions();
        var name = options.Name ?? "model";
        options.Validate(name);
        if (model.IsEmpty)
        {
            throw new ArgumentException($"Model '{name}': the model bytes are empty.", nameof(model));
        }

        var cache = options.OptimizedModelPath is { } cachePath ? Path.GetFullPath(cachePath) : null;
        // The official API takes the model as an array.
        var bytes = model.ToArray();
        return Create(options, name, options.GraphOptimization, cache,
            () => options.ShareWeights ? SharedWeights.AcquireBytes(bytes) : null,
            (sessionOptions, weights) => weights is null ? new InferenceSession(bytes, sessionOptions) : new InferenceSession(bytes, sessionOptions, weights.Container),
            $"Model '{name}': loading {bytes.Length} bytes failed");
    }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> and writes the requested outputs into the tensors you
    /// provide, with no copies.
    /// </summary>
    /// <param name="inputs">Every model input, by name, in any order.</param>
    /// <param name="outputs">The outputs to compute, by name, each into a tensor of the exact shape the model produces.</param>
    /// <param name="cancellationToken">Cancels the run, also while ONNX Runtime is computing it.</param>
    /// <exception cref="ArgumentException">
    /// A name is unknown or repeated, an input is missing, or a tensor's element type or shape does not fit
    /// the model; the message names the model, the tensor, what was expected and what came.
    /// </exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed the run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <exception cref="ObjectDisposedException">The session or a tensor was disposed.</exception>
    public void Run(ReadOnlySpan<NamedTensor> inputs, ReadOnlySpan<NamedTensor> outputs, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var inputNames = new string[inputs.Length];
        var inputValues = new OrtValue[inputs.Length];
        var outputNames = new string[outputs.Length];
        var outputValues = new OrtValue[outputs.Length];
        var sessionAdded = false;
        var inputsAdded = 0;
        var outputsAdded = 0;
        try
        {
            AddSessionRef(ref sessionAdded);
            inputsAdded = BindInputs(inputs, inputNames, inputValues);
            outputsAdded = BindOutputs(outputs, outputNames, outputValues);
            Invoke(cancellationToken, (session, runOptions) => session.Run(runOptions, inputNames, inputValues, outputNames, outputValues));
        }
        finally
        {
            ReleaseRefs(inputs, inputsAdded);
            ReleaseRefs(outputs, outputsAdded);
            if (sessionAdded)
            {
                guard.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Binds tensors to this model once, for runs with no checks and no allocation: refill the inputs' memory and call
    /// <see cref="BoundRun.Run"/> as often as needed. The tensors are checked here as <see cref="Run(ReadOnlySpan{NamedTensor}, ReadOnlySpan{NamedTensor}, CancellationToken)"/> checks them.
    /// </summary>
    /// <param name="inputs">Every model input, by name, in any order.</param>
    /// <param name="outputs">The outputs to compute, by name, each into a tensor of the exact shape the model produces.</param>
    /// <returns>The bound run; dispose it to release the binding and its references on the tensors.</returns>
    /// <inheritdoc cref="Run(ReadOnlySpan{NamedTensor}, ReadOnlySpan{NamedTensor}, CancellationToken)" path="/exception"/>
    public BoundRun Bind(ReadOnlySpan<NamedTensor> inputs, ReadOnlySpan<NamedTensor> outputs)
    {
        var inputNames = new string[inputs.Length];
        var inputValues = new OrtValue[inputs.Length];
        var outputNames = new string[outputs.Length];
        var outputValues = new OrtValue[outputs.Length];
        var inputsAdded = 0;
        var outputsAdded = 0;
        try
        {
            inputsAdded = BindInputs(inputs, inputNames, inputValues);
            outputsAdded = BindOutputs(outputs, outputNames, outputValues);
            var named = new NamedTensor[inputs.Length + outputs.Length];
            for (var i = 0; i < inputs.Length; i++) named[i] = new(inputNames[i], inputs[i].Value);
            for (var i = 0; i < outputs.Length; i++) named[inputs.Length + i] = new(outputNames[i], outputs[i].Value);
            // From here on the bound run owns the references taken on the tensors.
            var bound = BoundRun.Create(this, CreateIoBinding(), named.AsSpan(0, inputs.Length), named.AsSpan(inputs.Length));
            inputsAdded = outputsAdded = 0;
            return bound;
        }
        finally
        {
            ReleaseRefs(inputs, inputsAdded);
            ReleaseRefs(outputs, outputsAdded);
        }
    }

    /// <summary>Runs the model on <paramref name="inputs"/> and returns every output, allocated by ONNX Runtime.</summary>
    /// <param name="inputs">Every model input, by name, in any order.</param>
    /// <param name="cancellationToken">Cancels the run, also while ONNX Runtime is computing it.</param>
    /// <returns>The outputs in model order; dispose them to free their memory.</returns>
    /// <inheritdoc cref="Run(ReadOnlySpan{NamedTensor}, ReadOnlySpan{NamedTensor}, CancellationToken)" path="/exception"/>
    public RunOutputs Run(ReadOnlySpan<NamedTensor> inputs, CancellationToken cancellationToken = default) =>
        Run(inputs, allOutputNames, cancellationToken);

    /// <summary>Runs the model on <paramref name="inputs"/> and returns the named outputs, allocated by ONNX Runtime.</summary>
    /// <param name="inputs">Every model input, by name, in any order.</param>
    /// <param name="outputNames">The outputs to compute; only the nodes they need run.</param>
    /// <param name="cancellationToken">Cancels the run, also while ONNX Runtime is computing it.</param>
    /// <returns>The outputs in the order requested; dispose them to free their memory.</returns>
    /// <inheritdoc cref="Run(ReadOnlySpan{NamedTensor}, ReadOnlySpan{NamedTensor}, CancellationToken)" path="/exception"/>
    public RunOutputs Run(ReadOnlySpan<NamedTensor> inputs, ReadOnlySpan<string> outputNames, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var inputNames = new string[inputs.Length];
        var inputValues = new OrtValue[inputs.Length];
        var names = new string[outputNames.Length];
        var sessionAdded = false;
        var inputsAdded = 0;
        IDisposableReadOnlyCollection<OrtValue>? values = null;
        try
        {
            AddSessionRef(ref sessionAdded);
            inputsAdded = BindInputs(inputs, inputNames, inputValues);
            Span<bool> seen = Outputs.Count <= StackLimit ? stackalloc bool[StackLimit] : new bool[Outputs.Count];
            for (var i = 0; i < outputNames.Length; i++)
            {
                names[i] = Outputs[OutputIndex(outputNames[i], seen)].Name;
            }

            values = Invoke(cancellationToken, (session, runOptions) => session.Run(runOptions, inputNames, inputValues, names));
        }
        finally
        {
            ReleaseRefs(inputs, inputsAdded);
            if (sessionAdded)
            {
                guard.DangerousRelease();
            }
        }

        return WrapOutputs(names, values);
    }

    /// <summary>Releases the native session once runs in flight have returned; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => guard.Dispose();

    string IBatchTarget.Origin => "";

    /// <summary>Runs compute on the calling thread: a lane worker runs each batch.</summary>
    int? IBatchTarget.ConcurrentRuns => null;

    IBatchExecutor IBatchTarget.CreateExecutor((string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int capacity) =>
        new BatchBinding(this, inputs, outputs, capacity);

    /// <summary>An I/O binding of this session, for batch memory bound once (<see cref="BatchBinding"/>).</summary>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    internal OrtIoBinding CreateIoBinding()
    {
        var added = false;
        try
        {
            AddSessionRef(ref added);
            return OrtErrors.Run(session.CreateIoBinding, $"Model '{Name}': binding batch memory");
        }
        finally
        {
            if (added) guard.DangerousRelease();
        }
    }

    /// <summary>
    /// Runs over a binding whose values were checked against the signature (a bound contract's batch memory):
    /// no validation, no lookups, no allocation unless the token can be canceled.
    /// </summary>
    internal void RunBound(OrtIoBinding binding, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!guard.TryAddRef())
        {
            ThrowDisposed();
        }

        try
        {
            if (cancellationToken.CanBeCanceled)
            {
                RunBoundCancellable(binding, cancellationToken);
            }
            else
            {
                session.RunWithBinding(RunControl.Shared, binding);
            }
        }
        catch (Ort.OnnxRuntimeException e)
        {
            OrtErrors.Throw(e, runFailed);
        }
        finally
        {
            guard.DangerousRelease();
        }
    }

    /// <summary>
    /// As <see cref="RunBound(OrtIoBinding, CancellationToken)"/> under run options the caller owns and may terminate
    /// from another thread (a lane worker's, reused for every batch).
    /// </summary>
    /// <returns>False when the run was terminated through <paramref name="control"/>.</returns>
    internal bool RunBound(OrtIoBinding binding, RunControl control)
    {
        if (!guard.TryAddRef())
        {
            ThrowDisposed();
        }

        try
        {
            session.RunWithBinding(control.Options, binding);
            return true;
        }
        catch (Ort.OnnxRuntimeException) when (control.IsTerminated)
        {
            return false;
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OrtErrors.Translate(e, runFailed);
        }
        finally
        {
            guard.DangerousRelease();
        }
    }

    /// <summary>The cancellable bound run, apart so that the closure it needs is allocated only when a token can cancel.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunBoundCancellable(OrtIoBinding binding, CancellationToken cancellationToken) =>
        Invoke(cancellationToken, (session, runOptions) => session.RunWithBinding(runOptions, binding));

    private static ModelSession Create(
        ModelSessionOptions options,
        string name,
        GraphOptimizationLevel optimization,
        string? writeOptimizedTo,
        Func<SharedWeights?> acquireWeights,
        Func<SessionOptions, SharedWeights?, InferenceSession> load,
        string context)
    {
        OrtEnvironment.EnsureCreated();
        using var sessionOptions = CreateSessionOptions(options, name, optimization, writeOptimizedTo);
        var weights = acquireWeights();
        InferenceSession session;
        try
        {
            weights?.AddTo(sessionOptions, $"Model '{name}': sharing weights");
            session = OrtErrors.Run(() => load(sessionOptions, weights), context);
        }
        catch
        {
            weights?.Release();
            throw;
        }

        // Until the constructor's last line, the session and the weights are still this method's to give back.
        try
        {
            return new ModelSession(session, weights, name, options.ExecutionProvider);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            session.Dispose();
            weights?.Release();
            throw OrtErrors.Translate(e, $"Model '{name}': reading its signature");
        }
        catch
        {
            session.Dispose();
            weights?.Release();
            throw;
        }
    }

    private static SessionOptions CreateSessionOptions(ModelSessionOptions options, string name, GraphOptimizationLevel optimization, string? writeOptimizedTo)
    {
        var context = $"Model '{name}': setting session options";
        var sessionOptions = new SessionOptions();
        try
        {
            OrtErrors.Run(() =>
            {
                // Errors only: ONNX Runtime's warnings go to stderr, colored, and every error that matters comes back as an exception.
                sessionOptions.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
                if (OrtEnvironment.GlobalIntraOpThreads is not null)
                {
                    // Without this the session creates its own pools next to the global ones.
                    sessionOptions.DisablePerSessionThreads();
                }

                if (options.IntraOpThreads > 0)
                {
                    sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
                }

                if (options.InterOpThreads > 0)
                {
                    sessionOptions.InterOpNumThreads = options.InterOpThreads;
                    if (options.InterOpThreads > 1)
                    {
                        sessionOptions.ExecutionMode = ExecutionMode.ORT_PARALLEL;
                    }
                }

                sessionOptions.GraphOptimizationLevel = (Ort.GraphOptimizationLevel)optimization;
                sessionOptions.EnableCpuMemArena = options.EnableCpuMemoryArena;
                if (options.UseSharedCpuArena)
                {
                    OrtEnvironment.EnsureSharedCpuArena();
                    sessionOptions.AddSessionConfigEntry("session.use_env_allocators", "1");
                }

                if (writeOptimizedTo is not null)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(writeOptimizedTo)!);
                    sessionOptions.OptimizedModelFilePath = writeOptimizedTo;
                }
            }, context);
            options.ExecutionProvider.AddTo(sessionOptions, name);
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    private void AddSessionRef(ref bool added)
    {
        added = guard.TryAddRef();
        if (!added)
        {
            ThrowDisposed();
        }
    }

    /// <summary>Validates the inputs against the signature and collects their names and values.</summary>
    /// <returns>How many tensor references were taken (released by the caller, also on failure).</returns>
    private int BindInputs(ReadOnlySpan<NamedTensor> inputs, string[] names, OrtValue[] values)
    {
        Span<bool> seen = Inputs.Count <= StackLimit ? stackalloc bool[StackLimit] : new bool[Inputs.Count];
        var added = 0;
        for (var i = 0; i < inputs.Length; i++)
        {
            var (name, value) = inputs[i];
            if (!inputIndex.TryGetValue(name ?? "", out var index))
            {
                throw UnknownName(name, "input", Inputs);
            }

            if (seen[index])
            {
                throw new ArgumentException($"Model '{Name}': input '{name}' is given twice.", nameof(inputs));
            }

            seen[index] = true;
            CheckTensor(value, Inputs[index], "input", nameof(inputs));
            AddTensorRef(value, "input", Inputs[index].Name);
            added++;
            names[i] = Inputs[index].Name;
            values[i] = value.Value;
        }

        if (inputs.Length != Inputs.Count)
        {
            throw MissingInputs(seen);
        }

        return added;
    }

    private int BindOutputs(ReadOnlySpan<NamedTensor> outputs, string[] names, OrtValue[] values)
    {
        Span<bool> seen = Outputs.Count <= StackLimit ? stackalloc bool[StackLimit] : new bool[Outputs.Count];
        var added = 0;
        for (var i = 0; i < outputs.Length; i++)
        {
            var (name, value) = outputs[i];
            var index = OutputIndex(name, seen);
            CheckTensor(value, Outputs[index], "output", nameof(outputs));
            AddTensorRef(value, "output", Outputs[index].Name);
            added++;
            names[i] = Outputs[index].Name;
            values[i] = value.Value;
        }

        return added;
    }

    private int OutputIndex(string name, Span<bool> seen)
    {
        if (!outputIndex.TryGetValue(name ?? "", out var index))
        {
            throw UnknownName(name, "output", Outputs);
        }

        if (seen[index])
        {
            throw new ArgumentException($"Model '{Name}': output '{name}' is requested twice.", "outputs");
        }

        seen[index] = true;
        return index;
    }

    /// <summary>
    /// Runs <paramref name="run"/> under run options: shared ones when the token can't be canceled, else its own,
    /// terminated when the token is, so canceling stops this run only.
    /// </summary>
    private T Invoke<T>(CancellationToken cancellationToken, Func<InferenceSession, RunOptions, T> run)
    {
        try
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return run(session, RunControl.Shared);
            }

            using var runOptions = new RunOptions();
            using (cancellationToken.UnsafeRegister(static state => ((RunOptions)state!).Terminate = true, runOptions))
            {
                try
                {
                    return run(session, runOptions);
                }
                catch (Ort.OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException($"Model '{Name}': the run was canceled.", cancellationToken);
                }
            }
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OrtErrors.Translate(e, runFailed);
        }
    }

    private void Invoke(CancellationToken cancellationToken, Action<InferenceSession, RunOptions> run) =>
        Invoke(cancellationToken, (session, runOptions) =>
        {
            run(session, runOptions);
            return true;
        });

    private RunOutputs WrapOutputs(string[] names, IDisposableReadOnlyCollection<OrtValue>? values)
    {
        // The collection only disposes its values; each is owned by its tensor from here on.
        var produced = values!.ToArray();
        var outputs = new NamedTensor[names.Length];
        var wrapped = 0;
        try
        {
            for (; wrapped < names.Length; wrapped++)
            {
                outputs[wrapped] = new(names[wrapped], TensorValue.FromOwnedValue(produced[wrapped], $"Model '{Name}' output '{names[wrapped]}'"));
            }

            return new RunOutputs(outputs);
        }
        catch
        {
            for (var i = 0; i < wrapped; i++) outputs[i].Value.Dispose();
            for (var i = wrapped + 1; i < produced.Length; i++) produced[i].Dispose();
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckTensor(TensorValue? value, TensorInfo expected, string role, string parameter)
    {
        if (value is null)
        {
            throw new ArgumentNullException(parameter, $"Model '{Name}': {role} '{expected.Name}' has no tensor (null).");
        }

        var shape = value.Shape;
        var fits = value.ElementType == expected.ElementType && shape.Length == expected.Shape.Length;
        for (var d = 0; fits && d < shape.Length; d++)
        {
            fits = expected.Shape[d] < 0 || expected.Shape[d] == shape[d];
        }

        if (!fits)
        {
            throw Mismatch(value, expected, role, parameter);
        }
    }

    private void AddTensorRef(TensorValue value, string role, string name)
    {
        if (!value.Guard.TryAddRef())
        {
            throw new ObjectDisposedException(nameof(TensorValue), $"Model '{Name}': the {value} tensor given as {role} '{name}' was disposed.");
        }
    }

    private static void ReleaseRefs(ReadOnlySpan<NamedTensor> tensors, int count)
    {
        for (var i = 0; i < count; i++)
        {
            tensors[i].Value.Guard.DangerousRelease();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ArgumentException Mismatch(TensorValue value, TensorInfo expected, string role, string parameter)
    {
        var shape = value.Shape;
        string reason;
        if (value.ElementType != expected.ElementType)
        {
            reason = $"the element type is {TensorElement.Name(value.ElementType)}, not {TensorElement.Name(expected.ElementType)}";
        }
        else if (shape.Length != expected.Shape.Length)
        {
            reason = $"the rank is {shape.Length}, not {expected.Shape.Length}";
        }
        else
        {
            var d = 0;
            while (expected.Shape[d] < 0 || expected.Shape[d] == shape[d]) d++;
            reason = $"dimension {d} is {shape[d]}, not {expected.Shape[d]}";
        }

        return new ArgumentException($"Model '{Name}': {role} '{expected.Name}' expects {expected.TypeAndShape} but got {value}: {reason}.", parameter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ArgumentException UnknownName(string? name, string role, IReadOnlyList<TensorInfo> known) =>
        new($"Model '{Name}' has no {role} named '{name}'. Its {role}s are: {string.Join(", ", known)}.", role + "s");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ArgumentException MissingInputs(Span<bool> seen)
    {
        var missing = new List<string>();
        for (var i = 0; i < Inputs.Count; i++)
        {
            if (!seen[i]) missing.Add(Inputs[i].ToString());
        }

        return new ArgumentException(
            $"Model '{Name}': the run is missing {(missing.Count == 1 ? "input" : "inputs")} {string.Join(", ", missing)}. Every model input must be given.",
            "inputs");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(ModelSession), $"Model '{Name}': the session was disposed.");
}
