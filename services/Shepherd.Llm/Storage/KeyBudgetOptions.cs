using System.ComponentModel.DataAnnotations;

namespace Shepherd.Llm.Storage;

/// <summary>What a paid call the key's budget cannot cover gets.</summary>
public enum BudgetExceededPolicy
{
    /// <summary>No paid call; the SLM answers, flagged degraded with reason "budget".</summary>
    Degrade,

    /// <summary>The request fails RESOURCE_EXHAUSTED / HTTP 429 insufficient_quota.</summary>
    Refuse,
}

/// <summary>One key's limits in USD; a null limit is no limit.</summary>
public sealed record KeyBudgetLimits(double? DailyUsd, double? MonthlyUsd, double? PerRequestUsd, BudgetExceededPolicy OnExceeded);

/// <summary>Section "Budgets": per-key spending limits (an admin's SetBudget overrides a key's entry).</summary>
public sealed class KeyBudgetOptions
{
    public const string SectionName = "Budgets";

    /// <summary>A reservation not settled within this time (its process died between reserve and settle) is released.</summary>
    [Range(1, 86_400)]
    public int ReservationTtlSeconds { get; set; } = 600;

    public BudgetExceededPolicy DefaultOnExceeded { get; set; } = BudgetExceededPolicy.Degrade;

    /// <summary>By key id (the edge's Edge:ApiKeys:N:Id).</summary>
    public Dictionary<string, KeyBudgetEntry> Keys { get; set; } = new(StringComparer.Ordinal);
}

public sealed class KeyBudgetEntry
{
    [Range(0, double.MaxValue)]
    public double? DailyUsd { get; set; }

    [Range(0, double.MaxValue)]
    public double? MonthlyUsd { get; set; }

    [Range(0, double.MaxValue)]
    public double? PerRequestUsd { get; set; }

    public BudgetExceededPolicy? OnExceeded { get; set; }
}

/// <summary>A window's state for Usage.</summary>
public sealed record BudgetWindowState(string Window, double LimitUsd, double SpentUsd, double ReservedUsd, DateTimeOffset End)
{
    public double RemainingUsd => Math.Max(0, LimitUsd - SpentUsd - ReservedUsd);
}

/// <summary>A worst-case amount held against a key's windows until the call is settled (or the hold expires).</summary>
public sealed record BudgetReservation(string Id, string ApiKeyId, double AmountUsd, string DayStart, string MonthStart);
