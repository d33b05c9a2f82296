using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using InProcServe.Native;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// A loaded ONNX model: its signature, and runs over tensors you provide. The untyped layer that typed
/// models and the batcher build on.
/// </summary>
/// <remarks>
/// Thread safety: any number of threads may call Run at once. <see cref="Dispose"/> may be called while
/// runs are in flight: they finish, the native session is released after the last one returns, and
/// later calls throw <see cref="ObjectDisposedException"/>.
/// A run with caller-provided outputs allocates nothing on the managed heap unless its token can be canceled.
/// </remarks>
public sealed unsafe class ModelSession : IDisposable
{
    /// <summary>Inputs or outputs up to this count are tracked on the stack during a run.</summary>
    private const int StackLimit = 16;

    private readonly OrtSessionHandle handle;
    private readonly FrozenDictionary<string, int> inputIndex;
    private readonly FrozenDictionary<string, int> outputIndex;
    private readonly string[] allOutputNames;
    private readonly string runFailed;

    private ModelSession(OrtSessionHandle handle, string name, ExecutionProvider executionProvider)
    {
        this.handle = handle;
        Name = name;
        ExecutionProvider = executionProvider;
        runFailed = $"Model '{name}': Run failed";
        var session = handle.DangerousGetHandle();
        Inputs = SessionReader.ReadSignature(session, input: true, name);
        Outputs = SessionReader.ReadSignature(session, input: false, name);
        Metadata = SessionReader.ReadMetadata(session, name);
        inputIndex = Inputs.Select((info, i) => KeyValuePair.Create(info.Name, i)).ToFrozenDictionary(StringComparer.Ordinal);
        outputIndex = Outputs.Select((info, i) => KeyValuePair.Create(info.Name, i)).ToFrozenDictionary(StringComparer.Ordinal);
        allOutputNames = Outputs.Select(o => o.Name).ToArray();
        handle.SetNames(Inputs.Select(i => i.Name).ToArray(), allOutputNames);
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

        OrtEnvironment.EnsureCreated();
        using var sessionOptions = CreateSessionOptions(options, name, useCache ? GraphOptimizationLevel.None : options.GraphOptimization, useCache ? null : cache);
        // The source, not the model file: an optimized copy may hold other data under the same initializer names.
        var weights = options.ShareWeights ? SharedWeights.AcquireFile(source) : null;
        nint session;
        try
        {
            weights?.AddTo(sessionOptions.DangerousGetHandle(), $"Model '{name}': sharing weights");
            using var nativePath = new NativePath(source);
            OrtStatus.Check(
                weights is null
                    ? OrtApi.CreateSession(OrtEnvironment.Handle, nativePath.Pointer, sessionOptions.DangerousGetHandle(), &session)
                    : OrtApi.CreateSessionWithPrepackedWeightsContainer(OrtEnvironment.Handle, nativePath.Pointer, sessionOptions.DangerousGetHandle(), weights.Container, &session),
                $"Model '{name}': loading '{source}' failed");
        }
        catch
        {
            weights?.Release();
            throw;
        }

        return Create(session, name, weights, options.ExecutionProvider);
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

        OrtEnvironment.EnsureCreated();
        var cache = options.OptimizedModelPath is { } cachePath ? Path.GetFullPath(cachePath) : null;
        using var sessionOptions = CreateSessionOptions(options, name, options.GraphOptimization, cache);
        var weights = options.ShareWeights ? SharedWeights.AcquireBytes(model) : null;
        nint session;
        try
        {
            weights?.AddTo(sessionOptions.DangerousGetHandle(), $"Model '{name}': sharing weights");
            fixed (byte* bytes = model)
            {
                OrtStatus.Check(
                    weights is null
                        ? OrtApi.CreateSessionFromArray(OrtEnvironment.Handle, bytes, (nuint)model.Length, sessionOptions.DangerousGetHandle(), &session)
                        : OrtApi.CreateSessionFromArrayWithPrepackedWeightsContainer(OrtEnvironment.Handle, bytes, (nuint)model.Length, sessionOptions.DangerousGetHandle(), weights.Container, &session),
                    $"Model '{name}': loading {model.Length} bytes failed");
            }
        }
        catch
        {
            weights?.Release();
            throw;
        }

        return Create(session, name, weights, options.ExecutionProvider);
    }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> and writes the requested outputs into the tensors you
    /// provide: the fast path, with no copies and no managed allocation.
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
        Span<nint> inputValues = inputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[inputs.Length];
        Span<nint> inputNames = inputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[inputs.Length];
        Span<nint> outputValues = outputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[outputs.Length];
        Span<nint> outputNames = outputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[outputs.Length];

        var sessionAdded = false;
        var inputsAdded = 0;
        var outputsAdded = 0;
        try
        {
            AddSessionRef(ref sessionAdded);
            inputsAdded = BindInputs(inputs, inputNames, inputValues);
            outputsAdded = BindOutputs(outputs, outputNames, outputValues);
            Invoke(inputNames, inputValues, inputs.Length, outputNames, outputValues, outputs.Length, cancellationToken);
        }
        finally
        {
            ReleaseRefs(inputs, inputsAdded);
            ReleaseRefs(outputs, outputsAdded);
            if (sessionAdded)
            {
                handle.DangerousRelease();
            }
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
        Span<nint> inputValues = inputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[inputs.Length];
        Span<nint> inputNames = inputs.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[inputs.Length];
        var outputValues = new nint[outputNames.Length];
        Span<nint> nativeOutputNames = outputNames.Length <= StackLimit ? stackalloc nint[StackLimit] : new nint[outputNames.Length];

        var sessionAdded = false;
        var inputsAdded = 0;
        try
        {
            AddSessionRef(ref sessionAdded);
            inputsAdded = BindInputs(inputs, inputNames, inputValues);
            Span<bool> seen = Outputs.Count <= StackLimit ? stackalloc bool[StackLimit] : new bool[Outputs.Count];
            for (var i = 0; i < outputNames.Length; i++)
            {
                var index = OutputIndex(outputNames[i], seen);
                nativeOutputNames[i] = (nint)handle.OutputNames[index];
            }

            Invoke(inputNames, inputValues, inputs.Length, nativeOutputNames, outputValues, outputNames.Length, cancellationToken);
        }
        finally
        {
            ReleaseRefs(inputs, inputsAdded);
            if (sessionAdded)
            {
                handle.DangerousRelease();
            }
        }

        return WrapOutputs(outputNames, outputValues);
    }

    /// <summary>
    /// Binds typed contracts to this model: <typeparamref name="TInput"/> fills its inputs, <typeparamref name="TOutput"/>
    /// reads its outputs. The contracts' declared tensors are checked against the model's signature here, once.
    /// </summary>
    /// <typeparam name="TInput">A type marked <see cref="ModelInputAttribute"/>.</typeparam>
    /// <typeparam name="TOutput">A type marked <see cref="ModelOutputAttribute"/>.</typeparam>
    /// <param name="maxBatchSize">The most rows one run takes. Default: 64. A model whose batch dimension is fixed at 1 gets 1.</param>
    /// <returns>A runner over this session; disposing it leaves the session open.</returns>
    /// <exception cref="InvalidOperationException">The contracts don't fit the model; the message lists every difference and the model's signature.</exception>
    public ModelRunner<TInput, TOutput> CreateRunner<TInput, TOutput>(int maxBatchSize = 64)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        var binding = ContractBinding.Bind(this, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);
        return new ModelRunner<TInput, TOutput>(binding, binding.FixedBatchSize ?? maxBatchSize);
    }

    /// <summary>
    /// Binds typed contracts to this model, as <see cref="CreateRunner{TInput, TOutput}"/> does, for queued calls: each
    /// call waits in a bounded queue until a worker of <paramref name="lane"/> runs it in a batch with other calls.
    /// </summary>
    /// <typeparam name="TInput">A type marked <see cref="ModelInputAttribute"/>.</typeparam>
    /// <typeparam name="TOutput">A type marked <see cref="ModelOutputAttribute"/>.</typeparam>
    /// <param name="lane">The lane whose workers run the batches; several models may share it.</param>
    /// <param name="options">Batch size, delay, queue capacity and deadlines. Default: null, the defaults of <see cref="BatchingOptions"/>.</param>
    /// <returns>A batcher over this session; disposing it leaves the session and the lane open.</returns>
    /// <exception cref="InvalidOperationException">The contracts don't fit the model; the message lists every difference and the model's signature.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid value.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="lane"/> was disposed.</exception>
    public ModelBatcher<TInput, TOutput> CreateBatcher<TInput, TOutput>(ExecutionLane lane, BatchingOptions? options = null)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        ArgumentNullException.ThrowIfNull(lane);
        options ??= new BatchingOptions();
        options.Validate(Name);
        var binding = ContractBinding.Bind(this, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);
        return new ModelBatcher<TInput, TOutput>(binding, lane, options.Clone());
    }

    /// <summary>Releases the native session once runs in flight have returned; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => handle.Dispose();

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    internal bool IsDisposed => handle.IsDisposeRequested;

    /// <summary>The native name of input <paramref name="index"/>, valid while the session lives.</summary>
    internal nint InputNamePointer(int index) => NamePointer(index, input: true);

    /// <summary>The native name of output <paramref name="index"/>, valid while the session lives.</summary>
    internal nint OutputNamePointer(int index) => NamePointer(index, input: false);

    /// <summary>Reads a name pointer under a reference, so a disposed session throws instead of reading freed memory.</summary>
    private nint NamePointer(int index, bool input)
    {
        var added = false;
        try
        {
            AddSessionRef(ref added);
            return (nint)(input ? handle.InputNames : handle.OutputNames)[index];
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Runs over values already checked against the signature (a bound contract's batch buffers): no
    /// validation, no lookups, only the reference that keeps the session alive during the call.
    /// </summary>
    internal void RunBound(Span<nint> inputNames, Span<nint> inputValues, Span<nint> outputNames, Span<nint> outputValues, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!handle.TryAddRef())
        {
            ThrowDisposed();
        }

        try
        {
            Invoke(inputNames, inputValues, inputValues.Length, outputNames, outputValues, outputValues.Length, cancellationToken);
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>
    /// As <see cref="RunBound(Span{nint}, Span{nint}, Span{nint}, Span{nint}, CancellationToken)"/> with run
    /// options the caller owns and may terminate from another thread (a lane worker's, reused for every batch).
    /// </summary>
    /// <returns>False when the run was terminated through <paramref name="runOptions"/>.</returns>
    internal bool RunBound(Span<nint> inputNames, Span<nint> inputValues, Span<nint> outputNames, Span<nint> outputValues, OrtRunOptionsHandle runOptions, Func<bool> terminated)
    {
        if (!handle.TryAddRef())
        {
            ThrowDisposed();
        }

        try
        {
            fixed (nint* inNames = inputNames, inValues = inputValues, outNames = outputNames, outValues = outputValues)
            {
                var status = OrtApi.Run(handle.DangerousGetHandle(), runOptions.DangerousGetHandle(), inNames, inValues, (nuint)inputValues.Length, outNames, (nuint)outputValues.Length, outValues);
                if (status != 0 && terminated())
                {
                    OrtApi.ReleaseStatus(status);
                    return false;
                }

                OrtStatus.Check(status, runFailed);
                return true;
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>Wraps a created session; from here on its handle owns the session and its share of <paramref name="weights"/>.</summary>
    private static ModelSession Create(nint session, string name, SharedWeights? weights, ExecutionProvider executionProvider)
    {
        var handle = new OrtSessionHandle(session, weights);
        try
        {
            return new ModelSession(handle, name, executionProvider);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static OrtSessionOptionsHandle CreateSessionOptions(ModelSessionOptions options, string name, GraphOptimizationLevel optimization, string? writeOptimizedTo)
    {
        var context = $"Model '{name}': setting session options";
        nint created;
        OrtStatus.Check(OrtApi.CreateSessionOptions(&created), context);
        var sessionOptions = new OrtSessionOptionsHandle(created);
        try
        {
            if (OrtEnvironment.GlobalIntraOpThreads is not null)
            {
                // Without this the session creates its own pools next to the global ones.
                OrtStatus.Check(OrtApi.DisablePerSessionThreads(created), context);
            }

            if (options.IntraOpThreads > 0)
            {
                OrtStatus.Check(OrtApi.SetIntraOpNumThreads(created, options.IntraOpThreads), context);
            }

            if (options.InterOpThreads > 0)
            {
                OrtStatus.Check(OrtApi.SetInterOpNumThreads(created, options.InterOpThreads), context);
                if (options.InterOpThreads > 1)
                {
                    OrtStatus.Check(OrtApi.SetSessionExecutionMode(created, OrtExecutionMode.Parallel), context);
                }
            }

            OrtStatus.Check(OrtApi.SetSessionGraphOptimizationLevel(created, optimization), context);
            OrtStatus.Check(options.EnableCpuMemoryArena ? OrtApi.EnableCpuMemArena(created) : OrtApi.DisableCpuMemArena(created), context);
            if (options.UseSharedCpuArena)
            {
                OrtEnvironment.EnsureSharedCpuArena();
                fixed (byte* key = "session.use_env_allocators"u8, value = "1"u8)
                {
                    OrtStatus.Check(OrtApi.AddSessionConfigEntry(created, key, value), context);
                }
            }

            options.ExecutionProvider.AddTo(sessionOptions, name);
            if (writeOptimizedTo is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(writeOptimizedTo)!);
                using var nativePath = new NativePath(writeOptimizedTo);
                OrtStatus.Check(OrtApi.SetOptimizedModelFilePath(created, nativePath.Pointer), context);
            }

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
        added = handle.TryAddRef();
        if (!added)
        {
            ThrowDisposed();
        }
    }

    /// <summary>Validates the inputs against the signature and collects their native names and values.</summary>
    /// <returns>How many tensor references were taken (released by the caller, also on failure).</returns>
    private int BindInputs(ReadOnlySpan<NamedTensor> inputs, Span<nint> names, Span<nint> values)
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
            names[i] = (nint)handle.InputNames[index];
            values[i] = value.Handle.DangerousGetHandle();
        }

        if (inputs.Length != Inputs.Count)
        {
            throw MissingInputs(seen);
        }

        return added;
    }

    private int BindOutputs(ReadOnlySpan<NamedTensor> outputs, Span<nint> names, Span<nint> values)
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
            names[i] = (nint)handle.OutputNames[index];
            values[i] = value.Handle.DangerousGetHandle();
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

    private void Invoke(Span<nint> inputNames, Span<nint> inputValues, int inputCount, Span<nint> outputNames, Span<nint> outputValues, int outputCount, CancellationToken cancellationToken)
    {
        var session = handle.DangerousGetHandle();
        fixed (nint* inNames = inputNames, inValues = inputValues, outNames = outputNames, outValues = outputValues)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                OrtStatus.Check(OrtApi.Run(session, 0, inNames, inValues, (nuint)inputCount, outNames, (nuint)outputCount, outValues), runFailed);
                return;
            }

            // Each cancellable run gets its own run options, so terminating it stops this run only.
            nint created;
            OrtStatus.Check(OrtApi.CreateRunOptions(&created), runFailed);
            using var runOptions = new OrtRunOptionsHandle(created);
            nint status;
            using (cancellationToken.UnsafeRegister(static state => OrtStatus.Check(OrtApi.RunOptionsSetTerminate(((OrtRunOptionsHandle)state!).DangerousGetHandle())), runOptions))
            {
                status = OrtApi.Run(session, created, inNames, inValues, (nuint)inputCount, outNames, (nuint)outputCount, outValues);
            }

            if (status != 0 && cancellationToken.IsCancellationRequested)
            {
                OrtApi.ReleaseStatus(status);
                throw new OperationCanceledException($"Model '{Name}': the run was canceled.", cancellationToken);
            }

            OrtStatus.Check(status, runFailed);
        }
    }

    private RunOutputs WrapOutputs(ReadOnlySpan<string> names, nint[] values)
    {
        var outputs = new NamedTensor[names.Length];
        var wrapped = 0;
        try
        {
            for (; wrapped < names.Length; wrapped++)
            {
                outputs[wrapped] = new(names[wrapped], TensorValue.FromOwnedValue(values[wrapped], $"Model '{Name}' output '{names[wrapped]}'"));
            }

            return new RunOutputs(outputs);
        }
        catch
        {
            for (var i = 0; i < wrapped; i++) outputs[i].Value.Dispose();
            for (var i = wrapped + 1; i < values.Length; i++) OrtApi.ReleaseValue(values[i]);
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
        if (!value.Handle.TryAddRef())
        {
            throw new ObjectDisposedException(nameof(TensorValue), $"Model '{Name}': the {value} tensor given as {role} '{name}' was disposed.");
        }
    }

    private static void ReleaseRefs(ReadOnlySpan<NamedTensor> tensors, int count)
    {
        for (var i = 0; i < count; i++)
        {
            tensors[i].Value.Handle.DangerousRelease();
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
