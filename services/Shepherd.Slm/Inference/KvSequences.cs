using LLama.Native;

namespace Shepherd.Slm.Inference;

/// <summary>
/// The sequence ids of one llama.cpp context and their KV cells. Ids are rented from a fixed pool (llama.cpp rejects
/// ids at or above n_seq_max), and a freed id leaves no cell behind, so a reused id starts from position 0.
/// Used only on the decode thread.
/// </summary>
internal sealed class KvSequences
{
    private readonly SafeLLamaContextHandle _context;
    private readonly Stack<int> _free;

    public KvSequences(SafeLLamaContextHandle context, int capacity)
    {
        _context = context;
        Capacity = capacity;
        _free = new Stack<int>(Enumerable.Range(0, capacity).Reverse());
    }

    public int Capacity { get; }

    public int InUse => Capacity - _free.Count;

    public bool TryRent(out LLamaSeqId id)
    {
        if (_free.TryPop(out var value))
        {
            id = (LLamaSeqId)value;
            return true;
        }

        id = default;
        return false;
    }

    /// <summary>Shares the first <paramref name="count"/> positions of <paramref name="source"/> with <paramref name="target"/> (no new cells).</summary>
    public void Copy(LLamaSeqId source, LLamaSeqId target, int count) =>
        _context.MemorySequenceCopy(source, target, 0, count);

    /// <summary>Drops the cells of <paramref name="id"/> at positions from <paramref name="position"/> on.</summary>
    public void TruncateFrom(LLamaSeqId id, int position) =>
        _context.MemorySequenceRemove(id, position, -1);

    /// <summary>Drops every cell of <paramref name="id"/> and returns it to the pool.</summary>
    public void Free(LLamaSeqId id)
    {
        _context.MemorySequenceRemove(id, -1, -1);
        _free.Push((int)id);
    }
}
