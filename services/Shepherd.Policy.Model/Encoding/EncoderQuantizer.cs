using Google.Protobuf;
using Onnx;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>
/// Dynamic int8 quantization of an encoder's weight matrices, done in C# on the ONNX graph (what
/// onnxruntime.quantization.quantize_dynamic does in Python). Every MatMul whose second input is a 2-D float
/// initializer becomes DynamicQuantizeLinear(A) → MatMulInteger(A_q, W_q) → Cast → Mul(A_scale · W_scale),
/// a pattern OnnxRuntime fuses into one int8 kernel. Weights are symmetric per output column with 7-bit range
/// (±63): AVX2's u8×s8 multiply-add saturates with full 8-bit weights.
/// </summary>
public static class EncoderQuantizer
{
    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Int8Type = (int)TensorProto.Types.DataType.Int8;
    private const int ReducedRange = 63;

    public static byte[] QuantizeDynamicInt8(byte[] onnx, out int quantizedMatMuls)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var nodes = new List<NodeProto>(graph.Node.Count);
        var quantized = new Dictionary<string, (string Weights, string Scales, string Zeros)>(StringComparer.Ordinal);
        var count = 0;
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul"
                || !initializers.TryGetValue(node.Input[1], out var weight)
                || weight.Dims.Count != 2
                || weight.DataType != FloatType)
            {
                nodes.Add(node);
                continue;
            }

            if (!quantized.TryGetValue(weight.Name, out var names))
            {
                names = AddQuantizedWeight(graph, weight);
                quantized[weight.Name] = names;
            }

            var p = $"shepherd_q{count++}";
            nodes.Add(Node("DynamicQuantizeLinear", [node.Input[0]], [p + "_a", p + "_a_scale", p + "_a_zero"], p + "_quantize"));
            nodes.Add(Node("MatMulInteger", [p + "_a", names.Weights, p + "_a_zero", names.Zeros], [p + "_int"], p + "_matmul"));
            var cast = Node("Cast", [p + "_int"], [p + "_float"], p + "_cast");
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = FloatType });
            nodes.Add(cast);
            nodes.Add(Node("Mul", [p + "_a_scale", names.Scales], [p + "_scale"], p + "_scale_mul"));
            nodes.Add(Node("Mul", [p + "_float", p + "_scale"], [.. node.Output], p + "_rescale"));
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        var used = new HashSet<string>(graph.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
        var kept = graph.Initializer.Where(t => used.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        if (!model.OpsetImport.Any(o => string.IsNullOrEmpty(o.Domain) && o.Version >= 10))
        {
            throw new InvalidOperationException("Dynamic quantization needs an ONNX opset of at least 10.");
        }

        quantizedMatMuls = count;
        return model.ToByteArray();
    }

    private static (string Weights, string Scales, string Zeros) AddQuantizedWeight(GraphProto graph, TensorProto weight)
    {
        var rows = (int)weight.Dims[0];
        var columns = (int)weight.Dims[1];
        var values = ReadFloats(weight, rows * columns);
        var scales = new float[columns];
        for (var c = 0; c < columns; c++)
        {
            var max = 0f;
            for (var r = 0; r < rows; r++)
            {
                max = Math.Max(max, Math.Abs(values[r * columns + c]));
            }

            scales[c] = max > 0 ? max / ReducedRange : 1f;
        }

        var q = new byte[rows * columns];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var i = r * columns + c;
                q[i] = unchecked((byte)(sbyte)Math.Clamp((int)MathF.Round(values[i] / scales[c]), -ReducedRange, ReducedRange));
            }
        }

        var names = (weight.Name + "_int8", weight.Name + "_scale", weight.Name + "_zero");
        var quantized = new TensorProto { Name = names.Item1, DataType = Int8Type, RawData = ByteString.CopyFrom(q) };
        quantized.Dims.AddRange([rows, columns]);
        var scale = new TensorProto { Name = names.Item2, DataType = FloatType };
        scale.Dims.Add(columns);
        scale.FloatData.AddRange(scales);
        var zero = new TensorProto { Name = names.Item3, DataType = Int8Type, RawData = ByteString.CopyFrom(new byte[columns]) };
        zero.Dims.Add(columns);
        graph.Initializer.Add(quantized);
        graph.Initializer.Add(scale);
        graph.Initializer.Add(zero);
        return names;
    }

    private static float[] ReadFloats(TensorProto tensor, int count)
    {
        if (tensor.FloatData.Count == count)
        {
            return [.. tensor.FloatData];
        }

        if (tensor.RawData.Length == count * sizeof(float))
        {
            var values = new float[count];
            tensor.RawData.Span.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            return values;
        }

        throw new InvalidDataException($"Initializer '{tensor.Name}' holds external or unexpected data; it cannot be quantized.");
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs, string name)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }
}
