using FalVideo.Engine;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class CredentialsAndOptionsTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Explicit_key_wins_over_session_and_environment()
    {
        var key = FalCredentials.Resolve("explicit", "session", Env(("FAL_KEY", "env"), ("FAL_KEY_ID", "id"), ("FAL_KEY_SECRET", "s")));

        Assert.Equal("explicit", key);
    }

    [Fact]
    public void Session_key_wins_over_environment()
    {
        Assert.Equal("session", FalCredentials.Resolve(null, "session", Env(("FAL_KEY", "env"))));
    }

    [Fact]
    public void FAL_KEY_wins_over_id_and_secret()
    {
        Assert.Equal("env", FalCredentials.Resolve("  ", null, Env(("FAL_KEY", "env"), ("FAL_KEY_ID", "id"), ("FAL_KEY_SECRET", "s"))));
    }

    [Fact]
    public void Id_and_secret_are_joined_with_a_colon()
    {
        Assert.Equal("my-id:my-secret", FalCredentials.Resolve(null, null, Env(("FAL_KEY_ID", " my-id "), ("FAL_KEY_SECRET", "my-secret"))));
    }

    [Fact]
    public void Id_without_secret_is_no_key()
    {
        Assert.Null(FalCredentials.Resolve(null, "", Env(("FAL_KEY_ID", "my-id"))));
    }

    [Fact]
    public void Mask_hides_the_key_and_each_half()
    {
        var text = $"full {TestClient.Key}, id {TestClient.KeyId}, secret {TestClient.KeySecret}";

        var masked = FalCredentials.Mask(text, TestClient.Key);

        Assert.Equal("full ***, id ***, secret ***", masked);
    }

    [Fact]
    public void Mask_without_key_returns_text()
    {
        Assert.Equal("hello", FalCredentials.Mask("hello", null));
    }

    [Fact]
    public void No_key_is_an_authentication_error_naming_where_a_key_comes_from()
    {
        var options = new FalClientOptions { ApiKey = null };

        var error = Assert.Throws<FalConfigurationException>(options.Validate);
        Assert.Equal("FalMissingKey", error.ErrorId);
        Assert.Equal(FalErrorCategory.AuthenticationError, FalErrorIds.For(error).Category);
        Assert.Contains("-ApiKey", error.Message);
        Assert.Contains("Set-FalConfiguration -ApiKey", error.Message);
        Assert.Contains("FAL_KEY", error.Message);
    }

    [Theory]
    [InlineData("http://example.com")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("ftp://127.0.0.1")]
    public void Plain_http_to_a_non_loopback_host_is_refused(string url)
    {
        var options = new FalClientOptions { ApiKey = "k", QueueBaseUrl = new Uri(url) };

        var error = Assert.Throws<FalConfigurationException>(options.Validate);
        Assert.Equal("FalConfiguration", error.ErrorId);
        Assert.Throws<FalConfigurationException>(() => new FalQueueClient(options, new HttpClient()));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8787")]
    [InlineData("http://127.5.6.7")]
    [InlineData("http://localhost:5000")]
    [InlineData("http://[::1]:8787")]
    [InlineData("https://queue.fal.run")]
    public void Https_and_loopback_http_are_accepted(string url)
    {
        var options = new FalClientOptions { ApiKey = "k", RestBaseUrl = new Uri(url) };

        options.Validate();
    }

    [Fact]
    public void Missing_key_is_a_configuration_error()
    {
        var error = Assert.Throws<FalConfigurationException>(new FalClientOptions().Validate);
        Assert.Contains("FAL_KEY", error.Message);
    }

    [Fact]
    public async Task A_client_without_key_can_be_built_but_refuses_keyed_calls()
    {
        var handler = new ScriptedHandler();
        using var client = new FalQueueClient(new FalClientOptions(), new HttpClient(handler));

        await Assert.ThrowsAsync<FalConfigurationException>(() => client.GetStatusAsync(TestClient.Handle()));
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public void Min_poll_interval_above_max_is_refused()
    {
        var options = new FalClientOptions { ApiKey = "k", MinPollInterval = TimeSpan.FromSeconds(20) };

        Assert.Throws<FalConfigurationException>(options.Validate);
    }

    [Fact]
    public void Default_user_agent_names_the_module()
    {
        Assert.StartsWith("FalVideo/", new FalClientOptions().UserAgent);
    }
}
