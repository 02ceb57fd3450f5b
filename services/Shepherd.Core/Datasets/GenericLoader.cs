using System.Globalization;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Datasets;

/// <summary>
/// A user's own tasks, one JSON object per line:
/// <c>{"id"?, "query", "reference", "grader"?: "exact"|"numeric"|"math"|"python-tests", "tests"?: [asserts],
/// "test_code"?, "entry_point"?, "test_setup"?, "split"?}</c>. The grader defaults to exact; python-tests needs
/// tests or test_code. The id defaults to "generic/{line}".
/// </summary>
public static class GenericLoader
{
    public static IReadOnlyList<TaskItem> Load(string path, string split = DatasetSplits.All)
    {
        split = DatasetSplits.Normalize(split);
        var items = new List<TaskItem>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in JsonLines.Read(path))
        {
            string grader;
            try
            {
                grader = GenericTask.GraderOf(record.OptionalString("grader"));
            }
            catch (ArgumentException e)
            {
                throw record.Error(e.Message.Split(" (Parameter", 2)[0]);
            }

            var item = new TaskItem(
                record.OptionalScalar("id") ?? $"generic/{record.Line.ToString(CultureInfo.InvariantCulture)}",
                GenericTask.KindName,
                record.String("query"),
                record.String("reference"))
            {
                Grader = grader,
                Tests = record.StringList("tests", required: false),
                TestCode = record.OptionalString("test_code"),
                EntryPoint = record.OptionalString("entry_point"),
                TestSetup = record.OptionalString("test_setup") ?? "",
                Split = record.OptionalString("split"),
            };
            if (grader == GenericTask.PythonTestsGrader && item.Tests.Count == 0 && item.TestCode is null)
            {
                throw record.Error("grader python-tests needs 'tests' or 'test_code'");
            }

            if (!ids.Add(item.Id))
            {
                throw record.Error($"duplicate id '{item.Id}'");
            }

            if (split == DatasetSplits.All || item.Split == split)
            {
                items.Add(item);
            }
        }

        return items;
    }
}
