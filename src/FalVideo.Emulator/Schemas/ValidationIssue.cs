using System.Text.Json.Nodes;

namespace FalVideo.Emulator.Schemas;

/// <summary>
/// One entry of a 422 body's <c>detail</c> array, shaped like FastAPI/pydantic v2 errors as fal returns them
/// (PROTOCOL.md, "Errors"): <c>loc</c> starts with <c>"body"</c>, then field names and array indexes.
/// </summary>
internal sealed record ValidationIssue(IReadOnlyList<object> Loc, string Msg, string Type, JsonNode? Input = null, JsonObject? Ctx = null)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["loc"] = new JsonArray(Loc.Select(part => part is int index ? JsonValue.Create(index) : (JsonNode)JsonValue.Create((string)part)).ToArray()),
            ["msg"] = Msg,
            ["type"] = Type,
        };
        if (Input is not null) json["input"] = Input.DeepClone();
        if (Ctx is not null) json["ctx"] = Ctx;
        return json;
    }

    public static JsonObject Body(IEnumerable<ValidationIssue> issues) =>
        new() { ["detail"] = new JsonArray(issues.Select(i => (JsonNode)i.ToJson()).ToArray()) };
}
