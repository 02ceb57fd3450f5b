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

    private readonly bool _unified;

    public KvSequences(SafeLLamaContextHandle context, int capacity, bool unified)
    {
        _context = context;
        _unified = unified;
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

    /// <summary>
    /// Gives <paramref name="target"/> the first <paramref name="count"/> positions of <paramref name="source"/>: in a
    /// unified buffer by sharing the cells; across streams llama.cpp copies only whole streams (at the next decode), so
    /// the copy is whole and the tail past <paramref name="count"/> is dropped.
    /// </summary>
    public void Copy(LLamaSeqId source, LLamaSeqId target, int count)
    {
        if (_unified)
        {
            _context.MemorySequenceCopy(source, target, 0, count);
            return;
        }

        _context.MemorySequenceCopy(source, target, -1, -1);
        _context.MemorySequenceRemove(target, count, -1);
    }

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
