namespace Shepherd.Core.Cost;

/// <summary>USD per million tokens, input and output, and the Batch API's discount as a fraction of them.</summary>
public sealed record ModelPrice(double InputPerMillion, double OutputPerMillion, double BatchDiscount = ModelPrice.DefaultBatchDiscount)
{
    /// <summary>Groq's Batch API: half price (at the time of writing).</summary>
    public const double DefaultBatchDiscount = 0.5;

    /// <summary>The price of a request sent through the Batch API.</summary>
    public ModelPrice Batch => new(InputPerMillion * (1 - BatchDiscount), OutputPerMillion * (1 - BatchDiscount), 0);

    public double Input(long tokens) => tokens * InputPerMillion / 1_000_000d;

    public double Output(long tokens) => tokens * OutputPerMillion / 1_000_000d;
}

/// <summary>
/// Prices per model. Defaults are Groq's list prices the paper uses (paper.md, "Notation and cost model"):
/// llama-3.3-70b-versatile $0.59/M in, $0.79/M out; llama-3.1-8b-instant $0.05/M in, $0.08/M out.
/// A local SLM costs nothing unless configured.
/// </summary>
public sealed class PriceTable
{
    public const string Llama33Versatile = "llama-3.3-70b-versatile";
    public const string Llama31Instant = "llama-3.1-8b-instant";

    private readonly Dictionary<string, ModelPrice> _prices;

    public PriceTable(IReadOnlyDictionary<string, ModelPrice>? overrides = null)
    {
        _prices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase)
        {
            [Llama33Versatile] = new(0.59, 0.79),
            [Llama31Instant] = new(0.05, 0.08),
        };
        foreach (var (model, price) in overrides ?? new Dictionary<string, ModelPrice>())
        {
            if (!double.IsFinite(price.InputPerMillion) || !double.IsFinite(price.OutputPerMillion) || price.InputPerMillion < 0 || price.OutputPerMillion < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(overrides), $"price of '{model}' must be finite and non-negative");
            }

            if (!(price.BatchDiscount is >= 0 and <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(overrides), $"the batch discount of '{model}' must be a fraction in [0, 1]");
            }

            _prices[model] = price;
        }
    }

    public static ModelPrice Free { get; } = new(0, 0);

    public bool Has(string model) => _prices.ContainsKey(model);

    /// <summary>The price of a model; unknown models are an error, so nothing is silently free.</summary>
    public ModelPrice For(string model) =>
        _prices.TryGetValue(model, out var price)
            ? price
            : throw new KeyNotFoundException($"no price configured for model '{model}'; add it under Pricing");

}
