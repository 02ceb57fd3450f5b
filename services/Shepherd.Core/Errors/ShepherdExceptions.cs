namespace Shepherd.Core.Errors;

/// <summary>
/// A request that breaks a documented bound. Hosts map it to INVALID_ARGUMENT with the field named in a
/// google.rpc.BadRequest detail.
/// </summary>
public sealed class InvalidRequestException(string field, string message)
    : Exception($"{field}: {message}")
{
    public string Field { get; } = field;

    public string Description { get; } = message;
}

/// <summary>
/// A bounded queue or pool is full, here or downstream. Hosts map it to RESOURCE_EXHAUSTED at once, with
/// <see cref="RetryAfter"/> (when known) as a google.rpc.RetryInfo detail and a retry-after trailer.
/// </summary>
public sealed class CapacityExceededException(string message, TimeSpan? retryAfter = null, Exception? inner = null) : Exception(message, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>A dependency (model, LLM, another service) cannot serve now. Hosts map it to UNAVAILABLE.</summary>
public sealed class DependencyUnavailableException(string dependency, string message, Exception? inner = null)
    : Exception($"{dependency}: {message}", inner)
{
    public string Dependency { get; } = dependency;
}

/// <summary>A dependency refused the request for a reason retrying will not fix (its configuration). Hosts map it to FAILED_PRECONDITION.</summary>
public sealed class DependencyRefusedException(string dependency, string message, Exception? inner = null)
    : Exception($"{dependency}: {message}", inner)
{
    public string Dependency { get; } = dependency;
}

/// <summary>
/// An API key's spending limit cannot cover a paid call and the key's policy is to refuse (not to let the SLM
/// answer). Hosts map it to RESOURCE_EXHAUSTED (HTTP 429 insufficient_quota) with the time until the window
/// resets as retry advice.
/// </summary>
public sealed class BudgetRefusedException(string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
