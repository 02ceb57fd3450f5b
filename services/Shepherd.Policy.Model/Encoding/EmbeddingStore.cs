using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>
/// Embeddings on disk: a SQLite file of (encoder fingerprint, exact text) → (vector, token count). The encoder
/// is frozen, so a text's embedding never changes for one fingerprint: `shepherd train`, `calibrate` and
/// `eval` share one file and each text is encoded once per encoder, ever. Thread-safe (one connection, locked).
/// </summary>
public sealed class EmbeddingStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    private EmbeddingStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    public string Path { get; }

    /// <summary>Opens (or creates) the file and its tables.</summary>
    public static EmbeddingStore Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE IF NOT EXISTS encoders (fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS embeddings (
                    fingerprint TEXT NOT NULL, text TEXT NOT NULL, tokens INTEGER NOT NULL, vector BLOB NOT NULL,
                    PRIMARY KEY (fingerprint, text)) WITHOUT ROWID;
                """);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new EmbeddingStore(path, connection);
    }

    /// <summary>The embedding width stored for an encoder, if any text of it is stored.</summary>
    public int? Dimension(string fingerprint)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT dimension FROM encoders WHERE fingerprint = $f";
            command.Parameters.AddWithValue("$f", fingerprint);
            return command.ExecuteScalar() is long dimension ? (int)dimension : null;
        }
    }

    /// <summary>The stored rows among <paramref name="texts"/>.</summary>
    public Dictionary<string, StoredEmbedding> Find(string fingerprint, IEnumerable<string> texts)
    {
        var found = new Dictionary<string, StoredEmbedding>(StringComparer.Ordinal);
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT tokens, vector FROM embeddings WHERE fingerprint = $f AND text = $t";
            command.Parameters.AddWithValue("$f", fingerprint);
            var text = command.Parameters.Add("$t", SqliteType.Text);
            foreach (var t in texts)
            {
                if (found.ContainsKey(t))
                {
                    continue;
                }

                text.Value = t;
                using var reader = command.ExecuteReader();
                if (reader.Read())
                {
                    var bytes = (byte[])reader.GetValue(1);
                    found[t] = new StoredEmbedding(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), reader.GetInt32(0));
                }
            }

            transaction.Commit();
        }

        return found;
    }

    /// <summary>Stores rows (one transaction); an existing row is kept.</summary>
    public void Add(string fingerprint, string encoderName, int dimension, IReadOnlyList<(string Text, StoredEmbedding Embedding)> rows)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using (var encoder = _connection.CreateCommand())
            {
                encoder.Transaction = transaction;
                encoder.CommandText = "INSERT OR IGNORE INTO encoders (fingerprint, name, dimension) VALUES ($f, $n, $d)";
                encoder.Parameters.AddWithValue("$f", fingerprint);
                encoder.Parameters.AddWithValue("$n", encoderName);
                encoder.Parameters.AddWithValue("$d", dimension);
                encoder.ExecuteNonQuery();
            }

            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT OR IGNORE INTO embeddings (fingerprint, text, tokens, vector) VALUES ($f, $t, $k, $v)";
            command.Parameters.AddWithValue("$f", fingerprint);
            var text = command.Parameters.Add("$t", SqliteType.Text);
            var tokens = command.Parameters.Add("$k", SqliteType.Integer);
            var vector = command.Parameters.Add("$v", SqliteType.Blob);
            foreach (var (t, embedding) in rows)
            {
                text.Value = t;
                tokens.Value = embedding.Tokens;
                vector.Value = MemoryMarshal.AsBytes(embedding.Vector.AsSpan()).ToArray();
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    public void Dispose() => _connection.Dispose();

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>One stored text: its pooled vector and its token count.</summary>
public sealed record StoredEmbedding(float[] Vector, int Tokens);
