using Microsoft.Extensions.Options;

namespace Shepherd.ServiceDefaults.Identity;

/// <summary>
/// The "Identity" section, shared by the edge (which signs the key id it forwards) and the orchestrator (which
/// verifies it): one secret of at least 32 characters, from <c>Identity__SigningKey</c> or a mounted file
/// (<c>Identity__SigningKeyFile</c>, e.g. a Kubernetes Secret). Never logged, never in an error.
/// </summary>
public sealed class IdentityOptions
{
    public const string Section = "Identity";

    public const int MinKeyLength = 32;

    public string SigningKey { get; set; } = "";

    public string SigningKeyFile { get; set; } = "";

    /// <summary>How far a signature's timestamp may be from this host's clock, either way.</summary>
    public int MaxSkewSeconds { get; set; } = 60;

    /// <summary>Orchestrator: refuse calls that carry no identity at all (behind an edge, every call has one).</summary>
    public bool RequireIdentity { get; set; }

    /// <summary>The key's bytes, or null when none is configured.</summary>
    public byte[]? KeyBytes()
    {
        var key = SigningKeyFile.Length > 0 ? File.ReadAllText(SigningKeyFile).Trim() : SigningKey;
        return key.Length == 0 ? null : System.Text.Encoding.UTF8.GetBytes(key);
    }
}

public sealed class IdentityOptionsValidator : IValidateOptions<IdentityOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityOptions options)
    {
        if (options.SigningKey.Length > 0 && options.SigningKeyFile.Length > 0)
        {
            return ValidateOptionsResult.Fail("set Identity:SigningKey or Identity:SigningKeyFile, not both");
        }

        if (options.SigningKeyFile.Length > 0 && !File.Exists(options.SigningKeyFile))
        {
            return ValidateOptionsResult.Fail($"Identity:SigningKeyFile '{options.SigningKeyFile}' does not exist");
        }

        // The message never echoes the key.
        if (options.KeyBytes() is { } key && key.Length < IdentityOptions.MinKeyLength)
        {
            return ValidateOptionsResult.Fail($"the identity signing key must be at least {IdentityOptions.MinKeyLength} characters (e.g. openssl rand -hex 32)");
        }

        if (options.MaxSkewSeconds is < 1 or > 3600)
        {
            return ValidateOptionsResult.Fail("Identity:MaxSkewSeconds must be between 1 and 3600");
        }

        if (options.RequireIdentity && options.KeyBytes() is null)
        {
            return ValidateOptionsResult.Fail("Identity:RequireIdentity needs Identity:SigningKey or Identity:SigningKeyFile");
        }

        return ValidateOptionsResult.Success;
    }
}
