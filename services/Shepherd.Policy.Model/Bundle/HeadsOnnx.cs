using Google.Protobuf;
using Onnx;
using Shepherd.Policy.Model.Network;

namespace Shepherd.Policy.Model.Bundle;

/// <summary>
/// Writes the heads as an ONNX graph with OnnxSharp's ONNX protobuf classes, and reads the weights back.
/// Inputs: "embedding" float[N, D] and, when the bundle has features, "features" float[N, F] (raw values:
/// the graph standardises them). Outputs: "hint_logit", "p_hint" and "raw_size", each float[N, 1].
/// </summary>
public static class HeadsOnnx
{
    public const int Opset = 17;
    public const string EmbeddingInput = "embedding";
    public const string FeaturesInput = "features";
    public const string HintLogitOutput = "hint_logit";
    public const string PHintOutput = "p_hint";
    public const string RawSizeOutput = "raw_size";

    private const int FloatType = (int)TensorProto.Types.DataType.Float;

    public static byte[] Export(PolicyNetwork network, IReadOnlyList<FeatureSpec> features, string producerVersion)
    {
        var arch = network.Architecture;
        var graph = new GraphProto { Name = "shepherd_policy_heads" };
        graph.Input.Add(TensorInfo(EmbeddingInput, arch.EmbeddingDim));
        var u = EmbeddingInput;
        if (arch.HasFeatureBranch)
        {
            graph.Input.Add(TensorInfo(FeaturesInput, arch.FeatureCount));
            graph.Initializer.Add(Tensor("feature_mean", [features.Count], features.Select(f => f.Mean)));
            graph.Initializer.Add(Tensor("feature_std", [features.Count], features.Select(f => f.Std)));
            graph.Node.Add(Node("Sub", [FeaturesInput, "feature_mean"], "features_centred"));
            graph.Node.Add(Node("Div", ["features_centred", "feature_std"], "features_standardised"));
            var g = Chain(graph, network, network.FeatureLayers, "features_standardised", reluLast: true);
            var concat = Node("Concat", [EmbeddingInput, g], "u");
            concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(concat);
            u = "u";
        }

        var logit = Chain(graph, network, network.HintLayers, u, reluLast: false);
        graph.Node.Add(Node("Identity", [logit], HintLogitOutput));
        graph.Node.Add(Node("Sigmoid", [logit], PHintOutput));
        var size = Chain(graph, network, network.SizeLayers, u, reluLast: false);
        graph.Node.Add(Node("Identity", [size], RawSizeOutput));
        graph.Output.Add(TensorInfo(HintLogitOutput, 1));
        graph.Output.Add(TensorInfo(PHintOutput, 1));
        graph.Output.Add(TensorInfo(RawSizeOutput, 1));

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Shepherd.Policy.Model",
            ProducerVersion = producerVersion,
            DocString = "Shepherd policy heads: Head_hint → hint_logit/p_hint, Head_size → raw_size = log(1 + n*).",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        return model.ToByteArray();
    }

    /// <summary>Rebuilds the network from the ONNX initializers (the inverse of <see cref="Export"/>).</summary>
    public static PolicyNetwork Import(byte[] onnx, HeadsArchitecture architecture)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        var network = new PolicyNetwork(architecture);
        foreach (var layer in network.Layers)
        {
            Read(initializers, layer.Name + ".weight", layer.In * layer.Out, network.Parameters.AsSpan(layer.WeightOffset));
            Read(initializers, layer.Name + ".bias", layer.Out, network.Parameters.AsSpan(layer.BiasOffset));
        }

        return network;
    }

    private static void Read(Dictionary<string, TensorProto> initializers, string name, int count, Span<double> target)
    {
        if (!initializers.TryGetValue(name, out var tensor))
        {
            throw new InvalidDataException($"heads.onnx lacks the initializer '{name}'.");
        }

        if (tensor.FloatData.Count == count)
        {
            for (var i = 0; i < count; i++)
            {
                target[i] = tensor.FloatData[i];
            }

            return;
        }

        if (tensor.RawData.Length == count * sizeof(float))
        {
            var raw = tensor.RawData.Span;
            for (var i = 0; i < count; i++)
            {
                target[i] = BitConverter.ToSingle(raw.Slice(i * sizeof(float), sizeof(float)));
            }

            return;
        }

        throw new InvalidDataException($"heads.onnx initializer '{name}' has the wrong size (expected {count} floats).");
    }

    private static string Chain(GraphProto graph, PolicyNetwork network, IReadOnlyList<DenseLayer> layers, string input, bool reluLast)
    {
        var x = input;
        for (var l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var weights = network.Parameters.AsSpan(layer.WeightOffset, layer.In * layer.Out).ToArray();
            var bias = network.Parameters.AsSpan(layer.BiasOffset, layer.Out).ToArray();
            graph.Initializer.Add(Tensor(layer.Name + ".weight", [layer.Out, layer.In], weights));
            graph.Initializer.Add(Tensor(layer.Name + ".bias", [layer.Out], bias));
            var gemm = Node("Gemm", [x, layer.Name + ".weight", layer.Name + ".bias"], layer.Name + ".linear");
            gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(gemm);
            x = layer.Name + ".linear";
            if (l < layers.Count - 1 || reluLast)
            {
                graph.Node.Add(Node("Relu", [x], layer.Name + ".relu"));
                x = layer.Name + ".relu";
            }
        }

        return x;
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = output + "_" + op.ToLowerInvariant() };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static TensorProto Tensor(string name, long[] dims, IEnumerable<double> values)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values.Select(v => (float)v));
        return tensor;
    }

    private static ValueInfoProto TensorInfo(string name, int width)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } },
        };
    }
}
