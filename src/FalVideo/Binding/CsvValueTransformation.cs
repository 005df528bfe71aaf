using System.Globalization;
using System.Management.Automation;
using System.Security;

namespace FalVideo.PowerShell.Binding;

/// <summary>
/// Problems found while turning a row's cell text into typed parameter values. Transformations
/// never throw (a throw would make PowerShell drop the row before the cmdlet can tell which row it
/// was); they record the problem here and the cmdlet reports it with the row number. Binding and
/// ProcessRecord run on the same pipeline thread, hence thread-static.
/// </summary>
internal static class BindingProblems
{
    [ThreadStatic] private static List<(string Field, string Message)>? t_pending;

    public static void Add(string field, string message)
    {
        var list = t_pending ??= new();
        // PowerShell may run a parameter's transformation more than once for one value (a pipeline value is tried without
        // and then with type coercion): one problem is reported once.
        if (!list.Contains((field, message))) list.Add((field, message));
    }

    /// <summary>Returns and clears what was recorded since the last call.</summary>
    public static IReadOnlyList<string> Take()
    {
        var list = t_pending;
        t_pending = null;
        return list is null ? Array.Empty<string>() : list.ConvertAll(p => p.Message);
    }

    /// <summary>
    /// Returns and clears the problems of values given on the command line, for BeginProcessing: those of fields
    /// bound (as null, the value an unusable one becomes) in <paramref name="bound"/>. PowerShell binds every
    /// command's command-line arguments before any BeginProcessing, so problems of other commands are left for them.
    /// </summary>
    public static IReadOnlyList<string> TakeCommandLine(IDictionary<string, object> bound)
    {
        if (t_pending is not { } list) return Array.Empty<string>();
        var mine = list.FindAll(p => bound.TryGetValue(p.Field, out var v) && v is null);
        list.RemoveAll(mine.Contains);
        if (list.Count == 0) t_pending = null;
        return mine.ConvertAll(p => p.Message);
    }
}

/// <summary>Base for transformations of CSV cell text: an empty or blank cell means "not given" (null).</summary>
public abstract class CsvValueAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) => Convert(inputData, m => BindingProblems.Add(Field, m));

    /// <summary>Converts a cell or argument; an unusable value is reported through <paramref name="report"/> and becomes null.</summary>
    public object? Convert(object? inputData, Action<string> report)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is null) return null;
        if (value is string s)
        {
            if (string.IsNullOrWhiteSpace(s)) return null;
            return FromText(s.Trim(), report);
        }
        return FromValue(value, report);
    }

    /// <summary>Parses non-empty text; reports a problem and returns null when it can't.</summary>
    protected abstract object? FromText(string text, Action<string> report);

    /// <summary>Converts a non-string value (from an interactive argument); default: as is.</summary>
    protected virtual object? FromValue(object value, Action<string> report) => value;

    /// <summary>The parameter name for messages.</summary>
    protected string Field { get; }

    /// <summary>Creates the transformation for parameter <paramref name="field"/>.</summary>
    protected CsvValueAttribute(string field) => Field = field;
}

/// <summary>
/// Booleans from CSV text: true/false, yes/no, 1/0, on/off (any case); empty means not given.
/// PowerShell alone refuses to bind the string "false" to a bool.
/// </summary>
public sealed class CsvBooleanAttribute(string field) : CsvValueAttribute(field)
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        switch (text.ToLowerInvariant())
        {
            case "true" or "yes" or "1" or "on" or "$true": return true;
            case "false" or "no" or "0" or "off" or "$false": return false;
            default:
                report($"{Field} '{text}' is not a boolean; allowed: true, false, yes, no, 1, 0, or empty for the default.");
                return null;
        }
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => value switch
    {
        bool b => b,
        SwitchParameter sw => sw.IsPresent,
        int i when i is 0 or 1 => i == 1,
        _ => FromText(value.ToString() ?? "", report),
    };
}

/// <summary>Whole numbers from CSV text (invariant culture); empty means not given.</summary>
public sealed class CsvIntegerAttribute(string field, string allowed) : CsvValueAttribute(field)
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) return n;
        // "6.0" or "6s" are common in hand-made sheets; accept a whole number of seconds with a unit suffix.
        var trimmed = text.EndsWith("s", StringComparison.OrdinalIgnoreCase) ? text[..^1] : text;
        if (decimal.TryParse(trimmed, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) && d == decimal.Truncate(d)
            && d is >= int.MinValue and <= int.MaxValue)
            return (int)d;
        report($"{Field} '{text}' is not a whole number; allowed: {allowed}.");
        return null;
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => value switch
    {
        int i => i,
        long or short or byte => System.Convert.ToInt32(value, CultureInfo.InvariantCulture),
        _ => FromText(System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", report),
    };
}

/// <summary>Decimal numbers from CSV text (invariant culture, so "0.5" everywhere); empty means not given.</summary>
public sealed class CsvNumberAttribute(string field, string allowed) : CsvValueAttribute(field)
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && !double.IsNaN(n) && !double.IsInfinity(n)) return n;
        report($"{Field} '{text}' is not a number; allowed: {allowed}.");
        return null;
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => value switch
    {
        double d => d,
        float or int or long or decimal => System.Convert.ToDouble(value, CultureInfo.InvariantCulture),
        _ => FromText(System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", report),
    };
}

/// <summary>An API key given as a SecureString or plain text; becomes plain text for the Authorization header only.</summary>
public sealed class ApiKeyTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            null => null,
            SecureString secure => new System.Net.NetworkCredential("", secure).Password,
            string s => string.IsNullOrWhiteSpace(s) ? null : s.Trim(),
            _ => value.ToString(),
        };
    }
}
