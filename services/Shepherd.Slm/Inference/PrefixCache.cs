using LLama.Batched;
using LLama.Native;

namespace Shepherd.Slm.Inference;

/// <summary>
/// Recently prefilled prompts, kept as idle forks so later prompts that start the same way (a few-shot prompt; the
/// same question with a hint) fork one and prefill only what differs. Used only on the decode loop's thread.
/// Forks share KV cells, so an entry costs a sequence id and keeps its prompt's cells alive until evicted.
/// </summary>
internal sealed class PrefixCache(int capacity, int minTokens)
{
    private readonly List<Entry> _entries = [];
    private long _clock;

    public int Count => _entries.Count;

    /// <summary>KV cells the entries keep alive.</summary>
    public long Cells => _entries.Sum(e => (long)e.Tokens.Length);

    public int Hits { get; private set; }

    /// <summary>
    /// A conversation holding the longest cached prefix of <paramref name="prompt"/> (at least minTokens, and one token
    /// short of the whole prompt so the model still computes the last token's logits), ready to be prompted with the
    /// rest; or null.
    /// </summary>
    public (Conversation Conversation, int Reused)? Take(LLamaToken[] prompt)
    {
        Entry? best = null;
        var bestLength = 0;
        foreach (var entry in _entries)
        {
            var common = CommonPrefix(entry.Tokens, prompt);
            if (common > bestLength)
            {
                (best, bestLength) = (entry, common);
            }
        }

        var reuse = Math.Min(bestLength, prompt.Length - 1);
        if (best is null || reuse < minTokens)
        {
            return null;
        }

        best.LastUsed = ++_clock;
        Hits++;
        var fork = best.Conversation.Fork();
        if (reuse < best.Tokens.Length)
        {
            fork.Modify((end, kv) =>
            {
                kv.Remove(reuse, end.Value - reuse);
                return reuse;
            });
        }

        return (fork, reuse);
    }

    /// <summary>Keeps a just-prefilled conversation's prompt (as a fork) unless an entry already covers it.</summary>
    public void Offer(Conversation prefilled, LLamaToken[] prompt)
    {
        if (capacity == 0 || prompt.Length < minTokens || _entries.Any(e => CommonPrefix(e.Tokens, prompt) == prompt.Length))
        {
            return;
        }

        while (_entries.Count >= capacity)
        {
            EvictOldest();
        }

        _entries.Add(new Entry(prompt, prefilled.Fork()) { LastUsed = ++_clock });
    }

    /// <summary>Frees the least recently used entry's cells; false when there is none.</summary>
    public bool EvictOldest()
    {
        if (_entries.Count == 0)
        {
            return false;
        }

        var oldest = _entries.MinBy(e => e.LastUsed)!;
        oldest.Conversation.Dispose();
        _entries.Remove(oldest);
        return true;
    }

    public void Clear()
    {
        while (EvictOldest())
        {
        }
    }

    private static int CommonPrefix(LLamaToken[] a, LLamaToken[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && a[i] == b[i])
        {
            i++;
        }

        return i;
    }

    private sealed class Entry(LLamaToken[] tokens, Conversation conversation)
    {
        public LLamaToken[] Tokens { get; } = tokens;

        public Conversation Conversation { get; } = conversation;

        public long LastUsed { get; set; }
    }
}
