using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Net.Http.Headers;
using SampleWebApp;
using SampleWebApp.Data;
using SampleWebApp.Diagnostics;

var builder = WebApplication.CreateBuilder(args);

// The port comes from ASPNETCORE_HTTP_PORTS (8080 in the image). HTTP only: TLS, if any, ends at the load balancer.
builder.WebHost.ConfigureKestrel(options => options.AddServerHeader = false);

builder.Services.AddRazorPages();
// The app has no forms, cookies or sign-in, so nothing protected must survive a restart or be shared between tasks.
// The ephemeral provider protects with a key held in memory; the key ring that ASP.NET Core still builds at start-up
// is kept in memory too (InMemoryXmlRepository), so nothing is written to $HOME/.aspnet and nothing warns about it.
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
builder.Services.Configure<KeyManagementOptions>(options =>
{
    options.XmlRepository = new InMemoryXmlRepository();
    options.XmlEncryptor = new InMemoryXmlRepository.NoEncryption();
});

var fakeData = builder.Configuration[DemoChinookDataSource.VariableName];
if (builder.Environment.IsDevelopment() && !string.IsNullOrEmpty(fakeData))
{
    // Only for take-screenshots.sh: canned data, and only in Development (ECS runs Production).
    if (!DemoChinookDataSource.Modes.Contains(fakeData))
    {
        Console.Error.WriteLine($"{DemoChinookDataSource.VariableName}={fakeData} is not allowed: use kerberos, ntlm or failure.");
        return 1;
    }

    builder.Services.AddSingleton<IChinookDataSource>(new DemoChinookDataSource(fakeData));
}
else
{
    // One instance for the app's lifetime: it only parses the connection string; SqlClient pools the connections.
    builder.Services.AddSingleton<IChinookDataSource, SqlChinookDataSource>();
}

// The environment the Kerberos library sees, to find the ticket cache it will use.
builder.Services.AddSingleton(KerberosEnvironment.OfThisProcess());
builder.Services.AddSingleton<StatusReader>();
builder.Services.AddHealthChecks()
    .AddCheck<DatabaseHealthCheck>("database", tags: [DatabaseHealthCheck.ReadyTag], timeout: TimeSpan.FromSeconds(20));

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    // No exception details outside Development: a 500 page with a request id. The home page handles database failures itself.
    app.UseExceptionHandler("/Error");
}

// A response with an error status and no body (an unknown path's 404) gets the error page, with its status kept.
app.UseStatusCodePagesWithReExecute("/Error");

// The page loads nothing but its own stylesheet: a strict Content-Security-Policy costs nothing.
app.Use(async (context, next) =>
{
    var headers = context.Response.Headers;
    headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    headers.XContentTypeOptions = "nosniff";
    headers["Referrer-Policy"] = "no-referrer";
    await next(context);
});

app.UseStaticFiles(new StaticFileOptions
{
    OnPrepareResponse = context =>
    {
        // asp-append-version adds ?v=<hash of the file>: a new file gets a new URL, so that URL may be cached for a year.
        if (context.Context.Request.Query.ContainsKey("v"))
        {
            context.Context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        }
    },
});
app.UseRouting();

// Liveness for the ALB and the container health check: no checks run, so it is 200 whenever the process serves requests.
app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
// Readiness: logs in to SQL Server; 503 when that fails.
app.MapHealthChecks("/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(DatabaseHealthCheck.ReadyTag) });

// The page's findings as JSON, for scripts and monitoring. No secrets: the app has none (Windows authentication).
app.MapGet("/api/status", async (StatusReader reader, HttpContext context, CancellationToken cancellationToken) =>
{
    var report = await reader.ReadAsync(cancellationToken);
    context.Response.Headers.CacheControl = "no-store";
    return Results.Json(new
    {
        ok = report.Ok,
        authScheme = report.Auth?.Scheme,
        login = report.Snapshot?.LoginName,
        server = report.ServerHost,
        database = report.DatabaseName,
        channel = report.Snapshot?.Channel is { } channel
            ? new
            {
                encrypted = channel.ServerReportsEncrypted,
                encryptMode = channel.EncryptMode,
                certificateVerified = channel.CertificateVerified,
                certificateHostName = channel.CertificateHostName,
            }
            : null,
        ticketCache = new { state = report.TicketCache.StateName, location = report.TicketCache.Path ?? report.TicketCache.Setting },
        cause = report.Cause,
    });
});

app.MapRazorPages();

app.Run();
return 0;

/// <summary>Entry point; public so that the tests' WebApplicationFactory can start the app.</summary>
public partial class Program;
