namespace Shepherd.Cli.Hosting;

/// <summary>What a user without the fixture model is told: where it was looked for and how to point at a copy.</summary>
public static class MissingFixtures
{
    public const string Model =
        "no SLM model: pass --model, or set SHEPHERD_MODELS to a folder holding stories260K.gguf (looked in SHEPHERD_MODELS, "
        + "../shared/models beside the repository, then .shepherd/models, which scripts/fetch-fixtures.sh fills when online)";
}
