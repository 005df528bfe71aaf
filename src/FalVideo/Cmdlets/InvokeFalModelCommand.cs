using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json.Nodes;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Submits any input to any fal endpoint, with the same jobs, journal, waiting and saving as the named cmdlets.</para>
/// <para type="description">Sends -Input (a hashtable or object, turned into JSON as is) to the fal endpoint -EndpointId, so a
/// model released tomorrow works today. String values of fields ending in _url that name existing local files are uploaded
/// through fal storage first. Endpoints in the catalog are priced from the input's duration and audio; other endpoints have no
/// price estimate, and -WhatIf and a warning say so.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FalModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJob))]
public sealed class InvokeFalModelCommand : NewVideoCommandBase
{
    private readonly HashSet<string> _warnedUnpriced = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>fal endpoint id, e.g. fal-ai/kling-video/v3/pro/text-to-video or any other fal app.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("endpoint_id")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.EndpointIdCompleter))]
    public string EndpointId { get; set; } = "";

    /// <summary>The model input: a hashtable, an object ([pscustomobject]: its properties), or a JSON object as text, sent as JSON with fal's field names.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Arguments", "Body")]
    public object? Input { get; set; }

    /// <inheritdoc />
    protected override string? Family => null;

    /// <inheritdoc />
    protected override string DefaultModel => "";

    internal override VideoRow CurrentRow(List<string> problems) => new() { Id = Id };

    internal override VideoRequestPlan? PlanRecord(List<string> problems, out VideoRow row)
    {
        row = CurrentRow(problems);
        if (!FalEndpointId.TryParse(EndpointId, out var endpoint) || endpoint is null)
        {
            problems.Add($"EndpointId '{EndpointId}' is not a fal endpoint id; expected owner/alias[/path], e.g. fal-ai/kling-video/v3/pro/text-to-video.");
            return null;
        }
        var catalog = PriceCatalog;
        var model = catalog.Find(endpoint.Id, out var mode);
        if (model is { IsRetired: true })
        {
            problems.Add($"Endpoint '{endpoint.Id}' ({model.Name}) is retired upstream: {model.RetiredNote}");
            return null;
        }
        if (ToInput(Input, problems) is not JsonObject input)
        {
            if (problems.Count == 0) problems.Add("Input must be a hashtable, an object whose properties are fal's input fields, or a JSON object as text.");
            return null;
        }
        var uploads = new List<PendingUpload>();
        FindLocalFiles(input, uploads, LocalPaths, problems);
        if (problems.Count > 0) return null;

        var prompt = input["prompt"] is JsonValue p && p.TryGetValue<string>(out var text) ? text : "";
        int? duration = input["duration"] is JsonValue d && int.TryParse(d.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var secs) ? secs : null;
        bool? audio = input["generate_audio"] is JsonValue a && a.TryGetValue<bool>(out var on) ? on : null;
        CostBreakdown? cost = null;
        if (model is not null)
            cost = CostCalculator.Estimate(model, new CostQuery
            {
                Mode = mode, DurationSeconds = duration, GenerateAudio = audio,
                Resolution = input["resolution"] is JsonValue r && r.TryGetValue<string>(out var res) ? res : null,
                Elements = input["elements"] is JsonArray { Count: > 0 },
                CharacterOrientation = input["character_orientation"] is JsonValue o && o.TryGetValue<string>(out var orientation) ? orientation : null,
            });
        else if (_warnedUnpriced.Add(endpoint.Id))
            WriteWarning($"Endpoint '{endpoint.Id}' is not in the price catalog: no cost estimate.");
        row = new VideoRow { Id = Id, Prompt = prompt };
        return new VideoRequestPlan
        {
            Model = model, Mode = mode ?? "", EndpointId = endpoint.Id, Input = input, Uploads = uploads, Cost = cost,
            DurationSeconds = duration ?? model?.DefaultDuration, Prompt = prompt,
        };
    }

    /// <summary>The -Input value as fal's input object: a JSON object given as text is parsed, anything else converted (<see cref="ToJson"/>).</summary>
    internal static JsonNode? ToInput(object? value, List<string> problems)
    {
        if ((value is PSObject p ? p.BaseObject : value) is string text && text.TrimStart().StartsWith("{", StringComparison.Ordinal))
        {
            try { return JsonNode.Parse(text); }
            catch (System.Text.Json.JsonException ex)
            {
                problems.Add($"Input is not valid JSON: {ex.Message}");
                return null;
            }
        }
        return ToJson(value);
    }

    /// <summary>hashtable / PSObject / array / primitive → JSON, keeping fal's field names as given.</summary>
    internal static JsonNode? ToJson(object? value)
    {
        // A [pscustomobject]'s properties live on its PSObject wrapper, not on the PSCustomObject inside it: read them there
        // (unwrapping first sent {}).
        if (value is PSObject { BaseObject: PSCustomObject } custom)
        {
            var fields = new JsonObject();
            foreach (var prop in custom.Properties.Where(x => x.IsGettable)) fields[prop.Name] = ToJson(prop.Value);
            return fields;
        }
        value = value is PSObject pso ? pso.BaseObject : value;
        switch (value)
        {
            case null: return null;
            case string s: return JsonValue.Create(s);
            case bool b: return JsonValue.Create(b);
            case int or long or short or byte: return JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case double or float or decimal: return JsonValue.Create(Convert.ToDecimal(value, CultureInfo.InvariantCulture));
            case IDictionary dict:
                var obj = new JsonObject();
                foreach (DictionaryEntry e in dict) obj[e.Key.ToString()!] = ToJson(e.Value);
                return obj;
            case IEnumerable list:
                var array = new JsonArray();
                foreach (var item in list) array.Add(ToJson(item));
                return array;
            case PSCustomObject:
                var o = new JsonObject();
                foreach (var prop in ((PSObject)PSObject.AsPSObject(value)).Properties) o[prop.Name] = ToJson(prop.Value);
                return o;
            default:
                if (PSObject.AsPSObject(value) is { } wrapped && value.GetType().IsClass && wrapped.Properties.Any())
                {
                    var props = new JsonObject();
                    foreach (var prop in wrapped.Properties.Where(x => x.IsGettable)) props[prop.Name] = ToJson(prop.Value);
                    return props;
                }
                return JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Replaces each <c>*_url</c>/<c>*_urls</c> value that names an existing local file (resolved as a PowerShell path:
    /// <c>~</c>, the current location, PSDrives) with an upload placeholder. Other values (http(s) URLs, data URIs, text
    /// that names no file) go to fal as given; a path on a provider other than the file system is a problem.
    /// </summary>
    private static void FindLocalFiles(JsonNode? node, List<PendingUpload> uploads, MediaPaths paths, List<string> problems, string? key = null)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var kv in o.ToList()) FindLocalFiles(kv.Value, uploads, paths, problems, kv.Key);
                break;
            case JsonArray a:
                foreach (var item in a.ToList()) FindLocalFiles(item, uploads, paths, problems, key);
                break;
            case JsonValue v when key is not null && (key.EndsWith("_url", StringComparison.Ordinal) || key.EndsWith("_urls", StringComparison.Ordinal))
                                 && v.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text):
                var isWebUrl = Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
                if (isWebUrl) break;
                var resolved = paths.Resolve(text.Trim());
                if (resolved.IsOtherProvider) problems.Add($"Input field {key} '{text}' {resolved.Problem}");
                else if (resolved.Path is { } path && File.Exists(path))
                {
                    var placeholder = $"upload:{uploads.Count}:{path}";
                    uploads.Add(new PendingUpload(placeholder, path));
                    ReplaceValue(v, placeholder);
                }
                break;
        }
    }

    private static void ReplaceValue(JsonValue value, string replacement)
    {
        switch (value.Parent)
        {
            case JsonObject o: o[value.GetPropertyName()] = replacement; break;
            case JsonArray a: a[value.GetElementIndex()] = replacement; break;
        }
    }
}
