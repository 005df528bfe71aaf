using FalVideo.Engine;
using FalVideo.Fal;

namespace FalVideo.Core.Tests.Engine;

/// <summary>The one list of error ids: every id the fal client raises is in it, once, with a category and a meaning.</summary>
public sealed class FalErrorIdsTests
{
    [Fact]
    public void Ids_are_unique_named_Fal_and_explained()
    {
        var ids = FalErrorIds.All.Select(e => e.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(FalErrorIds.All, e =>
        {
            Assert.StartsWith("Fal", e.Id, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(e.Meaning));
            Assert.True(Enum.IsDefined(typeof(FalErrorCategory), e.Category), e.Id);
            Assert.Same(e, FalErrorIds.Get(e.Id));
        });
    }

    [Fact]
    public void Every_fal_exception_maps_to_its_own_listed_id()
    {
        Exception[] failures =
        [
            new FalValidationException("v"), new FalAuthenticationException("a"), new FalNotFoundException("n"),
            new FalRateLimitException("r"), new FalServerException("s"), new FalProtocolException("p"),
            new FalAmbiguousSubmissionException("m"), new FalConfigurationException("c"), new FalDownloadException("d"),
            new FalNetworkException("n"), new FalException("x"),
        ];
        foreach (var failure in failures)
            Assert.Equal(((FalException)failure).ErrorId, FalErrorIds.For(failure).Id);
        Assert.Same(FalErrorIds.OperationStopped, FalErrorIds.For(new OperationCanceledException()));
        Assert.Same(FalErrorIds.FileError, FalErrorIds.For(new IOException()));
        Assert.Same(FalErrorIds.FileError, FalErrorIds.For(new UnauthorizedAccessException()));
        Assert.Same(FalErrorIds.UnexpectedError, FalErrorIds.For(new InvalidCastException()));
        Assert.Equal(FalErrorCategory.AuthenticationError, FalErrorIds.For(new FalAuthenticationException("a")).Category);
    }

    [Fact]
    public void An_unlisted_id_is_a_bug()
    {
        Assert.Throws<KeyNotFoundException>(() => FalErrorIds.Get("FalNoSuchThing"));
    }

    [Fact]
    public void An_error_text_carries_the_context_and_fals_field_errors()
    {
        Assert.Equal("Row 3: boom", new EngineError(new IOException("boom"), null, "Row 3").Text);
        Assert.Equal("gone", new EngineError(FalErrorIds.NoVideo, "gone", null).Text);
        var invalid = new FalValidationException("Invalid input.")
        {
            ValidationErrors = [new FalValidationError(["body", "duration"], "must be 5 or 10", "value_error")],
        };
        Assert.Equal("Row 1: Invalid input. body.duration: must be 5 or 10", new EngineError(invalid, null, "Row 1").Text);
    }
}
