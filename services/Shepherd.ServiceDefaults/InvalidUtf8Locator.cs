using System.Text.Unicode;
using Google.Protobuf.Reflection;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// Walks a protobuf message's wire bytes with its descriptor and names the first string field whose bytes are
/// not valid UTF-8 (e.g. <c>messages[1].content</c>). Protobuf's own parser says only that some string was bad.
/// </summary>
internal static class InvalidUtf8Locator
{
    private const int MaxDepth = 64;

    public static string? Find(ReadOnlySpan<byte> data, MessageDescriptor descriptor) => Walk(data, descriptor, "", 0);

    private static string? Walk(ReadOnlySpan<byte> data, MessageDescriptor descriptor, string prefix, int depth)
    {
        if (depth > MaxDepth)
        {
            return null;
        }

        Dictionary<int, int>? seen = null;
        var position = 0;
        while (position < data.Length)
        {
            if (!TryReadVarint(data, ref position, out var tag))
            {
                return null;
            }

            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(data, ref position, out _))
                    {
                        return null;
                    }

                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    if (!TryReadVarint(data, ref position, out var length) || length > (ulong)(data.Length - position))
                    {
                        return null;
                    }

                    var payload = data.Slice(position, (int)length);
                    position += (int)length;
                    if (descriptor.FindFieldByNumber(number) is not { } field)
                    {
                        break;
                    }

                    seen ??= [];
                    var index = seen.GetValueOrDefault(number);
                    seen[number] = index + 1;
                    var name = field.IsRepeated && !field.IsMap ? $"{prefix}{field.Name}[{index}]" : prefix + field.Name;
                    if (field.FieldType == FieldType.String && !Utf8.IsValid(payload))
                    {
                        return name;
                    }

                    if (field.FieldType == FieldType.Message && Walk(payload, field.MessageType, name + ".", depth + 1) is { } inner)
                    {
                        return inner;
                    }

                    break;
                default:
                    // Groups are long deprecated and never in Shepherd's contracts; the parser judges them.
                    return null;
            }
        }

        return null;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }
}
