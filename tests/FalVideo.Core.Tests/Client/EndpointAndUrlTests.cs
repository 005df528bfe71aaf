using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class EndpointAndUrlTests
{
    [Fact]
    public void Parse_splits_owner_alias_and_path()
    {
        var id = FalEndpointId.Parse("fal-ai/kling-video/v3/pro/text-to-video");

        Assert.Equal("fal-ai", id.Owner);
        Assert.Equal("kling-video", id.Alias);
        Assert.Equal("v3/pro/text-to-video", id.Path);
        Assert.Equal("fal-ai/kling-video", id.AppId);
        Assert.Equal("fal-ai/kling-video/v3/pro/text-to-video", id.Id);
        Assert.Null(id.Namespace);
    }

    [Fact]
    public void Parse_without_path_has_null_path()
    {
        var id = FalEndpointId.Parse("fal-ai/veo3");

        Assert.Null(id.Path);
        Assert.Equal("fal-ai/veo3", id.AppId);
    }

    [Theory]
    [InlineData("workflows/alice/my-flow/run", "workflows", "alice", "my-flow", "run", "workflows/alice/my-flow")]
    [InlineData("comfy/bob/graph", "comfy", "bob", "graph", null, "comfy/bob/graph")]
    public void Namespaces_add_one_leading_segment(string text, string ns, string owner, string alias, string? path, string appId)
    {
        var id = FalEndpointId.Parse(text);

        Assert.Equal(ns, id.Namespace);
        Assert.Equal(owner, id.Owner);
        Assert.Equal(alias, id.Alias);
        Assert.Equal(path, id.Path);
        Assert.Equal(appId, id.AppId);
    }

    [Fact]
    public void Legacy_numeric_app_id_is_read_as_owner_and_alias()
    {
        var id = FalEndpointId.Parse("12345-my-app");

        Assert.Equal("12345", id.Owner);
        Assert.Equal("my-app", id.Alias);
        Assert.Equal("12345/my-app", id.Id);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("fal-ai")]
    [InlineData("workflows/alice")]
    [InlineData("fal-ai//kling")]
    [InlineData("fal-ai/../secrets")]
    [InlineData("fal-ai/kling?x=1")]
    [InlineData("fal-ai/kling video")]
    public void Invalid_ids_are_rejected(string? text)
    {
        Assert.False(FalEndpointId.TryParse(text, out var value));
        Assert.Null(value);
        if (text is not null)
        {
            Assert.Throws<ArgumentException>(() => FalEndpointId.Parse(text));
        }
    }

    [Fact]
    public void FromIds_drops_the_sub_path_from_status_result_and_cancel()
    {
        var handle = FalRequestHandle.FromIds("fal-ai/kling-video/v3/pro/text-to-video", "abc-123", new Uri("https://queue.fal.run"));

        Assert.Equal("fal-ai/kling-video/v3/pro/text-to-video", handle.EndpointId);
        Assert.Equal("abc-123", handle.RequestId);
        Assert.Equal("https://queue.fal.run/fal-ai/kling-video/requests/abc-123/status", handle.StatusUrl.AbsoluteUri);
        Assert.Equal("https://queue.fal.run/fal-ai/kling-video/requests/abc-123", handle.ResponseUrl.AbsoluteUri);
        Assert.Equal("https://queue.fal.run/fal-ai/kling-video/requests/abc-123/cancel", handle.CancelUrl.AbsoluteUri);
    }

    [Fact]
    public void FromIds_keeps_the_workflows_namespace()
    {
        var handle = FalRequestHandle.FromIds("workflows/alice/my-flow/run", "r1", new Uri("https://queue.fal.run/"));

        Assert.Equal("https://queue.fal.run/workflows/alice/my-flow/requests/r1/status", handle.StatusUrl.AbsoluteUri);
    }

    [Fact]
    public void FromIds_keeps_a_base_path_and_escapes_the_request_id()
    {
        var handle = FalRequestHandle.FromIds("fal-ai/veo3", "a/b c", new Uri("https://proxy.example/fal/"));

        Assert.Equal("https://proxy.example/fal/fal-ai/veo3/requests/a%2Fb%20c/cancel", handle.CancelUrl.AbsoluteUri);
    }
}
