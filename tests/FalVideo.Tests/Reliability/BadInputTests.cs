using FalVideo.Emulator.Faults;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>Bad rows are refused one by one, before anything is sent or uploaded; the good rows go on.</summary>
public sealed class BadInputTests : FaultTestBase
{
    [Fact]
    public void Each_bad_row_gets_an_error_naming_row_field_and_allowed_values_and_is_not_sent()
    {
        var bmp = Path.Combine(Temp, "photo.bmp");
        File.WriteAllBytes(bmp, [0x42, 0x4D, 0, 0, 0, 0]);
        var longPrompt = string.Concat(Enumerable.Repeat("A fox runs through snow. ", 400))[..10_000];
        var r = Ps.Run("""
            param($out, $bmp, $longPrompt)
            @(
                [pscustomobject]@{ Id = 'good1';   Prompt = 'A fox in snow';  Duration = '5';   AspectRatio = '';    CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'noprompt'; Prompt = '';              Duration = '';    AspectRatio = '';    CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'long';    Prompt = 'A fox';          Duration = '20';  AspectRatio = '';    CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'model';   Prompt = 'A fox';          Duration = '';    AspectRatio = '';    CfgScale = '';    StartImage = ''; Model = 'kling-v9-ultra' },
                [pscustomobject]@{ Id = 'ratio';   Prompt = 'A fox';          Duration = '';    AspectRatio = '4:3'; CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'cfg';     Prompt = 'A fox';          Duration = '';    AspectRatio = '';    CfgScale = '1.5'; StartImage = '' },
                [pscustomobject]@{ Id = 'nofile';  Prompt = 'A fox';          Duration = '';    AspectRatio = '';    CfgScale = '';    StartImage = './no-such-photo.png' },
                [pscustomobject]@{ Id = 'bmp';     Prompt = 'A fox';          Duration = '';    AspectRatio = '';    CfgScale = '';    StartImage = $bmp },
                [pscustomobject]@{ Id = 'huge';    Prompt = $longPrompt;      Duration = '';    AspectRatio = '';    CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'text';    Prompt = 'A fox';          Duration = 'ten'; AspectRatio = '';    CfgScale = '';    StartImage = '' },
                [pscustomobject]@{ Id = 'good2';   Prompt = 'A hare in snow'; Duration = '';    AspectRatio = '';    CfgScale = '0.3'; StartImage = '' }
            ) | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $out
            """, OutDir, bmp, longPrompt);
        var messages = r.Errors.Select(e => e.ErrorDetails?.Message ?? e.Exception.Message).ToList();
        var tally = Count();
        ReliabilityRecorder.Record(711, "Bad input: missing prompt, duration 20, unknown model, 4:3, cfg 1.5, missing and .bmp image, 10,000-character prompt, 'ten' seconds",
            $"{r.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("FalInvalidInput", StringComparison.Ordinal))} rows refused with FalInvalidInput naming row, field and " +
            $"allowed values, nothing sent or uploaded for them ({Emulator.Faults.RequestsTo(FaultRoute.Submit)} submits, {Emulator.Faults.RequestsTo(FaultRoute.UploadInitiate)} uploads); " +
            $"the 2 good rows saved", tally.Lost);

        Assert.Equal(9, r.Errors.Count);
        Assert.All(r.Errors, e => Assert.StartsWith("FalInvalidInput,", e.FullyQualifiedErrorId));
        // Row number, the field, and what would have been allowed.
        (int Row, string Id, string Field, string Allowed)[] expected =
        [
            (2, "noprompt", "Prompt", "required"), (3, "long", "Duration", "3–15"), (4, "model", "kling-v9-ultra", "kling-v3-pro"),
            (5, "ratio", "AspectRatio", "16:9"), (6, "cfg", "CfgScale", "0 to 1"), (7, "nofile", "StartImage", "http(s) URL"),
            (8, "bmp", "StartImage", ".png"), (9, "huge", "Prompt", "2500"), (10, "text", "Duration", "whole number"),
        ];
        for (var i = 0; i < expected.Length; i++)
        {
            var (row, id, field, allowed) = expected[i];
            Assert.StartsWith($"Row {row} ({id}):", messages[i]);
            Assert.Contains(field, messages[i]);
            Assert.Contains(allowed, messages[i]);
            Assert.EndsWith("Nothing was sent for this row.", messages[i]);
        }
        Assert.Equal(["good1", "good2"], r.Output.Select(o => (string)o.Properties["Id"].Value).Order());
        Assert.Equal(2, Emulator.Faults.RequestsTo(FaultRoute.Submit));
        Assert.Equal(0, Emulator.Faults.RequestsTo(FaultRoute.UploadInitiate));
        tally.AssertNothingLost(accepted: 2);
    }
}
