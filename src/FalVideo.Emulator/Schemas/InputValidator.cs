using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FalVideo.Emulator.Schemas;

/// <summary>
/// Checks a model input against its <see cref="FieldSchema"/> and reports every problem, with pydantic v2's
/// error types and messages. Stricter than fal on purpose, so client bugs surface offline:
/// unknown fields are <c>extra_forbidden</c> (fal's models mostly ignore them, which hides misspelt names such as
/// <c>start_image_url</c> on O3 image-to-video), no type coercion (<c>5</c> is not <c>"5"</c>, <c>"true"</c> is not
/// <c>true</c>), and URL fields must be absolute http(s) URLs (no data URIs).
/// </summary>
internal static class InputValidator
{
    /// <summary>All problems of <paramref name="body"/>; <paramref name="isMissingMedia"/> says whether a URL names an emulator CDN file that does not exist.</summary>
    public static List<ValidationIssue> Validate(JsonElement body, FieldSchema input, Func<Uri, bool> isMissingMedia)
    {
        var issues = new List<ValidationIssue>();
        Check(body, input, ["body"], issues, isMissingMedia);
        return issues;
    }

    private static void Check(JsonElement value, FieldSchema schema, object[] loc, List<ValidationIssue> issues, Func<Uri, bool> isMissingMedia)
    {
        switch (schema.Type)
        {
            case "object": CheckObject(value, schema, loc, issues, isMissingMedia); break;
            case "array": CheckArray(value, schema, loc, issues, isMissingMedia); break;
            case "string": CheckString(value, schema, loc, issues, isMissingMedia); break;
            case "boolean":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    issues.Add(new(loc, "Input should be a valid boolean", "bool_type", Node(value)));
                break;
            case "integer" when value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _):
                issues.Add(new(loc, "Input should be a valid integer", "int_type", Node(value)));
                break;
            case "number" when value.ValueKind != JsonValueKind.Number:
                issues.Add(new(loc, "Input should be a valid number", "float_type", Node(value)));
                break;
            case "integer" or "number": CheckRange(value.GetDouble(), schema, loc, issues, Node(value)); break;
        }
    }

    private static void CheckObject(JsonElement value, FieldSchema schema, object[] loc, List<ValidationIssue> issues, Func<Uri, bool> isMissingMedia)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            issues.Add(new(loc, "Input should be a valid dictionary or object to extract fields from", "model_attributes_type", Node(value)));
            return;
        }
        var fields = schema.Fields!;
        foreach (var property in value.EnumerateObject())
        {
            if (!fields.TryGetValue(property.Name, out var field))
            {
                issues.Add(new([.. loc, property.Name],
                    $"Extra inputs are not permitted (this endpoint takes: {string.Join(", ", fields.Keys)})",
                    "extra_forbidden", Node(property.Value)));
                continue;
            }
            // pydantic's Optional[...] = None fields accept null; fields with a real default or required ones do not.
            if (property.Value.ValueKind == JsonValueKind.Null && !field.Required && !field.HasDefault) continue;
            Check(property.Value, field, [.. loc, property.Name], issues, isMissingMedia);
        }
        foreach (var (name, field) in fields)
        {
            if (field.Required && !value.TryGetProperty(name, out _))
                issues.Add(new([.. loc, name], "Field required", "missing"));
        }
        foreach (var rule in schema.ExactlyOne ?? [])
        {
            var given = rule.Fields.Count(f => IsGiven(value, f));
            if (given != 1)
                issues.Add(new(loc, "Value error, " + (rule.Msg ?? $"exactly one of {string.Join(", ", rule.Fields)} must be given"), "value_error"));
        }
        foreach (var rule in schema.Dependencies ?? [])
        {
            if (!IsGiven(value, rule.When)) continue;
            foreach (var needed in rule.RequireFields ?? [])
            {
                if (!IsGiven(value, needed))
                    issues.Add(new([.. loc, needed], rule.Msg ?? $"Field required when {rule.When} is given", "missing"));
            }
            foreach (var (other, expected) in rule.RequireValues ?? [])
            {
                var actual = value.TryGetProperty(other, out var given) && given.ValueKind == JsonValueKind.String ? given.GetString()
                    : fields[other].Default is { ValueKind: JsonValueKind.String } fallback ? fallback.GetString() : null;
                if (actual != expected)
                    issues.Add(new([.. loc, rule.When], "Value error, " + (rule.Msg ?? $"{rule.When} needs {other} = '{expected}'"), "value_error"));
            }
        }
    }

    private static void CheckArray(JsonElement value, FieldSchema schema, object[] loc, List<ValidationIssue> issues, Func<Uri, bool> isMissingMedia)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            issues.Add(new(loc, "Input should be a valid list", "list_type", Node(value)));
            return;
        }
        var count = value.GetArrayLength();
        if (count < schema.MinItems)
            issues.Add(new(loc, $"List should have at least {Items(schema.MinItems.Value)} after validation, not {count}", "too_short", Node(value)));
        if (count > schema.MaxItems)
            issues.Add(new(loc, $"List should have at most {Items(schema.MaxItems.Value)} after validation, not {count}", "too_long", Node(value)));
        var index = 0;
        foreach (var item in value.EnumerateArray())
            Check(item, schema.Items!, [.. loc, index++], issues, isMissingMedia);
        if (schema.Sum is { } sum && Total(value, schema.Items!, sum.Field) is { } total && total > sum.Max)
            issues.Add(new(loc, $"Value error, the {sum.Field} values add up to {Num(total)}{sum.Unit}; at most {Num(sum.Max)}{sum.Unit} is allowed", "value_error"));
    }

    private static void CheckString(JsonElement value, FieldSchema schema, object[] loc, List<ValidationIssue> issues, Func<Uri, bool> isMissingMedia)
    {
        if (schema.Enum is { } allowed)
        {
            if (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString()!))
            {
                var expected = Expected(allowed);
                issues.Add(new(loc, $"Input should be {expected}", "literal_error", Node(value), new JsonObject { ["expected"] = expected }));
            }
            return;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            issues.Add(new(loc, "Input should be a valid string", "string_type", Node(value)));
            return;
        }
        var text = value.GetString()!;
        if (text.Length < schema.MinLength)
            issues.Add(new(loc, $"String should have at least {schema.MinLength} character(s)", "string_too_short", Node(value)));
        if (text.Length > schema.MaxLength)
            issues.Add(new(loc, $"String should have at most {schema.MaxLength} character(s)", "string_too_long", Node(value)));
        if (schema.Format != "url") return;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url))
            issues.Add(new(loc, "Input should be a valid URL, relative URL without a base", "url_parsing", Node(value)));
        else if (url.Scheme is not ("http" or "https"))
            issues.Add(new(loc, "URL scheme should be 'http' or 'https'", "url_scheme", Node(value)));
        else if (isMissingMedia(url))
            issues.Add(new(loc, "Value error, nothing is stored at this emulator URL: upload the file first (POST /storage/upload/initiate, then PUT)", "value_error", Node(value)));
    }

    private static void CheckRange(double number, FieldSchema schema, object[] loc, List<ValidationIssue> issues, JsonNode? input)
    {
        if (number < schema.Minimum)
            issues.Add(new(loc, $"Input should be greater than or equal to {Num(schema.Minimum.Value)}", "greater_than_equal", input,
                new JsonObject { ["ge"] = schema.Minimum.Value }));
        if (number > schema.Maximum)
            issues.Add(new(loc, $"Input should be less than or equal to {Num(schema.Maximum.Value)}", "less_than_equal", input,
                new JsonObject { ["le"] = schema.Maximum.Value }));
    }

    private static double? Total(JsonElement array, FieldSchema item, string field)
    {
        var fallback = item.Fields?.GetValueOrDefault(field)?.Default;
        double total = 0;
        foreach (var element in array.EnumerateArray())
        {
            var part = element.ValueKind == JsonValueKind.Object && element.TryGetProperty(field, out var given) ? given : fallback;
            // Wrongly typed parts are already reported by the item check; the sum is only meaningful without them.
            if (part is not { } p || !TryNumber(p, out var number)) return null;
            total += number;
        }
        return total;
    }

    private static bool TryNumber(JsonElement element, out double number)
    {
        number = 0;
        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetDouble(out number),
            JsonValueKind.String => double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number),
            _ => false,
        };
    }

    private static bool IsGiven(JsonElement obj, string field) =>
        obj.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null;

    // pydantic's wording: 'a', 'b' or 'c'
    private static string Expected(List<string> allowed) =>
        allowed.Count == 1 ? $"'{allowed[0]}'"
        : string.Join(", ", allowed.SkipLast(1).Select(a => $"'{a}'")) + $" or '{allowed[^1]}'";

    private static string Items(int n) => n == 1 ? "1 item" : $"{n} items";

    private static string Num(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static JsonNode? Node(JsonElement value) => JsonNode.Parse(value.GetRawText());
}
