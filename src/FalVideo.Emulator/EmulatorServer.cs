using System.Diagnostics;
using FalVideo.Emulator.Faults;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Media;
using FalVideo.Emulator.Routes;
using FalVideo.Emulator.Schemas;
using FalVideo.Emulator.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FalVideo.Emulator;

/// <summary>
/// Builds the emulator: one Kestrel host that answers for fal's queue (<c>queue.fal.run</c>), REST storage
/// (<c>rest.fal.ai</c>) and media CDN (<c>v3.fal.media</c>) hosts, as PROTOCOL.md describes them.
/// </summary>
public static class EmulatorServer
{
    private const string RequestLogCategory = "FalVideo.Emulator.Requests";

    /// <summary>Builds, without starting, an emulator app; <paramref name="args"/> go to ASP.NET Core's configuration.</summary>
    public static WebApplication Build(EmulatorOptions options, string[]? args = null) => Build(options, args, null);

    /// <summary>Builds an emulator app that serves the jobs, uploads and faults of <paramref name="state"/> (from an
    /// emulator that was stopped), or fresh ones when null.</summary>
    internal static WebApplication Build(EmulatorOptions options, string[]? args, EmulatorState? state)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1, nameof(options.Concurrency));
        ArgumentOutOfRangeException.ThrowIfNegative(options.JobSeconds, nameof(options.JobSeconds));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxUploadBytes, nameof(options.MaxUploadBytes));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ApplicationName = typeof(EmulatorServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.ClearProviders()
            .AddSimpleConsole(console => console.SingleLine = true)
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter(RequestLogCategory, options.Verbose ? LogLevel.Information : LogLevel.Warning);

        builder.Services.AddSingleton(options)
            .AddSingleton(EndpointCatalog.Embedded)
            .AddSingleton(_ => new Platform.CatalogPrices(Platform.CatalogPrices.EmbeddedJson))
            .AddSingleton<LocalMedia>();
        if (state is null)
        {
            builder.Services.AddSingleton<JobScheduler>()
                .AddSingleton<UploadStore>()
                .AddSingleton(services => new EmulatorState(services.GetRequiredService<JobScheduler>(), services.GetRequiredService<UploadStore>(), options));
        }
        else
        {
            builder.Services.AddSingleton(state.Scheduler).AddSingleton(state.UploadStore).AddSingleton(state);
        }

        builder.Services.AddHostedService<WebhookDelivery>();

        var app = builder.Build();
        var live = app.Services.GetRequiredService<EmulatorState>();
        var requestLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(RequestLogCategory);
        app.Use(async (context, next) =>
        {
            live.CountRequest();
            var started = Stopwatch.GetTimestamp();
            await next(context);
            if (requestLog.IsEnabled(LogLevel.Information))
            {
                requestLog.LogInformation("{Method} {Path}{Query} -> {Status} in {Ms:0.0} ms",
                    context.Request.Method, context.Request.Path, context.Request.QueryString, context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });

        app.Use((context, next) => LocalOnlyGuard.InvokeAsync(context, next, options));
        app.Use((context, next) => FaultMiddleware.InvokeAsync(context, next, live.Faults));

        ControlRoutes.Map(app);
        FaultControlRoutes.Map(app);
        StorageRoutes.Map(app);
        PrivateOutputs.Map(app);
        WebhookRoutes.Map(app);
        CdnRoutes.Map(app);
        RequestRoutes.Map(app);
        PlatformRoutes.Map(app);
        SubmitRoute.Map(app);
        app.MapFallback("{**path}", () => Responses.Detail(404, "Not Found"));
        return app;
    }

    /// <summary>Builds and starts an emulator; the returned object knows the port actually bound.</summary>
    public static async Task<RunningEmulator> StartAsync(EmulatorOptions options, CancellationToken ct = default)
    {
        var app = await StartAppAsync(options, null, ct);
        return new RunningEmulator(app, BoundAddress(app), app.Services.GetRequiredService<EmulatorState>(), options);
    }

    /// <summary>Builds and starts an app; on failure nothing is left listening.</summary>
    internal static async Task<WebApplication> StartAppAsync(EmulatorOptions options, EmulatorState? state, CancellationToken ct)
    {
        var app = Build(options, null, state);
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return app;
    }

    /// <summary>The first address Kestrel listens on, with the real port when <c>:0</c> was asked for.</summary>
    internal static Uri BoundAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new Uri(addresses.First());
    }
}
