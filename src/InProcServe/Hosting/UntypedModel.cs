using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>
/// A model served with no C# contract: from configuration alone (an <c>InProcServe:Models:&lt;name&gt;</c> section
/// that no <c>AddModel</c> call claims) or from a model repository folder. It is a hosted model like any other (the
/// same loading, versions, watch and reload, canary, health and metrics) whose calls are untyped
/// (<see cref="HostedModel.RunAsync"/>): tensors in, tensors out.
/// </summary>
internal sealed class UntypedModel(string name, ModelHost host, bool fromRepository)
    : HostedModel(name, UntypedDefinition.Instance, host)
{
    /// <summary>Whether the model is a folder of the model repository (<c>InProcServe:ModelRepository</c>).</summary>
    internal bool FromRepository { get; } = fromRepository;

    private protected override void PrepareHandlers(ModelOptions options)
    {
        if (options.PreProcessor is not null || options.PostProcessor is not null || options.Middleware.Count > 0)
        {
            throw new InvalidOperationException("it has no C# contract, so it takes no handlers: its calls are tensors in, tensors out. Add it with AddModel<T>() to give it a contract and handlers.");
        }
    }

    private protected override ServingVersion StartVersion(long version, ModelSession session, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken, out string sizes)
    {
        // No contract, so no rows to warm with: the first calls pay for ONNX Runtime's first run.
        sizes = "(none: no contract)";
        return new PipelineVersion(version, session, modelLane, options.Batching.Clone(), Host.Metrics, ModelTag);
    }

    private protected override ServingVersion StartRemoteVersion(RemoteOptions remote, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("it runs remotely (Remote) but has no C# contract: a remote model is added with AddModel<T>().UseRemote(…), whose contract its batches are written in.");

    /// <summary>The definition of every untyped model: tensors in, outputs out, no services of its own.</summary>
    private sealed class UntypedDefinition : ModelDefinition
    {
        internal static readonly UntypedDefinition Instance = new();

        internal override Type RequestType => typeof(IReadOnlyList<NamedTensor>);

        internal override Type ResponseType => typeof(RunOutputs);

        internal override void AddServices(IServiceCollection services, string name)
        {
        }

        internal override HostedModel Create(string name, ModelHost host) => throw new NotSupportedException("Untyped models are made by the catalog, not registered.");

        public override TResult Accept<TResult>(IModelDefinitionVisitor<TResult> visitor) => visitor.Visit<IReadOnlyList<NamedTensor>, RunOutputs>();
    }
}
