namespace Shepherd.Core.Strategies;

/// <summary>The outcome of k-of-K voting over normalised answer keys.</summary>
/// <param name="Key">The most frequent key (ties: the one seen first), or null when no sample had an answer.</param>
/// <param name="Votes">How many samples gave <paramref name="Key"/>.</param>
/// <param name="Reached">Votes ≥ k.</param>
/// <param name="FirstIndex">The first sample that gave the winning key, or -1.</param>
public sealed record ConsensusResult(string? Key, int Votes, bool Reached, int FirstIndex);

/// <summary>
/// Agreement over extracted final answers (paper.md, "Two modes": exact match of the extracted answer).
/// Samples without an answer never vote, so k missing answers are not a consensus.
/// </summary>
public static class Consensus
{
    public static ConsensusResult Vote(IReadOnlyList<string?> keys, int agree)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(agree, 1);
        string? best = null;
        var bestVotes = 0;
        var bestIndex = -1;
        var tally = new Dictionary<string, (int Votes, int First)>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] is not { } key)
            {
                continue;
            }

            var (votes, first) = tally.GetValueOrDefault(key, (0, i));
            tally[key] = (++votes, first);
            if (votes > bestVotes)
            {
                (best, bestVotes, bestIndex) = (key, votes, first);
            }
        }

        return new ConsensusResult(best, bestVotes, bestVotes >= agree, bestIndex);
    }
}
