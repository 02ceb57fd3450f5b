using Google.Protobuf.WellKnownTypes;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Grpc;

/// <summary>Key budgets in and out of the proto types (SetBudget, Usage).</summary>
public static class BudgetMapper
{
    public static KeyBudgetLimits ToLimits(SetBudgetRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.ApiKeyId))
        {
            throw new InvalidRequestException("api_key_id", "is required");
        }

        Check(request.HasDailyUsd, request.DailyUsd, "daily_usd");
        Check(request.HasMonthlyUsd, request.MonthlyUsd, "monthly_usd");
        Check(request.HasPerRequestUsd, request.PerRequestUsd, "per_request_usd");
        var policy = request.OnExceeded switch
        {
            BudgetPolicy.Unspecified or BudgetPolicy.Degrade => BudgetExceededPolicy.Degrade,
            BudgetPolicy.Refuse => BudgetExceededPolicy.Refuse,
            _ => throw new InvalidRequestException("on_exceeded", $"unknown policy {(int)request.OnExceeded}"),
        };
        return new KeyBudgetLimits(
            request.HasDailyUsd ? request.DailyUsd : null, request.HasMonthlyUsd ? request.MonthlyUsd : null,
            request.HasPerRequestUsd ? request.PerRequestUsd : null, policy);
    }

    /// <summary>The key's budget now, or null when it has none.</summary>
    public static async Task<KeyBudget?> ReadAsync(KeyBudgets budgets, string apiKeyId, CancellationToken cancellationToken)
    {
        if (await budgets.StatusAsync(apiKeyId, cancellationToken) is not { } status)
        {
            return null;
        }

        var budget = new KeyBudget
        {
            ApiKeyId = apiKeyId,
            OnExceeded = status.Limits.OnExceeded == BudgetExceededPolicy.Refuse ? BudgetPolicy.Refuse : BudgetPolicy.Degrade,
        };
        if (status.Limits.PerRequestUsd is { } cap)
        {
            budget.PerRequestUsd = cap;
        }

        budget.Windows.AddRange(status.Windows.Select(w => new BudgetWindow
        {
            Window = w.Window,
            LimitUsd = w.LimitUsd,
            SpentUsd = w.SpentUsd,
            ReservedUsd = w.ReservedUsd,
            RemainingUsd = w.RemainingUsd,
            WindowEnd = Timestamp.FromDateTimeOffset(w.End),
        }));
        return budget;
    }

    private static void Check(bool present, double value, string field)
    {
        if (present && (!double.IsFinite(value) || value < 0))
        {
            throw new InvalidRequestException(field, $"must be a non-negative amount; got {value}");
        }
    }
}
