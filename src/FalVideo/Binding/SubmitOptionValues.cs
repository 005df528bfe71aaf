using System.Globalization;
using FalVideo.Fal;

namespace FalVideo.PowerShell.Binding;

/// <summary>A queue priority from a cell or argument: Normal or Low, any case (<see cref="FalSubmitOptions.ParsePriority"/>).</summary>
public sealed class CsvPriorityAttribute() : CsvValueAttribute("Priority")
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        var value = FalSubmitOptions.ParsePriority(text, out var problem);
        if (problem is not null) report(problem);
        return value;
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => FromText(value.ToString() ?? "", report);
}

/// <summary>A webhook URL from a cell or argument: absolute http(s) (<see cref="FalSubmitOptions.ParseWebhook"/>).</summary>
public sealed class CsvWebhookUrlAttribute() : CsvValueAttribute("WebhookUrl")
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        var url = FalSubmitOptions.ParseWebhook(text, out var problem);
        if (problem is not null) report(problem);
        return url?.OriginalString;
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) =>
        FromText(value is Uri u ? u.OriginalString : value.ToString() ?? "", report);
}

/// <summary>A start timeout in seconds from a cell or argument, checked as fal's clients check it
/// (<see cref="FalSubmitOptions.CheckStartTimeout"/>: more than 1 second).</summary>
public sealed class CsvStartTimeoutAttribute() : CsvValueAttribute("StartTimeout")
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        var trimmed = text.EndsWith("s", StringComparison.OrdinalIgnoreCase) ? text[..^1].TrimEnd() : text;
        if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            report($"StartTimeout '{text}' is not a number of seconds; allowed: more than 1.");
            return null;
        }
        return Checked(seconds, report);
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => value switch
    {
        double or float or int or long or decimal or short or byte => Checked(System.Convert.ToDouble(value, CultureInfo.InvariantCulture), report),
        TimeSpan span => Checked(span.TotalSeconds, report),
        _ => FromText(System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", report),
    };

    private static object? Checked(double seconds, Action<string> report)
    {
        if (FalSubmitOptions.CheckStartTimeout(seconds) is { } problem)
        {
            report(problem);
            return null;
        }
        return seconds;
    }
}

/// <summary>A media expiry from a cell or argument: immediate, 1h, 1d, 7d, 30d, 1y, never, or whole seconds
/// (<see cref="FalSubmitOptions.TryParseExpiry"/>). Kept as the text given; the seconds are read again per row.</summary>
public sealed class CsvOutputExpiryAttribute() : CsvValueAttribute("OutputExpiry")
{
    /// <inheritdoc />
    protected override object? FromText(string text, Action<string> report)
    {
        if (FalSubmitOptions.TryParseExpiry(text, out _, out var problem)) return text;
        report(problem!);
        return null;
    }

    /// <inheritdoc />
    protected override object? FromValue(object value, Action<string> report) => value switch
    {
        TimeSpan span when span.TotalSeconds >= 1 && span.TotalSeconds <= int.MaxValue => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        // PowerShell reads an unquoted 1d, 7d or 30d as a decimal number (the d suffix), so fal-js's names arrive as
        // 1, 7 or 30 of type decimal: taken as those days. Any other decimal is refused rather than guessed.
        decimal days when days is 1m or 7m or 30m => days.ToString(CultureInfo.InvariantCulture) + "d",
        decimal other => Refuse(other, report),
        _ => FromText(System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", report),
    };

    private object? Refuse(decimal value, Action<string> report)
    {
        report($"OutputExpiry '{value.ToString(CultureInfo.InvariantCulture)}' (a decimal number) is ambiguous; give a whole number of seconds, or quote a name such as '7d'.");
        return null;
    }
}
