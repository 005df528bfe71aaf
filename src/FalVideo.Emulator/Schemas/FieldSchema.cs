using System.Text.Json;
using System.Text.Json.Serialization;

namespace FalVideo.Emulator.Schemas;

/// <summary>
/// One node of an input schema in <c>endpoints.json</c>: a field, an array's items, or an object
/// (the whole model input is an object). Deliberately smaller than JSON Schema: just what MODELS.md states.
/// </summary>
internal sealed class FieldSchema
{
    /// <summary>Name of an entry in the file's <c>definitions</c>; only <see cref="Required"/> (true) may sit beside it.</summary>
    [JsonPropertyName("$ref")]
    public string? Ref { get; set; }

    /// <summary><c>string</c>, <c>boolean</c>, <c>number</c>, <c>integer</c>, <c>array</c> or <c>object</c>.</summary>
    public string? Type { get; set; }

    public bool Required { get; set; }
    public string? Description { get; set; }

    /// <summary>Allowed values of a string field; fal's enums (e.g. <c>duration</c>) are JSON strings.</summary>
    public List<string>? Enum { get; set; }

    /// <summary>fal's default when the field is left out; also used to sum shots that omit a duration.</summary>
    public JsonElement? Default { get; set; }

    public double? Minimum { get; set; }
    public double? Maximum { get; set; }
    public int? MinLength { get; set; }
    public int? MaxLength { get; set; }
    public int? MinItems { get; set; }
    public int? MaxItems { get; set; }

    /// <summary><c>url</c>: an absolute http(s) URL.</summary>
    public string? Format { get; set; }

    public FieldSchema? Items { get; set; }
    public Dictionary<string, FieldSchema>? Fields { get; set; }
    public List<ExactlyOneRule>? ExactlyOne { get; set; }
    public List<DependencyRule>? Dependencies { get; set; }
    public SumRule? Sum { get; set; }

    [JsonIgnore]
    public bool HasDefault => Default is { ValueKind: not JsonValueKind.Undefined };

    /// <summary>A shallow copy that differs only in <see cref="Required"/>, for a shared definition used as a required field.</summary>
    public FieldSchema WithRequired(bool required)
    {
        var copy = (FieldSchema)MemberwiseClone();
        copy.Required = required;
        return copy;
    }
}

/// <summary>Exactly one of <see cref="Fields"/> must be given (e.g. <c>prompt</c> or <c>multi_prompt</c>, not both).</summary>
internal sealed class ExactlyOneRule
{
    public List<string> Fields { get; set; } = [];
    public string? Msg { get; set; }
}

/// <summary>When field <see cref="When"/> is given, <see cref="RequireFields"/> must be given and <see cref="RequireValues"/> must hold.</summary>
internal sealed class DependencyRule
{
    public string When { get; set; } = "";
    public List<string>? RequireFields { get; set; }
    public Dictionary<string, string>? RequireValues { get; set; }
    public string? Msg { get; set; }
}

/// <summary>For an array of objects: the numeric values of <see cref="Field"/> must add up to at most <see cref="Max"/>.</summary>
internal sealed class SumRule
{
    public string Field { get; set; } = "";
    public double Max { get; set; }
    public string Unit { get; set; } = "";
}
