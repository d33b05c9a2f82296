namespace InProcServe;

/// <summary>What the model file says about itself (its ONNX <c>ModelProto</c> fields).</summary>
public sealed class ModelMetadata
{
    internal ModelMetadata(string producerName, string graphName, string domain, string description, long version, IReadOnlyDictionary<string, string> customMetadata)
    {
        ProducerName = producerName;
        GraphName = graphName;
        Domain = domain;
        Description = description;
        Version = version;
        CustomMetadata = customMetadata;
    }

    /// <summary>The tool that produced the model, or "" when unset.</summary>
    public string ProducerName { get; }

    /// <summary>The graph's name, or "" when unset.</summary>
    public string GraphName { get; }

    /// <summary>The model's domain, or "" when unset.</summary>
    public string Domain { get; }

    /// <summary>The model's description (its doc string), or "" when unset.</summary>
    public string Description { get; }

    /// <summary>The model version the file declares (<c>model_version</c>); 0 when unset.</summary>
    public long Version { get; }

    /// <summary>The custom key/value pairs of the model (<c>metadata_props</c>).</summary>
    public IReadOnlyDictionary<string, string> CustomMetadata { get; }
}
