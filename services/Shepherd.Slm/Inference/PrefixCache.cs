using LLama.Native;

namespace Shepherd.Slm.Inference;

/// <summary>
/// Recently prefilled prompts, kept as idle sequences so later prompts that start the same way (a few-shot prompt;
/// the same question with a hint) copy their cells and prefill only what differs. Used only on the decode thread.
/// A copy shares KV cells (unified cache), so an entry costs a sequence id and keeps its prompt's cells alive until
/// evicted.
/// </summary>
internal sealed class PrefixCache(int capacity, int minTokens, KvSequences kv)
{
    private readonly List<Entry> _entries = [];
    private long _clock;

    public int Count => _entries.Count;

    /// <summary>KV cells the entries keep alive.</summary>
    public long Cells { get; private set; }

    /// <summary>
    /// Copies the longest cached prefix of <paramref name="prompt"/> (at least minTokens, and one token short of the
    /// whole prompt so the model still computes the last token's logits) into <paramref name="target"/>; returns how
    /// many tokens it holds now (0 when nothing was reused).
    /// </summary>
    public int CopyLongestPrefix(LLamaToken[] prompt, LLamaSeqId target)
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
            return 0;
        }

        best.LastUsed = ++_clock;
        kv.Copy(best.Sequence, target, reuse);
        return reuse;
    }

    /// <summary>Keeps a just-prefilled prompt (a copy of its cells) unless an entry already covers it or no id is free.</summary>
    public void Offer(LLamaSeqId prefilled, LLamaToken[] prompt)
    {
        if (capacity == 0 || prompt.Length < minTokens || _entries.Any(e => CommonPrefix(e.Tokens, prompt) == prompt.Length))
        {
            return;
        }

        while (_entries.Count >= capacity)
        {
            EvictOldest();
        }

        if (!kv.TryRent(out var id))
        {
            return;
        }

        kv.Copy(prefilled, id, prompt.Length);
        _entries.Add(new Entry(prompt, id) { LastUsed = ++_clock });
        Cells += prompt.Length;
    }

    /// <summary>Frees the least recently used entry's cells; false when there is none.</summary>
    public bool EvictOldest()
    {
        if (_entries.Count == 0)
        {
            return false;
        }

        var oldest = _entries.MinBy(e => e.LastUsed)!;
        kv.Free(oldest.Sequence);
        _entries.Remove(oldest);
        Cells -= oldest.Tokens.Length;
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

    private sealed class Entry(LLamaToken[] tokens, LLamaSeqId sequence)
    {
        public LLamaToken[] Tokens { get; } = tokens;

        public LLamaSeqId Sequence { get; } = sequence;

        public long LastUsed { get; set; }
    }
}
