using System.Text;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// grpc-message as the gRPC HTTP/2 protocol defines it: UTF-8, then percent-encoding of every byte outside
/// 0x20–0x7E and of '%' itself. Anything more (Uri.EscapeDataString encodes ' ', ':' and '\'') shows up
/// verbatim in clients that only undo the spec's encoding.
/// </summary>
public static class GrpcStatusMessage
{
    public static string Encode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        if (Array.TrueForAll(bytes, b => b is >= 0x20 and <= 0x7E and not (byte)'%'))
        {
            return message;
        }

        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
