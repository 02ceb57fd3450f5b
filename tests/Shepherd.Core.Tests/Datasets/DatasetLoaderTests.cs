using Parquet;
using Parquet.Schema;
using Shepherd.Core.Datasets;
using Shepherd.Reports;

namespace Shepherd.Core.Tests.Datasets;

public sealed class DatasetLoaderTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("shepherd-datasets-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [SkippableFact]
    public void Gsm8kSplitsThePaperWay()
    {
        var data = DataSkip.Directory("gsm8k");

        var train = DatasetCatalog.Load("gsm8k", "train", data);
        var test = DatasetCatalog.Load("gsm8k", "test", data);
        var validation = DatasetCatalog.Load("gsm8k", "validation", data);
        var full = DatasetCatalog.Load("gsm8k", "test-full", data);

        Assert.Equal(7473, train.Count);
        Assert.Equal(1319, full.Count);
        Assert.Equal(776, test.Count);
        Assert.Equal(543, validation.Count);
        Assert.Empty(test.Select(i => i.Id).Intersect(validation.Select(i => i.Id)));
        Assert.Equal(full.Select(i => i.Id).Order(), test.Concat(validation).Select(i => i.Id).Order());
    }

    [SkippableFact]
    public void Gsm8kValidationIdsMatchTheDocumentedOnes()
    {
        var data = DataSkip.Directory("gsm8k");

        var validation = DatasetCatalog.Load("gsm8k", "validation", data).Select(i => i.Id).Take(8);

        // Also listed in docs/datasets.md.
        Assert.Equal(DocumentedFirstValidationIds, validation);
    }

    [SkippableFact]
    public void HumanEvalHas164ProblemsWithTestsAndEntryPoints()
    {
        var items = DatasetCatalog.Load("humaneval", "test", DataSkip.Directory("humaneval"));

        Assert.Equal(164, items.Count);
        Assert.All(items, i => Assert.Contains("def check(candidate)", i.TestCode));
        Assert.All(items, i => Assert.Contains($"def {i.EntryPoint}(", i.Query));
        Assert.Equal("HumanEval/0", items[0].Id);
    }

    [SkippableFact]
    public void MbppUsesTheStandardSplit()
    {
        var data = DataSkip.Directory("mbpp");

        var counts = MbppLoader.Splits.ToDictionary(s => s, s => DatasetCatalog.Load("mbpp", s, data).Count);

        Assert.Equal(10, counts["prompt"]);
        Assert.Equal(500, counts["test"]);
        Assert.Equal(90, counts["validation"]);
        Assert.Equal(374, counts["train"]);
        Assert.Equal(974, counts["all"]);
        var first = DatasetCatalog.Load("mbpp", "test", data)[0];
        Assert.Equal("mbpp/11", first.Id);
        Assert.Equal(3, first.Tests.Count);
        Assert.NotNull(first.EntryPoint);
    }

    [SkippableFact]
    public void Cnk12SampleLoadsEveryRowIntoExactlyOneSplit()
    {
        var data = DataSkip.Directory("cnk12");

        var all = DatasetCatalog.Load("cnk12", "all", data);
        var parts = new[] { "train", "validation", "test" }.Select(s => DatasetCatalog.Load("cnk12", s, data)).ToList();

        Assert.Equal(250, all.Count);
        Assert.Equal(250, parts.Sum(p => p.Count));
        Assert.Equal(25, parts[2].Count);
        Assert.Equal(12, parts[1].Count);
        Assert.All(all, i => Assert.False(string.IsNullOrWhiteSpace(i.Reference)));
    }

    [Fact]
    public void BadJsonFailsWithFileAndLine()
    {
        var path = Write("gsm8k/train.jsonl", "{\"question\": \"q\", \"answer\": \"a\\n#### 1\"}\n{\"question\": \"q2\", \"answer\": \n");

        var error = Assert.Throws<DatasetFormatException>(() => Gsm8kLoader.Load(_scratch, "train"));

        Assert.Equal(path, error.File);
        Assert.Equal(2, error.Line);
        Assert.StartsWith($"{path}:2: invalid JSON", error.Message);
    }

    [Fact]
    public void MissingFieldAndMissingAnswerMarkerFailWithLine()
    {
        Write("gsm8k/train.jsonl", "{\"question\": \"q\", \"answer\": \"a\\n#### 1\"}\n{\"question\": \"q\"}\n");
        Assert.Equal(2, Assert.Throws<DatasetFormatException>(() => Gsm8kLoader.Load(_scratch, "train")).Line);

        Write("gsm8k/train.jsonl", "{\"question\": \"q\", \"answer\": \"no marker\"}\n");
        var error = Assert.Throws<DatasetFormatException>(() => Gsm8kLoader.Load(_scratch, "train"));
        Assert.Equal(1, error.Line);
        Assert.Contains("####", error.Problem);
    }

    [Fact]
    public void BlankLinesAreErrorsNotSkipped()
    {
        Write("mbpp/mbpp.jsonl", "{\"text\":\"t\",\"code\":\"def f(): pass\",\"task_id\":11,\"test_setup_code\":\"\",\"test_list\":[\"assert f() is None\"]}\n\n");

        Assert.Equal(2, Assert.Throws<DatasetFormatException>(() => MbppLoader.Load(_scratch, "all")).Line);
    }

    [Fact]
    public void GenericTasksValidateTheirGrader()
    {
        var path = Write("mine.jsonl",
            "{\"query\": \"2+2?\", \"reference\": \"4\", \"grader\": \"numeric\"}\n" +
            "{\"id\": 7, \"query\": \"f\", \"reference\": \"def f(): return 1\", \"grader\": \"python-tests\", \"tests\": [\"assert f() == 1\"]}\n");

        var items = DatasetCatalog.LoadGeneric(path);

        Assert.Equal(["generic/1", "7"], items.Select(i => i.Id));
        Assert.Equal("numeric", items[0].Grader);

        Write("mine.jsonl", "{\"query\": \"q\", \"reference\": \"r\", \"grader\": \"fuzzy\"}\n");
        var error = Assert.Throws<DatasetFormatException>(() => DatasetCatalog.LoadGeneric(path));
        Assert.Contains("Unknown grader 'fuzzy'", error.Message);
    }

    [Fact]
    public async Task OpenR1ParquetIsFilteredToCnK12()
    {
        var path = Path.Combine(_scratch, "openr1-math-220k", "data", "train-00000-of-00001.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await WriteParquet(path,
            problems: ["p1", "p2", "p3"],
            answers: ["\\frac{1}{2}", "3", "x=1"],
            sources: ["cn_k12", "olympiads", "cn_k12"],
            uuids: ["u1", "u2", "u3"]);

        var all = DatasetFiles.Load("cnk12", "all", _scratch);

        Assert.Equal(["cnk12/u1", "cnk12/u3"], all.Select(i => i.Id));
        Assert.Equal("\\frac{1}{2}", all[0].Reference);
    }

    [Fact]
    public async Task ParquetCnK12RowWithoutAnswerFailsWithItsRow()
    {
        var path = Path.Combine(_scratch, "bad.parquet");
        await WriteParquet(path, ["p1", "p2"], ["1", ""], ["cn_k12", "cn_k12"], ["a", "b"]);

        var error = await Assert.ThrowsAsync<DatasetFormatException>(() => Cnk12Parquet.LoadAsync([path]));

        Assert.Equal(2, error.Line);
    }

    [Fact]
    public async Task NotAParquetFileFailsWithItsName()
    {
        var path = Write("broken.parquet", "this is not parquet");

        var error = await Assert.ThrowsAsync<DatasetFormatException>(() => Cnk12Parquet.LoadAsync([path]));

        Assert.Equal(path, error.File);
    }

    // The first eight validation rows in file order, computed independently with the Python one-liner of
    // docs/datasets.md (which lists all 543).
    private static readonly string[] DocumentedFirstValidationIds =
        [.. new[] { 3, 4, 8, 9, 10, 15, 16, 17 }.Select(r => $"gsm8k/test/{r}")];

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_scratch, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private static async Task WriteParquet(string path, string[] problems, string[] answers, string[] sources, string[] uuids)
    {
        var fields = new[] { "problem", "answer", "source", "uuid" }.Select(n => new DataField<string>(n)).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(fields[0], problems);
        await group.WriteAsync(fields[1], answers);
        await group.WriteAsync(fields[2], sources);
        await group.WriteAsync(fields[3], uuids);
    }
}
