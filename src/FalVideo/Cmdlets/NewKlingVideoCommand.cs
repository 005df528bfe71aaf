using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Submits Kling video generations to fal's queue, one request per input row.</para>
/// <para type="description">Checks each row against the model's inputs, prices it from the shipped catalog, uploads
/// local images through fal storage, submits one fal queue request and emits a FalJob at once. Invalid rows get a
/// non-terminating error naming the row and field and are not sent; the other rows go on.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "KlingVideo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJob))]
public sealed class NewKlingVideoCommand : VideoInputCommandBase
{
    /// <inheritdoc />
    protected override string? Family => "Kling";

    /// <inheritdoc />
    protected override string DefaultModel => "kling-v3-pro";

    internal override VideoRow CurrentRow(List<string> problems) => SharedRow(problems);
}
